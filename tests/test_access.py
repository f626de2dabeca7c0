"""The access model (docs/contract.md, "Access"), through GraphQL over HTTP against a real database.

Reads: who sees which project and issue, by every way of asking for them, and that what a
viewer may not read is `null` - indistinguishable from something that does not exist.
Lists: the set-based confidential filter in SQL agrees with `Access.can_read_issue`.
Writes: which role may run which mutation, and the error each refusal carries.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from strawberry import relay

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries.visibility import readable_issue
from issuegraph.domain import issues as issue_service
from issuegraph.domain.access import Access
from issuegraph.loaders import Loaders
from issuegraph.models import (
    ANONYMOUS,
    Issue,
    IssueState,
    Project,
    Role,
    TokenScope,
    User,
    Viewer,
    Visibility,
)
from tests.conftest import with_database
from tests.helpers import Api, World

# -- the rules, restated from docs/contract.md independently of issuegraph.domain.access -------------

# Everyone the read matrix asks on behalf of. "author" and "assignee" are GUESTs: the
# confidential issue under test is theirs, so only that relation lets them read it.
VIEWERS = (
    "anonymous",
    "non_member",
    "guest",
    "reporter",
    "developer",
    "maintainer",
    "owner",
    "admin",
    "author",
    "assignee",
)
MEMBERS = frozenset({"guest", "reporter", "developer", "maintainer", "owner", "author", "assignee"})
SEES_ALL_CONFIDENTIAL = frozenset({"reporter", "developer", "maintainer", "owner", "admin"})
ROLES = {
    "guest": Role.GUEST,
    "reporter": Role.REPORTER,
    "developer": Role.DEVELOPER,
    "maintainer": Role.MAINTAINER,
    "author": Role.GUEST,
    "assignee": Role.GUEST,
}
VISIBILITIES = (Visibility.PUBLIC, Visibility.INTERNAL, Visibility.PRIVATE)


def may_read_project(viewer: str, visibility: Visibility) -> bool:
    if viewer == "admin" or visibility is Visibility.PUBLIC:
        return True
    if visibility is Visibility.INTERNAL:
        return viewer != "anonymous"
    return viewer in MEMBERS


def may_read_issue(viewer: str, visibility: Visibility, *, confidential: bool) -> bool:
    if not may_read_project(viewer, visibility):
        return False
    return not confidential or viewer in SEES_ALL_CONFIDENTIAL | {"author", "assignee"}


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def assert_ok(response: Any) -> dict[str, Any]:
    """A query that hides things still succeeds: HTTP 200, no errors at all."""
    assert response.status == 200, response.body
    assert "errors" not in response.body, response.body["errors"]
    return response.body["data"]  # type: ignore[no-any-return]


# -- the shared, read-only world of the read matrix --------------------------------------------
#
# The matrix asks ~150 questions of six projects (3 visibilities x a plain or confidential
# issue) that no test changes, so they share one database and one server, built once for
# this module, instead of paying for a fresh database per question.


def scene_path(visibility: Visibility, *, confidential: bool) -> str:
    return f"acme-{visibility.value}/{'Secret' if confidential else 'Open'}.Plans"


@dataclass
class Scene:
    project: Project
    plain: Issue  # iid 1, never confidential, by the owner
    subject: Issue  # iid 2, confidential or not, by "author", assigned to "assignee"


@dataclass
class ReadWorld:
    api: Any
    scenes: dict[tuple[Visibility, bool], Scene]
    tokens: dict[str, str | None] = field(default_factory=dict)

    async def ask(self, viewer: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return assert_ok(await self.api.gql(query, variables, token=self.tokens[viewer]))


async def build_read_world(world: World, api: Api) -> ReadWorld:
    owner = await world.user("owner")
    users = {"owner": owner}
    for name in VIEWERS:
        if name not in {"anonymous", "owner"}:
            users[name] = await world.user(name, admin=name == "admin")
    scenes = {}
    for visibility, confidential in itertools.product(VISIBILITIES, (False, True)):
        path = scene_path(visibility, confidential=confidential)
        project = await world.project(owner, path, visibility)
        for name, role in ROLES.items():
            await world.member(project, users[name], role)
        plain = await world.issue(owner, project, "Plain issue")
        subject = await world.issue(
            users["author"],
            project,
            "Issue under test",
            confidential=confidential,
            assignee_usernames=["assignee"],
        )
        assert (plain.iid, subject.iid) == (1, 2)
        scenes[visibility, confidential] = Scene(project, plain, subject)
    tokens: dict[str, str | None] = {"anonymous": None}
    for name in users:
        tokens[name] = await world.token(name)
    return ReadWorld(api, scenes, tokens)


@pytest.fixture(scope="module")
async def reads(
    admin_dsn: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ReadWorld]:
    name = f"issuegraph_access_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'create database "{name}" template "{template_db}"')
    finally:
        await admin.close()
    dsn = with_database(admin_dsn, name)
    settings = Settings(
        database_url=dsn,
        data_dir=tmp_path_factory.mktemp("access-data"),
        public_url="http://issuegraph.test",
        pool_min_size=1,
        pool_max_size=10,
    )
    try:
        async with (
            asyncpg.create_pool(dsn, min_size=1, max_size=4) as pool,
            TestClient(TestServer(create_app(settings))) as client,
        ):
            yield await build_read_world(World(pool), Api(client))
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'drop database if exists "{name}" with (force)')
        finally:
            await admin.close()


MATRIX = list(itertools.product(VIEWERS, VISIBILITIES, (False, True)))


def matrix_id(viewer: str, visibility: Visibility, confidential: bool) -> str:
    return f"{viewer}-{visibility.name.lower()}-{'confidential' if confidential else 'plain'}"


# -- reads: projects --------------------------------------------------------------------------

PROJECT_LOOKUPS = """
query($encoded: ID!, $plain: ID!, $upper: ID!, $id: ID!, $gid: ID!) {
  byEncodedPath: project(fullPath: $encoded) { fullPath visibility }
  byPath: project(fullPath: $plain) { fullPath visibility }
  byPathInOtherCase: project(fullPath: $upper) { fullPath visibility }
  byId: project(fullPath: $id) { fullPath visibility }
  node(id: $gid) { __typename ... on Project { fullPath visibility } }
}
"""


@pytest.mark.parametrize(
    ("viewer", "visibility"),
    list(itertools.product(VIEWERS, VISIBILITIES)),
    ids=[f"{v}-{vis.name.lower()}" for v, vis in itertools.product(VIEWERS, VISIBILITIES)],
)
async def test_project_is_readable_by_path_id_and_node_only_by_whom_visibility_allows(
    reads, viewer, visibility
):
    scene = reads.scenes[visibility, False]
    path = scene.project.full_path

    data = await reads.ask(
        viewer,
        PROJECT_LOOKUPS,
        {
            "encoded": quote(path, safe=""),
            "plain": path,
            "upper": path.upper(),
            "id": str(scene.project.id),
            "gid": gid("Project", scene.project.id),
        },
    )

    found = {"fullPath": path, "visibility": visibility.name}
    expected = found if may_read_project(viewer, visibility) else None
    assert data["byEncodedPath"] == expected
    assert data["byPath"] == expected
    assert data["byPathInOtherCase"] == expected
    assert data["byId"] == expected
    assert data["node"] == ({"__typename": "Project", **found} if expected else None)


# -- reads: single issues ---------------------------------------------------------------------

ISSUE_LOOKUPS = """
query($path: ID!, $encoded: ID!, $id: ID!, $gid: ID!) {
  byPath: issue(project: $path, iid: 2) { iid title confidential }
  byEncodedPath: issue(project: $encoded, iid: 2) { iid title confidential }
  byId: issue(project: $id, iid: 2) { iid title confidential }
  node(id: $gid) { __typename ... on Issue { iid title confidential } }
  project(fullPath: $path) { issue(iid: 2) { iid title confidential } }
}
"""


@pytest.mark.parametrize(
    ("viewer", "visibility", "confidential"), MATRIX, ids=[matrix_id(*m) for m in MATRIX]
)
async def test_issue_lookups_answer_the_issue_or_null_by_the_access_rules(
    reads, viewer, visibility, confidential
):
    scene = reads.scenes[visibility, confidential]
    path = scene.project.full_path

    data = await reads.ask(
        viewer,
        ISSUE_LOOKUPS,
        {
            "path": path,
            "encoded": quote(path, safe=""),
            "id": str(scene.project.id),
            "gid": gid("Issue", scene.subject.id),
        },
    )

    found = {"iid": 2, "title": "Issue under test", "confidential": confidential}
    expected = found if may_read_issue(viewer, visibility, confidential=confidential) else None
    assert data["byPath"] == expected
    assert data["byEncodedPath"] == expected
    assert data["byId"] == expected
    assert data["node"] == ({"__typename": "Issue", **found} if expected else None)
    if may_read_project(viewer, visibility):
        assert data["project"] == {"issue": expected}
    else:
        assert data["project"] is None


# -- reads: issue lists -----------------------------------------------------------------------

ISSUE_LISTS = """
query($path: ID!) {
  project(fullPath: $path) {
    all: issues { totalCount nodes { iid } edges { node { iid } } }
    oldestFirst: issues(sort: CREATED_ASC) { totalCount nodes { iid } }
    firstPage: issues(first: 1) { totalCount nodes { iid } pageInfo { hasNextPage } }
    opened: issues(state: OPENED) { totalCount nodes { iid } }
  }
}
"""


@pytest.mark.parametrize(
    ("viewer", "visibility", "confidential"), MATRIX, ids=[matrix_id(*m) for m in MATRIX]
)
async def test_issue_list_and_total_count_leave_out_issues_the_viewer_may_not_read(
    reads, viewer, visibility, confidential
):
    scene = reads.scenes[visibility, confidential]

    data = await reads.ask(viewer, ISSUE_LISTS, {"path": scene.project.full_path})

    if not may_read_project(viewer, visibility):
        assert data["project"] is None
        return
    visible = [2, 1] if may_read_issue(viewer, visibility, confidential=confidential) else [1]
    lists = data["project"]
    assert lists["all"] == {
        "totalCount": len(visible),
        "nodes": [{"iid": i} for i in visible],
        "edges": [{"node": {"iid": i}} for i in visible],
    }
    assert lists["oldestFirst"] == {
        "totalCount": len(visible),
        "nodes": [{"iid": i} for i in reversed(visible)],
    }
    assert lists["firstPage"] == {
        "totalCount": len(visible),
        "nodes": [{"iid": visible[0]}],
        "pageInfo": {"hasNextPage": len(visible) > 1},
    }
    assert lists["opened"] == {"totalCount": len(visible), "nodes": [{"iid": i} for i in visible]}


# -- reads: hidden is indistinguishable from missing -------------------------------------------


async def test_hidden_project_and_issue_answer_exactly_like_missing_ones(api, world):
    owner = await world.user("owner")
    _, outsider_token = await world.user_with_token("outsider")
    guest, guest_token = await world.user_with_token("guest")
    private = await world.project(owner, "acme/private", Visibility.PRIVATE)
    public = await world.project(owner, "acme/public", Visibility.PUBLIC)
    await world.member(public, guest, Role.GUEST)
    hidden = await world.issue(owner, private, "Hidden")
    secret = await world.issue(owner, public, "Secret", confidential=True)
    query = """
    query($project: ID!, $iid: Int!, $pgid: ID!, $igid: ID!) {
      project(fullPath: $project) { fullPath }
      issue(project: $project, iid: $iid) { title }
      projectNode: node(id: $pgid) { id }
      issueNode: node(id: $igid) { id }
    }
    """
    missing_id = hidden.id + secret.id + 1000

    async def ask(token: str, project: str, iid: int, pid: int, iid_pk: int) -> Any:
        response = await api.gql(
            query,
            {
                "project": project,
                "iid": iid,
                "pgid": gid("Project", pid),
                "igid": gid("Issue", iid_pk),
            },
            token=token,
        )
        return response.status, response.body

    nothing = {"data": {"project": None, "issue": None, "projectNode": None, "issueNode": None}}
    # A private project the viewer is not a member of, and one that does not exist.
    assert await ask(outsider_token, "acme/private", 1, private.id, hidden.id) == (200, nothing)
    assert await ask(outsider_token, "acme/nowhere", 1, missing_id, missing_id) == (200, nothing)
    # A confidential issue a guest may not read, and an iid that does not exist.
    seen = await ask(guest_token, "acme/public", 1, public.id, secret.id)
    unseen = await ask(guest_token, "acme/public", 99, public.id, missing_id)
    assert seen == unseen
    assert seen[1]["data"]["issue"] is None
    assert seen[1]["data"]["issueNode"] is None
    assert seen[1]["data"]["project"] == {"fullPath": "acme/public"}


async def test_guest_author_reads_own_confidential_issue_but_not_another_guests(api, world):
    owner = await world.user("owner")
    ann, ann_token = await world.user_with_token("ann")
    bob = await world.user("bob")
    project = await world.project(owner, "acme/app", Visibility.PUBLIC)
    await world.member(project, ann, Role.GUEST)
    await world.member(project, bob, Role.GUEST)
    await world.issue(ann, project, "Ann's secret", confidential=True)
    await world.issue(bob, project, "Bob's secret", confidential=True)
    await world.issue(bob, project, "Bob's public")

    data = assert_ok(
        await api.gql(
            """{ project(fullPath: "acme/app") {
                   issues { totalCount nodes { title } }
                   own: issue(iid: 1) { title } others: issue(iid: 2) { title } } }""",
            token=ann_token,
        )
    )

    assert data["project"] == {
        "issues": {
            "totalCount": 2,
            "nodes": [{"title": "Bob's public"}, {"title": "Ann's secret"}],
        },
        "own": {"title": "Ann's secret"},
        "others": None,
    }


async def test_assignee_outside_a_public_project_reads_its_confidential_issue(api, world):
    owner = await world.user("owner")
    _, helper_token = await world.user_with_token("helper")
    _, stranger_token = await world.user_with_token("stranger")
    project = await world.project(owner, "acme/oss", Visibility.PUBLIC)
    await world.issue(owner, project, "Embargoed", confidential=True, assignee_usernames=["helper"])
    query = '{ issue(project: "acme/oss", iid: 1) { title assignees { username } } }'

    helper = assert_ok(await api.gql(query, token=helper_token))
    stranger = assert_ok(await api.gql(query, token=stranger_token))

    assert helper["issue"] == {"title": "Embargoed", "assignees": [{"username": "helper"}]}
    assert stranger["issue"] is None


async def test_author_removed_from_private_project_no_longer_reads_own_issues(api, world, pool):
    owner = await world.user("owner")
    leaver, token = await world.user_with_token("leaver")
    project = await world.project(owner, "acme/closed-shop", Visibility.PRIVATE)
    await world.member(project, leaver, Role.GUEST)
    await world.issue(leaver, project, "Mine", confidential=True, assignee_usernames=["leaver"])
    query = '{ issue(project: "acme/closed-shop", iid: 1) { title } }'
    assert assert_ok(await api.gql(query, token=token))["issue"] == {"title": "Mine"}

    await pool.execute(
        "delete from project_members where project_id = $1 and user_id = $2", project.id, leaver.id
    )

    assert assert_ok(await api.gql(query, token=token))["issue"] is None


async def test_unassigning_a_guest_takes_away_their_view_of_a_confidential_issue(api, world):
    owner, owner_token = await world.user_with_token("owner")
    guest, guest_token = await world.user_with_token("guest")
    project = await world.project(owner, "acme/app", Visibility.INTERNAL)
    await world.member(project, guest, Role.GUEST)
    await world.issue(owner, project, "Secret", confidential=True, assignee_usernames=["guest"])
    query = '{ project(fullPath: "acme/app") { issues { totalCount } issue(iid: 1) { title } } }'
    assert assert_ok(await api.gql(query, token=guest_token))["project"] == {
        "issues": {"totalCount": 1},
        "issue": {"title": "Secret"},
    }

    payload = await api.mutate(
        "updateIssue",
        {"project": "acme/app", "iid": 1, "assigneeUsernames": []},
        "issue { assignees { username } }",
        token=owner_token,
    )
    assert payload["errors"] == []
    assert payload["issue"] == {"assignees": []}

    assert assert_ok(await api.gql(query, token=guest_token))["project"] == {
        "issues": {"totalCount": 0},
        "issue": None,
    }


# -- the set-based confidential filter agrees with Access.can_read_issue ----------------------


@dataclass
class SmallWorld:
    users: dict[str, User]
    projects: list[Project]
    issues: dict[int, list[Issue]]  # by project id, in iid order
    tokens: dict[str, str]


async def build_small_world(world: Any, pool: Any) -> SmallWorld:
    """Three projects, one per visibility, each with a mix of plain and confidential issues.

    Viewers cover every role, outsiders, an admin, GUEST authors and assignees, a
    non-member assignee (public and internal projects only: private ones refuse
    outsiders as assignees), and a "leaver" whose membership ended after they wrote and
    were assigned a confidential issue.
    """
    names = ["owner", "guest", "reporter", "developer", "maintainer", "writer", "helper"]
    names += ["outsider_helper", "leaver", "stranger", "admin"]
    users = {n: await world.user(n, admin=n == "admin") for n in names}
    roles = {
        "guest": Role.GUEST,
        "reporter": Role.REPORTER,
        "developer": Role.DEVELOPER,
        "maintainer": Role.MAINTAINER,
        "writer": Role.GUEST,
        "helper": Role.GUEST,
        "leaver": Role.GUEST,
    }
    projects: list[Project] = []
    issues: dict[int, list[Issue]] = {}
    for visibility in VISIBILITIES:
        project = await world.project(users["owner"], f"g/{visibility.value}", visibility)
        for name, role in roles.items():
            await world.member(project, users[name], role)
        outsiders = [] if visibility is Visibility.PRIVATE else ["outsider_helper"]
        specs: list[tuple[str, str, dict[str, Any]]] = [
            ("owner", "plain open", {}),
            ("writer", "plain closed", {"close": True}),
            ("owner", "confidential, nobody's", {"confidential": True}),
            ("writer", "confidential by writer", {"confidential": True}),
            (
                "owner",
                "confidential for helper",
                {"confidential": True, "assignee_usernames": ["helper", *outsiders]},
            ),
            (
                "writer",
                "confidential closed, for reporter",
                {"confidential": True, "assignee_usernames": ["reporter"], "close": True},
            ),
            ("helper", "confidential by helper", {"confidential": True}),
            (
                "leaver",
                "confidential by and for leaver",
                {"confidential": True, "assignee_usernames": ["leaver"]},
            ),
            ("owner", "plain, for outsiders", {"assignee_usernames": outsiders}),
        ]
        made = []
        for author, title, options in specs:
            close = options.pop("close", False)
            issue = await world.issue(users[author], project, title, **options)
            if close:
                issue = await issue_service.update_issue(
                    world.access(users["owner"]),
                    pool,
                    project_ref=str(project.id),
                    iid=issue.iid,
                    changes=issue_service.IssueChanges(
                        given=frozenset({"state_event"}), state_event="close"
                    ),
                )
            made.append(issue)
        await pool.execute(
            "delete from project_members where project_id = $1 and user_id = $2",
            project.id,
            users["leaver"].id,
        )
        projects.append(project)
        issues[project.id] = made
    tokens = {n: await world.token(n) for n in names}
    return SmallWorld(users, projects, issues, tokens)


async def test_issue_list_sql_filter_agrees_with_can_read_issue_for_every_viewer_and_issue(
    world, pool
):
    small = await build_small_world(world, pool)
    viewers = [ANONYMOUS] + [
        Viewer(user=u, scopes=frozenset({TokenScope.API})) for u in small.users.values()
    ]
    # A read-only token reads exactly what the user reads.
    viewers.append(Viewer(user=small.users["writer"], scopes=frozenset({TokenScope.READ_API})))
    outcomes: set[tuple[bool, bool]] = set()  # (confidential, readable) pairs seen
    partial_views = 0  # (viewer, project) pairs that see some confidential issues, not all

    for viewer in viewers:
        access = Access(viewer, Loaders(pool, viewer))
        for project in small.projects:
            issues = small.issues[project.id]
            readable = {i.id: await access.can_read_issue(i, project) for i in issues}
            for issue in issues:
                outcomes.add((issue.confidential, readable[issue.id]))
            seen_confidential = {readable[i.id] for i in issues if i.confidential}
            partial_views += seen_confidential == {True, False}
            if not await access.can_read_project(project):
                assert not any(readable.values())
                continue
            flt = access.read_scope()
            for state in (None, IssueState.OPENED, IssueState.CLOSED):
                expected = [
                    i.id for i in issues if readable[i.id] and (state is None or i.state is state)
                ]
                for ascending in (True, False):
                    page = await issue_queries.project_issues_page(
                        pool,
                        project_id=project.id,
                        scope=flt,
                        state=state,
                        after_iid=None,
                        ascending=ascending,
                        limit=1000,
                    )
                    rows = page.issues
                    want = expected if ascending else expected[::-1]
                    assert [r.id for r in rows] == want, (viewer.user_id, project.full_path)
                count = await issue_queries.count_project_issues(
                    pool, project_id=project.id, scope=flt, state=state
                )
                assert count == len(expected), (viewer.user_id, project.full_path, state)
            # The SQL function the graph walks call holds the same rule.
            visible = await pool.fetch(
                "select i.id from issues i where i.project_id = $3"
                " and issue_visible(i, $1::bigint, $2::boolean) order by i.id",
                flt.viewer_id,
                flt.admin,
                project.id,
            )
            assert [r["id"] for r in visible] == sorted(i for i, ok in readable.items() if ok)

    # The world is rich enough for the comparison to mean something.
    assert outcomes == {(False, True), (False, False), (True, True), (True, False)}
    assert partial_views >= 6


async def test_issue_list_over_graphql_shows_exactly_the_issues_single_lookups_return(
    api, world, pool
):
    small = await build_small_world(world, pool)
    lookups = []
    for n, project in enumerate(small.projects):
        singles = " ".join(
            f"i{n}_{i.iid}: issue(project: {project.id}, iid: {i.iid}) {{ iid }}"
            for i in small.issues[project.id]
        )
        lookups.append(
            f'p{n}: project(fullPath: "{project.full_path}") '
            f"{{ issues(sort: CREATED_ASC) {{ totalCount nodes {{ iid }} }} }} {singles}"
        )
    query = "{ " + " ".join(lookups) + " }"
    differ = set()

    for name, token in [("anonymous", None), *small.tokens.items()]:
        data = assert_ok(await api.gql(query, token=token))
        for n, project in enumerate(small.projects):
            single = [i.iid for i in small.issues[project.id] if data[f"i{n}_{i.iid}"] is not None]
            listed = data[f"p{n}"]
            if listed is None:
                assert single == [], (name, project.full_path)
                continue
            issues = listed["issues"]
            assert [node["iid"] for node in issues["nodes"]] == single, (name, project.full_path)
            assert issues["totalCount"] == len(single), (name, project.full_path)
            differ.add(tuple(single))

    assert len(differ) >= 5  # viewers really do see different subsets


# -- one read rule in three texts: every combination -------------------------------------------

# What the viewer is in the issue's project: no member, or a member with each role.
MEMBERSHIPS: tuple[Role | None, ...] = (None, *Role)
# A signed-in viewer of the combinations below: (membership, admin flag).
ViewerKey = tuple[Role | None, bool]


@dataclass(frozen=True, kw_only=True)
class Case:
    """One combination of what decides a read: the project's visibility, the viewer's
    membership and admin flag (or no viewer), the issue's confidentiality, and whether the
    viewer is its author or one of its assignees."""

    visibility: Visibility
    role: Role | None = None
    admin: bool = False
    anonymous: bool = False
    confidential: bool
    author: bool = False
    assignee: bool = False

    def may_read(self) -> bool:
        """The rule as `issuegraph/domain/access.py` states it in words (GitLab's), written
        out independently of the code."""
        if self.admin:
            return True
        member = self.role is not None
        if not (
            self.visibility is Visibility.PUBLIC
            or (self.visibility is Visibility.INTERNAL and not self.anonymous)
            or member
        ):
            return False
        reporter = self.role is not None and self.role >= Role.REPORTER
        return not self.confidential or reporter or self.author or self.assignee


@dataclass(frozen=True)
class RuleIssue:
    """An issue of the combinations: written for `owner`, the viewer it is (or is not)
    authored by and assigned to; anyone else is neither its author nor an assignee."""

    visibility: Visibility
    owner: ViewerKey
    confidential: bool
    author: bool
    assignee: bool

    def case(self, viewer: ViewerKey | None) -> Case:
        if viewer is None:
            return Case(visibility=self.visibility, anonymous=True, confidential=self.confidential)
        mine = viewer == self.owner
        return Case(
            visibility=self.visibility,
            role=viewer[0],
            admin=viewer[1],
            confidential=self.confidential,
            author=mine and self.author,
            assignee=mine and self.assignee,
        )


async def test_read_rule_is_the_same_in_python_inlined_sql_and_issue_visible_for_every_case(
    world, pool
):
    """`Access.can_read_issue`, `readable_issue` (inlined in set-based reads) and the SQL
    function `issue_visible` (the graph walks) answer alike for every combination of
    visibility x membership role x admin x anonymous x confidential x author x assignee,
    and as the rule is stated. The rows are written directly: the rule must hold for any
    rows, also those the service's own checks would not make (a non-member assignee of a
    private project, an author who left it)."""
    other = await world.user("someone_else")
    viewers: dict[ViewerKey, User] = {
        (role, admin): await world.user(
            f"{'admin' if admin else 'user'}_{role.name.lower() if role else 'outsider'}",
            admin=admin,
        )
        for role, admin in itertools.product(MEMBERSHIPS, (False, True))
    }
    issues: dict[int, RuleIssue] = {}
    projects: dict[int, Project] = {}
    for visibility in VISIBILITIES:
        project = await world.project(other, f"rule/{visibility.value}", visibility)
        projects[project.id] = project
        for (role, _), user in viewers.items():
            if role is not None:
                await world.member(project, user, role)
        for owner, user in viewers.items():
            for confidential, author, assignee in itertools.product((False, True), repeat=3):
                issue_id = await pool.fetchval(
                    "insert into issues (project_id, iid, title, author_id, confidential)"
                    " values ($1, $2, 'T', $3, $4) returning id",
                    project.id,
                    len(issues) + 1,
                    user.id if author else other.id,
                    confidential,
                )
                # Someone is always assigned, so the assignee check has rows to pass over.
                await pool.execute(
                    "insert into issue_assignees (issue_id, user_id) values ($1, $2)",
                    issue_id,
                    user.id if assignee else other.id,
                )
                issues[issue_id] = RuleIssue(visibility, owner, confidential, author, assignee)

    by_sql = (
        f"select i.id, {readable_issue('i', '$1', '$2')} as inlined,"  # noqa: S608
        " issue_visible(i, $1::bigint, $2::boolean) as function"
        " from issues i where i.project_id = any($3::bigint[]) order by i.id"
    )
    everyone: list[tuple[ViewerKey | None, Viewer]] = [
        (key, Viewer(user=user, scopes=frozenset({TokenScope.READ_API})))
        for key, user in viewers.items()
    ]
    everyone.append((None, ANONYMOUS))
    asked: set[Case] = set()
    for key, viewer in everyone:
        loaders = Loaders(pool, viewer)
        access = Access(viewer, loaders)
        scope = access.read_scope()
        rows = await pool.fetch(by_sql, scope.viewer_id, scope.admin, list(projects))
        assert [r["id"] for r in rows] == sorted(issues)
        loaded = [i for i in await loaders.issue_by_id.load_many(sorted(issues)) if i]
        given_project = await asyncio.gather(
            *(access.can_read_issue(i, projects[i.project_id]) for i in loaded)
        )
        project_looked_up = await asyncio.gather(*(access.can_read_issue(i) for i in loaded))
        for row, python, python_alone in zip(rows, given_project, project_looked_up, strict=True):
            case = issues[row["id"]].case(key)
            asked.add(case)
            answers = (python, python_alone, row["inlined"], row["function"])
            assert answers == (case.may_read(),) * 4, case

    # Every combination was asked: 3 visibilities x 6 memberships x 2 admin flags x
    # 2 confidentialities x 2 authorships x 2 assignments, and anonymous in each project
    # for plain and confidential issues.
    assert len(asked) == 3 * 6 * 2 * 2 * 2 * 2 + 3 * 2
    assert {c.may_read() for c in asked} == {True, False}


# -- mutations --------------------------------------------------------------------------------


def mutation(name: str, selection: str) -> str:
    return (
        f"mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) "
        f"{{ errors {{ code message path }} {selection} }} }}"
    )


async def payload(api: Any, name: str, input_: dict[str, Any], selection: str, token: str) -> Any:
    response = await api.gql(mutation(name, selection), {"input": input_}, token=token)
    assert response.status == 200, response.body
    return response.data[name]


def single_error(result: dict[str, Any]) -> tuple[str, list[str] | None]:
    assert len(result["errors"]) == 1, result["errors"]
    return result["errors"][0]["code"], result["errors"][0]["path"]


async def counts(pool: Any) -> dict[str, int]:
    return {
        table: await pool.fetchval(f"select count(*) from {table}")  # noqa: S608
        for table in ("projects", "project_members", "issues", "issue_assignees")
    }


@dataclass
class Shop:
    """A PUBLIC and a PRIVATE project with members of every role and one issue each."""

    public: Project
    private: Project
    tokens: dict[str, str]


async def build_shop(world: Any) -> Shop:
    owner = await world.user("owner")
    public = await world.project(owner, "shop/public", Visibility.PUBLIC)
    private = await world.project(owner, "shop/private", Visibility.PRIVATE)
    tokens = {"owner": await world.token("owner")}
    users = {}
    for name, role in [
        ("guest", Role.GUEST),
        ("other_guest", Role.GUEST),
        ("reporter", Role.REPORTER),
        ("developer", Role.DEVELOPER),
        ("maintainer", Role.MAINTAINER),
        ("co_owner", Role.OWNER),
    ]:
        users[name], tokens[name] = await world.user_with_token(name)
        await world.member(public, users[name], role)
        await world.member(private, users[name], role)
    _, tokens["outsider"] = await world.user_with_token("outsider")
    _, tokens["admin"] = await world.user_with_token("admin", admin=True)
    await world.user("newcomer")
    tokens["read_only"] = await world.token("maintainer", scopes=(TokenScope.READ_API,))
    for project in (public, private):
        await world.issue(users["guest"], project, "Guest's issue")
    return Shop(public, private, tokens)


# Each mutation with an input that would succeed for the project's owner.
VALID_MUTATIONS = {
    "createProject": ({"fullPath": "shop/new"}, "project { fullPath }"),
    "addProjectMember": (
        {"project": "shop/public", "username": "newcomer", "role": "DEVELOPER"},
        "project { fullPath } user { username } role",
    ),
    "createIssue": ({"project": "shop/public", "title": "New"}, "issue { iid }"),
    "updateIssue": ({"project": "shop/public", "iid": 1, "title": "Renamed"}, "issue { title }"),
}


@pytest.mark.parametrize("name", list(VALID_MUTATIONS))
async def test_anonymous_mutation_is_a_top_level_unauthenticated_error_with_http_401(
    api, world, pool, name
):
    await build_shop(world)
    input_, selection = VALID_MUTATIONS[name]
    before = await counts(pool)

    response = await api.gql(mutation(name, selection), {"input": input_})

    assert response.status == 401
    assert response.codes == ["UNAUTHENTICATED"]
    assert response.errors[0]["extensions"]["requestId"] == response.headers["X-Request-Id"]
    assert response.body.get("data") is None
    assert await counts(pool) == before
    title = await pool.fetchval("select title from issues where iid = 1 order by id limit 1")
    assert title == "Guest's issue"


@pytest.mark.parametrize("name", list(VALID_MUTATIONS))
async def test_read_api_token_mutation_answers_forbidden_in_the_payload(api, world, pool, name):
    shop = await build_shop(world)
    input_, selection = VALID_MUTATIONS[name]
    before = await counts(pool)

    result = await payload(api, name, input_, selection, shop.tokens["read_only"])

    assert single_error(result)[0] == "FORBIDDEN"
    assert all(result[key] is None for key in result if key != "errors")
    assert await counts(pool) == before


@pytest.mark.parametrize("name", list(VALID_MUTATIONS))
async def test_every_mutation_succeeds_for_the_owner_with_an_api_token(api, world, name):
    shop = await build_shop(world)
    input_, selection = VALID_MUTATIONS[name]

    result = await payload(api, name, input_, selection, shop.tokens["owner"])

    assert result["errors"] == []
    assert all(result[key] is not None for key in result)


# createIssue


@pytest.mark.parametrize(
    ("visibility", "code"),
    [
        (Visibility.PUBLIC, "FORBIDDEN"),
        (Visibility.INTERNAL, "FORBIDDEN"),
        (Visibility.PRIVATE, "NOT_FOUND"),
    ],
)
async def test_create_issue_as_non_member_is_forbidden_if_readable_else_not_found(
    api, world, pool, visibility, code
):
    owner = await world.user("owner")
    _, token = await world.user_with_token("outsider")
    project = await world.project(owner, "acme/app", visibility)

    for ref in ("acme/app", "acme%2Fapp", str(project.id)):
        result = await payload(
            api, "createIssue", {"project": ref, "title": "Hi"}, "issue { iid }", token
        )
        assert single_error(result) == (code, ["input", "project"])
        assert result["issue"] is None
    assert await pool.fetchval("select count(*) from issues") == 0


async def test_create_issue_in_a_missing_project_is_not_found_like_a_private_one(api, world):
    _, token = await world.user_with_token("someone")

    result = await payload(
        api, "createIssue", {"project": "no/such", "title": "Hi"}, "issue { iid }", token
    )

    assert single_error(result) == ("NOT_FOUND", ["input", "project"])


@pytest.mark.parametrize("visibility", VISIBILITIES)
async def test_guest_creates_issues_and_is_their_author(api, world, visibility):
    owner = await world.user("owner")
    guest, token = await world.user_with_token("guest")
    project = await world.project(owner, "acme/app", visibility)
    await world.member(project, guest, Role.GUEST)

    result = await payload(
        api,
        "createIssue",
        {"project": "acme/app", "title": "From a guest", "confidential": True},
        "issue { iid title confidential author { username } }",
        token,
    )

    assert result["errors"] == []
    assert result["issue"] == {
        "iid": 1,
        "title": "From a guest",
        "confidential": True,
        "author": {"username": "guest"},
    }


# updateIssue


@pytest.mark.parametrize(
    "editor", ["guest", "reporter", "developer", "maintainer", "owner", "co_owner", "admin"]
)
@pytest.mark.parametrize("where", ["shop/public", "shop/private"])
async def test_update_issue_is_allowed_to_its_author_reporters_and_up_and_admins(
    api, world, editor, where
):
    shop = await build_shop(world)

    result = await payload(
        api,
        "updateIssue",
        {"project": where, "iid": 1, "title": f"Edited by {editor}", "stateEvent": "CLOSE"},
        "issue { title state }",
        shop.tokens[editor],
    )

    assert result["errors"] == []
    assert result["issue"] == {"title": f"Edited by {editor}", "state": "CLOSED"}


async def test_update_issue_by_another_guest_is_forbidden_and_changes_nothing(api, world, pool):
    shop = await build_shop(world)

    result = await payload(
        api,
        "updateIssue",
        {"project": "shop/public", "iid": 1, "title": "Hijacked"},
        "issue { title }",
        shop.tokens["other_guest"],
    )

    assert single_error(result) == ("FORBIDDEN", ["input", "iid"])
    assert result["issue"] is None
    titles = await pool.fetch("select title from issues")
    assert {r["title"] for r in titles} == {"Guest's issue"}


@pytest.mark.parametrize(
    ("where", "code", "path"),
    [
        ("shop/public", "FORBIDDEN", ["input", "iid"]),
        ("shop/private", "NOT_FOUND", ["input", "project"]),
    ],
)
async def test_update_issue_by_non_member_is_forbidden_if_readable_else_not_found(
    api, world, where, code, path
):
    shop = await build_shop(world)

    result = await payload(
        api,
        "updateIssue",
        {"project": where, "iid": 1, "title": "Hijacked"},
        "issue { title }",
        shop.tokens["outsider"],
    )

    assert single_error(result) == (code, path)


async def test_update_of_confidential_issue_the_guest_cannot_read_is_not_found(api, world):
    shop = await build_shop(world)
    created = await payload(
        api,
        "createIssue",
        {"project": "shop/public", "title": "Secret", "confidential": True},
        "issue { iid }",
        shop.tokens["owner"],
    )
    iid = created["issue"]["iid"]

    hidden = await payload(
        api,
        "updateIssue",
        {"project": "shop/public", "iid": iid, "title": "Peek"},
        "issue { title }",
        shop.tokens["other_guest"],
    )
    missing = await payload(
        api,
        "updateIssue",
        {"project": "shop/public", "iid": 999, "title": "Peek"},
        "issue { title }",
        shop.tokens["other_guest"],
    )

    assert single_error(hidden) == ("NOT_FOUND", ["input", "iid"])
    assert hidden == missing


# admins


async def test_admin_who_is_no_member_creates_updates_and_adds_members_in_a_private_project(
    api, world
):
    shop = await build_shop(world)
    admin = shop.tokens["admin"]

    created = await payload(
        api,
        "createIssue",
        {"project": "shop/private", "title": "By admin", "confidential": True},
        "issue { iid }",
        admin,
    )
    updated = await payload(
        api,
        "updateIssue",
        {"project": "shop/private", "iid": 1, "labels": ["triaged"]},
        "issue { labels }",
        admin,
    )
    added = await payload(
        api,
        "addProjectMember",
        {"project": "shop/private", "username": "newcomer", "role": "OWNER"},
        "project { viewerRole } role",
        admin,
    )
    project = await payload(
        api,
        "createProject",
        {"fullPath": "admin/tools", "visibility": "INTERNAL"},
        "project { fullPath viewerRole }",
        admin,
    )

    assert created == {"errors": [], "issue": {"iid": 2}}
    assert updated == {"errors": [], "issue": {"labels": ["triaged"]}}
    assert added == {"errors": [], "project": {"viewerRole": None}, "role": "OWNER"}
    assert project == {
        "errors": [],
        "project": {"fullPath": "admin/tools", "viewerRole": "OWNER"},
    }


# addProjectMember

ADD_MEMBER = "project { fullPath } user { username } role"


async def role_of(api: Any, world: Any, username: str, path: str) -> str | None:
    token = await world.token(username)
    data = assert_ok(
        await api.gql(
            "query($p: ID!) { project(fullPath: $p) { viewerRole } }", {"p": path}, token=token
        )
    )
    return data["project"]["viewerRole"] if data["project"] else None


@pytest.mark.parametrize("role", ["GUEST", "REPORTER", "DEVELOPER", "MAINTAINER"])
async def test_maintainer_adds_members_below_owner(api, world, role):
    shop = await build_shop(world)

    result = await payload(
        api,
        "addProjectMember",
        {"project": "shop/private", "username": "newcomer", "role": role},
        ADD_MEMBER,
        shop.tokens["maintainer"],
    )

    assert result == {
        "errors": [],
        "project": {"fullPath": "shop/private"},
        "user": {"username": "newcomer"},
        "role": role,
    }
    assert await role_of(api, world, "newcomer", "shop/private") == role


async def test_maintainer_cannot_add_an_owner(api, world):
    shop = await build_shop(world)

    result = await payload(
        api,
        "addProjectMember",
        {"project": "shop/private", "username": "newcomer", "role": "OWNER"},
        ADD_MEMBER,
        shop.tokens["maintainer"],
    )

    assert single_error(result) == ("FORBIDDEN", ["input", "role"])
    assert result["project"] is result["user"] is result["role"] is None
    assert await role_of(api, world, "newcomer", "shop/private") is None


@pytest.mark.parametrize("adder", ["owner", "co_owner", "admin"])
async def test_owner_or_admin_adds_an_owner(api, world, adder):
    shop = await build_shop(world)

    result = await payload(
        api,
        "addProjectMember",
        {"project": "shop/private", "username": "newcomer", "role": "OWNER"},
        ADD_MEMBER,
        shop.tokens[adder],
    )

    assert result["errors"] == []
    assert result["role"] == "OWNER"
    assert await role_of(api, world, "newcomer", "shop/private") == "OWNER"


@pytest.mark.parametrize(
    ("adder", "where", "code"),
    [
        ("guest", "shop/private", "FORBIDDEN"),
        ("reporter", "shop/private", "FORBIDDEN"),
        ("developer", "shop/private", "FORBIDDEN"),
        ("outsider", "shop/public", "FORBIDDEN"),
        ("outsider", "shop/private", "NOT_FOUND"),
    ],
)
async def test_below_maintainer_cannot_add_members(api, world, adder, where, code):
    shop = await build_shop(world)

    result = await payload(
        api,
        "addProjectMember",
        {"project": where, "username": "newcomer", "role": "GUEST"},
        ADD_MEMBER,
        shop.tokens[adder],
    )

    assert single_error(result) == (code, ["input", "project"])
    assert await role_of(api, world, "newcomer", where) is None


async def test_adding_an_existing_member_is_a_conflict_and_keeps_their_role(api, world):
    shop = await build_shop(world)

    result = await payload(
        api,
        "addProjectMember",
        {"project": "shop/private", "username": "GUEST", "role": "MAINTAINER"},
        ADD_MEMBER,
        shop.tokens["owner"],
    )

    assert single_error(result) == ("CONFLICT", ["input", "username"])
    assert await role_of(api, world, "guest", "shop/private") == "GUEST"


async def test_adding_an_unknown_user_is_not_found(api, world):
    shop = await build_shop(world)

    result = await payload(
        api,
        "addProjectMember",
        {"project": "shop/private", "username": "nobody", "role": "GUEST"},
        ADD_MEMBER,
        shop.tokens["owner"],
    )

    assert single_error(result) == ("NOT_FOUND", ["input", "username"])


# createProject


@pytest.mark.parametrize("visibility", ["PUBLIC", "INTERNAL", "PRIVATE"])
async def test_create_project_makes_the_creator_its_owner(api, world, visibility):
    _, token = await world.user_with_token("founder")

    result = await payload(
        api,
        "createProject",
        {"fullPath": "founder/Rocket", "visibility": visibility},
        "project { fullPath name visibility viewerRole }",
        token,
    )

    assert result == {
        "errors": [],
        "project": {
            "fullPath": "founder/Rocket",
            "name": "Rocket",
            "visibility": visibility,
            "viewerRole": "OWNER",
        },
    }
    assert await role_of(api, world, "founder", "founder/rocket") == "OWNER"


@pytest.mark.parametrize("second_creator", ["founder", "rival"])
async def test_create_project_at_an_existing_path_in_any_case_is_a_conflict(
    api, world, pool, second_creator
):
    _, founder = await world.user_with_token("founder")
    _, rival = await world.user_with_token("rival")
    tokens = {"founder": founder, "rival": rival}
    first = await payload(
        api, "createProject", {"fullPath": "acme/Rocket"}, "project { fullPath }", founder
    )
    assert first["errors"] == []

    for path in ("acme/Rocket", "ACME/rocket", "acme/rocket"):
        again = await payload(
            api,
            "createProject",
            {"fullPath": path, "visibility": "PUBLIC"},
            "project { fullPath }",
            tokens[second_creator],
        )
        assert single_error(again) == ("CONFLICT", ["input", "fullPath"])
        assert again["project"] is None

    assert await pool.fetchval("select count(*) from projects") == 1
    assert await pool.fetchval("select count(*) from project_members") == 1
    assert await role_of(api, world, "rival", "acme/rocket") is None
