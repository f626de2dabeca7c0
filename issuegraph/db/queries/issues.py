from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from issuegraph.db.queries.projects import (
    PROJECT_COLUMNS,
    PROJECT_RECORD,
    project_from_record,
    to_project,
)
from issuegraph.db.queries.users import USER_RECORD, user_from_record
from issuegraph.db.queries.visibility import readable_issue
from issuegraph.models import (
    NOTHING_RELATED,
    Issue,
    IssueState,
    Project,
    ReadScope,
    Related,
    User,
    thawed,
)

# The columns are the model's fields, in their order: `to_issue` reads a row's values by
# position and hands them on by position, which costs a third less than by name, row
# after row. Queries put these columns first, or pass `to_issue` where they start.
COLUMNS = ", ".join(f"i.{field.name}" for field in fields(Issue))
WIDTH = len(fields(Issue))

# By the database's label: a dict lookup costs a tenth of the Enum call, row after row.
_STATES = {state.value: state for state in IssueState}
_ISSUE = thawed(Issue)

# The assignee ids of a query's issue `i`, in the order `assignee_ids_by_issue_ids` gives.
ASSIGNEE_IDS = (
    "array(select a.user_id from issue_assignees a where a.issue_id = i.id order by a.user_id)"
)


def related_users(issues: str, related: Related) -> str:
    """The users that the issues of `issues` (a set of rows with the issue columns, and
    `assignee_ids` when the assignees are related) refer to, as an array of USER_RECORD."""
    ids = [f"select {column} from {issues}" for column in related.user_columns]
    if related.assignees:
        ids.append(f"select unnest(assignee_ids) from {issues}")
    return (
        f"array(select {USER_RECORD} from users u"
        f" where u.id in ({' union all '.join(ids)}) order by u.id)"
    )


def related_projects(issues: str) -> str:
    """The projects of the issues of `issues`, as an array of PROJECT_RECORD."""
    return (
        f"array(select {PROJECT_RECORD} from projects p"
        f" where p.id in (select project_id from {issues}) order by p.id)"
    )


def page_with_related(related: Related, first: str, order: str) -> str:
    """A query's tail: the rows of its CTE `page` of issues (their columns, and
    `assignee_ids` when the assignees are related) in `order`, the row that `first` picks
    (the first in that order) with the users and projects `related` names of all of them,
    as `related_users` and `related_projects`: each user and project once, one statement."""
    brought = [
        *([f"{related_users('page', related)} as related_users"] if related.users else []),
        *([f"{related_projects('page')} as related_projects"] if related.projects else []),
    ]
    if not brought:
        return f"select page.* from page order by {order}"
    return (
        f"select page.*, brought.* from page left join (select {', '.join(brought)}) as brought"
        f" on {first} order by {order}"
    )


@dataclass(frozen=True, slots=True)
class RelatedRows:
    """The users and projects a read brought along (`Related`)."""

    users: list[User]
    projects: list[Project]

    @classmethod
    def of(cls, rows: list[Any], related: Related) -> RelatedRows:
        """What the first of `rows` (see `page_with_related`) brought."""
        first = rows[0] if rows else None
        users = first["related_users"] if first is not None and related.users else None
        projects = first["related_projects"] if first is not None and related.projects else None
        return cls(
            [user_from_record(u) for u in users or ()],
            [project_from_record(p) for p in projects or ()],
        )


def to_issue(row: Any, at: int = 0) -> Issue:
    """The issue whose COLUMNS `row` holds from position `at` on."""
    (
        id_,
        project_id,
        iid,
        title,
        description,
        state,
        labels,
        author_id,
        milestone,
        due_date,
        confidential,
        weight,
        closed_at,
        closed_by_id,
        created_at,
        updated_at,
    ) = row[at : at + WIDTH]
    issue = _ISSUE(
        id_,
        project_id,
        iid,
        title,
        description,
        _STATES[state],
        tuple(labels),
        author_id,
        milestone,
        due_date,
        confidential,
        weight,
        closed_at,
        closed_by_id,
        created_at,
        updated_at,
    )
    issue.__class__ = Issue
    return issue


@dataclass(frozen=True, slots=True)
class NewIssue:
    project_id: int
    title: str
    description: str | None
    labels: list[str]
    author_id: int
    milestone: str | None
    due_date: dt.date | None
    confidential: bool
    weight: int | None


