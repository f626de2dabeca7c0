"""The representative queries cost a fixed number of SQL statements, whatever the data.

Each query of `bench/queries.py` runs against the same shape of data at two sizes, the
second ten times the first (issues, links, users, projects' issue lists), and must send
exactly its budget of statements at both: one per batch, never one per parent object.
"""

from __future__ import annotations

import gc
from typing import Any

import asyncpg
import pytest

from bench.queries import ISSUE_PAGE, NESTED_LINKS, PROJECT_PAGE
from issuegraph import models
from issuegraph.app import create_app
from issuegraph.schema import issues as schema_issues
from issuegraph.schema.links import IssueLink
from issuegraph.schema.users import User
from issuegraph.state import DATABASE
from tests.helpers import Api, StatementLog

# Statements on the wire per request (the pool's reset sends nothing; see db/database.py).
BUDGET = {
    # token; the project by path with the issue by iid, its assignee ids and the users of
    # its author and assignees; its first 100 links with the issues at their other ends,
    # their assignee ids, and (once) the projects and users of those 100 issues' authors
    # and assignees (visibility checked in that statement).
    "issue_page": 3,
    # token; project; its page of 50 issues with their authors; the first 20 links of all
    # 50 issues in one statement, and their first 20 blockers in one more (another filter).
    "project_page": 5,
    # token; project; 50 issues; then one statement per level of `links`, for all the
    # issues of that level (1,000 at the second, 5,000 at the third).
    "nested_links": 6,
}

HIDDEN_LINKS = 10  # links of the hub to issues of a private project the viewer cannot read


async def build(conn: asyncpg.Connection, scale: int) -> None:
    """Projects `big/issues` and `big/others` (public) and `big/secret` (private), each
    with 120 x scale issues; each `big/issues` issue related to the 24 before it,
    each `big/issues` issue blocked by its namesake in `big/others`; a hub issue
    (`hub/page#1`) linked to 50 issues of each public project and 10 secret ones."""
    n = 120 * scale
    await conn.execute(
        """
        insert into users (username, name, avatar_url)
        select 'author' || g, 'Author ' || g, 'https://avatars.example/' || g
        from generate_series(1, 30 * $1::int) g
        """,
        scale,
    )
    await conn.execute(
        """
        insert into projects (full_path, name, visibility, last_issue_iid)
        values ('big/issues', 'Issues', 'public', $1), ('big/others', 'Others', 'public', $1),
               ('big/secret', 'Secret', 'private', $1), ('hub/page', 'Hub', 'public', 1)
        """,
        n,
    )
    await conn.execute(
        """
        insert into issues (project_id, iid, title, description, labels, author_id,
                            milestone, weight, created_at)
        select p.id, g, p.name || ' issue ' || g,
               case when g % 3 = 0 then 'Described ' || g end,
               case when g % 2 = 0 then array['bug', 'p' || (g % 4)] else '{}' end,
               (select min(id) from users) + g % (30 * $2::int),
               case when g % 5 = 0 then 'v' || (g % 3) end,
               case when g % 4 = 0 then g % 8 end,
               now() - make_interval(secs => $1::int - g)
        from projects p cross join generate_series(1, $1::int) g
        where p.full_path like 'big/%'
        union all
        select p.id, 1, 'The hub', null, array['hub'], (select min(id) from users),
               null, null, now()
        from projects p where p.full_path = 'hub/page'
        """,
        n,
        scale,
    )
    await conn.execute(
        """
        insert into issue_assignees (issue_id, user_id)
        select i.id, (select min(id) from users) + (i.id * k) % (30 * $1::int)
        from issues i cross join generate_series(1, 2) k
        on conflict do nothing
        """,
        scale,
    )
    await conn.execute(
        """
        with big as (select i.id, i.iid from issues i join projects p on p.id = i.project_id
                     where p.full_path = 'big/issues'),
             other as (select i.id, i.iid from issues i join projects p on p.id = i.project_id
                       where p.full_path = 'big/others'),
             secret as (select i.id, i.iid from issues i join projects p
                        on p.id = i.project_id where p.full_path = 'big/secret'),
             hub as (select i.id from issues i join projects p on p.id = i.project_id
                     where p.full_path = 'hub/page')
        insert into issue_links (source_id, target_id, link_type)
        select a.id, b.id, 'relates'::link_type from big a join big b on b.iid between a.iid - 24
            and a.iid - 1
        union all
        select o.id, b.id, 'blocks' from other o join big b on b.iid = o.iid
        union all
        select hub.id, b.id, 'relates' from hub, big b where b.iid <= 50
        union all
        select hub.id, o.id, 'blocks' from hub, other o where o.iid > $1::int - 50
        union all
        select hub.id, s.id, 'relates' from hub, secret s where s.iid <= $2::int
        """,
        n,
        HIDDEN_LINKS,
    )
    await conn.execute("analyze")


