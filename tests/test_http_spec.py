"""GraphQL over HTTP (the spec's draft) and the service's hardening, over real HTTP.

Media types by `Accept` (q-values, 406), statuses by media type (200 for application/json,
400 for request errors with application/graphql-response+json), methods (405 + Allow),
request bodies (415, 413, parameter types), timeouts (PostgreSQL's statement_timeout and
the whole request's), database outages (503 DATABASE_UNAVAILABLE, then recovery) and
JSON log lines that carry the request id a client saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.db.database import transaction
from issuegraph.db.embedded import EmbeddedServer, start_embedded
from issuegraph.domain.access import Access
from issuegraph.logs import JsonFormatter, TextFormatter
from issuegraph.models import Role, Visibility
from issuegraph.state import DATABASE
from issuegraph.view import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, encode_json, negotiate
from tests.helpers import free_port, serve_process

STRICT = {"Accept": GRAPHQL_RESPONSE_JSON}
LEGACY = {"Accept": APPLICATION_JSON}
PROJECT_QUERY = '{ project(fullPath: "acme/web") { fullPath } }'
ISSUE_QUERY = '{ issue(project: "acme/web", iid: 1) { title } }'


@dataclasses.dataclass
class Answer:
    status: int
    headers: Any
    body: Any

    @property
    def media_type(self) -> str:
        return str(self.headers["Content-Type"])

    @property
    def codes(self) -> list[str]:
        return [e["extensions"]["code"] for e in self.body.get("errors") or []]

    @property
    def request_id(self) -> str:
        return str(self.headers["X-Request-Id"])


async def call(client: Any, method: str = "POST", path: str = "/graphql", **kw: Any) -> Answer:
    """One request; every GraphQL answer is JSON in UTF-8 and carries an X-Request-Id."""
    resp = await client.request(method, path, **kw)
    body = await resp.read()
    assert resp.headers.get("X-Request-Id"), dict(resp.headers)
    assert resp.charset == "utf-8", resp.headers.get("Content-Type")
    return Answer(resp.status, resp.headers, json.loads(body))


async def post(
    client: Any, query: str, *, headers: dict[str, str] | None = None, **params: Any
) -> Answer:
    return await call(client, json={"query": query, **params}, headers=headers or {})


def assert_refused(answer: Answer, status: int, code: str) -> dict[str, Any]:
    """A request-level refusal: the status, one coded error with the request id, no data."""
    assert answer.status == status, (answer.status, answer.body)
    assert "data" not in answer.body, answer.body
    (error,) = answer.body["errors"]
    assert error["extensions"]["code"] == code, error
    assert error["extensions"]["requestId"] == answer.request_id
    assert error["message"]
    return error  # type: ignore[no-any-return]


@pytest.fixture
async def site(api, world):
    """A public project with one issue; the api's client."""
    alice = await world.user("alice")
    project = await world.project(alice, "acme/web", Visibility.PUBLIC)
    await world.issue(alice, project, "Ünïcode title ✓")
    return api.client


async def app_client(aiohttp_client: Any, settings: Settings) -> Any:
    return await aiohttp_client(create_app(settings))


# -- content negotiation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("", APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        ("APPLICATION/JSON", APPLICATION_JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE_JSON),
        ("application/json, application/graphql-response+json", APPLICATION_JSON),
        # The spec's recommended header, and GraphiQL's.
        (
            "application/graphql-response+json; charset=utf-8, application/json; charset=utf-8",
            GRAPHQL_RESPONSE_JSON,
        ),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/json", APPLICATION_JSON),
        ("application/json;q=0.5, application/graphql-response+json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0, */*", APPLICATION_JSON),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE_JSON),
        ("*/*, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", APPLICATION_JSON),
        ("application/json;q=abc, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("text/html", None),
        ("application/xml, text/*", None),
        ("application/json;q=0", None),
        ("*/*;q=0", None),
        ("application/json; charset=latin1", None),
        ("application/json;q=2", None),
    ],
)
def test_accept_picks_the_highest_priority_supported_media_type(accept, chosen):
    assert negotiate(accept) == chosen


