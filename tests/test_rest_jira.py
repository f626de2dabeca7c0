"""Jira's issue-links REST API (/rest/api/2): the `jira` package against a real
`issuegraph serve`, and plain HTTP for the statuses and bodies of the seeds
(002_375e29254531f0af.txt, 003_73eb5a135202f9e8.txt)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import pytest
from jira import JIRA, JIRAError

from issuegraph.app import create_app
from tests.helpers import StatementLog, World
from tests.rest_helpers import Http, Scene, link_events, make_scene, served

LINK = "/rest/api/2/issueLink"
JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


@pytest.fixture
async def scene(world: World) -> Scene:
    return await make_scene(world)


@pytest.fixture
async def http(aiohttp_client: Any, settings: Any) -> Http:
    return Http(await aiohttp_client(create_app(settings)))


def _request(type_: Any = None, inward: Any = "WEB-1", outward: Any = "WEB-2", **extra: Any) -> Any:
    return {
        "type": type_ if type_ is not None else {"name": "Blocks"},
        "inwardIssue": {"key": inward} if isinstance(inward, str) else inward,
        "outwardIssue": {"key": outward} if isinstance(outward, str) else outward,
        **extra,
    }


async def _gitlab_links(http: Http, scene: Scene, project: Any, iid: int) -> list[Any]:
    status, body, _ = await http.call(
        "GET", f"/api/v4/projects/{project.id}/issues/{iid}/links", token=scene.alice_token
    )
    assert status == 200
    return [(item["references"]["full"], item["link_type"], item["issue_link_id"]) for item in body]


# -- the jira package against `issuegraph serve` -------------------------------------------------


async def test_the_jira_package_lists_types_creates_reads_and_deletes_links_unchanged(
    database_url, world, pool
):
    scene = await make_scene(world)
    async with served(database_url) as server:

        def client_session() -> dict[str, Any]:
            jira = JIRA(server.base, token_auth=scene.alice_token)
            types = [(t.id, t.name, t.inward, t.outward) for t in jira.issue_link_types()]
            jira.create_issue_link(
                "Blocks", "WEB-1", "API-2", comment={"body": "Release needs the API first"}
            )
            issue = jira.issue("WEB-1", fields="issuelinks")
            (listed,) = issue.fields.issuelinks
            link = jira.issue_link(listed.id)
            seen = {
                "types": types,
                "listed": (listed.type.name, listed.outwardIssue.key),
                "link": (link.type.name, link.inwardIssue.key, link.outwardIssue.key),
                "id": int(link.id),
            }
            # Idempotent, as Jira documents: the same link again succeeds.
            jira.create_issue_link("Blocks", "WEB-1", "API-2")
            jira.delete_issue_link(listed.id)
            seen["after"] = jira.issue("WEB-1").fields.issuelinks
            with pytest.raises(JIRAError) as hidden:
                JIRA(server.base, token_auth=scene.bob_token).create_issue_link(
                    "Relates", "WEB-1", "SECRET-1"
                )
            seen["hidden"] = (hidden.value.status_code, hidden.value.text)
            return seen

        seen = await asyncio.to_thread(client_session)
    assert seen["types"] == [
        ("10003", "Relates", "relates to", "relates to"),
        ("10000", "Blocks", "is blocked by", "blocks"),
        ("10002", "Duplicate", "is duplicated by", "duplicates"),
        ("10004", "Parent", "is child of", "is parent of"),
        ("10001", "Cloners", "is cloned by", "clones"),
    ]
    assert seen["listed"] == ("Blocks", "API-2")
    assert seen["link"] == ("Blocks", "WEB-1", "API-2")
    assert seen["after"] == []
    assert seen["hidden"][0] == 404
    assert "SECRET-1" in seen["hidden"][1]
    assert "Secret plan" not in seen["hidden"][1]
    link_id = seen["id"]
    assert await link_events(pool) == [
        ("link_created", scene.alice.id, link_id),
        ("link_deleted", scene.alice.id, link_id),
    ]
    # The comment is a note on the inward issue, once per request that carried one.
    notes = await pool.fetchval(
        "select count(*) from notes where issue_id = $1", scene.web_issues[0].id
    )
    assert notes == 1


# -- HTTP ----------------------------------------------------------------------------------------


async def test_server_info_and_link_types_have_jiras_shape(scene, http):
    status, info, _ = await http.call("GET", "/rest/api/2/serverInfo")
    assert status == 200
    assert info["versionNumbers"] == [1001, 0, 0]
    assert info["deploymentType"] == "Cloud"
    assert info["baseUrl"] == "http://issuegraph.test"
    status, types, _ = await http.call("GET", "/rest/api/latest/issueLinkType")
    assert status == 200
    blocks = types["issueLinkTypes"][1]
    assert set(blocks) == {"id", "name", "inward", "outward", "self"}
    assert blocks["self"].endswith("/rest/api/2/issueLinkType/10000")
    status, one, _ = await http.call("GET", "/rest/api/2/issueLinkType/10000")
    assert (status, one) == (200, blocks)
    status, missing, _ = await http.call("GET", "/rest/api/2/issueLinkType/42")
    assert status == 404
    assert missing == {"errorMessages": ["No issue link type with id '42' found."], "errors": {}}


async def test_a_link_is_stored_from_the_inward_to_the_outward_issue(scene, http):
    status, body, _ = await http.call("POST", LINK, token=scene.alice_token, body=_request())
    assert (status, body) == (201, None)
    # By id, and the type by id: Duplicate with inward API-1 and outward WEB-3.
    by_id = _request(
        {"id": "10002"}, {"id": str(scene.api_issues[0].id)}, {"id": scene.web_issues[2].id}
    )
    status, _, _ = await http.call("POST", LINK, token=scene.alice_token, body=by_id)
    assert status == 201
    assert [link[:2] for link in await _gitlab_links(http, scene, scene.web, 1)] == [
        ("acme/web#2", "blocks")
    ]
    (link,) = await _gitlab_links(http, scene, scene.web, 3)
    assert link[:2] == ("acme/api#1", "is_duplicated_by")
    status, fetched, _ = await http.call("GET", f"{LINK}/{link[2]}", token=scene.alice_token)
    assert status == 200
    assert fetched["id"] == str(link[2])
    assert fetched["type"]["name"] == "Duplicate"
    assert (fetched["inwardIssue"]["key"], fetched["outwardIssue"]["key"]) == ("API-1", "WEB-3")
    assert fetched["inwardIssue"]["fields"]["summary"] == "Api 1"
    assert fetched["inwardIssue"]["fields"]["status"]["name"] == "Open"
    status, issue, _ = await http.call("GET", "/rest/api/2/issue/web-3")
    assert status == 200
    assert issue["key"] == "WEB-3"
    assert JIRA_TIME.match(issue["fields"]["created"])
    (listed,) = issue["fields"]["issuelinks"]
    assert listed["inwardIssue"]["key"] == "API-1"
    assert "outwardIssue" not in listed


async def test_a_duplicate_is_idempotent_but_another_type_for_the_pair_is_refused(scene, http):
    for _ in range(2):
        status, _, _ = await http.call(
            "POST", LINK, token=scene.alice_token, body=_request(comment={"body": "again"})
        )
        assert status == 201
    assert len(await _gitlab_links(http, scene, scene.web, 1)) == 1
    _, issue, _ = await http.call("GET", f"/api/v4/projects/{scene.web.id}/issues/1")
    assert issue["user_notes_count"] == 2  # each request's comment is added, as Jira says
    status, body, _ = await http.call(
        "POST", LINK, token=scene.alice_token, body=_request({"name": "Relates"})
    )
    assert status == 400
    assert body["errorMessages"][0].startswith("These issues are already linked")
    # The other direction of a Blocks link is another link: refused too.
    status, _, _ = await http.call(
        "POST", LINK, token=scene.alice_token, body=_request(inward="WEB-2", outward="WEB-1")
    )
    assert status == 400


async def test_the_per_issue_limit_is_413_and_rules_are_400(scene, aiohttp_client, settings):
    http = Http(
        await aiohttp_client(create_app(dataclasses.replace(settings, max_links_per_issue=1)))
    )
    status, _, _ = await http.call("POST", LINK, token=scene.alice_token, body=_request())
    assert status == 201
    status, body, _ = await http.call(
        "POST", LINK, token=scene.alice_token, body=_request(outward="WEB-3")
    )
    assert status == 413
    assert "limit" in body["errorMessages"][0]
    status, body, _ = await http.call(
        "POST", LINK, token=scene.alice_token, body=_request(inward="WEB-4", outward="WEB-4")
    )
    assert (status, body["errorMessages"]) == (400, ["An issue cannot be linked to itself"])


async def test_credentials_and_permissions_get_jiras_statuses(scene, http):
    status, body, headers = await http.call("POST", LINK, body=_request())
    assert (status, headers["WWW-Authenticate"]) == (401, 'Bearer realm="issuegraph"')
    assert body == {"errorMessages": [body["errorMessages"][0]], "errors": {}}
    status, _, _ = await http.call("GET", "/rest/api/2/myself")
    assert status == 401
    status, me, _ = await http.call("GET", "/rest/api/2/myself", token=scene.bob_token)
    assert (status, me["name"]) == (200, "bob")
    # bob reads both public issues but may not link them: not found, as Jira says.
    status, body, _ = await http.call("POST", LINK, token=scene.bob_token, body=_request())
    assert status == 404
    status, body, _ = await http.call("POST", LINK, token=scene.reader_token, body=_request())
    assert status == 404
    # carol, a guest of acme/web only, deletes a link from web to api (one end is enough).
    status, _, _ = await http.call(
        "POST", LINK, token=scene.alice_token, body=_request(inward="API-1", outward="WEB-5")
    )
    (link,) = await _gitlab_links(http, scene, scene.web, 5)
    status, _, _ = await http.call("DELETE", f"{LINK}/{link[2]}", token=scene.bob_token)
    assert status == 404
    status, body, _ = await http.call(
        "DELETE", f"{LINK}/{link[2]}", token=scene.carol_token, header="Bearer"
    )
    assert (status, body) == (204, None)
    status, body, _ = await http.call("GET", f"{LINK}/{link[2]}")
    assert (status, body) == (404, {"errorMessages": [f"No issue link with id '{link[2]}' exists."], "errors": {}})  # fmt: skip


async def test_hidden_issues_and_links_are_404_like_missing_ones(scene, http):
    status, _, _ = await http.call(
        "POST", LINK, token=scene.alice_token, body=_request(inward="WEB-1", outward="SECRET-1")
    )
    assert status == 201
    (link,) = await _gitlab_links(http, scene, scene.web, 1)
    hidden = await http.call("GET", f"{LINK}/{link[2]}", token=scene.bob_token)
    missing = await http.call("GET", f"{LINK}/{link[2] + 1000}", token=scene.bob_token)
    assert hidden[0] == missing[0] == 404
    hidden_issue = await http.call("GET", "/rest/api/2/issue/SECRET-1", token=scene.bob_token)
    missing_issue = await http.call("GET", "/rest/api/2/issue/SECRET-9", token=scene.bob_token)
    assert hidden_issue[0] == missing_issue[0] == 404
    _, web_issue, _ = await http.call("GET", "/rest/api/2/issue/WEB-1", token=scene.bob_token)
    assert web_issue["fields"]["issuelinks"] == []
    status, _, _ = await http.call("DELETE", f"{LINK}/{link[2]}", token=scene.bob_token)
    assert status == 404
    assert "Secret plan" not in str([hidden, hidden_issue, web_issue])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_request("Blocks"), 400),
        (_request({"name": 3}), 400),
        (_request({"name": "Depends"}), 404),
        (_request({"id": "99"}), 404),
        (_request(inward=["WEB-1"]), 400),
        (_request(inward={"key": None}), 400),
        (_request(inward={"key": 7.5}), 400),
        ({"type": {"name": "Blocks"}, "outwardIssue": {"key": "WEB-2"}}, 400),
        (_request(comment="plain text"), 400),
        (_request(comment={"body": 3}), 400),
        (_request(comment={"body": "   "}), 400),
        (_request(comment={"body": "x\u0000y"}), 400),
        (_request(inward="NOPE-1"), 404),
        (_request(inward="WEB-99"), 404),
        (_request(inward="WEB-0"), 404),
        (_request(inward=f"WEB-{2**70}"), 404),
        (_request(inward={"id": str(2**70)}), 404),
        (_request(inward="WEB"), 404),
        (_request(inward="-1"), 404),
        (_request(inward="W\u0000B-1"), 404),
        ([_request()], 400),
        ("text", 400),
    ],
)
async def test_bad_requests_get_jiras_error_shape_and_a_4xx(scene, http, body, status):
    got, answer, _ = await http.call("POST", LINK, token=scene.alice_token, body=body)
    assert got == status, answer
    assert set(answer) == {"errorMessages", "errors"}
    assert answer["errorMessages"] or answer["errors"]


async def test_hostile_requests_get_jiras_shape(scene, http):
    token = {"Authorization": f"Bearer {scene.alice_token}"}
    json_type = {"Content-Type": "application/json"}
    answers = [
        await http.call("POST", LINK, data=b'{"type": ', headers=token | json_type),
        await http.call("POST", LINK, data=b" " + b"1" * 2_000_000, headers=token | json_type),
        await http.call("POST", LINK, data=b"type=Blocks", headers=token | {"Content-Type": "application/x-www-form-urlencoded"}),
        await http.call("GET", f"{LINK}/abc"),
        await http.call("GET", f"{LINK}/{2**80}"),
        await http.call("DELETE", f"{LINK}/{2**80}", headers=token),
        await http.call("GET", "/rest/api/2/issue/%00"),
        await http.call("GET", "/rest/api/2/issue/WEB-%ED%A0%80"),
        await http.call("PUT", f"{LINK}/1", headers=token),
        await http.call("GET", "/rest/api/2/search"),
    ]  # fmt: skip
    assert [status for status, _, _ in answers] == [
        400,
        413,
        415,
        400,
        404,
        404,
        404,
        404,
        405,
        404,
    ]
    for _, body, headers in answers:
        assert set(body) == {"errorMessages", "errors"}, body
        assert headers["X-Request-Id"]


async def test_statement_counts_of_jira_requests_are_pinned(scene, aiohttp_client, settings):
    log = StatementLog()
    http = Http(await aiohttp_client(create_app(settings, on_connect=log.attach)))
    token = scene.alice_token
    await http.call("POST", LINK, token=token, body=_request(outward="WEB-5"))  # warms up
    counts = {
        "create": await log.count(http.call("POST", LINK, token=token, body=_request())),
        "types": await log.count(http.call("GET", "/rest/api/2/issueLinkType")),
    }
    (link,) = await _gitlab_links(http, scene, scene.web, 2)
    counts["get"] = await log.count(http.call("GET", f"{LINK}/{link[2]}", token=token))
    counts["issue"] = await log.count(http.call("GET", "/rest/api/2/issue/WEB-1", token=token))
    counts["delete"] = await log.count(http.call("DELETE", f"{LINK}/{link[2]}", token=token))
    assert counts == JIRA_STATEMENTS, log.queries


# - create: the token, both issues' projects by key, both issues, the viewer's role, then
#   BEGIN, row locks, existing links, link counts, insert, change events, COMMIT;
# - types: none (no token, nothing read);
# - get: the token, the link, both ends, their projects;
# - issue: the token, the project by key, the issue, its links with their projects;
# - delete: the token, the link, both ends, the role, BEGIN, delete, change events, COMMIT.
JIRA_STATEMENTS = {"create": 12, "types": 0, "get": 4, "issue": 4, "delete": 9}
