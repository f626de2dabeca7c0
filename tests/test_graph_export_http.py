"""`GET /graphql/graph/export`: the text `issuegraph graph` prints, byte for byte, as the
viewer of the request's token, over real HTTP against the demo data; access, hostile
parameters, and never a 5xx."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import asyncpg
import pytest

from issuegraph import demo
from issuegraph.app import create_app
from issuegraph.config import Settings
from tests.helpers import World
from tests.test_graph_export import graph as cli_graph

PATH = "/graphql/graph/export"


@pytest.fixture(params=["memory", "sql"])
async def client(request: Any, aiohttp_client: Any, settings: Settings, pool: asyncpg.Pool):
    await demo.seed_demo(pool)
    app = create_app(dataclasses.replace(settings, graph_index=request.param))
    return await aiohttp_client(app)


async def get(
    client: Any, params: list[tuple[str, str]] | str, token: str | None = None
) -> tuple[int, Any, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(params, str):  # a raw query string, sent as it is
        response = await client.get(f"{PATH}?{params}", headers=headers)
    else:
        response = await client.get(PATH, params=params, headers=headers)
    return response.status, response.headers, await response.read()


def error(body: bytes) -> tuple[str, str]:
    document = json.loads(body)
    (only,) = document["errors"]
    assert only["extensions"]["requestId"]
    return only["extensions"]["code"], only["message"]


CASES: list[tuple[list[tuple[str, str]], list[str]]] = [
    ([], []),
    ([("format", "mermaid")], ["--format", "mermaid"]),
    (
        [("format", "json"), ("types", "relates,blocks")],
        ["--format", "json", "--link-types", "relates,blocks"],
    ),
    ([("label", "API"), ("label", "performance")], ["--label", "api", "--label", "Performance"]),
    ([("state", "closed"), ("types", "parent")], ["--state", "closed", "--link-types", "parent"]),
    ([("iid", "6"), ("types", "blocks")], ["--issue", "6", "--link-types", "blocks"]),
    ([("iid", "4"), ("format", "json")], ["--issue", "4", "--format", "json"]),
]


@pytest.mark.parametrize("viewer", ["root", "dave"])
async def test_the_download_is_what_the_cli_prints(
    client: Any, world: World, database_url: str, viewer: str
):
    token = await world.token(viewer)
    for params, args in CASES:
        status, _, body = await get(client, [("project", "acme/platform"), *params], token)
        assert status == 200, body
        printed = await cli_graph(database_url, "--project", "acme/platform", "--as", viewer, *args)
        assert body == printed.encode(), (params, body.decode(), printed)


async def test_formats_headers_and_file_names(client: Any, world: World):
    expected = {
        "dot": ("text/vnd.graphviz", "acme-platform.dot"),
        "mermaid": ("text/plain", "acme-platform.mmd"),
        "json": ("application/json", "acme-platform.json"),
    }
    for fmt, (media_type, filename) in expected.items():
        status, headers, body = await get(client, [("project", "acme/platform"), ("format", fmt)])
        assert status == 200
        assert headers["Content-Type"] == f"{media_type}; charset=utf-8"
        assert headers["Content-Disposition"] == f'attachment; filename="{filename}"'
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Request-Id"]
        assert body
    # An issue's closure is named by the project's path and the iid.
    status, headers, _ = await get(client, [("project", "acme/platform"), ("iid", "3")])
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="acme-platform-3.dot"'
    # By numeric id: the same file, named by the path.
    project_id = await world.pool.fetchval(
        "select id from projects where full_path = 'acme/platform'"
    )
    by_id = await get(client, [("project", str(project_id))])
    by_path = await get(client, [("project", "acme/platform")])
    assert by_id[2] == by_path[2]
    assert by_id[1]["Content-Disposition"] == 'attachment; filename="acme-platform.dot"'


async def test_anonymous_reads_the_public_project_only(client: Any, world: World):
    status, _, body = await get(client, [("project", "acme/platform"), ("format", "json")])
    assert status == 200
    refs = [node["reference"] for node in json.loads(body)["nodes"]]
    assert "acme/platform#7" not in refs  # confidential
    assert "acme/tools#1" not in refs  # internal
    assert refs == [f"acme/platform#{n}" for n in (1, 2, 3, 4, 5, 6, 8)]
    for path in ("acme/tools", "acme/security"):
        status, _, body = await get(client, [("project", path)])
        assert status == 404
        assert error(body) == ("NOT_FOUND", f"project {path!r} not found")
    # A member reads what their role lets them: dave reads tools (internal), not security.
    dave = await world.token("dave")
    assert (await get(client, [("project", "acme/tools")], dave))[0] == 200
    assert (await get(client, [("project", "acme/security")], dave))[0] == 404


async def test_hidden_is_answered_exactly_as_missing(client: Any, world: World):
    def without_ref(body: bytes, ref: str) -> tuple[str, str]:
        code, message = error(body)
        return code, message.replace(ref, "REF")

    hidden = await get(client, [("project", "acme/security")])
    missing = await get(client, [("project", "acme/nothing")])
    assert hidden[0] == missing[0] == 404
    assert without_ref(hidden[2], "acme/security") == without_ref(missing[2], "acme/nothing")
    assert dict(hidden[1]).keys() == dict(missing[1]).keys()
    # An issue: the confidential #7, a missing #99, an iid no issue can have.
    answers = [
        await get(client, [("project", "acme/platform"), ("iid", iid)])
        for iid in ("7", "99", "0", "99999999999")
    ]
    assert {status for status, _, _ in answers} == {404}
    assert {
        without_ref(body, f"acme/platform#{iid}")
        for (_, _, body), iid in zip(answers, ("7", "99", "0", "99999999999"), strict=True)
    } == {("NOT_FOUND", "issue REF not found")}
    # Hidden issue of a readable project through the issue closure of a member: dave is a
    # guest (no confidential #7), carol a reporter.
    dave, carol = await world.token("dave"), await world.token("carol")
    assert (await get(client, [("project", "acme/platform"), ("iid", "7")], dave))[0] == 404
    assert (await get(client, [("project", "acme/platform"), ("iid", "7")], carol))[0] == 200


async def test_bad_tokens_are_401(client: Any):
    for headers in (
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic abc"},
        {"PRIVATE-TOKEN": "nope"},
    ):
        response = await client.get(PATH, params={"project": "acme/platform"}, headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert error(await response.read())[0] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [
        ("", 400, "project"),
        ("project=", 400, "project"),
        ("project=acme/platform&format=png", 400, "format"),
        ("project=acme/platform&format=DOT", 400, "format"),
        ("project=acme/platform&iid=abc", 400, "iid"),
        ("project=acme/platform&iid=-3", 400, "iid"),
        ("project=acme/platform&iid=1.5", 400, "iid"),
        ("project=acme/platform&iid=" + "9" * 60, 400, "iid"),
        ("project=acme/platform&project=acme/tools", 400, "project"),
        ("project=acme/platform&format=dot&format=json", 400, "format"),
        ("project=acme/platform&iid=1&iid=2", 400, "iid"),
        ("project=acme/platform&state=open", 400, "state"),
        ("project=acme/platform&state=opened&state=closed", 400, "state"),
        ("project=acme/platform&types=bogus", 400, "types"),
        ("project=acme/platform&types=,,", 400, "types"),
        ("project=acme/platform&label=", 400, None),
        ("project=acme/platform&label=a%00b", 400, None),
        ("project=acme/platform&label=" + "x" * 2000, 400, "label"),
        ("project=acme/platform&iid=1&label=api", 400, None),
        ("project=" + "a" * 5000, 400, "project"),
        ("project=%ff%fe%00", 404, None),
        ("project=acme%2Fplatform%00", 404, None),
        ("project=%F0%9F%92%A9", 404, None),
        ("project=99999999999999999999999", 404, None),
    ],
)
async def test_hostile_parameters_are_coded_and_never_5xx(
    client: Any, query: str, status: int, parameter: str | None
):
    got, headers, body = await get(client, query)
    assert got == status, body
    code, message = error(body)
    assert code == {400: "BAD_USER_INPUT", 404: "NOT_FOUND"}[status]
    assert message
    if parameter is not None:
        assert json.loads(body)["errors"][0]["extensions"]["details"]["parameter"] == parameter
    assert headers["Content-Type"].startswith("application/json")


async def test_other_methods_are_405(client: Any):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = await client.request(method, PATH, params={"project": "acme/platform"})
        assert response.status == 405
        assert response.headers["Allow"] == "GET, HEAD"
        assert error(await response.read())[0] == "METHOD_NOT_ALLOWED"


async def test_a_graph_over_the_limit_is_refused(
    aiohttp_client: Any, settings: Settings, pool: asyncpg.Pool
):
    await demo.seed_demo(pool)
    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, graph_export_max_issues=3))
    )
    status, _, body = await get(client, [("project", "acme/platform")])
    assert status == 400
    document = json.loads(body)["errors"][0]
    assert document["extensions"]["code"] == "BAD_USER_INPUT"
    assert document["extensions"]["details"] == {"issueCount": 7, "max": 3}
    # Narrowed under the limit, it is served.
    status, _, _ = await get(client, [("project", "acme/platform"), ("state", "closed")])
    assert status == 200
    # An issue's closure is bounded alike: #3's over parent and blocks holds 7 readable.
    status, _, body = await get(client, [("project", "acme/platform"), ("iid", "3")])
    assert status == 400
