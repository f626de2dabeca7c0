"""Issue links through GraphQL over HTTP, against a real database.

Each test pins down one behaviour the seed references describe (GitLab's issue links
API, Jira's issue links, SourceCraft's "Create Link between Issues") as docs/contract.md maps
them onto issuegraph: listing in link-creation order with the viewer's authorizations,
inverse types stored canonically, get-by-id, create/update/delete permissions, the
one-link-per-pair, per-issue limit, cycle and parent-tree rules, comments, silent
writes, bulk creation, and walking the graph back and forth.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from strawberry import relay

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.db.queries import events as event_queries
from issuegraph.models import (
    LINK_KINDS,
    START,
    Event,
    EventKind,
    Issue,
    Project,
    Role,
    TokenScope,
    User,
    Visibility,
)
from tests.helpers import Api, World, log_settled

PAYLOAD = """
link {
  id databaseId linkType createdAt updatedAt
  source { title } target { title }
  author { username } updatedBy { username }
}
sourceIssue { title } targetIssue { title } linkType created
"""

BULK_PAYLOAD = """
links { link { databaseId linkType source { title } target { title } }
        sourceIssue { title } targetIssue { title } linkType created }
"""

LINKS_QUERY = """
query($project: ID!, $iid: Int!, $types: [LinkType!], $first: Int, $after: String) {
  issue(project: $project, iid: $iid) {
    links(linkTypes: $types, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        cursor linkType linkCreatedAt linkUpdatedAt
        node { title }
        link { databaseId linkType source { title } target { title } }
      }
    }
  }
}
"""

SUMMARY_QUERY = """
query($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    isBlocked blockedByCount blockingCount
    blockedBy { totalCount nodes { title } }
    blocking { totalCount nodes { title } }
    relatedIssues { totalCount nodes { title } }
    children { totalCount nodes { title } }
    parent { title }
    links { totalCount nodes { title } }
  }
}
"""

ISSUE_LINK_QUERY = """
query($project: ID!, $iid: Int!, $linkId: ID!) {
  issueLink(project: $project, iid: $iid, linkId: $linkId) {
    link { databaseId linkType }
    sourceIssue { title } targetIssue { title } linkType
  }
}
"""

NODE_QUERY = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on IssueLink { databaseId linkType source { title } target { title } }
  }
}
"""


# -- helpers ---------------------------------------------------------------------------------


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def at(issue: Issue) -> dict[str, Any]:
    """The (project, iid) pair that names `issue` first in an input."""
    return {"project": str(issue.project_id), "iid": issue.iid}


def to(issue: Issue) -> dict[str, Any]:
    """The (targetProject, targetIssueIid) pair that names `issue` second in an input."""
    return {"targetProject": str(issue.project_id), "targetIssueIid": issue.iid}


def link_input(a: Issue, b: Issue, link_type: str = "RELATES_TO", **more: Any) -> dict[str, Any]:
    return {**at(a), **to(b), "linkType": link_type, **more}


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["errors"] == [], payload["errors"]
    return payload


def only_error(payload: dict[str, Any]) -> dict[str, Any]:
    assert len(payload["errors"]) == 1, payload["errors"]
    return payload["errors"][0]


def titles(connection: dict[str, Any]) -> list[str]:
    if "edges" in connection:
        return [edge["node"]["title"] for edge in connection["edges"]]
    return [node["title"] for node in connection["nodes"]]


async def link_rows(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    """Every stored link as (source title, target title, stored type), sorted."""
    rows = await pool.fetch(
        """
        select s.title as source, t.title as target, l.link_type::text as type
          from issue_links l join issues s on s.id = l.source_id join issues t on t.id = l.target_id
         order by 1, 2
        """
    )
    return [(r["source"], r["target"], r["type"]) for r in rows]


@dataclass
class Scene:
    """People and projects most tests start from, plus shortcuts for the link calls.

    alice owns the private `acme/app` and `acme/lib` and the public `acme/pub`; bob and
    carol are signed-in users with no membership until a test gives them one; root is
    an admin who is a member of nothing.
    """

    api: Api
    world: World
    pool: asyncpg.Pool
    alice: User
    alice_token: str
    bob: User
    bob_token: str
    carol: User
    carol_token: str
    root_token: str
    app: Project
    lib: Project
    pub: Project

    async def issues(
        self, project: Project, *names: str, author: User | None = None, **kw: Any
    ) -> list[Issue]:
        return [await self.world.issue(author or self.alice, project, n, **kw) for n in names]

    async def create(
        self,
        a: Issue,
        b: Issue,
        link_type: str = "RELATES_TO",
        *,
        token: str | None = None,
        **more: Any,
    ) -> dict[str, Any]:
        return await self.api.mutate(
            "createIssueLink",
            link_input(a, b, link_type, **more),
            PAYLOAD,
            token=token or self.alice_token,
        )

    async def link(self, a: Issue, b: Issue, link_type: str = "RELATES_TO", **kw: Any) -> int:
        """Create a link that must succeed; its databaseId."""
        return int(ok(await self.create(a, b, link_type, **kw))["link"]["databaseId"])

    async def bulk(self, items: list[dict[str, Any]], *, token: str | None = None) -> Any:
        return await self.api.mutate(
            "createIssueLinks", {"links": items}, BULK_PAYLOAD, token=token or self.alice_token
        )

    async def update(
        self,
        issue: Issue,
        link_id: int | str,
        link_type: str,
        *,
        token: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        return await self.api.mutate(
            "updateIssueLink",
            {**at(issue), "linkId": str(link_id), "linkType": link_type, **kw},
            PAYLOAD,
            token=token or self.alice_token,
        )

    async def delete(
        self, issue: Issue, link_id: int | str, *, token: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        return await self.api.mutate(
            "deleteIssueLink",
            {**at(issue), "linkId": str(link_id), **kw},
            "link { databaseId } sourceIssue { title } targetIssue { title } linkType",
            token=token or self.alice_token,
        )

    async def links(
        self,
        issue: Issue,
        *,
        token: str | None = None,
        types: list[str] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        response = await self.api.gql(
            LINKS_QUERY,
            {**at(issue), "types": types, "first": first, "after": after},
            token=token,
        )
        found = response.data["issue"]
        assert found is not None, "the anchor issue itself should be readable"
        return found["links"]  # type: ignore[no-any-return]

    async def summary(self, issue: Issue, *, token: str | None = None) -> dict[str, Any]:
        response = await self.api.gql(SUMMARY_QUERY, at(issue), token=token)
        return response.data["issue"]  # type: ignore[no-any-return]

    async def issue_link(
        self, issue: Issue, link_id: str | int, *, token: str | None = None
    ) -> dict[str, Any] | None:
        response = await self.api.gql(
            ISSUE_LINK_QUERY, {**at(issue), "linkId": str(link_id)}, token=token
        )
        return response.data["issueLink"]  # type: ignore[no-any-return]

    async def set_state(self, issue: Issue, event: str) -> None:
        payload = await self.api.mutate(
            "updateIssue",
            {**at(issue), "stateEvent": event},
            "issue { state }",
            token=self.alice_token,
        )
        ok(payload)


async def build_scene(api: Api, world: World, pool: asyncpg.Pool) -> Scene:
    alice, alice_token = await world.user_with_token("alice")
    bob, bob_token = await world.user_with_token("bob")
    carol, carol_token = await world.user_with_token("carol")
    _, root_token = await world.user_with_token("root", admin=True)
    return Scene(
        api=api,
        world=world,
        pool=pool,
        alice=alice,
        alice_token=alice_token,
        bob=bob,
        bob_token=bob_token,
        carol=carol,
        carol_token=carol_token,
        root_token=root_token,
        app=await world.project(alice, "acme/app", Visibility.PRIVATE),
        lib=await world.project(alice, "acme/lib", Visibility.PRIVATE),
        pub=await world.project(alice, "acme/pub", Visibility.PUBLIC),
    )


@pytest.fixture
async def scene(api: Api, world: World, pool: asyncpg.Pool) -> Scene:
    return await build_scene(api, world, pool)


@pytest.fixture
async def small_scene(
    aiohttp_client: Any, settings: Settings, world: World, pool: asyncpg.Pool
) -> Scene:
    """The same scene, served by an app whose per-issue link limit is 3."""
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_links_per_issue=3)))
    return await build_scene(Api(client), world, pool)


async def link_log(pool: asyncpg.Pool) -> list[Event]:
    """Every link event in the change log, in log order."""
    await log_settled(pool)
    return await event_queries.events_after(pool, START, limit=1000, kinds=LINK_KINDS)


def summary(event: Event) -> dict[str, Any]:
    source, target = event.issues
    return {
        "kind": event.kind.value,
        "linkId": event.link_id,
        "sourceId": source.id,
        "targetId": target.id,
        "linkType": event.link_type.value if event.link_type else None,
        "actorId": event.actor_id,
        "silent": event.silent,
    }


# -- listing: order, paging, authorization, type filter --------------------------------------


async def test_links_are_listed_in_link_creation_order_not_issue_order(scene):
    a, b, c, d, e = await scene.issues(scene.app, "A", "B", "C", "D", "E")
    for other in (e, c, b, d):
        await scene.link(a, other)

    links = await scene.links(a, token=scene.alice_token)

    assert titles(links) == ["E", "C", "B", "D"]
    created = [edge["linkCreatedAt"] for edge in links["edges"]]
    assert created == sorted(created)
    assert [edge["linkUpdatedAt"] for edge in links["edges"]] == created
    # The other ends list A once each.
    assert titles(await scene.links(d, token=scene.alice_token)) == ["A"]


async def test_links_created_in_the_same_instant_are_ordered_by_link_id(scene):
    a, b, c, d = await scene.issues(scene.app, "A", "B", "C", "D")
    payload = ok(await scene.bulk([link_input(a, d), link_input(a, b), link_input(a, c)]))
    ids = [item["link"]["databaseId"] for item in payload["links"]]
    assert ids == sorted(ids)

    links = await scene.links(a, token=scene.alice_token)

    assert len({edge["linkCreatedAt"] for edge in links["edges"]}) == 1
    assert titles(links) == ["D", "B", "C"]
    assert [edge["link"]["databaseId"] for edge in links["edges"]] == ids


async def test_link_creation_time_orders_before_link_id(scene):
    a, b, c, d = await scene.issues(scene.app, "A", "B", "C", "D")
    await scene.link(a, b)
    await scene.link(a, c)
    late = await scene.link(a, d)
    await scene.pool.execute(
        "update issue_links set created_at = created_at - interval '1 day' where id = $1", late
    )

    assert titles(await scene.links(a, token=scene.alice_token)) == ["D", "B", "C"]
    first = await scene.links(a, token=scene.alice_token, first=1)
    rest = await scene.links(a, token=scene.alice_token, after=first["pageInfo"]["endCursor"])
    assert titles(first) + titles(rest) == ["D", "B", "C"]


async def test_paging_links_with_first_and_after_visits_each_link_once_with_total_count(scene):
    issues = await scene.issues(scene.app, "A", *(f"T{n}" for n in range(1, 8)))
    a, targets = issues[0], issues[1:]
    # Five links created in one statement share a creation time; two come later.
    ok(await scene.bulk([link_input(a, t) for t in targets[:5]]))
    for t in targets[5:]:
        await scene.link(t, a, "BLOCKS")

    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        page = await scene.links(a, token=scene.alice_token, first=2, after=after)
        pages.append(page)
        seen += titles(page)
        assert page["totalCount"] == 7
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]

    assert seen == [f"T{n}" for n in range(1, 8)]
    assert [len(p["edges"]) for p in pages] == [2, 2, 2, 1]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True, True]
    assert pages[0]["pageInfo"]["startCursor"] == pages[0]["edges"][0]["cursor"]
    assert [e["linkType"] for e in pages[-1]["edges"]] == ["IS_BLOCKED_BY"]
    everything = await scene.links(a, token=scene.alice_token, first=100)
    assert titles(everything) == seen
    assert everything["pageInfo"]["hasNextPage"] is False