async def insert_issue(conn: Any, new: NewIssue) -> Issue:
    """Insert with the project's next iid; the row lock on the project serialises creators."""
    row = await conn.fetchrow(
        f"""
        with next_iid as (
            update projects set last_issue_iid = last_issue_iid + 1
            where id = $1 returning last_issue_iid
        )
        insert into issues as i (project_id, iid, title, description, labels, author_id,
                                 milestone, due_date, confidential, weight)
        select $1, next_iid.last_issue_iid, $2, $3, $4, $5, $6, $7, $8, $9 from next_iid
        returning {COLUMNS}
        """,
        new.project_id,
        new.title,
        new.description,
        new.labels,
        new.author_id,
        new.milestone,
        new.due_date,
        new.confidential,
        new.weight,
    )
    return to_issue(row)


async def issue_for_update(conn: Any, issue_id: int) -> Issue | None:
    row = await conn.fetchrow(
        f"select {COLUMNS} from issues i where i.id = $1 for update", issue_id
    )
    return to_issue(row) if row else None


async def update_issue(conn: Any, issue: Issue, *, closed_by_id: int | None) -> Issue:
    """Write every editable column of `issue`; closing stamps closed_at/closed_by."""
    row = await conn.fetchrow(
        f"""
        update issues as i set
            title = $2, description = $3, state = $4::issue_state, labels = $5, milestone = $6,
            due_date = $7, confidential = $8, weight = $9,
            closed_at = case when $4::issue_state = 'closed'
                             then coalesce(i.closed_at, now()) end,
            closed_by_id = case when $4::issue_state = 'closed'
                                then coalesce(i.closed_by_id, $10) end,
            updated_at = now()
        where i.id = $1
        returning {COLUMNS}
        """,
        issue.id,
        issue.title,
        issue.description,
        issue.state.value,
        list(issue.labels),
        issue.milestone,
        issue.due_date,
        issue.confidential,
        issue.weight,
        closed_by_id,
    )
    return to_issue(row)


async def delete_issue(conn: Any, issue_id: int) -> Issue | None:
    """Delete the issue; return it as it was, or None when it was already gone."""
    row = await conn.fetchrow(
        f"delete from issues as i where i.id = $1 returning {COLUMNS}", issue_id
    )
    return to_issue(row) if row else None


async def issues_by_ids(conn: Any, ids: list[int]) -> list[Issue]:
    rows = await conn.fetch(f"select {COLUMNS} from issues i where i.id = any($1::bigint[])", ids)
    return [to_issue(r) for r in rows]


