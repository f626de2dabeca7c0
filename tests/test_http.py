"""The HTTP surface: bodies, methods, error shapes, request ids, health endpoints."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from issuegraph.models import Visibility

VIEWER_QUERY = "{ viewer { username } }"


@dataclass
class Raw:
    status: int
    headers: Any
    body: Any

    @property
    def request_id(self) -> str:
        return str(self.headers["X-Request-Id"])

    @property
    def error(self) -> dict[str, Any]:
        errors = self.body["errors"]
        assert len(errors) == 1, errors
        return errors[0]  # type: ignore[no-any-return]


async def send(api: Any, method: str, path: str = "/graphql", **kw: Any) -> Raw:
    """One raw request; every answer must be JSON and carry an X-Request-Id."""
    resp = await api.client.request(method, path, **kw)
    assert resp.headers.get("X-Request-Id"), dict(resp.headers)
    assert resp.content_type == "application/json", (resp.status, await resp.text())
    return Raw(resp.status, resp.headers, await resp.json())


def assert_request_error(raw: Raw, status: int, code: str) -> None:
    """A request-level error: the status, one coded error, the request id in body and header."""
    assert raw.status == status, raw.body
    error = raw.error
    assert error["message"]
    assert error["extensions"]["code"] == code, error
    assert error["extensions"]["requestId"] == raw.request_id


async def post_body(api: Any, body: str | bytes, content_type: str = "application/json") -> Raw:
    return await send(api, "POST", data=body, headers={"Content-Type": content_type})


# -- bodies the server cannot use ------------------------------------------------------------


MALFORMED_BODIES: dict[str, str | bytes] = {
    "truncated": "{not json",
    "empty": "",
    "invalid-utf8": b'{"query": "\xff"}',
    "absurdly-nested": "[" * 100_000 + "]" * 100_000,
    "absurdly-nested-variables": '{"query": "{ viewer { username } }", "variables": '
    + "[" * 100_000
    + "]" * 100_000
    + "}",
    "json-string": '"a string"',
    "json-null": "null",
    "json-number": "42",
    "json-bool": "true",
    "json-list": "[1, 2]",
    "query-not-a-string": '{"query": 5}',
    "variables-number": '{"query": "{ viewer { username } }", "variables": 5}',
    "extensions-string": '{"query": "{ viewer { username } }", "extensions": "x"}',
}


async def test_malformed_json_body_is_a_400_with_code_and_request_id(api):
    for case, body in MALFORMED_BODIES.items():
        raw = await post_body(api, body)
        assert raw.status == 400, (case, raw.status, raw.body)
        assert_request_error(raw, 400, "BAD_USER_INPUT")


async def test_unsupported_content_type_is_a_415(api):
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/graphql",
        "application/graphql-response+json",
        "application/json; charset=latin-1",
    ]:
        raw = await post_body(api, '{"query": "{ viewer { username } }"}', content_type)
        assert_request_error(raw, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert "application/json" in raw.error["message"], raw.error


async def test_missing_query_is_a_400(api):
    for body in ["{}", '{"query": null}', '{"variables": {}}']:
        raw = await post_body(api, body)
        assert raw.status == 400, (body, raw.body)
        assert_request_error(raw, 400, "BAD_USER_INPUT")
        assert "query" in raw.error["message"].lower()


# -- GraphQL documents that do not run ---------------------------------------------------------


async def test_syntax_error_is_graphql_parse_failed(api):
    response = await api.gql("{ viewer { username ")
    assert response.status == 200
    assert response.body["data"] is None
    assert response.codes == ["GRAPHQL_PARSE_FAILED"]
    assert response.errors[0]["extensions"]["requestId"] == response.headers["X-Request-Id"]
    assert response.errors[0]["locations"]


async def test_unknown_field_is_graphql_validation_failed(api):
    response = await api.gql("{ viewer { username } noSuchField }")
    assert response.body["data"] is None
    assert response.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "noSuchField" in response.errors[0]["message"]
    assert response.errors[0]["extensions"]["requestId"] == response.headers["X-Request-Id"]


async def test_wrong_variable_type_is_bad_user_input(api):
    response = await api.gql(
        'query($iid: Int!) { issue(project: "a/b", iid: $iid) { title } }', {"iid": "seven"}
    )
    assert response.body["data"] is None
    assert response.codes == ["BAD_USER_INPUT"]
    assert "$iid" in response.errors[0]["message"]


async def test_missing_required_variable_is_bad_user_input(api):
    response = await api.gql('query($iid: Int!) { issue(project: "a/b", iid: $iid) { title } }')
    assert response.body["data"] is None
    assert response.codes == ["BAD_USER_INPUT"]


# -- answers for missing things --------------------------------------------------------------


async def test_unknown_project_is_null_without_errors(api):
    for ref in ["no/such-project", "999999"]:
        response = await api.gql(
            "query($p: ID!) { project(fullPath: $p) { id } issue(project: $p, iid: 1) { id } }",
            {"p": ref},
        )
        assert response.status == 200
        assert response.body == {"data": {"project": None, "issue": None}}


async def test_invalid_global_id_in_node_is_bad_user_input(api):
    for global_id in [
        "garbage",
        "",
        base64.b64encode(b"Issue:abc").decode(),  # not a number
        base64.b64encode(b"Widget:1").decode(),  # no such type
    ]:
        response = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": global_id})
        assert response.status == 200
        assert response.body["data"] == {"node": None}, global_id
        assert response.codes == ["BAD_USER_INPUT"], global_id
        assert response.errors[0]["path"] == ["node"]


async def test_valid_global_id_of_a_missing_object_is_null_without_errors(api):
    missing = base64.b64encode(b"Issue:999999").decode()
    response = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": missing})
    assert response.body == {"data": {"node": None}}


async def test_node_finds_a_public_project_by_its_global_id(api, world):
    alice = await world.user("alice")
    project = await world.project(alice, "acme/web", Visibility.PUBLIC)
    gid = base64.b64encode(f"Project:{project.id}".encode()).decode()
    response = await api.gql(
        "query($id: ID!) { node(id: $id) { id ... on Project { fullPath } } }", {"id": gid}
    )
    assert response.data == {"node": {"id": gid, "fullPath": "acme/web"}}


# -- methods -----------------------------------------------------------------------------------


async def test_a_query_over_get_works(api, world):
    alice = await world.user("alice")
    await world.project(alice, "acme/web", Visibility.PUBLIC)
    raw = await send(
        api,
        "GET",
        params={
            "query": "query($p: ID!) { project(fullPath: $p) { fullPath } }",
            "variables": '{"p": "acme/web"}',
        },
        headers={"Accept": "application/json"},
    )
    assert raw.status == 200
    assert raw.body == {"data": {"project": {"fullPath": "acme/web"}}}


async def test_a_mutation_over_get_is_refused_and_writes_nothing(api, world, pool):
    _, token = await world.user_with_token("alice")
    raw = await send(
        api,
        "GET",
        params={
            "query": 'mutation { createProject(input: {fullPath: "acme/get"}) '
            "{ project { id } errors { code } } }"
        },
        headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert raw.status == 405
    assert raw.headers["Allow"] == "POST"
    assert "data" not in raw.body
    assert raw.error["extensions"]["code"]
    assert raw.error["extensions"]["requestId"] == raw.request_id
    assert await pool.fetchval("select count(*) from projects") == 0


async def test_unsupported_method_is_405(api):
    for method in ["PUT", "PATCH", "DELETE", "OPTIONS"]:
        raw = await send(api, method, json={"query": VIEWER_QUERY})
        assert_request_error(raw, 405, "METHOD_NOT_ALLOWED")
        assert raw.headers["Allow"] == "GET, POST"


# -- request ids ---------------------------------------------------------------------------------


async def test_sane_client_request_id_is_echoed_and_used_in_errors(api):
    response = await api.gql("{ nope }", headers={"X-Request-Id": "client-req.42:a_b"})
    assert response.headers["X-Request-Id"] == "client-req.42:a_b"
    assert response.errors[0]["extensions"]["requestId"] == "client-req.42:a_b"


async def test_sane_client_request_id_is_echoed_on_request_level_errors(api):
    raw = await send(
        api,
        "POST",
        data="{not json",
        headers={"Content-Type": "application/json", "X-Request-Id": "abc-123"},
    )
    assert raw.request_id == "abc-123"
    assert_request_error(raw, 400, "BAD_USER_INPUT")


async def test_insane_client_request_id_is_replaced(api):
    for insane in ["has spaces in it", "x" * 129, "<script>", "a\tb", "ü-unicode"]:
        response = await api.gql("{ nope }", headers={"X-Request-Id": insane})
        replaced = response.headers["X-Request-Id"]
        assert replaced
        assert replaced != insane
        assert response.errors[0]["extensions"]["requestId"] == replaced


async def test_each_request_gets_its_own_request_id(api):
    first = await api.gql(VIEWER_QUERY)
    second = await api.gql(VIEWER_QUERY)
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


# -- health ----------------------------------------------------------------------------------------


async def test_healthz_is_200_json(api):
    raw = await send(api, "GET", "/healthz")
    assert raw.status == 200
    assert raw.body["status"] == "ok"


async def test_readyz_is_200_json_when_the_database_answers(api):
    raw = await send(api, "GET", "/readyz")
    assert raw.status == 200
    # docs/scaling.md: every database, by name; here the primary alone.
    assert raw.body == {"status": "ok", "database": "ok", "databases": {"primary": "up"}}