async def test_responses_carry_the_negotiated_media_type_in_utf8(site):
    for accept, media_type in [
        (None, APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/json;q=0.8, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.1, application/json", APPLICATION_JSON),
    ]:
        headers = {} if accept is None else {"Accept": accept}
        answer = await post(site, PROJECT_QUERY, headers=headers)
        assert answer.status == 200, (accept, answer.body)
        assert answer.media_type == f"{media_type}; charset=utf-8", accept
        assert answer.body == {"data": {"project": {"fullPath": "acme/web"}}}
    got = await call(site, "GET", params={"query": PROJECT_QUERY}, headers=STRICT)
    assert got.status == 200
    assert got.media_type == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert got.body == {"data": {"project": {"fullPath": "acme/web"}}}


async def test_an_accept_header_allowing_neither_type_is_a_406(site, pool):
    for accept in ["text/html", "application/xml", "application/json;q=0", "text/*, image/png"]:
        answer = await post(site, PROJECT_QUERY, headers={"Accept": accept})
        error = assert_refused(answer, 406, "NOT_ACCEPTABLE")
        assert answer.media_type == "application/json; charset=utf-8"
        assert error["extensions"]["details"]["supported"] == [
            GRAPHQL_RESPONSE_JSON,
            APPLICATION_JSON,
        ]
    # Refused before anything ran: a mutation leaves no trace.
    answer = await post(
        site,
        'mutation { createProject(input: {fullPath: "acme/x"}) { errors { code } } }',
        headers={"Accept": "text/plain"},
    )
    assert answer.status == 406
    assert await pool.fetchval("select count(*) from projects") == 1


async def test_every_answer_varies_by_accept(site):
    """The media type follows Accept, refusals' too: a cache must not mix clients' answers."""
    answers = [
        await post(site, PROJECT_QUERY, headers=STRICT),
        await post(site, PROJECT_QUERY, headers=LEGACY),
        await post(site, "{ nope }", headers=STRICT),
        await post(site, PROJECT_QUERY, headers={"Accept": "text/html"}),
        await call(site, data="{", headers={**STRICT, "Content-Type": "application/json"}),
        await call(site, "PUT", json={"query": PROJECT_QUERY}),
    ]
    assert [a.status for a in answers] == [200, 200, 400, 406, 400, 405]
    for answer in answers:
        assert answer.headers["Vary"] == "Accept", answer.status


async def test_a_browser_still_gets_the_playground_and_json_for_queries(
    aiohttp_client, settings, monkeypatch, tmp_path
):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>playground</title>")
    monkeypatch.setenv("ISSUEGRAPH_PLAYGROUND_DIR", str(dist))
    client = await app_client(aiohttp_client, settings)
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status == 200
    assert page.content_type == "text/html"
    # Text/html only, but a query: nothing the client accepts can carry the answer.
    refused = await call(
        client, "GET", params={"query": "{ viewer { id } }"}, headers={"Accept": "text/html"}
    )
    assert_refused(refused, 406, "NOT_ACCEPTABLE")


# -- statuses by media type --------------------------------------------------------------------


def too_deep() -> str:
    """A query 20 fields deep: over the anonymous limit of 15."""
    inner = "title"
    for _ in range(9):
        inner = f"links {{ nodes {{ {inner} }} }}"
    return f'{{ issue(project: "acme/web", iid: 1) {{ {inner} }} }}'


# Each request error: the parameters, and the code of its one error.
REQUEST_ERRORS: dict[str, tuple[dict[str, Any], str]] = {
    "parse": ({"query": "{ project(fullPath: "}, "GRAPHQL_PARSE_FAILED"),
    "validation": ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
    "variables": (
        {
            "query": 'query($iid: Int!) { issue(project: "a/b", iid: $iid) { id } }',
            "variables": {"iid": "x"},
        },
        "BAD_USER_INPUT",
    ),
    "unknown-operation": (
        {"query": "query A { viewer { id } }", "operationName": "B"},
        "BAD_USER_INPUT",
    ),
    "query-limit": ({"query": too_deep()}, "QUERY_TOO_COMPLEX"),
}


@pytest.mark.parametrize("case", sorted(REQUEST_ERRORS))
async def test_request_errors_are_400_without_data_for_graphql_response_json(site, case):
    params, code = REQUEST_ERRORS[case]
    strict = await call(site, json=params, headers=STRICT)
    assert strict.media_type == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert_refused(strict, 400, code)


@pytest.mark.parametrize("case", sorted(REQUEST_ERRORS))
async def test_request_errors_are_200_with_null_data_for_application_json(site, case):
    params, code = REQUEST_ERRORS[case]
    for headers in [LEGACY, {}, {"Accept": "*/*"}]:
        legacy = await call(site, json=params, headers=headers)
        assert legacy.status == 200, (headers, legacy.body)
        assert legacy.media_type == "application/json; charset=utf-8"
        assert legacy.body["data"] is None
        assert legacy.codes == [code]
        assert legacy.body["errors"][0]["extensions"]["requestId"] == legacy.request_id


async def test_field_errors_are_200_with_partial_data_in_both_media_types(site):
    query = '{ ok: project(fullPath: "acme/web") { fullPath } bad: node(id: "garbage") { id } }'
    for headers in [STRICT, LEGACY]:
        answer = await post(site, query, headers=headers)
        assert answer.status == 200, answer.body
        assert answer.body["data"] == {"ok": {"fullPath": "acme/web"}, "bad": None}
        assert answer.codes == ["BAD_USER_INPUT"]
        assert answer.body["errors"][0]["path"] == ["bad"]


async def test_unauthenticated_stays_401_in_both_media_types(site):
    for headers in [STRICT, LEGACY, {}]:
        answer = await post(
            site, PROJECT_QUERY, headers={**headers, "Authorization": "Bearer nope"}
        )
        assert_refused(answer, 401, "UNAUTHENTICATED")
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_mutation_without_a_token_is_401_and_strict_answers_carry_no_data(site):
    mutation = 'mutation { createProject(input: {fullPath: "acme/y"}) { errors { code } } }'
    strict = await post(site, mutation, headers=STRICT)
    assert_refused(strict, 401, "UNAUTHENTICATED")
    legacy = await post(site, mutation, headers=LEGACY)
    assert legacy.status == 401
    assert legacy.codes == ["UNAUTHENTICATED"]


# -- methods -----------------------------------------------------------------------------------


async def test_a_mutation_over_get_is_405_allow_post_in_both_media_types(site, world, pool):
    _, token = await world.user_with_token("bob")
    for headers in [STRICT, LEGACY]:
        answer = await call(
            site,
            "GET",
            params={
                "query": 'mutation M { createProject(input: {fullPath: "acme/get"}) '
                "{ errors { code } } }",
                "operationName": "M",
            },
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
        error = assert_refused(answer, 405, "METHOD_NOT_ALLOWED")
        assert answer.headers["Allow"] == "POST"
        assert "POST" in error["message"]
    assert await pool.fetchval("select count(*) from projects where full_path = 'acme/get'") == 0


async def test_get_picks_a_query_by_operation_name_and_an_empty_one_means_none(site):
    document = 'query A { project(fullPath: "acme/web") { fullPath } } mutation B { __typename }'
    answer = await call(
        site, "GET", params={"query": document, "operationName": "A"}, headers=STRICT
    )
    assert answer.status == 200, answer.body
    assert answer.body == {"data": {"project": {"fullPath": "acme/web"}}}
    single = await call(
        site, "GET", params={"query": PROJECT_QUERY, "operationName": ""}, headers=STRICT
    )
    assert single.status == 200, single.body


async def test_several_operations_without_a_name_are_a_request_error(site, pool):
    document = (
        'query A { project(fullPath: "acme/web") { fullPath } }'
        ' mutation B { createProject(input: {fullPath: "acme/unnamed", name: "U"})'
        " { errors { code } } }"
    )
    answer = await post(site, document, headers=STRICT)
    error = assert_refused(answer, 400, "GRAPHQL_VALIDATION_FAILED")
    assert "operation name" in error["message"]
    legacy = await post(site, document)
    assert legacy.status == 200
    assert legacy.body["data"] is None
    named = await post(site, document, headers=STRICT, operationName="A")
    assert named.body == {"data": {"project": {"fullPath": "acme/web"}}}
    created = await pool.fetchval("select count(*) from projects where full_path = 'acme/unnamed'")
    assert created == 0


async def test_methods_other_than_get_and_post_are_405_allow_get_post(site):
    for method in ["PUT", "DELETE", "PATCH"]:
        answer = await call(site, method, json={"query": PROJECT_QUERY}, headers=STRICT)
        assert_refused(answer, 405, "METHOD_NOT_ALLOWED")
        assert answer.headers["Allow"] == "GET, POST"


# -- request bodies ----------------------------------------------------------------------------


async def test_bodies_that_are_not_application_json_are_415(site, pool):
    form = aiohttp.FormData()
    form.add_field("operations", '{"query": "{ viewer { id } }"}')
    form.add_field("map", "{}")
    form.add_field("0", b"file contents", filename="upload.txt")
    multipart = await call(site, data=form, headers=STRICT)
    error = assert_refused(multipart, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert error["extensions"]["details"]["supported"] == [APPLICATION_JSON]
    assert multipart.media_type == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"

    text = await call(
        site, data=json.dumps({"query": PROJECT_QUERY}), headers={"Content-Type": "text/plain"}
    )
    assert_refused(text, 415, "UNSUPPORTED_MEDIA_TYPE")

    missing = await call(
        site, data=json.dumps({"query": PROJECT_QUERY}).encode(), skip_auto_headers=["Content-Type"]
    )
    assert_refused(missing, 415, "UNSUPPORTED_MEDIA_TYPE")

    # A charset parameter is fine when it says UTF-8, in any case.
    for content_type in ["application/json; charset=utf-8", "application/json;charset=UTF-8"]:
        ok = await call(
            site, data=json.dumps({"query": PROJECT_QUERY}), headers={"Content-Type": content_type}
        )
        assert ok.status == 200, (content_type, ok.body)


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"query": 5}, "query"),
        ({"query": ["{ viewer { id } }"]}, "query"),
        ({"query": {"text": "{ viewer { id } }"}}, "query"),
        ({"variables": {}}, "query"),
        ({"query": None}, "query"),
        ({"query": ""}, "query"),
        ({"query": PROJECT_QUERY, "variables": "{}"}, "variables"),
        ({"query": PROJECT_QUERY, "variables": [7]}, "variables"),
        ({"query": PROJECT_QUERY, "variables": 5}, "variables"),
        ({"query": PROJECT_QUERY, "operationName": 5}, "operationName"),
        ({"query": PROJECT_QUERY, "operationName": {"name": "A"}}, "operationName"),
        ({"query": PROJECT_QUERY, "extensions": "x"}, "extensions"),
        ({"query": PROJECT_QUERY, "extensions": [1]}, "extensions"),
    ],
)
async def test_parameters_of_the_wrong_type_are_400_naming_the_parameter(site, body, parameter):
    for headers in [STRICT, LEGACY]:
        answer = await call(site, json=body, headers=headers)
        error = assert_refused(answer, 400, "BAD_USER_INPUT")
        assert error["extensions"]["details"] == {"parameter": parameter}
        assert parameter in error["message"]


