"""SourceCraft's issue links (/repos/{org}/{repo}/issues/{slug}/issue_links): plain HTTP
against a real `issuegraph serve` and in process, each case as the seed documents it
(004_4a3a3791b1aeaed6.txt): seven link types, one link per pair, `silent`, its error body."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from issuegraph.app import create_app
from tests.helpers import StatementLog, World
from tests.rest_helpers import Http, Scene, make_scene, served

SEED_LINK = {"id", "source", "target", "link_type", "author", "updated_by", "created_at", "updated_at"}  # fmt: skip
SEED_ERROR = {"error_code", "message", "request_id", "details"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
async def scene(world: World) -> Scene:
    return await make_scene(world)


@pytest.fixture
async def http(aiohttp_client: Any, settings: Any) -> Http:
    return Http(await aiohttp_client(create_app(settings)))


def _links(slug: int | str, repo: str = "acme/web") -> str:
    return f"/repos/{repo}/issues/{slug}/issue_links"


async def _create(http: Http, scene: Scene, slug: int, body: dict[str, Any], **kw: Any) -> Any:
    status, answer, _ = await http.call(
        "POST", _links(slug), token=scene.alice_token, body=body, **kw
    )
    assert status == 201, answer
    return answer


async def test_create_list_get_and_delete_over_http_against_serve(database_url, world, pool):
    scene = await make_scene(world)
    headers = {"Authorization": f"Bearer {scene.alice_token}"}
    async with served(database_url) as server, aiohttp.ClientSession(headers=headers) as session:
        base = f"{server.base}/repos/acme/web/issues/1/issue_links"
        async with session.post(
            base,
            params={"silent": "true"},
            json={"target_issue_id": str(scene.api_issues[0].id), "link_type": "blocked_by"},
        ) as response:
            assert response.status == 201
            created = await response.json()
        async with session.get(base) as response:
            listed = await response.json()
        async with session.get(f"{base}/{created['id']}") as response:
            fetched = await response.json()
        async with session.delete(f"{base}/{created['id']}") as response:
            assert response.status == 204
            assert await response.read() == b""
        async with session.get(f"{base}/{created['id']}") as response:
            assert response.status == 404
            gone = await response.json()
            assert gone["request_id"] == response.headers["X-Request-Id"]
    assert set(created) == SEED_LINK
    assert created["source"] == {"id": str(scene.web_issues[0].id), "slug": "1"}
    assert created["target"] == {"id": str(scene.api_issues[0].id), "slug": "1"}
    assert created["link_type"] == "blocked_by"
    assert created["author"] == {"id": str(scene.alice.id), "slug": "alice"}
    assert created["updated_by"] is None
    assert RFC3339.match(created["created_at"])
    assert listed == {"issue_links": [created], "next_page_token": ""}
    assert fetched == created
    assert set(gone) == SEED_ERROR
    assert gone["error_code"] == "NOT_FOUND"
    # silent: recorded in the change log as such, never pushed.
    rows = await pool.fetch("select kind::text, silent from events where kind::text like 'link%'")
    assert [(r["kind"], r["silent"]) for r in rows] == [
        ("link_created", True),
        ("link_deleted", False),
    ]


async def test_the_seven_link_types_read_inverted_from_the_other_end(scene, http):
    targets = [
        ("related_to", "acme/web", 2, "related_to"),
        ("parent_of", "acme/web", 3, "subissue_of"),
        ("blocks", "acme/web", 4, "blocked_by"),
        ("duplicates", "acme/web", 5, "duplicated_by"),
        ("blocked_by", "acme/api", 1, "blocks"),
        ("duplicated_by", "acme/api", 2, "duplicates"),
    ]
    inverse = {name: read for name, _, _, read in targets}
    for name, repo, slug, _ in targets:
        issues = scene.web_issues if repo == "acme/web" else scene.api_issues
        body = {"target_issue_id": str(issues[slug - 1].id), "link_type": name}
        created = await _create(http, scene, 1, body)
        assert created["link_type"] == name
        status, seen, _ = await http.call("GET", _links(slug, repo))
        assert status == 200
        assert [link["link_type"] for link in seen["issue_links"]] == [inverse[name]]
    # subissue_of: a child names its parent (by slug, in the same repository).
    child = await _create(http, scene, 2, {"target_issue_slug": "4", "link_type": "subissue_of"})
    assert child["link_type"] == "subissue_of"
    status, parent_view, _ = await http.call("GET", _links(4))
    assert [link["link_type"] for link in parent_view["issue_links"]] == ["blocked_by", "parent_of"]


async def test_one_link_per_pair_whatever_its_type_is_a_conflict(scene, http):
    first = await _create(http, scene, 1, {"target_issue_slug": "2", "link_type": "blocks"})
    status, body, headers = await http.call(
        "POST",
        _links(2),
        token=scene.alice_token,
        body={"target_issue_slug": "1", "link_type": "related_to"},
    )
    assert status == 409
    assert set(body) == SEED_ERROR
    assert body["error_code"] == "CONFLICT"
    assert body["details"] == {"linkId": int(first["id"]), "linkType": "IS_BLOCKED_BY"}
    assert body["request_id"] == headers["X-Request-Id"]


async def test_rules_and_credentials_get_sourcecraft_statuses(scene, http):
    await _create(http, scene, 1, {"target_issue_slug": "2", "link_type": "blocks"})
    await _create(http, scene, 2, {"target_issue_slug": "3", "link_type": "blocks"})
    cases = [
        (scene.alice_token, 3, {"target_issue_slug": "1", "link_type": "blocks"}, 422, "CYCLE"),
        (scene.alice_token, 3, {"target_issue_slug": "3"}, 400, "BAD_USER_INPUT"),
        (None, 4, {"target_issue_slug": "5"}, 401, "UNAUTHENTICATED"),
        ("igpat-wrong", 4, {"target_issue_slug": "5"}, 401, "UNAUTHENTICATED"),
        (scene.reader_token, 4, {"target_issue_slug": "5"}, 403, "FORBIDDEN"),
        (scene.bob_token, 4, {"target_issue_slug": "5"}, 403, "FORBIDDEN"),
        (scene.carol_token, 4, {"target_issue_slug": "5"}, 201, None),
    ]
    for token, slug, body, status, code in cases:
        got, answer, _ = await http.call("POST", _links(slug), token=token, body=body)
        assert got == status, (token, answer)
        if code is not None:
            assert set(answer) == SEED_ERROR
            assert answer["error_code"] == code


async def test_hidden_repositories_issues_and_links_are_404_like_missing_ones(scene, http):
    secret_id = str(scene.secret_issues[0].id)
    linked = await _create(http, scene, 1, {"target_issue_id": secret_id})
    status, listed, _ = await http.call("GET", _links(1), token=scene.bob_token)
    assert (status, listed["issue_links"]) == (200, [])
    for path in (_links(1, "alice/secret"), _links(1, "alice/missing")):
        status, body, _ = await http.call("GET", path, token=scene.bob_token)
        assert (status, body["message"]) == (404, "Repository not found")
    hidden = await http.call("GET", f"{_links(1)}/{linked['id']}", token=scene.bob_token)
    missing = await http.call("GET", f"{_links(1)}/987654", token=scene.bob_token)
    assert (hidden[0], hidden[1]["message"]) == (missing[0], missing[1]["message"]) == (404, "Issue link not found")  # fmt: skip
    status, body, _ = await http.call(
        "POST", _links(2), token=scene.bob_token, body={"target_issue_id": secret_id}
    )
    assert (status, body["message"]) == (404, "Target issue not found")
    status, body, _ = await http.call(
        "DELETE", f"{_links(1)}/{linked['id']}", token=scene.carol_token
    )
    assert (status, body["message"]) == (404, "Issue link not found")
    assert "Secret plan" not in str([listed, hidden, body])


async def test_pages_visit_each_link_once(scene, http):
    made = [
        (await _create(http, scene, 1, {"target_issue_slug": str(slug)}))["id"]
        for slug in range(2, 6)
    ]
    seen, token = [], ""
    for _ in range(5):
        params = {"page_size": "3", **({"page_token": token} if token else {})}
        status, page, _ = await http.call("GET", _links(1), params=params)
        assert status == 200
        seen += [link["id"] for link in page["issue_links"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == made


@pytest.mark.parametrize(
    ("body", "params", "status"),
    [
        ({"target_issue_slug": "2", "link_type": "relates_to"}, None, 400),
        ({"target_issue_slug": "2", "link_type": 3}, None, 400),
        ({"target_issue_slug": "2", "target_issue_id": "1"}, None, 400),
        ({}, None, 400),
        ({"target_issue_slug": ["2"]}, None, 400),
        ({"target_issue_slug": "2"}, {"silent": "maybe"}, 400),
        ({"target_issue_id": str(2**70)}, None, 404),
        ({"target_issue_id": 2**70}, None, 404),
        ({"target_issue_slug": str(2**40)}, None, 404),
        ({"target_issue_slug": "0"}, None, 404),
        ({"target_issue_id": "12ab"}, None, 400),
        (["target_issue_slug"], None, 400),
    ],
)
async def test_bad_input_gets_the_error_body_and_a_4xx(scene, http, body, params, status):
    got, answer, _ = await http.call(
        "POST", _links(1), token=scene.alice_token, body=body, params=params
    )
    assert got == status, answer
    assert set(answer) == SEED_ERROR


async def test_hostile_requests_get_the_error_body(scene, http):
    token = {"PRIVATE-TOKEN": scene.alice_token}
    json_type = {"Content-Type": "application/json"}
    answers = [
        await http.call("POST", _links(1), data=b"{", headers=token | json_type),
        await http.call("POST", _links(1), data=b'"' + b"x" * 2_000_000 + b'"', headers=token | json_type),
        await http.call("POST", _links(1), data=b"a=b", headers=token | {"Content-Type": "text/plain"}),
        await http.call("GET", _links(2**70)),
        await http.call("GET", _links("x%00")),
        await http.call("GET", _links(1, "a%2Fb/c")),
        await http.call("GET", _links(1), params={"page_token": "%%%"}),
        await http.call("GET", _links(1), params={"page_token": "bm9wZQ"}),
        await http.call("GET", _links(1), params={"page_size": "1000"}),
        await http.call("GET", f"{_links(1)}/abc"),
        await http.call("GET", f"{_links(1)}/{2**70}"),
        await http.call("PATCH", f"{_links(1)}/1", headers=token),
        await http.call("GET", "/repos/acme/web"),
    ]  # fmt: skip
    statuses = [status for status, _, _ in answers]
    assert statuses == [400, 413, 415, 404, 404, 404, 400, 400, 400, 400, 404, 405, 404]
    for _, body, headers in answers:
        assert set(body) == SEED_ERROR, body
        assert body["request_id"] == headers["X-Request-Id"]


async def test_statement_counts_of_sourcecraft_requests_are_pinned(scene, aiohttp_client, settings):
    log = StatementLog()
    http = Http(await aiohttp_client(create_app(settings, on_connect=log.attach)))
    token = scene.alice_token
    await http.call("POST", _links(1), token=token, body={"target_issue_slug": "5"})  # warms up
    create = http.call("POST", _links(1), token=token, body={"target_issue_slug": "2"})
    counts = {"create": await log.count(create)}
    _, listed, _ = await http.call("GET", _links(1))
    link_id = listed["issue_links"][1]["id"]
    counts["list"] = await log.count(http.call("GET", _links(1), token=token))
    counts["get"] = await log.count(http.call("GET", f"{_links(1)}/{link_id}", token=token))
    counts["delete"] = await log.count(http.call("DELETE", f"{_links(1)}/{link_id}", token=token))
    assert counts == SOURCECRAFT_STATEMENTS, log.queries


# Every request: the token, the repository's project, the issue. Then
# - create: the target, the viewer's role, BEGIN, row locks, existing links, link counts,
#   insert, change events, COMMIT; the link's users;
# - list: one page of links, their users;
# - get: the link, its other end, its users;
# - delete: the link, its other end, the role, BEGIN, delete, change events, COMMIT.
SOURCECRAFT_STATEMENTS = {"create": 13, "list": 5, "get": 6, "delete": 10}