async def test_link_page_size_outside_1_to_100_and_foreign_cursors_are_bad_user_input(scene):
    (a,) = await scene.issues(scene.pub, "A")
    for first in (0, 101):
        response = await scene.api.gql(LINKS_QUERY, {**at(a), "first": first})
        assert response.codes == ["BAD_USER_INPUT"]
    issues = await scene.api.gql(
        '{ project(fullPath: "acme/pub") { issues(first: 1) { pageInfo { endCursor } } } }'
    )
    foreign = issues.data["project"]["issues"]["pageInfo"]["endCursor"]
    for cursor in (foreign, "not a cursor"):
        response = await scene.api.gql(LINKS_QUERY, {**at(a), "after": cursor})
        assert response.codes == ["BAD_USER_INPUT"]


async def test_link_to_issue_in_private_project_is_left_out_for_outsiders_shown_to_members(scene):
    a, b = await scene.issues(scene.pub, "A", "B")
    hidden, shadow = await scene.issues(scene.app, "Hidden", "Shadow")
    await scene.link(a, b)
    await scene.link(hidden, a, "BLOCKS")
    await scene.link(a, shadow, "BLOCKS")

    for token in (None, scene.bob_token):  # anonymous, a signed-in outsider
        links = await scene.links(a, token=token)
        assert titles(links) == ["B"]
        assert links["totalCount"] == 1
        summary = await scene.summary(a, token=token)
        assert summary["isBlocked"] is False
        assert (summary["blockedByCount"], summary["blockingCount"]) == (0, 0)
        assert summary["blockedBy"] == {"totalCount": 0, "nodes": []}
        assert summary["blocking"] == {"totalCount": 0, "nodes": []}
        assert summary["links"]["totalCount"] == 1
        filtered = await scene.links(a, token=token, types=["IS_BLOCKED_BY", "BLOCKS"])
        assert filtered["totalCount"] == 0

    await scene.world.member(scene.app, scene.bob, Role.GUEST)
    for token in (scene.alice_token, scene.bob_token, scene.root_token):  # members, an admin
        links = await scene.links(a, token=token)
        assert titles(links) == ["B", "Hidden", "Shadow"]
        assert links["totalCount"] == 3
        summary = await scene.summary(a, token=token)
        assert summary["isBlocked"] is True
        assert (summary["blockedByCount"], summary["blockingCount"]) == (1, 1)
        assert titles(summary["blockedBy"]) == ["Hidden"]
        assert titles(summary["blocking"]) == ["Shadow"]


async def test_link_to_confidential_issue_is_shown_only_to_those_who_may_read_it(scene):
    (a,) = await scene.issues(scene.pub, "A")
    dave, dave_token = await scene.world.user_with_token("dave")
    rita, rita_token = await scene.world.user_with_token("rita")
    await scene.world.member(scene.pub, scene.bob, Role.GUEST)
    await scene.world.member(scene.pub, dave, Role.GUEST)
    await scene.world.member(scene.pub, rita, Role.REPORTER)
    await scene.world.member(scene.pub, scene.carol, Role.GUEST)
    (secret,) = await scene.issues(
        scene.pub, "Secret", author=scene.carol, confidential=True, assignee_usernames=["dave"]
    )
    await scene.link(secret, a, "BLOCKS")

    for token in (None, scene.bob_token):  # anonymous, a guest
        assert (await scene.links(a, token=token))["totalCount"] == 0
        summary = await scene.summary(a, token=token)
        assert (summary["isBlocked"], summary["blockedByCount"]) == (False, 0)
    # A reporter, the author, an assignee, an admin.
    for token in (rita_token, scene.carol_token, dave_token, scene.root_token):
        links = await scene.links(a, token=token)
        assert titles(links) == ["Secret"]
        assert links["totalCount"] == 1
        summary = await scene.summary(a, token=token)
        assert (summary["isBlocked"], summary["blockedByCount"]) == (True, 1)


async def test_link_types_filter_reads_each_link_from_the_side_asked_about(scene):
    a, b, c, d, e = await scene.issues(scene.app, "A", "B", "C", "D", "E")
    await scene.link(a, b, "BLOCKS")
    await scene.link(a, c, "RELATES_TO")
    await scene.link(d, a, "BLOCKS")
    await scene.link(a, e, "PARENT_OF")
    token = scene.alice_token

    async def filtered(issue: Issue, *types: str) -> list[str]:
        links = await scene.links(issue, token=token, types=list(types))
        assert links["totalCount"] == len(links["edges"])
        assert {edge["linkType"] for edge in links["edges"]} <= set(types)
        return titles(links)

    assert await filtered(a, "BLOCKS") == ["B"]
    assert await filtered(a, "IS_BLOCKED_BY") == ["D"]
    assert await filtered(a, "BLOCKS", "IS_BLOCKED_BY") == ["B", "D"]
    assert await filtered(a, "RELATES_TO") == ["C"]
    assert await filtered(a, "PARENT_OF") == ["E"]
    assert await filtered(a, "CHILD_OF") == []
    assert await filtered(b, "IS_BLOCKED_BY") == ["A"]
    assert await filtered(b, "BLOCKS") == []
    assert await filtered(d, "BLOCKS") == ["A"]
    assert await filtered(d, "IS_BLOCKED_BY") == []
    assert await filtered(e, "CHILD_OF") == ["A"]
    assert await filtered(c, "RELATES_TO") == ["A"]
    assert titles(await scene.links(a, token=token)) == ["B", "C", "D", "E"]


# -- inverse types are stored canonically -----------------------------------------------------

INVERSES = {
    "IS_BLOCKED_BY": ("BLOCKS", "blocks"),
    "IS_DUPLICATED_BY": ("DUPLICATES", "duplicates"),
    "CHILD_OF": ("PARENT_OF", "parent"),
    "IS_CLONED_BY": ("CLONES", "clones"),
}