async def test_null_optional_parameters_are_the_same_as_none(site):
    answer = await post(
        site, PROJECT_QUERY, variables=None, operationName=None, extensions=None, headers=STRICT
    )
    assert answer.status == 200, answer.body
    assert answer.body == {"data": {"project": {"fullPath": "acme/web"}}}


async def test_get_parameters_must_be_json_objects_where_the_spec_says_so(site):
    for parameter, value in [
        ("variables", "{not json"),
        ("variables", "[1]"),
        ("extensions", '"x"'),
    ]:
        answer = await call(
            site, "GET", params={"query": PROJECT_QUERY, parameter: value}, headers=STRICT
        )
        error = assert_refused(answer, 400, "BAD_USER_INPUT")
        assert error["extensions"]["details"] == {"parameter": parameter}


async def test_a_json_list_body_is_400_batching_is_off(site):
    answer = await call(
        site, json=[{"query": PROJECT_QUERY}, {"query": PROJECT_QUERY}], headers=STRICT
    )
    error = assert_refused(answer, 400, "BAD_USER_INPUT")
    assert "batch" in error["message"].lower()


async def test_a_byte_order_mark_before_the_json_is_tolerated(site):
    body = b"\xef\xbb\xbf" + json.dumps({"query": PROJECT_QUERY}).encode()
    answer = await call(site, data=body, headers={"Content-Type": "application/json"})
    assert answer.status == 200, answer.body


