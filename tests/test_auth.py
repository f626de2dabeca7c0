"""Personal access tokens: how they are sent, when they are refused, how they are stored.

Every refused credential is a request-level failure: HTTP 401, a top-level error coded
UNAUTHENTICATED that carries the request id, and no data. Anonymous requests (no
credentials at all) are fine and see a null `viewer`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from issuegraph.db.queries.tokens import revoke_token
from issuegraph.db.queries.users import set_user_state
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope

VIEWER = "{ viewer { username databaseId } }"


async def ask(api: Any, headers: dict[str, str], query: str = VIEWER) -> Any:
    return await api.gql(query, headers=headers)


def assert_signed_in_as(response: Any, username: str) -> None:
    assert response.status == 200, response.body
    assert response.data["viewer"]["username"] == username


def assert_unauthenticated(response: Any) -> None:
    assert response.status == 401, response.body
    assert response.codes == ["UNAUTHENTICATED"], response.body
    error = response.errors[0]
    assert error["message"]
    assert error["extensions"]["requestId"] == response.headers["X-Request-Id"]
    assert response.body.get("data") is None
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# -- accepted ---------------------------------------------------------------------------------


async def test_anonymous_viewer_is_null(api):
    response = await ask(api, {})

    assert response.status == 200
    assert response.data == {"viewer": None}


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda t: {"Authorization": f"Bearer {t}"}, id="authorization-bearer"),
        pytest.param(lambda t: {"Authorization": f"bearer {t}"}, id="lowercase-bearer"),
        pytest.param(lambda t: {"Authorization": f"BEARER {t}"}, id="uppercase-bearer"),
        pytest.param(lambda t: {"Authorization": f"Bearer   {t}  "}, id="extra-spaces"),
        pytest.param(lambda t: {"PRIVATE-TOKEN": t}, id="private-token"),
        pytest.param(lambda t: {"private-token": t}, id="private-token-lowercase-name"),
    ],
)
async def test_valid_token_signs_the_viewer_in(api, world, header):
    alice, token = await world.user_with_token("alice")
    await world.user_with_token("bob")

    response = await ask(api, header(token))

    assert response.status == 200
    assert response.data == {"viewer": {"username": "alice", "databaseId": alice.id}}


async def test_read_api_token_signs_the_viewer_in_for_queries(api, world):
    await world.user("alice")
    token = await world.token("alice", scopes=(TokenScope.READ_API,))

    assert_signed_in_as(await ask(api, {"Authorization": f"Bearer {token}"}), "alice")


async def test_each_of_a_users_tokens_works_on_its_own(api, world):
    await world.user("alice")
    first = await world.token("alice")
    second = await world.token("alice")

    assert first != second
    assert_signed_in_as(await ask(api, {"PRIVATE-TOKEN": first}), "alice")
    assert_signed_in_as(await ask(api, {"PRIVATE-TOKEN": second}), "alice")


async def test_token_with_expiry_in_the_future_works(api, world, pool):
    await world.user("alice")
    _, token = await create_token(
        pool,
        "alice",
        scopes=[TokenScope.API],
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )

    assert_signed_in_as(await ask(api, {"Authorization": f"Bearer {token}"}), "alice")


# -- refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer igpat-not-a-real-token"}, id="unknown-token"),
        pytest.param({"Authorization": "Bearer garbage"}, id="garbage-token"),
        pytest.param({"PRIVATE-TOKEN": "igpat-not-a-real-token"}, id="unknown-private-token"),
        pytest.param({"PRIVATE-TOKEN": ""}, id="empty-private-token"),
        pytest.param({"PRIVATE-TOKEN": "   "}, id="blank-private-token"),
        pytest.param({"Authorization": "Basic xyz"}, id="basic-scheme"),
        pytest.param({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, id="basic-credentials"),
        pytest.param({"Authorization": "Bearer "}, id="bearer-empty"),
        pytest.param({"Authorization": "Bearer"}, id="bearer-alone"),
        pytest.param({"Authorization": ""}, id="empty-authorization"),
        pytest.param({"Authorization": "Token abc"}, id="other-scheme"),
    ],
)
async def test_invalid_or_malformed_credentials_are_refused_with_401(api, world, headers):
    await world.user_with_token("alice")

    assert_unauthenticated(await ask(api, headers))


async def test_the_right_token_with_a_wrong_scheme_is_refused(api, world):
    _, token = await world.user_with_token("alice")

    assert_unauthenticated(await ask(api, {"Authorization": f"Basic {token}"}))
    assert_unauthenticated(await ask(api, {"Authorization": token}))


async def test_a_token_with_a_character_changed_is_refused(api, world):
    _, token = await world.user_with_token("alice")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert_unauthenticated(await ask(api, {"Authorization": f"Bearer {tampered}"}))
    assert_unauthenticated(await ask(api, {"Authorization": f"Bearer {token.upper()}"}))


async def test_invalid_token_is_refused_even_for_queries_that_need_no_viewer(api):
    response = await ask(api, {"Authorization": "Bearer nope"}, "{ __typename }")

    assert_unauthenticated(response)


async def test_invalid_token_is_refused_for_mutations_and_nothing_is_written(api, world, pool):
    await world.user_with_token("alice")

    response = await api.gql(
        'mutation { createProject(input: {fullPath: "x/y"}) { errors { code } } }',
        headers={"Authorization": "Bearer nope"},
    )

    assert_unauthenticated(response)
    assert await pool.fetchval("select count(*) from projects") == 0


async def test_401_carries_the_clients_request_id(api):
    response = await ask(
        api, {"Authorization": "Bearer nope", "X-Request-Id": "client-chosen.id-42"}
    )

    assert_unauthenticated(response)
    assert response.errors[0]["extensions"]["requestId"] == "client-chosen.id-42"


async def test_revoked_token_is_refused_and_the_users_other_tokens_still_work(api, world, pool):
    await world.user("alice")
    token_id, token = await create_token(pool, "alice", scopes=[TokenScope.API])
    other = await world.token("alice")
    assert_signed_in_as(await ask(api, {"Authorization": f"Bearer {token}"}), "alice")

    assert await revoke_token(pool, token_id)

    assert_unauthenticated(await ask(api, {"Authorization": f"Bearer {token}"}))
    assert_unauthenticated(await ask(api, {"PRIVATE-TOKEN": token}))
    assert_signed_in_as(await ask(api, {"Authorization": f"Bearer {other}"}), "alice")


@pytest.mark.parametrize(
    "age", [dt.timedelta(seconds=1), dt.timedelta(minutes=5), dt.timedelta(days=400)]
)
async def test_expired_token_is_refused(api, world, pool, age):
    await world.user("alice")
    _, token = await create_token(
        pool, "alice", scopes=[TokenScope.API], expires_at=dt.datetime.now(dt.UTC) - age
    )

    assert_unauthenticated(await ask(api, {"Authorization": f"Bearer {token}"}))
    assert_unauthenticated(await ask(api, {"PRIVATE-TOKEN": token}))


async def test_token_of_a_blocked_user_is_refused_until_they_are_unblocked(api, world, pool):
    alice, token = await world.user_with_token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    assert_signed_in_as(await ask(api, headers), "alice")

    await set_user_state(pool, alice.id, "blocked")
    assert_unauthenticated(await ask(api, headers))
    assert_unauthenticated(await ask(api, {"PRIVATE-TOKEN": token}))

    await set_user_state(pool, alice.id, "active")
    assert_signed_in_as(await ask(api, headers), "alice")


async def test_blocked_users_token_cannot_mutate(api, world, pool):
    alice, token = await world.user_with_token("alice")
    await set_user_state(pool, alice.id, "blocked")

    response = await api.gql(
        'mutation { createProject(input: {fullPath: "alice/p"}) { errors { code } } }',
        token=token,
    )

    assert_unauthenticated(response)
    assert await pool.fetchval("select count(*) from projects") == 0


# -- storage ----------------------------------------------------------------------------------


async def test_token_is_stored_only_as_its_sha256_digest(world, pool):
    alice = await world.user("alice")
    token_id, token = await create_token(
        pool, "alice", scopes=[TokenScope.READ_API, TokenScope.API], name="laptop"
    )

    row = await pool.fetchrow("select * from personal_access_tokens where id = $1", token_id)
    as_text = await pool.fetchval(
        "select row_to_json(t)::text from personal_access_tokens t where id = $1", token_id
    )

    assert row["user_id"] == alice.id
    assert row["name"] == "laptop"
    assert sorted(row["scopes"]) == ["api", "read_api"]
    assert bytes(row["token_digest"]) == hashlib.sha256(token.encode()).digest()
    secret = token.encode()
    for column, value in row.items():
        if isinstance(value, (bytes, bytearray, memoryview)):
            assert secret not in bytes(value), column
            assert bytes(value).hex() != secret.hex(), column
        else:
            assert token not in str(value), column
            assert token.removeprefix("igpat-") not in str(value), column
    assert token.removeprefix("igpat-") not in as_text
    assert token.encode().hex() not in as_text


async def test_tokens_are_random_and_recognisably_prefixed(world, pool):
    await world.user("alice")
    tokens = {(await create_token(pool, "alice", scopes=[TokenScope.API]))[1] for _ in range(5)}

    assert len(tokens) == 5
    for token in tokens:
        assert token.startswith("igpat-")
        assert len(token) >= len("igpat-") + 40  # 32 random bytes, base64url


async def test_tokens_are_checked_the_same_way_on_get_requests(api, world):
    _, token = await world.user_with_token("alice")

    async def get(headers: dict[str, str]) -> tuple[int, Any]:
        response = await api.client.get(
            "/graphql",
            params={"query": "{ viewer { username } }"},
            headers={"Accept": "application/json", **headers},
        )
        return response.status, await response.json()

    assert await get({"PRIVATE-TOKEN": token}) == (200, {"data": {"viewer": {"username": "alice"}}})
    assert await get({}) == (200, {"data": {"viewer": None}})
    status, body = await get({"Authorization": "Bearer nope"})
    assert status == 401
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