@pytest.fixture(params=[1, 10], ids=["1x", "10x"])
async def sized(request: Any, database_url: str, world: Any, settings: Any, aiohttp_client: Any):
    scale: int = request.param
    conn = await asyncpg.connect(database_url)
    try:
        await build(conn, scale)
    finally:
        await conn.close()
    viewer, token = await world.user_with_token("viewer")
    # A member (REPORTER) of the hub's project: the role lookup is part of every budget.
    await world.pool.execute(
        "insert into project_members (project_id, user_id, role) select id, $1, 'reporter'"
        " from projects where full_path = 'hub/page'",
        viewer.id,
    )
    log = StatementLog()
    client = await aiohttp_client(create_app(settings, on_connect=log.attach))
    yield Api(client), log, token, scale
    await client.close()


async def _count(sized: Any, query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    api, log, token, _scale = sized
    warm = await api.gql(query, variables, token=token)  # the driver's type introspection
    assert not warm.errors, warm.errors
    response = None

    async def run() -> None:
        nonlocal response
        response = await api.gql(query, variables, token=token)

    statements = await log.count(run())
    assert response is not None
    assert not response.errors, response.errors
    return statements, response.data


async def test_issue_page_statements_do_not_grow_with_the_data(sized):
    statements, data = await _count(sized, ISSUE_PAGE, {"project": "hub/page", "iid": 1})
    issue = data["issue"]
    links = issue["links"]["edges"]
    assert len(links) == 100  # the 10 secret ones are left out
    assert {e["node"]["project"]["fullPath"] for e in links} == {"big/issues", "big/others"}
    assert all(len(e["node"]["assignees"]) >= 1 for e in links)
    assert all(e["node"]["author"]["username"].startswith("author") for e in links)
    assert statements == BUDGET["issue_page"], _show(sized[1].queries)


async def test_project_page_statements_do_not_grow_with_the_data(sized):
    statements, data = await _count(sized, PROJECT_PAGE, {"project": "big/issues"})
    edges = data["project"]["issues"]["edges"]
    assert len(edges) == 50
    assert all(len(e["node"]["links"]["edges"]) == 20 for e in edges)
    assert all(len(e["node"]["blockedBy"]["edges"]) == 1 for e in edges)
    assert statements == BUDGET["project_page"], _show(sized[1].queries)


async def test_three_levels_of_links_cost_one_statement_per_level(sized):
    statements, data = await _count(sized, NESTED_LINKS, {"project": "big/issues"})
    level1 = [e["node"] for e in data["project"]["issues"]["edges"]]
    level2 = [e["node"] for i in level1 for e in i["links"]["edges"]]
    level3 = [e["node"] for i in level2 for e in i["links"]["edges"]]
    level4 = [e["node"] for i in level3 for e in i["links"]["edges"]]
    assert (len(level1), len(level2), len(level3), len(level4)) == (50, 1000, 5000, 25000)
    assert statements == BUDGET["nested_links"], _show(sized[1].queries)


_NOTES_BELOW_ISSUES = """
query Notes($project: ID!) {
  project(fullPath: $project) {
    issues(first: 50) {
      nodes { iid userNotesCount notes(first: 2) { totalCount nodes { body author { username } } } }
    }
  }
}
"""


async def test_notes_below_a_list_of_issues_cost_one_statement_for_all(sized, pool):
    """Each issue's page of notes comes from one statement for the whole list (paged per
    issue in SQL), their counts from one more, their authors from one more."""
    await pool.execute(
        """
        insert into notes (issue_id, body, author_id)
        select i.id, 'note ' || k || ' on ' || i.iid, (select min(id) from users) + k
        from issues i join projects p on p.id = i.project_id
        cross join generate_series(1, 3) k
        where p.full_path = 'big/issues'
        order by i.id, k
        """
    )
    statements, data = await _count(sized, _NOTES_BELOW_ISSUES, {"project": "big/issues"})
    issues = data["project"]["issues"]["nodes"]
    assert len(issues) == 50
    for issue in issues:
        notes = issue["notes"]
        assert issue["userNotesCount"] == notes["totalCount"] == 3
        assert [n["body"] for n in notes["nodes"]] == [
            f"note 1 on {issue['iid']}",
            f"note 2 on {issue['iid']}",
        ]
        assert all(n["author"]["username"].startswith("author") for n in notes["nodes"])
    # token; project; its issues; their notes; their note counts; the notes' authors
    assert statements == 6, _show(sized[1].queries)


def _show(queries: list[str]) -> str:
    return "\n".join(" ".join(q.split())[:110] for q in queries)


# The issue page's relations of linked issues reached through a named fragment and an
# inline one: loaded ahead all the same.
_FRAGMENTED_ISSUE_PAGE = """
query Fragmented($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    id author { id } assignees { id } project { id }
    ...Links
  }
}
fragment Links on Issue {
  links(first: 100) {
    edges { ... on LinkedIssueEdge { node { ...Linked ... on Issue { project { fullPath } } } } }
  }
}
fragment Linked on Issue { id title author { username } assignees { username } }
"""


async def test_fields_behind_fragments_are_loaded_ahead_too(sized):
    statements, data = await _count(
        sized, _FRAGMENTED_ISSUE_PAGE, {"project": "hub/page", "iid": 1}
    )
    links = data["issue"]["links"]["edges"]
    assert len(links) == 100
    assert all(e["node"]["assignees"] and e["node"]["project"] for e in links)
    assert statements == BUDGET["issue_page"], _show(sized[1].queries)


async def test_what_a_request_made_is_freed_without_the_cyclic_collector(sized):
    """Loaders, the executor and the query limits leave no reference cycle behind: all
    that a request made is freed by reference counting as it ends, and the cyclic
    collector finds nothing of it (it once found 1,400 objects an issue page, then the
    ~330 of graphql-core's executor cycle: field details, collected fields, the context)."""
    api, _log, token, _scale = sized
    variables = {"project": "hub/page", "iid": 1}
    await api.gql(ISSUE_PAGE, variables, token=token)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds unreachable, kept to look at
    try:
        response = await api.gql(ISSUE_PAGE, variables, token=token)
        gc.collect()
        ours = {"issuegraph", "graphql", "strawberry", "asyncpg"}
        read = (models.Issue, models.IssueLink, models.User, models.Project)
        made = (schema_issues.Issue, User, schema_issues.Project, IssueLink)
        left = [o for o in gc.garbage if isinstance(o, read + made)]
        cyclic = {
            type(o).__qualname__ for o in gc.garbage if type(o).__module__.split(".")[0] in ours
        }
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not response.errors, response.errors
    assert len(response.data["issue"]["links"]["edges"]) == 100
    assert left == []
    assert cyclic == set()


_LINKED_ASSIGNEES = """
query($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    links(first: 100) { edges { node { databaseId assignees { databaseId } } } }
  }
}
"""


async def test_assignees_brought_with_a_page_of_links_are_each_issues_own(sized, world):
    """A page of links brings its issues' assignee ids in its own statement: the same
    ids, in the same order, as the assignee loader reads, and none where there are none."""
    api, _log, token, _scale = sized
    # Some linked issues without assignees.
    await world.pool.execute("delete from issue_assignees where issue_id % 7 = 0")
    response = await api.gql(_LINKED_ASSIGNEES, {"project": "hub/page", "iid": 1}, token=token)
    assert not response.errors, response.errors
    seen = {
        edge["node"]["databaseId"]: [user["databaseId"] for user in edge["node"]["assignees"]]
        for edge in response.data["issue"]["links"]["edges"]
    }
    stored = await world.pool.fetch(
        "select i.id, coalesce(array_agg(a.user_id order by a.user_id)"
        " filter (where a.user_id is not null), '{}') as ids"
        " from issues i left join issue_assignees a on a.issue_id = i.id"
        " where i.id = any($1::bigint[]) group by i.id",
        list(seen),
    )
    assert len(seen) == 100
    assert seen == {row["id"]: list(row["ids"]) for row in stored}
    assert [] in seen.values()
    assert any(len(ids) == 2 for ids in seen.values())


_RELATED_IN_NESTED_LINKS = """
query($project: ID!) {
  project(fullPath: $project) {
    issues(first: 10) { edges { node { databaseId author { username } closedBy { username }
      assignees { username } project { fullPath }
      links(first: 30) { edges { node {
        databaseId author { username } closedBy { username } assignees { username }
        project { fullPath }
        links(first: 2) { edges { node { databaseId closedBy { username } project { fullPath } } } }
      } } }
    } } }
  }
}
"""


async def test_what_pages_of_links_bring_along_is_each_issues_own(sized, world):
    """A project's page of issues, and each page of links (one anchor, or a whole level
    of a nested list), brings the users and projects its issues' fields show, in its own
    statement: authors, closers, assignees (in order) and projects must be the database's,
    and nothing is asked for after the pages (token, project, its issues, then one
    statement per level)."""
    _api, log, _token, _scale = sized
    await world.pool.execute(
        "update issues set state = 'closed', closed_at = now(),"
        " closed_by_id = (select max(id) from users) where iid % 3 = 0"
    )
    await world.pool.execute("delete from issue_assignees where issue_id % 7 = 0")
    statements, data = await _count(sized, _RELATED_IN_NESTED_LINKS, {"project": "big/issues"})
    assert statements == 5, _show(log.queries)
    seen: dict[int, dict[str, Any]] = {}
    for top in data["project"]["issues"]["edges"]:
        seen[top["node"]["databaseId"]] = top["node"]
        for edge in top["node"]["links"]["edges"]:
            node = edge["node"]
            seen[node["databaseId"]] = node
            for inner in node["links"]["edges"]:
                seen.setdefault(inner["node"]["databaseId"], inner["node"])
    stored = await world.pool.fetch(
        """
        select i.id, a.username as author, c.username as closed_by, p.full_path,
               array(select u.username from issue_assignees ia join users u on u.id = ia.user_id
                      where ia.issue_id = i.id order by ia.user_id) as assignees
          from issues i join users a on a.id = i.author_id join projects p on p.id = i.project_id
          left join users c on c.id = i.closed_by_id
         where i.id = any($1::bigint[])
        """,
        list(seen),
    )
    by_id = {row["id"]: row for row in stored}
    assert len(seen) >= 25
    assert {node["project"]["fullPath"] for node in seen.values()} >= {"big/issues", "big/others"}
    for issue_id, node in seen.items():
        row = by_id[issue_id]
        assert node["project"]["fullPath"] == row["full_path"]
        assert (node["closedBy"] or {}).get("username") == row["closed_by"]
        if "author" in node:
            assert node["author"]["username"] == row["author"]
            assert [user["username"] for user in node["assignees"]] == list(row["assignees"])
    assert any(node["closedBy"] for node in seen.values())
    assert any("assignees" in node and not node["assignees"] for node in seen.values())


_ISSUE_TITLE = "query($project: ID!, $iid: Int!) { issue(project: $project, iid: $iid) { iid } }"


@pytest.mark.parametrize(
    ("project", "iid", "found"),
    [
        ("hub/page", 1, True),
        ("HUB/Page", 1, True),  # paths are matched case-insensitively
        ("hub%2Fpage", 1, True),  # and URL-encoded, as GitLab takes them
        ("hub/page", 999_999, False),  # no such issue
        ("no/such-project", 1, False),
    ],
)
async def test_an_issue_by_path_and_iid_is_one_statement_found_or_not(sized, project, iid, found):
    """The project, its issue and the issue's assignee ids come in one statement; a
    missing project or issue is known from it, not asked for again."""
    statements, data = await _count(sized, _ISSUE_TITLE, {"project": project, "iid": iid})
    assert data == {"issue": {"iid": iid} if found else None}
    assert statements == 2, _show(sized[1].queries)  # the token, then that one


async def test_the_issue_page_statements_are_planned_once_per_connection(sized):
    """PostgreSQL plans a prepared statement five times for its values (custom plans),
    then keeps one plan for all values (a generic plan) unless that looks dearer. The
    page of links and the project-and-issue lookup, both for one key, must not be
    planned anew at every execution (0.3 and 0.14 ms of planning each time)."""
    api, _log, token, _scale = sized
    for _ in range(12):
        response = await api.gql(ISSUE_PAGE, {"project": "hub/page", "iid": 1}, token=token)
        assert not response.errors, response.errors
    pool = api.client.app[DATABASE].pool
    connections = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        planned = [
            (row["statement"], row["generic_plans"], row["custom_plans"])
            for conn in connections
            for row in await conn.fetch(
                "select statement, generic_plans, custom_plans from pg_prepared_statements"
            )
            if "edge as" in row["statement"] or "asked_iid" in row["statement"]
        ]
    finally:
        for conn in connections:
            await pool.release(conn)
    assert {"edge as" in statement for statement, _, _ in planned} == {True, False}
    runs = sum(generic + custom for _, generic, custom in planned)
    assert runs == 24, planned  # 12 pages of links, 12 lookups
    assert all(custom <= 5 for _, _, custom in planned), planned
    assert sum(generic for _, generic, _ in planned) >= runs - 5 * len(planned), planned


# Link lists below a list of issues, asked every way their keys can differ: variables,
# aliases with other pages, a cursor, link types, `parent`, fragments, @skip, and a page
# size out of range (an error at its own place).
_LINK_LISTS_AHEAD = """
query($n: Int!, $types: [LinkType!], $after: String, $no: Boolean!) {
  project(fullPath: "big/issues") {
    issues(first: 12) { edges { node { iid
      links(first: $n, linkTypes: $types) { edges { linkType node { iid ...Deeper } } }
      few: links(first: 2, after: $after) { pageInfo { hasNextPage } edges { node { iid } } }
      blockedBy { edges { node { iid project { fullPath } parent { iid } } } }
      skipped: blocking @skip(if: $no) { edges { node { iid } } }
      parent { iid children(first: 3) { edges { node { iid } } } }
      ...on Issue { relatedIssues(first: 3) { edges { node { iid author { username } } } } }
    } } }
  }
}
fragment Deeper on Issue { links(first: 2) { edges { node { iid assignees { username } } } } }
"""


def _without_request_ids(body: dict[str, Any]) -> dict[str, Any]:
    for error in body.get("errors", ()):
        error["extensions"].pop("requestId")
    return body


async def _ahead_and_not(sized, monkeypatch, query, variables):
    """The answer with link lists loaded ahead, and with each loading its own page."""
    api, _log, token, _scale = sized
    calls: list[Any] = []
    later = schema_issues._linked_later

    def counted(*args: Any) -> Any:
        calls.append(args[2])  # the page's loader key
        return later(*args)

    monkeypatch.setattr(schema_issues, "_linked_later", counted)
    ahead = await api.gql(query, variables, token=token)
    answered_later = len(calls)

    async def nothing(*_args: Any) -> None:
        return None

    monkeypatch.setattr(schema_issues, "prefetch_links", nothing)
    alone = await api.gql(query, variables, token=token)
    return ahead, alone, answered_later


@pytest.mark.parametrize(
    "variables",
    [
        {"n": 5, "types": None, "after": None, "no": False},
        {"n": 3, "types": ["RELATES_TO", "IS_BLOCKED_BY"], "after": None, "no": True},
        {"n": 101, "types": None, "after": None, "no": False},  # out of range: errors
    ],
)
async def test_link_lists_loaded_ahead_answer_as_their_own_loads(sized, monkeypatch, variables):
    """A list of issues loads its issues' link lists ahead, level by level; each list
    then answers from its page at once, exactly what it would have loaded itself."""
    ahead, alone, answered_later = await _ahead_and_not(
        sized, monkeypatch, _LINK_LISTS_AHEAD, variables
    )
    assert _without_request_ids(ahead.body) == _without_request_ids(alone.body)
    if variables["n"] <= 100:
        assert not ahead.errors, ahead.errors
        assert answered_later == 0  # every list of every level found its page loaded
        issues = ahead.data["project"]["issues"]["edges"]
        assert any(e["node"]["blockedBy"]["edges"] for e in issues)
        assert any(e["node"]["links"]["edges"] for e in issues)
    else:
        assert {e["extensions"]["code"] for e in ahead.errors} == {"BAD_USER_INPUT"}
        assert all(e["path"][-1] == "links" for e in ahead.errors)


async def test_only_a_list_whose_page_is_not_loaded_yet_waits_for_it(sized, monkeypatch):
    # The issue page's own list loads its page; the lists below it were loaded ahead.
    query = """query { issue(project: "hub/page", iid: 1) { links(first: 5) { edges { node {
      iid links(first: 2) { edges { node { iid blockedBy { edges { node { iid } } } } } } } } } } }"""
    ahead, alone, answered_later = await _ahead_and_not(sized, monkeypatch, query, {})
    assert _without_request_ids(ahead.body) == _without_request_ids(alone.body)
    assert not ahead.errors, ahead.errors
    assert answered_later == 1