async def test_creating_with_an_inverse_type_stores_the_canonical_link_with_ends_swapped(scene):
    for inverse, (outward, stored) in INVERSES.items():
        a, b = await scene.issues(scene.app, f"A-{inverse}", f"B-{inverse}")
        ta, tb = a.title, b.title

        payload = ok(await scene.create(a, b, inverse))

        assert payload["link"]["source"] == {"title": tb}, inverse
        assert payload["link"]["target"] == {"title": ta}, inverse
        assert payload["link"]["linkType"] == outward, inverse
        assert (payload["sourceIssue"], payload["targetIssue"]) == ({"title": tb}, {"title": ta})
        assert payload["linkType"] == outward
        assert payload["created"] is True
        row = await scene.pool.fetchrow(
            "select source_id, target_id, link_type::text as t from issue_links where id = $1",
            payload["link"]["databaseId"],
        )
        assert (row["source_id"], row["target_id"], row["t"]) == (b.id, a.id, stored), inverse
        from_a = (await scene.links(a, token=scene.alice_token))["edges"]
        from_b = (await scene.links(b, token=scene.alice_token))["edges"]
        assert [(e["node"]["title"], e["linkType"]) for e in from_a] == [(tb, inverse)]
        assert [(e["node"]["title"], e["linkType"]) for e in from_b] == [(ta, outward)]
        assert from_a[0]["link"] == from_b[0]["link"]
        assert from_a[0]["link"]["source"] == {"title": tb}
        assert from_a[0]["link"]["linkType"] == outward


async def test_creating_with_an_outward_type_keeps_the_named_direction(scene):
    inverse_of = {outward: inverse for inverse, (outward, _) in INVERSES.items()}
    for outward in ("BLOCKS", "DUPLICATES", "PARENT_OF", "CLONES", "RELATES_TO"):
        a, b = await scene.issues(scene.app, f"A-{outward}", f"B-{outward}")

        payload = ok(await scene.create(a, b, outward))

        link = payload["link"]
        assert (link["source"], link["target"]) == ({"title": a.title}, {"title": b.title})
        assert payload["linkType"] == link["linkType"] == outward
        from_b = (await scene.links(b, token=scene.alice_token))["edges"]
        assert [(e["node"]["title"], e["linkType"]) for e in from_b] == [
            (a.title, inverse_of.get(outward, "RELATES_TO"))
        ]


async def test_link_type_defaults_to_relates_to(scene):
    a, b = await scene.issues(scene.app, "A", "B")

    payload = ok(
        await scene.api.mutate(
            "createIssueLink", {**at(a), **to(b)}, PAYLOAD, token=scene.alice_token
        )
    )

    assert payload["linkType"] == payload["link"]["linkType"] == "RELATES_TO"
    assert await link_rows(scene.pool) == [("A", "B", "relates")]