def padded_body(size: int) -> bytes:
    """A valid request body of exactly `size` bytes."""
    body = json.dumps({"query": PROJECT_QUERY}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_bodies_over_max_body_bytes_are_413_at_any_size(site, settings):
    limit = settings.max_body_bytes
    cases = {
        "ten megabytes": padded_body(10 * 1024 * 1024),
        "one byte over": padded_body(limit + 1),
    }
    for case, body in cases.items():
        answer = await call(site, data=body, headers={**STRICT, "Content-Type": "application/json"})
        error = assert_refused(answer, 413, "PAYLOAD_TOO_LARGE")
        assert error["extensions"]["details"] == {"maxBytes": limit}, case
        # Without a Content-Length (chunked), the reader stops at the limit.
        streamed = await call(
            site, data=chunks(body), headers={**LEGACY, "Content-Type": "application/json"}
        )
        assert_refused(streamed, 413, "PAYLOAD_TOO_LARGE")
    exact = padded_body(limit)
    assert len(exact) == limit
    answer = await call(site, data=exact, headers={"Content-Type": "application/json"})
    assert answer.status == 200, answer.body
    streamed = await call(site, data=chunks(exact), headers={"Content-Type": "application/json"})
    assert streamed.status == 200, streamed.body
    # The connection pool still works after the refusals.
    assert (await post(site, PROJECT_QUERY)).body == {"data": {"project": {"fullPath": "acme/web"}}}


async def raw_exchange(client: Any, head: bytes) -> tuple[str, dict[str, str], Any]:
    """Send `head` (request line, headers, part of a body) on a socket; read the answer."""
    url = client.make_url("/graphql")
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(head)
        await writer.drain()
        async with asyncio.timeout(10):
            lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
            headers = dict(line.split(": ", 1) for line in lines[1:] if line)
            body = json.loads(await reader.readexactly(int(headers["Content-Length"])))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return lines[0], headers, body


async def test_a_too_large_content_length_is_refused_before_the_body_arrives(site):
    """The 413 comes back while the client has sent 10 bytes of a declared 10 MB body."""
    status, headers, body = await raw_exchange(
        site,
        b"POST /graphql HTTP/1.1\r\n"
        b"Host: test\r\n"
        b"Content-Type: application/json\r\n"
        b"X-Request-Id: early-413\r\n"
        b"Content-Length: 10485760\r\n\r\n"
        b'{"query": ',
    )
    assert status == "HTTP/1.1 413 Request Entity Too Large", status
    assert headers["X-Request-Id"] == "early-413"
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body["errors"][0]["extensions"]["requestId"] == "early-413"


async def test_a_body_that_does_not_arrive_in_time_is_a_408(aiohttp_client, settings):
    client = await app_client(
        aiohttp_client, dataclasses.replace(settings, request_timeout_seconds=0.3)
    )
    status, headers, body = await raw_exchange(
        client,
        b"POST /graphql HTTP/1.1\r\n"
        b"Host: test\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
        b'{"query": ',
    )
    assert status == "HTTP/1.1 408 Request Timeout", status
    assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert body["errors"][0]["extensions"]["requestId"] == headers["X-Request-Id"]


# -- response encoding -------------------------------------------------------------------------


def test_orjson_encodes_what_json_dumps_encoded():
    """The same JSON document as the json.dumps path, for every kind of value we send."""
    body = {
        "data": {
            "issue": {
                "title": 'Ünïcode ✓ \u2028 "quoted" \\ back\nslash 🔥',
                "createdAt": "2024-05-06T07:08:09.123456+00:00",
                "dueDate": "2024-05-06",
                "weight": 3,
                "ratio": 0.1,
                "labels": [],
                "assignees": [{"username": "alice"}, None],
                "closed": False,
                "milestone": None,
            },
            "count": 2**53 + 1,
        },
        "errors": [
            {
                "message": "x",
                "path": ["issue", 0, "links"],
                "extensions": {"code": "CYCLE", "details": {"path": [None, "g/p#1"]}},
            }
        ],
    }
    encoded = encode_json(body)
    assert json.loads(encoded) == json.loads(json.dumps(body)) == body
    assert "Ünïcode ✓".encode() in encoded  # UTF-8, not \u escapes
    # What orjson refuses, the standard library still writes.
    for value in [{"big": 2**70}, {"lone": "\ud800"}]:
        assert json.loads(encode_json(value)) == json.loads(json.dumps(value))
    assert json.loads(encode_json({1: "a"})) == json.loads(json.dumps({1: "a"}))


async def test_a_real_answer_decodes_the_same_as_json_dumps_of_the_result(site):
    query = (
        '{ issue(project: "acme/web", iid: 1) { title createdAt updatedAt labels weight dueDate } }'
    )
    resp = await site.post("/graphql", json={"query": query})
    raw = await resp.read()
    body = json.loads(raw)
    assert body["data"]["issue"]["title"] == "Ünïcode title ✓"
    assert json.loads(json.dumps(body)) == json.loads(encode_json(body)) == body
    created = body["data"]["issue"]["createdAt"]
    assert isinstance(created, str)
    assert created.endswith("+00:00")


# -- timeouts --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def table_locked(pool: asyncpg.Pool, table: str) -> AsyncIterator[None]:
    """Hold an ACCESS EXCLUSIVE lock on `table`: whoever touches it waits."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"lock table {table} in access exclusive mode")
        yield


async def test_statement_timeout_is_set_on_the_service_connections_only(aiohttp_client, settings):
    for timeout_ms, shown in [(250, "250ms"), (0, "0")]:
        client = await app_client(
            aiohttp_client, dataclasses.replace(settings, statement_timeout_ms=timeout_ms)
        )
        app_pool = client.app[DATABASE].pool
        assert await app_pool.fetchval("show statement_timeout") == shown
        await client.close()


async def test_a_statement_over_statement_timeout_is_a_timeout_field_error(
    site, aiohttp_client, settings, pool
):
    client = await app_client(
        aiohttp_client, dataclasses.replace(settings, statement_timeout_ms=200)
    )
    for headers in [STRICT, LEGACY]:
        async with table_locked(pool, "issues"):
            started = time.monotonic()
            answer = await post(client, ISSUE_QUERY, headers=headers)
            elapsed = time.monotonic() - started
        assert answer.status == 200, answer.body
        assert answer.body["data"] == {"issue": None}
        (error,) = answer.body["errors"]
        assert error["extensions"]["code"] == "TIMEOUT"
        assert error["path"] == ["issue"]
        assert error["message"] == "The request took too long and was cancelled"
        assert "statement" not in error["message"]
        assert elapsed < 5
    after = await post(client, ISSUE_QUERY)
    assert after.body == {"data": {"issue": {"title": "Ünïcode title ✓"}}}


async def test_a_request_over_the_request_timeout_is_a_504_timeout(
    site, aiohttp_client, settings, pool
):
    client = await app_client(
        aiohttp_client, dataclasses.replace(settings, request_timeout_seconds=0.3)
    )
    for headers in [STRICT, LEGACY]:
        async with table_locked(pool, "issues"):
            started = time.monotonic()
            answer = await post(client, ISSUE_QUERY, headers=headers)
            elapsed = time.monotonic() - started
        error = assert_refused(answer, 504, "TIMEOUT")
        assert error["extensions"]["details"] == {"timeoutMs": 300}
        assert 0.3 <= elapsed < 5
    after = await post(client, ISSUE_QUERY)
    assert after.body == {"data": {"issue": {"title": "Ünïcode title ✓"}}}


async def test_a_mutation_cut_by_the_request_timeout_leaves_nothing_half_written(
    aiohttp_client, settings, world, pool
):
    alice, token = await world.user_with_token("alice")
    project = await world.project(alice, "acme/web", Visibility.PUBLIC)
    bob = await world.user("bob")
    await world.member(project, bob, Role.GUEST)
    client = await app_client(
        aiohttp_client, dataclasses.replace(settings, request_timeout_seconds=0.5)
    )
    mutation = (
        "mutation($input: CreateIssueInput!) { createIssue(input: $input) "
        "{ issue { iid } errors { code } } }"
    )
    variables = {"input": {"project": "acme/web", "title": "T", "assigneeUsernames": ["bob"]}}
    # The issue row is inserted (and the project's iid counter bumped) before the
    # assignees, whose table is locked: the timeout strikes between the two writes.
    async with table_locked(pool, "issue_assignees"):
        answer = await post(
            client, mutation, variables=variables, headers={"Authorization": f"Bearer {token}"}
        )
    assert_refused(answer, 504, "TIMEOUT")
    await asyncio.sleep(0.1)  # the cancelled transaction's rollback
    assert await pool.fetchval("select count(*) from issues") == 0
    assert await pool.fetchval("select last_issue_iid from projects where id = $1", project.id) == 0
    # The same mutation, unobstructed, writes it all.
    done = await post(
        client, mutation, variables=variables, headers={"Authorization": f"Bearer {token}"}
    )
    assert done.body == {"data": {"createIssue": {"issue": {"iid": 1}, "errors": []}}}


# -- database outages ------------------------------------------------------------------------


@pytest.fixture
async def own_server() -> AsyncIterator[tuple[Path, list[EmbeddedServer]]]:
    """A PostgreSQL server of this test's own, which the test may stop and start."""
    with tempfile.TemporaryDirectory(prefix="issuegraph-outage-") as data_dir:
        servers = [await asyncio.to_thread(start_embedded, Path(data_dir))]
        try:
            yield Path(data_dir), servers
        finally:
            await asyncio.to_thread(servers[-1].stop)


async def test_a_stopped_database_is_503_database_unavailable_then_recovers(
    aiohttp_client, own_server, tmp_path
):
    data_dir, servers = own_server
    settings = Settings(
        database_url=servers[0].admin_dsn,
        data_dir=tmp_path / "unused",
        pool_min_size=1,
        pool_max_size=2,
    )
    client = await app_client(aiohttp_client, settings)
    assert (await post(client, PROJECT_QUERY)).body == {"data": {"project": None}}

    await asyncio.to_thread(servers[0].stop)
    for headers in [STRICT, LEGACY, {"Authorization": "Bearer igpat-whatever"}]:
        started = time.monotonic()
        answer = await post(client, PROJECT_QUERY, headers=headers)
        assert time.monotonic() - started < 3, "an outage must fail fast"
        error = assert_refused(answer, 503, "DATABASE_UNAVAILABLE")
        assert answer.headers["Retry-After"] == "5"
        assert error["message"] == "The database is unavailable; try again shortly"
    ready = await client.get("/readyz")
    assert ready.status == 503

    servers.append(await asyncio.to_thread(start_embedded, data_dir))
    assert servers[1].admin_dsn == servers[0].admin_dsn  # same socket: the pool's DSN works
    answer = await post(client, PROJECT_QUERY, headers=STRICT)
    assert answer.status == 200, answer.body
    assert answer.body == {"data": {"project": None}}
    assert (await client.get("/readyz")).status == 200


async def terminate_service_backends(pool: asyncpg.Pool) -> None:
    """End every other session on the database, and wait until each backend has exited
    (having sent its client the message that ends the session): killed while idle."""
    pids = await pool.fetch(
        """
        select pid from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and backend_type = 'client backend'
        """
    )
    pids = [row["pid"] for row in pids]
    assert pids
    await pool.execute("select pg_terminate_backend(pid) from unnest($1::int[]) as pid", pids)
    for _ in range(1000):
        if not await pool.fetchval(
            "select count(*) from pg_stat_activity where pid = any($1)", pids
        ):
            return
        await asyncio.sleep(0.005)
    pytest.fail("the terminated backends never exited")


async def test_idle_pooled_connections_killed_by_the_server_are_replaced(site, pool):
    # Right after the kill, asyncpg may hold a connection that has read the session's
    # end but not yet its closed socket, and refuses to start a statement on it.
    for _ in range(10):
        await terminate_service_backends(pool)
        for _ in range(3):
            answer = await post(site, PROJECT_QUERY, headers=STRICT)
            assert answer.body == {"data": {"project": {"fullPath": "acme/web"}}}, answer.body


async def test_a_transaction_begins_on_a_new_connection_after_the_server_killed_them(site, pool):
    service = site.app[DATABASE].pool
    for round_ in range(10):
        await terminate_service_backends(pool)
        async with transaction(service) as conn:
            await conn.execute("update issues set title = $1", f"round {round_}")
        assert await pool.fetchval("select title from issues") == f"round {round_}"


async def test_a_connection_killed_under_a_statement_is_503_and_the_next_request_works(site, pool):
    async with table_locked(pool, "issues"):
        pending = asyncio.create_task(post(site, ISSUE_QUERY, headers=LEGACY))
        # The service's backend, waiting for the lock, is terminated under it.
        for _ in range(500):
            if await pool.fetchval(
                """
                select count(pg_terminate_backend(pid)) from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock'
                """
            ):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the request never waited for the lock")
        answer = await pending
    error = assert_refused(answer, 503, "DATABASE_UNAVAILABLE")
    assert answer.headers["Retry-After"] == "5"
    assert "terminat" not in error["message"]
    after = await post(site, ISSUE_QUERY, headers=LEGACY)
    assert after.body == {"data": {"issue": {"title": "Ünïcode title ✓"}}}


# -- logs --------------------------------------------------------------------------------------


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every log record while the test runs, as JsonFormatter writes it (parsed back)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict[str, Any]]:
        text = stream.getvalue()
        assert text.endswith("\n") or not text
        return [json.loads(line) for line in text.splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


async def test_every_log_line_is_json_with_the_request_id_the_client_saw(
    aiohttp_client, settings, site, pool, log_lines
):
    client = await app_client(
        aiohttp_client, dataclasses.replace(settings, statement_timeout_ms=200)
    )
    async with table_locked(pool, "issues"):
        answer = await post(
            client,
            'query Slow { issue(project: "acme/web", iid: 1) { title } }',
            operationName="Slow",
            headers={"X-Request-Id": "req-timeout-1"},
        )
    assert answer.codes == ["TIMEOUT"]
    assert answer.body["errors"][0]["extensions"]["requestId"] == "req-timeout-1"
    lines = log_lines()
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    mine = [line for line in lines if line.get("request_id") == "req-timeout-1"]
    warning = next(line for line in mine if line["level"] == "WARNING")
    assert "TIMEOUT" in warning["message"]
    assert "statement timeout" in warning["message"]  # PostgreSQL's words: the log only
    access = next(line for line in mine if line["logger"] == "issuegraph.access")
    assert access["method"] == "POST"
    assert access["path"] == "/graphql"
    assert access["status"] == 200
    assert access["operation"] == "Slow"
    assert isinstance(access["duration_ms"], float)
    assert access["duration_ms"] >= 150


async def test_unexpected_errors_reach_the_log_with_their_traceback_never_the_client(
    site, monkeypatch, log_lines
):
    async def broken(self: Access, ref: str | int) -> None:
        raise RuntimeError("select title from issues where title = 'Secret plan'")

    monkeypatch.setattr(Access, "project", broken)
    answer = await post(site, PROJECT_QUERY, headers={"X-Request-Id": "req-boom-1"})
    assert answer.status == 200
    assert answer.codes == ["INTERNAL"]
    assert answer.body["errors"][0]["message"] == "Internal server error"
    assert "Secret" not in json.dumps(answer.body)
    assert "select" not in json.dumps(answer.body)
    logged = [line for line in log_lines() if line.get("request_id") == "req-boom-1"]
    error = next(line for line in logged if line["level"] == "ERROR")
    assert "Traceback" in error["exc_info"]
    assert "Secret plan" in error["exc_info"]


def test_text_log_lines_name_the_request_too():
    from issuegraph.logs import REQUEST_ID  # noqa: PLC0415

    record = logging.LogRecord(
        "issuegraph.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None
    )
    token = REQUEST_ID.set("abc-1")
    try:
        text = TextFormatter().format(record)
        as_json = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert text.endswith(" WARNING x: hello you [request abc-1]")
    assert as_json["request_id"] == "abc-1"
    assert as_json["message"] == "hello you"
    assert "request_id" not in json.loads(JsonFormatter().format(record))


async def test_serve_writes_json_log_lines_with_an_access_line_per_request(database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env |= {
        "DATABASE_URL": database_url,
        "ISSUEGRAPH_LOG_LEVEL": "INFO",
        "ISSUEGRAPH_LOG_FORMAT": "json",
        "ISSUEGRAPH_POOL_MIN_SIZE": "1",
    }
    async with (
        serve_process(free_port(), env) as served,
        aiohttp.ClientSession() as session,
        session.post(
            f"{served.base}/graphql",
            json={"query": "{ nope }"},
            headers={"X-Request-Id": "serve-req-1", **STRICT},
        ) as response,
    ):
        assert response.status == 400
        body = await response.json(content_type=None)
    assert body["errors"][0]["extensions"]["requestId"] == "serve-req-1"
    lines = [json.loads(line) for line in served.stderr.decode().splitlines()]
    assert lines, "no log lines"
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    access = [line for line in lines if line["logger"] == "issuegraph.access"]
    (graphql,) = [line for line in access if line.get("request_id") == "serve-req-1"]
    assert (graphql["method"], graphql["path"], graphql["status"]) == ("POST", "/graphql", 400)
