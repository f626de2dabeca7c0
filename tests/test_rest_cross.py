"""One link, four APIs: created over any of GitLab's, Jira's, SourceCraft's REST API or
GraphQL, it reads the same over all four; deleted over any, it is gone from all four, and
the change log holds one creation and one deletion whichever APIs made them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from issuegraph.app import create_app
from tests.helpers import Api, World
from tests.rest_helpers import Http, Scene, link_events, make_scene

APIS = ["gitlab", "jira", "sourcecraft", "graphql"]

LINKS = """query($project: ID!, $iid: Int!) { issue(project: $project, iid: $iid) {
  links { edges { linkType linkCreatedAt node { reference } link { databaseId } } } } }"""
CREATE = """mutation($input: CreateIssueLinkInput!) { createIssueLink(input: $input) {
  errors { code } link { databaseId } } }"""
DELETE = """mutation($input: DeleteIssueLinkInput!) { deleteIssueLink(input: $input) {
  errors { code } } }"""


@pytest.fixture
async def apis(aiohttp_client: Any, settings: Any, world: World) -> tuple[Scene, Http, Api]:
    client = await aiohttp_client(create_app(settings))
    return await make_scene(world), Http(client), Api(client)


async def _create(via: str, scene: Scene, http: Http, api: Api) -> None:
    """acme/web#1 blocks acme/api#2, as each API says it."""
    token = scene.alice_token
    if via == "gitlab":
        body = {"target_project_id": "acme/api", "target_issue_iid": 2, "link_type": "blocks"}
        status, _, _ = await http.call(
            "POST", "/api/v4/projects/acme%2Fweb/issues/1/links", token=token, body=body
        )
    elif via == "jira":
        body = {
            "type": {"name": "Blocks"},
            "inwardIssue": {"key": "WEB-1"},
            "outwardIssue": {"key": "API-2"},
        }
        status, _, _ = await http.call("POST", "/rest/api/2/issueLink", token=token, body=body)
    elif via == "sourcecraft":
        body = {"target_issue_id": str(scene.api_issues[1].id), "link_type": "blocks"}
        status, _, _ = await http.call(
            "POST", "/repos/acme/web/issues/1/issue_links", token=token, body=body
        )
    else:
        made = await api.mutate(
            "createIssueLink",
            {
                "project": "acme/web",
                "iid": 1,
                "targetProject": "acme/api",
                "targetIssueIid": 2,
                "linkType": "BLOCKS",
            },
            "link { databaseId }",
            token=token,
        )
        status = 201 if not made["errors"] else 400
    assert status == 201


async def _delete(via: str, link_id: int, scene: Scene, http: Http, api: Api) -> None:
    """Through acme/api#2, the link's target, where each API names an end."""
    token = scene.alice_token
    if via == "gitlab":
        path = f"/api/v4/projects/acme%2Fapi/issues/2/links/{link_id}"
        expected: tuple[int, ...] = (200,)
    elif via == "jira":
        path, expected = f"/rest/api/2/issueLink/{link_id}", (204,)
    elif via == "sourcecraft":
        path, expected = f"/repos/acme/api/issues/2/issue_links/{link_id}", (204,)
    else:
        done = await api.mutate(
            "deleteIssueLink",
            {"project": "acme/api", "iid": 2, "linkId": str(link_id)},
            "",
            token=token,
        )
        assert done["errors"] == []
        return
    status, _, _ = await http.call("DELETE", path, token=token)
    assert status in expected