async def issues_by_project_iids(conn: Any, project_ids: list[int], iids: list[int]) -> list[Issue]:
    rows = await conn.fetch(
        f"""
        select {COLUMNS} from issues i
        join unnest($1::bigint[], $2::int[]) as k(project_id, iid)
          on i.project_id = k.project_id and i.iid = k.iid
        """,
        project_ids,
        iids,
    )
    return [to_issue(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ProjectIssue:
    """A project found by its path, its issue of an iid (None: no such issue), that
    issue's assignee ids, and the users it brought along (`Related`)."""

    project: Project
    iid: int
    issue: Issue | None
    assignee_ids: list[int]
    users: list[User]


# The issue's columns renamed, so that the project's keep their names in the same row.
_ALIASED_COLUMNS = ", ".join(f"i.{field.name} as issue_{field.name}" for field in fields(Issue))
# Where they start: after the project's columns and the iid asked for.
_ISSUE_AT = len(PROJECT_COLUMNS.split(", ")) + 1


async def issues_by_paths_and_iids(
    conn: Any, paths: list[str], iids: list[int], related: Related = NOTHING_RELATED
) -> list[ProjectIssue]:
    """For each (lowercased full path, iid) whose project exists: the project, its issue
    of that iid, the issue's assignee ids and the users `related` names, in one
    statement (what `issue(project:, iid:)`, its assignees and its author read, which
    would be four in turn)."""
    one = len(paths) == 1  # planned once per connection, as links.linked_issues_page's
    keys = "unnest(array[$1::text], array[$2::int])" if one else "unnest($1::text[], $2::int[])"
    users = ""
    if related.users:
        # This issue's own: `related_users` of a one-issue set.
        mine = f"(select i.*, ({ASSIGNEE_IDS}) as assignee_ids) as mine"
        users = f", {related_users(mine, related)} as related_users"
    rows = await conn.fetch(
        f"""
        select {PROJECT_COLUMNS}, k.iid as asked_iid, {_ALIASED_COLUMNS},
               {ASSIGNEE_IDS} as assignee_ids{users}
        from {keys} as k(path, iid)
        join projects p on lower(p.full_path) = k.path
        left join issues i on i.project_id = p.id and i.iid = k.iid
        """,
        paths[0] if one else paths,
        iids[0] if one else iids,
    )
    return [
        ProjectIssue(
            to_project(r),
            r["asked_iid"],
            None if r["issue_id"] is None else to_issue(r, _ISSUE_AT),
            list(r["assignee_ids"]),
            [user_from_record(u) for u in r["related_users"]] if related.users else [],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class IssuesPage:
    """A page of issues, and what it brought along (`Related`): its issues' assignee ids,
    by issue id, and the users and projects they refer to."""

    issues: list[Issue]
    assignee_ids: dict[int, list[int]]
    related: RelatedRows


async def project_issues_page(
    conn: Any,
    *,
    project_id: int,
    scope: ReadScope,
    state: IssueState | None,
    after_iid: int | None,
    ascending: bool,
    limit: int,
    related: Related = NOTHING_RELATED,
) -> IssuesPage:
    """One page of a project's issues by iid (keyset), as the viewer may see them, and
    in the same statement what `related` names of them (see `page_with_related`)."""
    direction, compare = ("asc", ">") if ascending else ("desc", "<")
    assignee_ids = f", {ASSIGNEE_IDS} as assignee_ids" if related.assignees else ""
    rows = await conn.fetch(
        f"""
        with page as (
            select {COLUMNS}{assignee_ids}, row_number() over (order by i.iid {direction}) as n
              from issues i
             where i.project_id = $3
               and ($4::issue_state is null or i.state = $4::issue_state)
               and ($5::int is null or i.iid {compare} $5::int)
               and {readable_issue("i", "$1", "$2")}
             order by i.iid {direction}
             limit $6
        )
        {page_with_related(related, "page.n = 1", "page.n")}
        """,
        scope.viewer_id,
        scope.admin,
        project_id,
        state.value if state else None,
        after_iid,
        limit,
    )
    issues = [to_issue(r) for r in rows]
    assigned = {r["id"]: list(r["assignee_ids"]) for r in rows} if related.assignees else {}
    return IssuesPage(issues, assigned, RelatedRows.of(rows, related))


async def count_project_issues(
    conn: Any, *, project_id: int, scope: ReadScope, state: IssueState | None
) -> int:
    count: int = await conn.fetchval(
        f"""
        select count(*) from issues i
        where i.project_id = $3
          and ($4::issue_state is null or i.state = $4::issue_state)
          and {readable_issue("i", "$1", "$2")}
        """,
        scope.viewer_id,
        scope.admin,
        project_id,
        state.value if state else None,
    )
    return count


async def set_assignees(conn: Any, issue_id: int, user_ids: list[int]) -> list[int]:
    """Make `user_ids` the issue's assignees, in one statement; return the previous ones."""
    previous: list[int] = await conn.fetchval(
        """
        with previous as (
            select coalesce(array_agg(user_id order by user_id), '{}') as ids
              from issue_assignees where issue_id = $1
        ), removed as (
            delete from issue_assignees where issue_id = $1 and user_id <> all($2::bigint[])
        ), added as (
            insert into issue_assignees (issue_id, user_id)
            select $1, u from unnest($2::bigint[]) as u on conflict do nothing
        )
        select ids from previous
        """,
        issue_id,
        user_ids,
    )
    return previous


async def assignee_ids_by_issue_ids(conn: Any, issue_ids: list[int]) -> dict[int, list[int]]:
    rows = await conn.fetch(
        """
        select issue_id, user_id from issue_assignees
        where issue_id = any($1::bigint[]) order by issue_id, user_id
        """,
        issue_ids,
    )
    found: dict[int, list[int]] = {}
    for r in rows:
        found.setdefault(r["issue_id"], []).append(r["user_id"])
    return found