async def test_mutation_payloads_show_the_issues_as_the_write_left_them(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    ends = (
        "sourceIssue { title blockingCount links { totalCount nodes { title } } }"
        " targetIssue { title isBlocked blockedByCount }"
    )
    await scene.link(a, c)

    created = ok(
        await scene.api.mutate(
            "createIssueLink", link_input(b, a, "IS_BLOCKED_BY"), ends, token=scene.alice_token
        )
    )
    deleted = ok(
        await scene.api.mutate(
            "deleteIssueLink",
            {
                **at(a),
                "linkId": str(
                    (await scene.links(a, token=scene.alice_token))["edges"][1]["link"][
                        "databaseId"
                    ]
                ),
            },
            ends,
            token=scene.alice_token,
        )
    )

    assert created["sourceIssue"] == {
        "title": "A",
        "blockingCount": 1,
        "links": {"totalCount": 2, "nodes": [{"title": "C"}, {"title": "B"}]},
    }
    assert created["targetIssue"] == {"title": "B", "isBlocked": True, "blockedByCount": 1}
    assert deleted["sourceIssue"] == {
        "title": "A",
        "blockingCount": 0,
        "links": {"totalCount": 1, "nodes": [{"title": "C"}]},
    }
    assert deleted["targetIssue"] == {"title": "B", "isBlocked": False, "blockedByCount": 0}


# -- cross-project links ------------------------------------------------------------------------


async def test_guest_in_both_projects_links_issues_across_projects(scene):
    (a,) = await scene.issues(scene.app, "A")
    (b,) = await scene.issues(scene.lib, "B")
    await scene.world.member(scene.app, scene.bob, Role.GUEST)
    await scene.world.member(scene.lib, scene.bob, Role.GUEST)

    payload = ok(
        await scene.api.mutate(
            "createIssueLink",
            {
                "project": "acme/app",
                "iid": a.iid,
                "targetProject": "acme%2Flib",
                "targetIssueIid": b.iid,
                "linkType": "BLOCKS",
            },
            PAYLOAD + " sourceIssue { reference } targetIssue { reference }",
            token=scene.bob_token,
        )
    )

    assert payload["sourceIssue"]["reference"] == "acme/app#1"
    assert payload["targetIssue"]["reference"] == "acme/lib#1"
    assert payload["link"]["author"] == {"username": "bob"}
    assert titles(await scene.links(b, token=scene.bob_token)) == ["A"]
    assert titles(await scene.links(a, token=scene.bob_token)) == ["B"]


async def test_cross_project_link_without_membership_of_a_readable_project_is_forbidden(scene):
    (a,) = await scene.issues(scene.app, "A")
    (p,) = await scene.issues(scene.pub, "P")
    await scene.world.member(scene.app, scene.bob, Role.GUEST)

    to_public = only_error(await scene.create(a, p, token=scene.bob_token))
    from_public = only_error(await scene.create(p, a, token=scene.bob_token))

    assert to_public["code"] == "FORBIDDEN"
    assert to_public["path"] == ["input", "targetProject"]
    assert from_public["code"] == "FORBIDDEN"
    assert from_public["path"] == ["input", "project"]
    assert await link_rows(scene.pool) == []


async def test_cross_project_link_to_an_unreadable_project_is_not_found_like_a_missing_one(
    scene,
):
    (p,) = await scene.issues(scene.pub, "P")
    (a,) = await scene.issues(scene.app, "A")
    await scene.world.member(scene.pub, scene.bob, Role.GUEST)

    hidden = only_error(await scene.create(p, a, token=scene.bob_token))
    missing = only_error(
        await scene.api.mutate(
            "createIssueLink",
            {**at(p), "targetProject": "acme/nothing", "targetIssueIid": 1},
            PAYLOAD,
            token=scene.bob_token,
        )
    )

    assert hidden["code"] == "NOT_FOUND"
    assert hidden["path"] == ["input", "targetProject"]
    assert (hidden["code"], hidden["message"], hidden["path"]) == (
        missing["code"],
        missing["message"],
        missing["path"],
    )
    assert await link_rows(scene.pool) == []


async def test_link_to_a_confidential_issue_the_viewer_cannot_read_is_not_found(scene):
    (p,) = await scene.issues(scene.pub, "P")
    (secret,) = await scene.issues(scene.pub, "Secret", confidential=True)
    await scene.world.member(scene.pub, scene.bob, Role.GUEST)

    error = only_error(await scene.create(p, secret, token=scene.bob_token))
    missing = only_error(
        await scene.api.mutate(
            "createIssueLink",
            {**at(p), "targetProject": "acme/pub", "targetIssueIid": 99},
            PAYLOAD,
            token=scene.bob_token,
        )
    )

    assert error["code"] == "NOT_FOUND"
    assert error["path"] == ["input", "targetIssueIid"]
    assert error["message"] == missing["message"]
    # alice, who may read it, links it.
    ok(await scene.create(p, secret))


# -- one link by id (GitLab's GET .../links/:issue_link_id) ----------------------------------


async def test_issue_link_by_global_id_or_database_id_from_either_end(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    payload = ok(await scene.create(a, b, "IS_BLOCKED_BY"))
    db_id, global_id = payload["link"]["databaseId"], payload["link"]["id"]
    assert global_id == gid("IssueLink", db_id)
    expected = {
        "link": {"databaseId": db_id, "linkType": "BLOCKS"},
        "sourceIssue": {"title": "B"},
        "targetIssue": {"title": "A"},
        "linkType": "BLOCKS",
    }

    for issue in (a, b):
        for link_id in (global_id, db_id):
            found = await scene.issue_link(issue, link_id, token=scene.alice_token)
            assert found == expected


async def test_issue_link_is_null_when_the_link_does_not_touch_the_named_issue(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    link_id = await scene.link(a, b)

    assert await scene.issue_link(c, link_id, token=scene.alice_token) is None
    assert await scene.issue_link(a, link_id + 1000, token=scene.alice_token) is None
    assert await scene.issue_link(a, link_id, token=scene.alice_token) is not None


async def test_issue_link_and_node_are_null_when_either_end_is_unreadable(scene):
    (p, q) = await scene.issues(scene.pub, "P", "Q")
    (hidden,) = await scene.issues(scene.app, "Hidden")
    (secret,) = await scene.issues(scene.pub, "Secret", confidential=True)
    to_private = await scene.link(p, hidden)
    to_confidential = await scene.link(secret, q)
    await scene.world.member(scene.pub, scene.bob, Role.GUEST)

    for token in (None, scene.bob_token):
        assert await scene.issue_link(p, to_private, token=token) is None
        assert await scene.issue_link(q, to_confidential, token=token) is None
        for link_id in (to_private, to_confidential):
            response = await scene.api.gql(
                NODE_QUERY, {"id": gid("IssueLink", link_id)}, token=token
            )
            assert response.data["node"] is None
    assert await scene.issue_link(p, to_private, token=scene.alice_token) is not None
    assert await scene.issue_link(q, to_confidential, token=scene.root_token) is not None


async def test_node_resolves_an_issue_link_by_its_global_id(scene):
    a, b = await scene.issues(scene.pub, "A", "B")
    payload = ok(await scene.create(a, b, "CHILD_OF"))

    response = await scene.api.gql(NODE_QUERY, {"id": payload["link"]["id"]})

    assert response.data["node"] == {
        "__typename": "IssueLink",
        "id": payload["link"]["id"],
        "databaseId": payload["link"]["databaseId"],
        "linkType": "PARENT_OF",
        "source": {"title": "B"},
        "target": {"title": "A"},
    }
    ok(await scene.delete(a, payload["link"]["databaseId"]))
    gone = await scene.api.gql(NODE_QUERY, {"id": payload["link"]["id"]})
    assert gone.data["node"] is None


# -- who may write ---------------------------------------------------------------------------


def _mutation(name: str, selection: str) -> str:
    return (
        f"mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) "
        f"{{ errors {{ code message path details }} {selection} }} }}"
    )


async def _write_inputs(scene: Scene) -> tuple[dict[str, tuple[dict[str, Any], str]], Issue]:
    a, b, c = await scene.issues(scene.pub, "A", "B", "C")
    link_id = await scene.link(a, b)
    return {
        "createIssueLink": (link_input(a, c), "link { databaseId }"),
        "createIssueLinks": ({"links": [link_input(b, c)]}, "links { created }"),
        "updateIssueLink": (
            {**at(a), "linkId": str(link_id), "linkType": "BLOCKS"},
            "link { databaseId }",
        ),
        "deleteIssueLink": ({**at(a), "linkId": str(link_id)}, "link { databaseId }"),
        "deleteIssue": (at(c), "issue { title }"),
    }, a


WRITES = [
    "createIssueLink",
    "createIssueLinks",
    "updateIssueLink",
    "deleteIssueLink",
    "deleteIssue",
]


async def test_anonymous_link_writes_are_unauthenticated_with_http_401(scene):
    inputs, _ = await _write_inputs(scene)
    before = await link_rows(scene.pool)

    for name in WRITES:
        input_, selection = inputs[name]
        response = await scene.api.gql(_mutation(name, selection), {"input": input_})

        assert response.status == 401, name
        assert response.codes == ["UNAUTHENTICATED"], name
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), name
    assert await link_rows(scene.pool) == before
    assert await scene.pool.fetchval("select count(*) from issues") == 3


async def test_read_api_token_link_writes_are_forbidden(scene):
    inputs, a = await _write_inputs(scene)
    before = await link_rows(scene.pool)
    read_only = await scene.world.token("alice", scopes=(TokenScope.READ_API,))

    for name in WRITES:
        input_, selection = inputs[name]
        response = await scene.api.gql(
            _mutation(name, selection), {"input": input_}, token=read_only
        )

        assert response.status == 200, name
        assert only_error(response.data[name])["code"] == "FORBIDDEN", name
    assert await link_rows(scene.pool) == before
    assert await scene.pool.fetchval("select count(*) from issues") == 3
    # A read_api token still reads the links it may not change.
    assert titles(await scene.links(a, token=read_only)) == ["B"]


async def test_delete_needs_guest_in_the_project_of_the_named_issue(scene):
    (a,) = await scene.issues(scene.app, "A")
    (p,) = await scene.issues(scene.pub, "P")
    await scene.world.member(scene.app, scene.bob, Role.GUEST)
    link_id = await scene.link(a, p)

    through_public = only_error(await scene.delete(p, link_id, token=scene.bob_token))
    assert through_public["code"] == "FORBIDDEN"
    assert through_public["path"] == ["input", "project"]
    assert await link_rows(scene.pool) == [("A", "P", "relates")]

    ok(await scene.delete(a, link_id, token=scene.bob_token))
    assert await link_rows(scene.pool) == []


async def test_delete_through_an_issue_that_is_not_an_end_of_the_link_is_not_found(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    link_id = await scene.link(a, b)

    error = only_error(await scene.delete(c, link_id))
    missing = only_error(await scene.delete(a, link_id + 1000))

    assert (error["code"], error["path"]) == ("NOT_FOUND", ["input", "linkId"])
    assert (missing["code"], missing["path"]) == ("NOT_FOUND", ["input", "linkId"])
    assert await link_rows(scene.pool) == [("A", "B", "relates")]


async def test_delete_is_not_found_when_the_viewer_cannot_read_both_ends(scene):
    (p,) = await scene.issues(scene.pub, "P")
    (hidden,) = await scene.issues(scene.app, "Hidden")
    await scene.world.member(scene.pub, scene.bob, Role.DEVELOPER)
    link_id = await scene.link(p, hidden)

    other_end_hidden = only_error(await scene.delete(p, link_id, token=scene.bob_token))
    named_hidden = only_error(await scene.delete(hidden, link_id, token=scene.bob_token))

    assert (other_end_hidden["code"], other_end_hidden["path"]) == (
        "NOT_FOUND",
        ["input", "linkId"],
    )
    assert (named_hidden["code"], named_hidden["path"]) == ("NOT_FOUND", ["input", "project"])
    assert await link_rows(scene.pool) == [("P", "Hidden", "relates")]


async def test_update_needs_guest_in_both_projects_and_a_link_of_the_named_issue(scene):
    (a,) = await scene.issues(scene.app, "A")
    (p, q) = await scene.issues(scene.pub, "P", "Q")
    await scene.world.member(scene.app, scene.bob, Role.GUEST)
    link_id = await scene.link(a, p)

    not_member = only_error(await scene.update(a, link_id, "BLOCKS", token=scene.bob_token))
    not_an_end = only_error(await scene.update(q, link_id, "BLOCKS"))

    assert not_member["code"] == "FORBIDDEN"
    assert (not_an_end["code"], not_an_end["path"]) == ("NOT_FOUND", ["input", "linkId"])
    assert await link_rows(scene.pool) == [("A", "P", "relates")]
    await scene.world.member(scene.pub, scene.bob, Role.GUEST)
    ok(await scene.update(a, link_id, "BLOCKS", token=scene.bob_token))
    assert await link_rows(scene.pool) == [("A", "P", "blocks")]


# -- one link per pair -----------------------------------------------------------------------

DUPLICATES = {
    # case: (existing link from A to B, the second request as (from, type), details.linkType)
    "same_type_same_direction": ("BLOCKS", ("a", "BLOCKS"), "BLOCKS"),
    "same_type_reverse_direction": ("RELATES_TO", ("b", "RELATES_TO"), "RELATES_TO"),
    "reverse_blocks": ("BLOCKS", ("b", "BLOCKS"), "IS_BLOCKED_BY"),
    "different_type": ("RELATES_TO", ("a", "DUPLICATES"), "RELATES_TO"),
    "different_type_reverse_direction": ("CLONES", ("b", "PARENT_OF"), "IS_CLONED_BY"),
}


async def test_second_link_between_the_same_two_issues_is_a_conflict(scene):
    for case, (existing_type, (start, new_type), seen_as) in DUPLICATES.items():
        a, b = await scene.issues(scene.app, f"A-{case}", f"B-{case}")
        link_id = await scene.link(a, b, existing_type)
        before = await link_rows(scene.pool)
        first, second = (a, b) if start == "a" else (b, a)

        payload = await scene.create(first, second, new_type)

        error = only_error(payload)
        assert error["code"] == "CONFLICT", case
        assert error["path"] == ["input", "targetIssueIid"], case
        assert error["details"] == {"linkId": link_id, "linkType": seen_as}, case
        assert payload["link"] is None
        assert payload["created"] is None
        assert await link_rows(scene.pool) == before


async def test_return_existing_gives_back_the_link_of_the_same_type_and_direction(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    link_id = await scene.link(a, b, "BLOCKS")

    again = ok(await scene.create(a, b, "BLOCKS", onConflict="RETURN_EXISTING"))
    # The same link named from its other end, with the inverse type.
    inverse = ok(await scene.create(b, a, "IS_BLOCKED_BY", onConflict="RETURN_EXISTING"))

    for payload in (again, inverse):
        assert payload["created"] is False
        assert payload["link"]["databaseId"] == link_id
        assert (payload["sourceIssue"], payload["targetIssue"]) == ({"title": "A"}, {"title": "B"})
        assert payload["linkType"] == "BLOCKS"
    assert await link_rows(scene.pool) == [("A", "B", "blocks")]


async def test_return_existing_with_another_type_or_direction_is_still_a_conflict(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    link_id = await scene.link(a, b, "BLOCKS")

    for first, second, new_type, seen_as in (
        (a, b, "RELATES_TO", "BLOCKS"),  # another type
        (b, a, "BLOCKS", "IS_BLOCKED_BY"),  # the other direction
        (a, b, "IS_BLOCKED_BY", "BLOCKS"),  # the other direction, by an inverse name
    ):
        payload = await scene.create(first, second, new_type, onConflict="RETURN_EXISTING")

        error = only_error(payload)
        assert error["code"] == "CONFLICT", new_type
        assert error["details"] == {"linkId": link_id, "linkType": seen_as}, new_type
        assert payload["created"] is None
    assert await link_rows(scene.pool) == [("A", "B", "blocks")]


# -- per-issue limit, self-links, missing things -----------------------------------------------


async def test_link_limit_is_checked_on_the_named_issue(small_scene):
    s = small_scene
    a, b, c, d, e = await s.issues(s.app, "A", "B", "C", "D", "E")
    for other in (b, c, d):
        await s.link(a, other)

    error = only_error(await s.create(a, e))

    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["path"] == ["input", "iid"]
    assert error["details"]["limit"] == 3
    assert error["details"]["current"] == 3
    assert len(await link_rows(s.pool)) == 3


async def test_link_limit_is_checked_on_the_target_issue(small_scene):
    s = small_scene
    a, b, c, d, e = await s.issues(s.app, "A", "B", "C", "D", "E")
    for other in (b, c, d):
        await s.link(other, e, "BLOCKS")

    error = only_error(await s.create(a, e, "IS_BLOCKED_BY"))

    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["path"] == ["input", "targetIssueIid"]
    assert error["details"]["limit"] == 3
    assert len(await link_rows(s.pool)) == 3
    # Removing one makes room again.
    links = await s.links(e, token=s.alice_token)
    ok(await s.delete(e, links["edges"][0]["link"]["databaseId"]))
    ok(await s.create(a, e, "IS_BLOCKED_BY"))


async def test_link_limit_counts_the_links_of_the_same_batch(small_scene):
    s = small_scene
    a, b, c, d, e = await s.issues(s.app, "A", "B", "C", "D", "E")

    payload = await s.bulk([link_input(a, other) for other in (b, c, d, e)])

    error = only_error(payload)
    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["path"] == ["input", "links", "0", "iid"]
    assert (error["details"]["limit"], error["details"]["current"]) == (3, 0)
    assert await link_rows(s.pool) == []
    ok(await s.bulk([link_input(a, other) for other in (b, c, d)]))
    assert len(await link_rows(s.pool)) == 3


async def test_return_existing_at_the_limit_returns_the_existing_link(small_scene):
    s = small_scene
    a, b, c, d = await s.issues(s.app, "A", "B", "C", "D")
    link_id = await s.link(a, b)
    await s.link(a, c)
    await s.link(a, d)

    payload = ok(await s.create(a, b, onConflict="RETURN_EXISTING"))

    assert (payload["created"], payload["link"]["databaseId"]) == (False, link_id)


async def test_a_duplicate_at_the_limit_is_only_a_conflict(small_scene):
    """The existing link is not counted again as if it were being added."""
    s = small_scene
    a, b, c, d = await s.issues(s.app, "A", "B", "C", "D")
    await s.link(a, b)
    await s.link(a, c)
    await s.link(a, d)

    for link_type in ("RELATES_TO", "PARENT_OF"):
        error = only_error(await s.create(a, b, link_type))
        assert error["code"] == "CONFLICT", link_type


async def test_linking_an_issue_to_itself_is_bad_user_input(scene):
    (a,) = await scene.issues(scene.app, "A")

    for link_type in ("RELATES_TO", "BLOCKS", "CHILD_OF"):
        error = only_error(await scene.create(a, a, link_type))
        assert error["code"] == "BAD_USER_INPUT"
        assert error["path"] == ["input", "targetIssueIid"]
    assert await link_rows(scene.pool) == []


async def test_missing_project_or_issue_is_not_found_at_its_input_path(scene):
    a, b = await scene.issues(scene.app, "A", "B")

    for field, value in (
        ("project", "acme/nothing"),
        ("project", "999999"),
        ("iid", 99),
        ("targetProject", "acme/nothing"),
        ("targetProject", "999999"),
        ("targetIssueIid", 99),
    ):
        payload = await scene.api.mutate(
            "createIssueLink", {**link_input(a, b), field: value}, PAYLOAD, token=scene.alice_token
        )

        error = only_error(payload)
        assert (error["code"], error["path"]) == ("NOT_FOUND", ["input", field]), (field, value)
    assert await link_rows(scene.pool) == []


# -- cycles and the parent tree ----------------------------------------------------------------


def path_titles(error: dict[str, Any], by_id: dict[int, str]) -> list[str | None]:
    return [by_id[step["issueId"]] if step else None for step in error["details"]["path"]]


async def test_blocks_cycle_of_two_is_refused_as_the_second_link_of_the_pair(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    link_id = await scene.link(a, b, "BLOCKS")

    for first, second, link_type in ((b, a, "BLOCKS"), (a, b, "IS_BLOCKED_BY")):
        error = only_error(await scene.create(first, second, link_type))
        assert error["code"] == "CONFLICT"
        assert error["details"]["linkId"] == link_id
    assert await link_rows(scene.pool) == [("A", "B", "blocks")]


async def test_blocks_cycle_of_three_is_a_cycle_error_carrying_the_existing_path(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    await scene.link(a, b, "BLOCKS")
    await scene.link(b, c, "BLOCKS")
    before = await link_rows(scene.pool)

    error = only_error(await scene.create(c, a, "BLOCKS"))

    assert error["code"] == "CYCLE"
    assert error["path"] == ["input", "targetIssueIid"]
    assert error["details"]["path"] == [
        {"issueId": a.id, "iid": a.iid, "reference": "acme/app#1"},
        {"issueId": b.id, "iid": b.iid, "reference": "acme/app#2"},
        {"issueId": c.id, "iid": c.iid, "reference": "acme/app#3"},
    ]
    # The same link asked for with the inverse name from the other end.
    inverse = only_error(await scene.create(a, c, "IS_BLOCKED_BY"))
    assert inverse["code"] == "CYCLE"
    assert inverse["details"]["path"] == error["details"]["path"]
    assert await link_rows(scene.pool) == before


async def test_long_blocks_cycle_is_refused_wherever_it_closes(scene):
    chain = await scene.issues(scene.app, *(f"I{n}" for n in range(12)))
    by_id = {i.id: i.title for i in chain}
    ok(await scene.bulk([link_input(x, y, "BLOCKS") for x, y in itertools.pairwise(chain)]))
    before = await link_rows(scene.pool)

    whole = only_error(await scene.create(chain[-1], chain[0], "BLOCKS"))
    part = only_error(await scene.create(chain[9], chain[4], "BLOCKS"))

    assert whole["code"] == part["code"] == "CYCLE"
    assert path_titles(whole, by_id) == [f"I{n}" for n in range(12)]
    assert path_titles(part, by_id) == [f"I{n}" for n in range(4, 10)]
    assert await link_rows(scene.pool) == before
    # Links along the chain's direction do not close a cycle.
    ok(await scene.create(chain[0], chain[11], "BLOCKS"))


async def test_blocks_links_that_close_no_cycle_are_accepted(scene):
    a, b, c, d = await scene.issues(scene.app, "A", "B", "C", "D")
    # A diamond: two ways from A to D, no way back.
    for x, y in ((a, b), (a, c), (b, d), (c, d)):
        await scene.link(x, y, "BLOCKS")
    # Other types never count as a cycle of blocks links.
    await scene.link(d, a, "RELATES_TO")
    assert len(await link_rows(scene.pool)) == 5


async def test_hidden_issues_in_a_cycle_path_are_null(scene):
    a, b = await scene.issues(scene.pub, "A", "B")
    (hidden,) = await scene.issues(scene.app, "Hidden")
    await scene.link(a, hidden, "BLOCKS")
    await scene.link(hidden, b, "BLOCKS")
    await scene.world.member(scene.pub, scene.bob, Role.GUEST)

    error = only_error(await scene.create(b, a, "BLOCKS", token=scene.bob_token))

    assert error["code"] == "CYCLE"
    steps = error["details"]["path"]
    assert steps[0]["issueId"] == a.id
    assert steps[1] is None
    assert steps[2]["issueId"] == b.id
    assert "Hidden" not in json.dumps(error)
    # Someone who reads the hidden issue sees it in the path.
    full = only_error(await scene.create(b, a, "BLOCKS"))
    assert full["details"]["path"][1] == {
        "issueId": hidden.id,
        "iid": hidden.iid,
        "reference": "acme/app#1",
    }


async def test_an_issue_has_one_parent(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    parent_link = await scene.link(a, c, "PARENT_OF")

    second = only_error(await scene.create(b, c, "PARENT_OF"))
    from_child = only_error(await scene.create(c, b, "CHILD_OF"))

    assert second["code"] == from_child["code"] == "CONFLICT"
    assert second["path"] == ["input", "targetIssueIid"]
    assert from_child["path"] == ["input", "iid"]
    assert second["details"] == from_child["details"] == {"parentLinkId": parent_link}
    assert await link_rows(scene.pool) == [("A", "C", "parent")]
    # A parent may have many children.
    await scene.link(a, b, "PARENT_OF")


async def test_parent_links_cannot_form_a_cycle(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    by_id = {i.id: i.title for i in (a, b, c)}
    await scene.link(a, b, "PARENT_OF")
    await scene.link(b, c, "PARENT_OF")

    error = only_error(await scene.create(c, a, "PARENT_OF"))

    assert error["code"] == "CYCLE"
    assert path_titles(error, by_id) == ["A", "B", "C"]
    assert len(await link_rows(scene.pool)) == 2


async def test_parent_tree_is_at_most_eight_links_deep(scene):
    chain = await scene.issues(scene.app, *(f"L{n}" for n in range(10)))
    root, levels, leaf = chain[0], chain[1:9], chain[9]
    # L1 .. L8: seven links; adding a root above and a leaf below gives nine.
    for parent, child in itertools.pairwise(levels):
        await scene.link(parent, child, "PARENT_OF")
    await scene.link(root, levels[0], "PARENT_OF")  # the eighth link: allowed

    below = only_error(await scene.create(levels[-1], leaf, "PARENT_OF"))
    above_tree = await scene.issues(scene.app, "Top")
    above = only_error(await scene.create(above_tree[0], root, "PARENT_OF"))

    for error in (below, above):
        assert error["code"] == "LIMIT_EXCEEDED"
        assert error["path"] == ["input", "targetIssueIid"]
        assert error["details"] == {"maxDepth": 8}
    assert len(await link_rows(scene.pool)) == 8
    # Another branch of depth 8 is fine; the limit is on depth, not on size.
    ok(await scene.create(levels[-2], leaf, "PARENT_OF"))


# -- updating and deleting ---------------------------------------------------------------------


async def test_update_issue_link_changes_its_type_and_records_who_and_when(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    await scene.world.member(scene.app, scene.bob, Role.GUEST)
    created = ok(await scene.create(a, b))["link"]
    assert created["updatedBy"] is None  # nobody has changed it yet (SourceCraft)

    payload = ok(await scene.update(a, created["id"], "BLOCKS", token=scene.bob_token))

    link = payload["link"]
    assert link["databaseId"] == created["databaseId"]
    assert (link["linkType"], link["source"], link["target"]) == (
        "BLOCKS",
        {"title": "A"},
        {"title": "B"},
    )
    assert link["author"] == {"username": "alice"}
    assert link["updatedBy"] == {"username": "bob"}
    assert link["createdAt"] == created["createdAt"]
    assert dt.datetime.fromisoformat(link["updatedAt"]) > dt.datetime.fromisoformat(
        created["updatedAt"]
    )
    from_b = (await scene.links(b, token=scene.alice_token))["edges"]
    assert [(e["linkType"], e["linkUpdatedAt"]) for e in from_b] == [
        ("IS_BLOCKED_BY", link["updatedAt"])
    ]
    assert (await scene.summary(b, token=scene.alice_token))["isBlocked"] is True


async def test_update_with_an_inverse_type_turns_the_link_around(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    link_id = await scene.link(a, b, "BLOCKS")

    payload = ok(await scene.update(a, link_id, "IS_BLOCKED_BY"))

    assert (payload["link"]["source"], payload["link"]["target"]) == (
        {"title": "B"},
        {"title": "A"},
    )
    assert payload["linkType"] == "BLOCKS"
    assert await link_rows(scene.pool) == [("B", "A", "blocks")]
    assert (await scene.summary(a, token=scene.alice_token))["isBlocked"] is True
    assert (await scene.summary(b, token=scene.alice_token))["isBlocked"] is False


async def test_update_into_a_blocks_link_that_closes_a_cycle_is_refused_and_changes_nothing(
    scene,
):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    by_id = {i.id: i.title for i in (a, b, c)}
    await scene.link(a, b, "BLOCKS")
    await scene.link(b, c, "BLOCKS")
    relates = ok(await scene.create(c, a, "RELATES_TO"))["link"]

    error = only_error(await scene.update(c, relates["databaseId"], "BLOCKS"))

    assert error["code"] == "CYCLE"
    assert error["path"] == ["input", "linkType"]
    assert path_titles(error, by_id) == ["A", "B", "C"]
    row = await scene.pool.fetchrow(
        "select link_type::text as t, updated_at, updated_by_id from issue_links where id = $1",
        relates["databaseId"],
    )
    assert row["t"] == "relates"
    assert row["updated_at"] == dt.datetime.fromisoformat(relates["updatedAt"])
    # The other way round closes nothing.
    ok(await scene.update(c, relates["databaseId"], "IS_BLOCKED_BY"))


async def test_update_into_a_second_parent_is_a_conflict(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    parent = await scene.link(a, c, "PARENT_OF")
    other = await scene.link(b, c, "RELATES_TO")

    error = only_error(await scene.update(b, other, "PARENT_OF"))

    assert error["code"] == "CONFLICT"
    assert error["details"] == {"parentLinkId": parent}
    assert await link_rows(scene.pool) == [("A", "C", "parent"), ("B", "C", "relates")]


async def test_delete_issue_link_returns_what_it_deleted_and_removes_it_from_both_sides(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    link_id = await scene.link(a, b, "IS_BLOCKED_BY")
    await scene.link(a, c)

    payload = ok(await scene.delete(a, link_id))

    assert payload["link"] == {"databaseId": link_id}
    assert (payload["sourceIssue"], payload["targetIssue"]) == ({"title": "B"}, {"title": "A"})
    assert payload["linkType"] == "BLOCKS"
    assert titles(await scene.links(a, token=scene.alice_token)) == ["C"]
    assert titles(await scene.links(b, token=scene.alice_token)) == []
    assert (await scene.summary(a, token=scene.alice_token))["isBlocked"] is False
    assert await scene.issue_link(b, link_id, token=scene.alice_token) is None
    again = only_error(await scene.delete(b, link_id))
    assert (again["code"], again["path"]) == ("NOT_FOUND", ["input", "linkId"])


async def test_update_and_delete_name_a_link_by_the_issue_at_its_other_end(scene):
    # docs/contract.md: one link per pair, so the two issues name it as well as its id.
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    link_id = await scene.link(a, b, "BLOCKS")
    await scene.link(a, c)

    def by_end(issue: Issue, other: Issue, **more: Any) -> dict[str, Any]:
        return {**at(issue), **to(other), **more}

    updated = ok(
        await scene.api.mutate(
            "updateIssueLink",
            by_end(b, a, linkType="BLOCKS"),
            "link { databaseId } linkType",
            token=scene.alice_token,
        )
    )
    # B now blocks A: the stored link turned round.
    assert (updated["link"], updated["linkType"]) == ({"databaseId": link_id}, "BLOCKS")
    assert await link_rows(scene.pool) == [("A", "C", "relates"), ("B", "A", "blocks")]
    deleted = ok(
        await scene.api.mutate(
            "deleteIssueLink", by_end(a, b), "link { databaseId }", token=scene.alice_token
        )
    )
    assert deleted["link"] == {"databaseId": link_id}
    assert await link_rows(scene.pool) == [("A", "C", "relates")]

    gone = only_error(
        await scene.api.mutate(
            "deleteIssueLink", by_end(a, b), "link { databaseId }", token=scene.alice_token
        )
    )
    assert (gone["code"], gone["path"]) == ("NOT_FOUND", ["input", "targetIssueIid"])


async def test_a_link_named_by_a_hidden_other_end_is_not_found_like_a_missing_issue(scene):
    (p,) = await scene.issues(scene.pub, "P")
    (hidden,) = await scene.issues(scene.app, "Hidden")
    await scene.world.member(scene.pub, scene.bob, Role.DEVELOPER)
    await scene.link(p, hidden)

    async def delete(other: dict[str, Any]) -> dict[str, Any]:
        payload = await scene.api.mutate(
            "deleteIssueLink", {**at(p), **other}, "link { databaseId }", token=scene.bob_token
        )
        return only_error(payload)

    hidden_end = await delete(to(hidden))
    no_such_issue = await delete({"targetProject": str(hidden.project_id), "targetIssueIid": 999})
    assert hidden_end == no_such_issue
    assert (hidden_end["code"], hidden_end["path"]) == ("NOT_FOUND", ["input", "targetProject"])
    assert await link_rows(scene.pool) == [("P", "Hidden", "relates")]


@pytest.mark.parametrize(
    ("naming", "path"),
    [
        ({}, "targetProject"),
        ({"targetIssueIid": 2}, "targetProject"),
        ({"targetProject": "1"}, "targetIssueIid"),
        ({"linkId": "1", "targetProject": "1", "targetIssueIid": 2}, "linkId"),
    ],
)
async def test_a_link_must_be_named_one_way_exactly(scene, naming, path):
    a, b = await scene.issues(scene.app, "A", "B")
    await scene.link(a, b)

    for mutation, more in (("deleteIssueLink", {}), ("updateIssueLink", {"linkType": "BLOCKS"})):
        error = only_error(
            await scene.api.mutate(
                mutation,
                {**at(a), **naming, **more},
                "link { databaseId }",
                token=scene.alice_token,
            )
        )
        assert (error["code"], error["path"]) == ("BAD_USER_INPUT", ["input", path])
    assert await link_rows(scene.pool) == [("A", "B", "relates")]


async def test_delete_issue_by_its_owner_or_an_admin_removes_its_links(scene):
    a, b, c, d = await scene.issues(scene.app, "A", "B", "C", "D")
    await scene.link(a, b, "BLOCKS")
    await scene.link(c, a, "PARENT_OF")
    await scene.link(b, c)
    await scene.link(d, b)

    payload = ok(
        await scene.api.mutate("deleteIssue", at(a), "issue { title }", token=scene.alice_token)
    )
    assert payload["issue"] == {"title": "A"}
    assert await link_rows(scene.pool) == [("B", "C", "relates"), ("D", "B", "relates")]
    assert titles(await scene.links(b, token=scene.alice_token)) == ["C", "D"]
    assert (await scene.summary(b, token=scene.alice_token))["isBlocked"] is False

    ok(await scene.api.mutate("deleteIssue", at(d), "issue { title }", token=scene.root_token))
    assert await link_rows(scene.pool) == [("B", "C", "relates")]


async def test_delete_issue_by_anyone_below_owner_is_forbidden(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    await scene.link(a, b)
    await scene.world.member(scene.app, scene.bob, Role.MAINTAINER)

    error = only_error(
        await scene.api.mutate("deleteIssue", at(a), "issue { title }", token=scene.bob_token)
    )
    hidden = only_error(
        await scene.api.mutate("deleteIssue", at(a), "issue { title }", token=scene.carol_token)
    )

    assert error["code"] == "FORBIDDEN"
    assert hidden["code"] == "NOT_FOUND"
    assert await link_rows(scene.pool) == [("A", "B", "relates")]
    assert await scene.pool.fetchval("select count(*) from issues") == 2


# -- comments and events -------------------------------------------------------------------------

NOTES_QUERY = """
query($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    userNotesCount notes { totalCount nodes { body author { username } } }
  }
}
"""


async def notes(scene: Scene, issue: Issue) -> dict[str, Any]:
    response = await scene.api.gql(NOTES_QUERY, at(issue), token=scene.alice_token)
    return response.data["issue"]  # type: ignore[no-any-return]


async def test_comment_is_stored_as_a_note_on_the_first_named_issue(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    await scene.world.member(scene.app, scene.bob, Role.GUEST)

    # IS_BLOCKED_BY stores B -> A, yet the note goes to A, the issue the request names first.
    ok(await scene.create(a, b, "IS_BLOCKED_BY", comment="Waiting on B", token=scene.bob_token))

    assert await notes(scene, a) == {
        "userNotesCount": 1,
        "notes": {
            "totalCount": 1,
            "nodes": [{"body": "Waiting on B", "author": {"username": "bob"}}],
        },
    }
    assert (await notes(scene, b))["userNotesCount"] == 0


async def test_comment_is_added_when_return_existing_returns_the_existing_link(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    await scene.link(a, b, "BLOCKS")

    payload = ok(
        await scene.create(a, b, "BLOCKS", onConflict="RETURN_EXISTING", comment="Still blocked")
    )

    assert payload["created"] is False
    assert [n["body"] for n in (await notes(scene, a))["notes"]["nodes"]] == ["Still blocked"]


async def test_blank_comment_is_bad_user_input_and_writes_nothing(scene):
    a, b = await scene.issues(scene.app, "A", "B")

    error = only_error(await scene.create(a, b, comment="   "))

    assert (error["code"], error["path"]) == ("BAD_USER_INPUT", ["input", "comment"])
    assert await link_rows(scene.pool) == []
    assert (await notes(scene, a))["userNotesCount"] == 0


async def test_refused_link_writes_leave_no_comment(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    await scene.link(a, b, "BLOCKS")

    only_error(await scene.create(b, a, "BLOCKS", comment="Should not stay"))

    assert (await notes(scene, b))["userNotesCount"] == 0


async def test_link_writes_log_created_updated_and_deleted_events(scene):
    a, b = await scene.issues(scene.app, "A", "B")
    alice_id = scene.alice.id

    link_id = await scene.link(a, b, "IS_BLOCKED_BY")
    ok(await scene.update(a, link_id, "RELATES_TO"))
    ok(await scene.delete(b, link_id))
    created, updated, deleted = await link_log(scene.pool)

    assert summary(created) == {
        "kind": "link_created",
        "linkId": link_id,
        "sourceId": b.id,
        "targetId": a.id,
        "linkType": "blocks",
        "actorId": alice_id,
        "silent": False,
    }
    assert summary(updated) == {
        **summary(created),
        "kind": "link_updated",
        "sourceId": a.id,
        "targetId": b.id,
        "linkType": "relates",
    }
    assert {(c.field, c.before, c.after) for c in updated.changes} == {
        ("linkType", "blocks", "relates"),
        ("sourceId", b.id, a.id),
        ("targetId", a.id, b.id),
    }
    assert summary(deleted) == {**summary(updated), "kind": "link_deleted"}
    assert [i.title for i in deleted.issues] == ["A", "B"]

    # Deleting an issue deletes its links, and says so, before the issue's own event.
    again = await scene.link(a, b, "BLOCKS")
    ok(await scene.api.mutate("deleteIssue", at(a), "issue { title }", token=scene.alice_token))
    *_, relinked, gone = await link_log(scene.pool)
    assert (relinked.kind, relinked.link_id) == (EventKind.LINK_CREATED, again)
    assert (gone.kind, gone.link_id, gone.issues[0].id) == (EventKind.LINK_DELETED, again, a.id)
    everything = await event_queries.events_after(scene.pool, gone.position, limit=10)
    assert [(e.kind, e.issues[0].title) for e in everything] == [(EventKind.ISSUE_DELETED, "A")]


async def test_silent_link_writes_are_logged_as_silent(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")

    quiet = await scene.link(a, b, silent=True)
    loud = await scene.link(a, c)
    ok(await scene.update(a, quiet, "BLOCKS", silent=True))
    ok(await scene.update(a, loud, "BLOCKS"))
    ok(await scene.delete(a, quiet, silent=True))
    ok(await scene.delete(a, loud))
    ok(await scene.bulk([link_input(b, c, silent=True), link_input(a, b)]))

    logged = [(e.kind.value, e.link_id, e.silent) for e in await link_log(scene.pool)]
    bulk = [e.link_id for e in (await link_log(scene.pool))[-2:]]
    assert logged == [
        ("link_created", quiet, True),
        ("link_created", loud, False),
        ("link_updated", quiet, True),
        ("link_updated", loud, False),
        ("link_deleted", quiet, True),
        ("link_deleted", loud, False),
        ("link_created", bulk[0], True),
        ("link_created", bulk[1], False),
    ]
    # Readers that push events leave the silent ones out.
    pushed = await event_queries.events_after(
        scene.pool, START, limit=100, kinds=LINK_KINDS, include_silent=False
    )
    assert [e.link_id for e in pushed] == [loud, loud, loud, bulk[1]]


async def test_refused_link_write_logs_no_event(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    await scene.link(a, b, "BLOCKS", silent=True)
    await scene.link(b, c, "BLOCKS", silent=True)
    before = await link_log(scene.pool)

    only_error(await scene.create(c, a, "BLOCKS"))
    loud = await scene.link(c, a, "RELATES_TO")

    assert [e.link_id for e in await link_log(scene.pool)] == [
        *(e.link_id for e in before),
        loud,
    ]


# -- bulk creation -------------------------------------------------------------------------------


async def test_create_issue_links_creates_one_hundred_links_in_one_request(scene):
    hub, *others = await scene.issues(scene.app, "Hub", *(f"N{n:03}" for n in range(100)))

    payload = ok(await scene.bulk([link_input(hub, other, "BLOCKS") for other in others]))

    assert len(payload["links"]) == 100
    assert all(item["created"] for item in payload["links"])
    assert [item["targetIssue"]["title"] for item in payload["links"]] == [o.title for o in others]
    assert len(await link_rows(scene.pool)) == 100
    summary = await scene.summary(hub, token=scene.alice_token)
    assert summary["blockingCount"] == 100
    page = await scene.links(hub, token=scene.alice_token, first=100)
    assert titles(page) == [o.title for o in others]


async def test_create_issue_links_with_bad_items_writes_nothing_and_reports_each_of_them(scene):
    issues = await scene.issues(scene.pub, *(f"P{n}" for n in range(8)))
    (hidden,) = await scene.issues(scene.app, "Hidden")
    items = [link_input(issues[0], other) for other in issues[1:]]
    items[2] = link_input(issues[3], issues[3])  # self-link
    items[4] = {**items[4], "targetIssueIid": 99}  # no such issue
    items[5] = link_input(issues[0], hidden)  # project bob may not read
    await scene.world.member(scene.pub, scene.bob, Role.GUEST)

    payload = await scene.bulk(items, token=scene.bob_token)

    assert payload["links"] is None
    assert sorted((e["path"], e["code"]) for e in payload["errors"]) == [
        (["input", "links", "2", "targetIssueIid"], "BAD_USER_INPUT"),
        (["input", "links", "4", "targetIssueIid"], "NOT_FOUND"),
        (["input", "links", "5", "targetProject"], "NOT_FOUND"),
    ]
    assert await link_rows(scene.pool) == []


async def test_create_issue_links_reports_rule_violations_of_every_item(scene):
    a, b, c, d, e = await scene.issues(scene.app, "A", "B", "C", "D", "E")
    existing = await scene.link(a, b)
    await scene.link(c, d, "PARENT_OF")

    payload = await scene.bulk(
        [
            link_input(a, c),
            link_input(b, a, "BLOCKS"),  # a second link of A and B
            link_input(a, d),
            link_input(e, d, "PARENT_OF"),  # a second parent of D
            link_input(a, e, "RELATES_TO", targetIssueIid=99),  # no such issue
        ]
    )

    assert payload["links"] is None
    assert [(e["path"], e["code"]) for e in payload["errors"]] == [
        (["input", "links", "1", "targetIssueIid"], "CONFLICT"),
        (["input", "links", "3", "targetIssueIid"], "CONFLICT"),
        (["input", "links", "4", "targetIssueIid"], "NOT_FOUND"),
    ]
    assert payload["errors"][0]["details"]["linkId"] == existing
    assert await link_rows(scene.pool) == [("A", "B", "relates"), ("C", "D", "parent")]


async def test_create_issue_links_refuses_more_than_one_hundred(scene):
    a, b = await scene.issues(scene.app, "A", "B")

    payload = await scene.bulk([link_input(a, b)] * 101)
    empty = await scene.bulk([])

    error = only_error(payload)
    assert (error["code"], error["path"]) == ("BAD_USER_INPUT", ["input", "links"])
    assert error["details"] == {"max": 100}
    assert only_error(empty)["code"] == "BAD_USER_INPUT"
    assert await link_rows(scene.pool) == []


async def test_create_issue_links_refuses_a_cycle_formed_only_inside_the_batch(scene):
    a, b, c, d = await scene.issues(scene.app, "A", "B", "C", "D")

    payload = await scene.bulk(
        [
            link_input(a, d, "RELATES_TO"),
            link_input(a, b, "BLOCKS"),
            link_input(b, c, "BLOCKS"),
            link_input(a, c, "IS_BLOCKED_BY"),  # stored C blocks A: closes A -> B -> C -> A
        ]
    )

    error = only_error(payload)
    assert error["code"] == "CYCLE"
    assert error["path"][:2] == ["input", "links"]
    steps = error["details"]["path"]
    assert {step["issueId"] for step in steps} == {a.id, b.id, c.id}
    assert await link_rows(scene.pool) == []


async def test_create_issue_links_refuses_the_same_pair_twice_in_one_batch(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")

    payload = await scene.bulk([link_input(a, b, "BLOCKS"), link_input(b, a, "IS_BLOCKED_BY")])
    after_a_bad_item = await scene.bulk(
        [
            {**link_input(a, b), "targetIssueIid": 99},
            link_input(a, b, "BLOCKS"),
            link_input(b, a, "IS_BLOCKED_BY"),
        ]
    )

    error = only_error(payload)
    assert (error["code"], error["path"]) == ("CONFLICT", ["input", "links", "1", "targetIssueIid"])
    assert error["details"] == {"duplicateOf": 0}
    assert [(e["code"], e["path"][2], e["details"]) for e in after_a_bad_item["errors"]] == [
        ("NOT_FOUND", "0", None),
        ("CONFLICT", "2", {"duplicateOf": 1}),
    ]
    # The repeated parent link is reported once, as a repeat, not also as a second parent.
    parent_twice = await scene.bulk([link_input(a, c, "PARENT_OF"), link_input(c, a, "CHILD_OF")])
    assert only_error(parent_twice)["details"] == {"duplicateOf": 0}
    assert await link_rows(scene.pool) == []


# -- walking the graph -------------------------------------------------------------------------

WALK_QUERY = """
query($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    title
    links {
      edges {
        linkType
        node {
          title
          links { edges { linkType node { title links { edges { node { title } } } } } }
        }
      }
    }
  }
}
"""


async def test_walking_links_back_and_forth_through_nested_lists(scene):
    a, b, c, d = await scene.issues(scene.app, "A", "B", "C", "D")
    await scene.link(a, b, "BLOCKS")
    await scene.link(a, c, "RELATES_TO")
    await scene.link(d, c, "CHILD_OF")

    response = await scene.api.gql(WALK_QUERY, at(a), token=scene.alice_token)

    def walk(links: dict[str, Any]) -> list[Any]:
        return [
            (
                edge.get("linkType"),
                edge["node"]["title"],
                walk(edge["node"]["links"]) if "links" in edge["node"] else None,
            )
            for edge in links["edges"]
        ]

    assert walk(response.data["issue"]["links"]) == [
        ("BLOCKS", "B", [("IS_BLOCKED_BY", "A", [(None, "B", None), (None, "C", None)])]),
        (
            "RELATES_TO",
            "C",
            [
                ("RELATES_TO", "A", [(None, "B", None), (None, "C", None)]),
                ("PARENT_OF", "D", [(None, "C", None)]),
            ],
        ),
    ]


async def test_blocked_by_blocking_related_parent_children_and_counts(scene):
    a, b, c, d, e, f = await scene.issues(scene.app, "A", "B", "C", "D", "E", "F")
    await scene.link(b, a, "BLOCKS")
    await scene.link(a, c, "BLOCKS")
    await scene.link(a, d, "BLOCKS")
    await scene.link(e, a, "PARENT_OF")
    await scene.link(a, f, "PARENT_OF")
    (g,) = await scene.issues(scene.app, "G")
    await scene.link(g, a, "RELATES_TO")

    summary = await scene.summary(a, token=scene.alice_token)

    assert summary["blockedByCount"] == 1
    assert summary["blockingCount"] == 2
    assert summary["blockedBy"] == {"totalCount": 1, "nodes": [{"title": "B"}]}
    assert summary["blocking"] == {"totalCount": 2, "nodes": [{"title": "C"}, {"title": "D"}]}
    assert summary["relatedIssues"] == {"totalCount": 1, "nodes": [{"title": "G"}]}
    assert summary["parent"] == {"title": "E"}
    assert summary["children"] == {"totalCount": 1, "nodes": [{"title": "F"}]}
    assert summary["links"]["totalCount"] == 6
    child = await scene.summary(f, token=scene.alice_token)
    assert child["parent"] == {"title": "A"}
    assert (await scene.summary(e, token=scene.alice_token))["children"]["nodes"] == [
        {"title": "A"}
    ]
    assert (await scene.summary(e, token=scene.alice_token))["parent"] is None


async def test_is_blocked_only_while_an_open_blocker_exists(scene):
    a, b, c = await scene.issues(scene.app, "A", "B", "C")
    await scene.link(a, c, "BLOCKS")
    await scene.link(c, b, "IS_BLOCKED_BY")

    async def blocked() -> tuple[bool, int]:
        summary = await scene.summary(c, token=scene.alice_token)
        return summary["isBlocked"], summary["blockedByCount"]

    assert await blocked() == (True, 2)
    await scene.set_state(a, "CLOSE")
    assert await blocked() == (True, 2)
    await scene.set_state(b, "CLOSE")
    assert await blocked() == (False, 2)
    await scene.set_state(a, "REOPEN")
    assert await blocked() == (True, 2)
    # Being a blocker does not make an issue blocked; relating to an open issue does not either.
    assert (await scene.summary(a, token=scene.alice_token))["isBlocked"] is False


async def test_issue_link_types_lists_five_jira_style_types(scene):
    response = await scene.api.gql(
        "{ issueLinkTypes { name outward inward linkType inverseLinkType } }"
    )

    assert response.data["issueLinkTypes"] == [
        {
            "name": "Relates",
            "outward": "relates to",
            "inward": "relates to",
            "linkType": "RELATES_TO",
            "inverseLinkType": "RELATES_TO",
        },
        {
            "name": "Blocks",
            "outward": "blocks",
            "inward": "is blocked by",
            "linkType": "BLOCKS",
            "inverseLinkType": "IS_BLOCKED_BY",
        },
        {
            "name": "Duplicate",
            "outward": "duplicates",
            "inward": "is duplicated by",
            "linkType": "DUPLICATES",
            "inverseLinkType": "IS_DUPLICATED_BY",
        },
        {
            "name": "Parent",
            "outward": "is parent of",
            "inward": "is child of",
            "linkType": "PARENT_OF",
            "inverseLinkType": "CHILD_OF",
        },
        {
            "name": "Cloners",
            "outward": "clones",
            "inward": "is cloned by",
            "linkType": "CLONES",
            "inverseLinkType": "IS_CLONED_BY",
        },
    ]