async def _read_all(scene: Scene, http: Http, api: Api) -> dict[str, Any]:
    """What each API shows of the links of acme/web#1 and acme/api#2, in common terms:
    (link id, source, target, kind as read from that end), and its creation time."""
    token = scene.bob_token  # an outsider: every API applies the same read rule
    seen: dict[str, Any] = {}

    _, web, _ = await http.call("GET", "/api/v4/projects/acme%2Fweb/issues/1/links", token=token)
    _, other, _ = await http.call("GET", f"/api/v4/projects/{scene.api.id}/issues/2/links")
    seen["gitlab"] = [
        (i["issue_link_id"], i["references"]["full"], i["link_type"], i["link_created_at"])
        for i in web + other
    ]

    ids = [i["issue_link_id"] for i in web]
    jira = []
    for link_id in ids:
        status, link, _ = await http.call("GET", f"/rest/api/2/issueLink/{link_id}", token=token)
        assert status == 200
        jira.append(
            (
                int(link["id"]),
                link["inwardIssue"]["key"],
                link["outwardIssue"]["key"],
                link["type"]["name"],
            )
        )
    _, issue, _ = await http.call("GET", "/rest/api/2/issue/API-2", token=token)
    listed = issue["fields"]["issuelinks"]
    seen["jira"] = jira, [(int(i["id"]), i["inwardIssue"]["key"]) for i in listed]

    _, web_links, _ = await http.call("GET", "/repos/acme/web/issues/1/issue_links", token=token)
    _, api_links, _ = await http.call("GET", "/repos/acme/api/issues/2/issue_links")
    seen["sourcecraft"] = [
        (
            int(link["id"]),
            link["source"]["slug"],
            link["target"]["id"],
            link["link_type"],
            link["created_at"],
        )
        for link in web_links["issue_links"] + api_links["issue_links"]
    ]

    graphql = []
    for project, iid in (("acme/web", 1), ("acme/api", 2)):
        data = (await api.gql(LINKS, {"project": project, "iid": iid}, token=token)).data
        graphql += [
            (
                edge["link"]["databaseId"],
                edge["node"]["reference"],
                edge["linkType"],
                dt.datetime.fromisoformat(edge["linkCreatedAt"]),
            )
            for edge in data["issue"]["links"]["edges"]
        ]
    seen["graphql"] = graphql
    return seen


def _expected(scene: Scene, link_id: int, created_at: str) -> dict[str, Any]:
    when = dt.datetime.fromisoformat(created_at)
    api2 = str(scene.api_issues[1].id)
    web1 = str(scene.web_issues[0].id)
    return {
        "gitlab": [
            (link_id, "acme/api#2", "blocks", created_at),
            (link_id, "acme/web#1", "is_blocked_by", created_at),
        ],
        "jira": ([(link_id, "WEB-1", "API-2", "Blocks")], [(link_id, "WEB-1")]),
        "sourcecraft": [
            (link_id, "1", api2, "blocks", created_at),
            (link_id, "2", web1, "blocked_by", created_at),
        ],
        "graphql": [
            (link_id, "acme/api#2", "BLOCKS", when),
            (link_id, "acme/web#1", "IS_BLOCKED_BY", when),
        ],
    }


def _truncated(seen: dict[str, Any]) -> dict[str, Any]:
    """GraphQL's times carry microseconds, the REST APIs' milliseconds."""
    seen["graphql"] = [
        (*row[:3], row[3].replace(microsecond=row[3].microsecond // 1000 * 1000))
        for row in seen["graphql"]
    ]
    return seen


@pytest.mark.parametrize("deleter", APIS)
@pytest.mark.parametrize("creator", APIS)
async def test_a_link_made_over_one_api_reads_alike_over_all_and_dies_everywhere(
    apis, pool, creator, deleter
):
    scene, http, api = apis
    await _create(creator, scene, http, api)
    seen = _truncated(await _read_all(scene, http, api))
    link_id, _, _, created_at = seen["gitlab"][0]
    assert seen == _expected(scene, link_id, created_at)

    await _delete(deleter, link_id, scene, http, api)
    gone = await _read_all(scene, http, api)
    assert gone == {"gitlab": [], "jira": ([], []), "sourcecraft": [], "graphql": []}
    for path in (
        f"/rest/api/2/issueLink/{link_id}",
        f"/api/v4/projects/acme%2Fweb/issues/1/links/{link_id}",
        f"/repos/acme/web/issues/1/issue_links/{link_id}",
    ):
        status, _, _ = await http.call("GET", path, token=scene.alice_token)
        assert status == 404
    assert await link_events(pool) == [
        ("link_created", scene.alice.id, link_id),
        ("link_deleted", scene.alice.id, link_id),
    ]
