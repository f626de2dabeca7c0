"""Issue links: reads for the bidirectional edges, and the steps of the write paths."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from issuegraph.db.queries.issues import (
    ASSIGNEE_IDS,
    RelatedRows,
    page_with_related,
    to_issue,
)
from issuegraph.db.queries.issues import COLUMNS as ISSUE_COLUMNS
from issuegraph.db.queries.issues import WIDTH as ISSUE_WIDTH
from issuegraph.db.queries.visibility import readable_issue
from issuegraph.models import NOTHING_RELATED, Issue, IssueLink, Related, StoredLinkType, thawed

# The model's fields in their order, as in `issues.COLUMNS`: `to_link` passes by position.
LINK_COLUMNS = ", ".join(f"l.{field.name}" for field in fields(IssueLink))
LINK_WIDTH = len(fields(IssueLink))


# By the database's label: a dict lookup costs a tenth of the Enum call, row after row.
_STORED_TYPES = {stored.value: stored for stored in StoredLinkType}
_LINK = thawed(IssueLink)


def to_link(row: Any, at: int = 0) -> IssueLink:
    """The link whose LINK_COLUMNS `row` holds from position `at` on."""
    values = row[at : at + LINK_WIDTH]
    id_, source_id, target_id, link_type, author_id, updated_by_id, created_at, updated_at = values
    link = _LINK(
        id_,
        source_id,
        target_id,
        _STORED_TYPES[link_type],
        author_id,
        updated_by_id,
        created_at,
        updated_at,
    )
    link.__class__ = IssueLink
    return link


@dataclass(frozen=True, slots=True)
class LinkedIssue:
    """One edge of an issue's link list: the link, and the issue at its other end."""

    anchor_id: int
    link: IssueLink
    issue: Issue
    # The issue's assignees' ids (by id), when the page was asked for with them.
    assignee_ids: list[int] | None = None


@dataclass(frozen=True, slots=True)
class LinkedIssuesPage:
    """The pages of links of some issues, and the users and projects they brought along."""

    rows: list[LinkedIssue]
    related: RelatedRows


# $1 anchors, $2 stored types followed outward, $3 inward, $4 viewer id, $5 admin.
def _edges(anchors: str) -> str:
    return f"""
    edge as (
        select a.id as anchor, l.target_id as other, {LINK_COLUMNS}
          from {anchors} as a(id) join issue_links l on l.source_id = a.id
         where l.link_type = any($2::link_type[])
        union all
        select a.id as anchor, l.source_id as other, {LINK_COLUMNS}
          from {anchors} as a(id) join issue_links l on l.target_id = a.id
         where l.link_type = any($3::link_type[])
    ),
    visible as (
        select e.* from edge e join issues o on o.id = e.other
         where {readable_issue("o", "$4", "$5")}
    )
"""


_EDGES = _edges("unnest($1::bigint[])")
# One anchor, the usual case, as a one-element array: PostgreSQL's plan made for any
# anchor (generic) then costs what a plan made for this anchor (custom) does, so it is
# made once per connection. For an array parameter it assumes ten elements, the generic
# plan looks dearer than a custom one for one, and each execution was planned anew.
_EDGES_OF_ONE = _edges("unnest(array[$1::bigint])")


# LINK_COLUMNS as `ranked` (below) holds them, named apart from the issue's in `page`.
_RANKED_LINK_COLUMNS = ", ".join(
    f"r.{field.name} as link_{field.name}" for field in fields(IssueLink)
)


async def linked_issues_page(
    conn: Any,
    *,
    anchors: list[int],
    outward: list[str],
    inward: list[str],
    viewer_id: int | None,
    admin: bool,
    after: tuple[dt.datetime, int] | None,
    limit: int,
    related: Related = NOTHING_RELATED,
) -> LinkedIssuesPage:
    """For each anchor issue, its first `limit` readable links after the cursor.

    Ordered by link creation, then id; paged per anchor in SQL, so one statement
    serves every anchor of a nested list. With `related`, the same statement brings
    what the page's readers would otherwise ask for next: each row its linked issue's
    assignee ids, and the first row the users and projects of all the page's issues.
    """
    assignee_ids = f", {ASSIGNEE_IDS} as assignee_ids" if related.assignees else ""
    first = "page.anchor = (select min(anchor) from page) and page.rn = 1"
    one = len(anchors) == 1
    rows = await conn.fetch(
        f"""
        with {_EDGES_OF_ONE if one else _EDGES},
        ranked as (
            select v.*, row_number() over (partition by v.anchor order by v.created_at, v.id) as rn
              from visible v
             where $6::timestamptz is null or (v.created_at, v.id) > ($6::timestamptz, $7::bigint)
        ),
        page as (
            select {ISSUE_COLUMNS}, {_RANKED_LINK_COLUMNS}, r.anchor, r.rn{assignee_ids}
              from ranked r join issues i on i.id = r.other
             where r.rn <= $8
        )
        {page_with_related(related, first, "page.anchor, page.rn")}
        """,
        anchors[0] if one else anchors,
        outward,
        inward,
        viewer_id,
        admin,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    # The issue's columns first, then the link's (see `page`).
    page = [
        _linked_issue(r["anchor"], to_link(r, ISSUE_WIDTH), to_issue(r), r, related.assignees)
        for r in rows
    ]
    return LinkedIssuesPage(page, RelatedRows.of(rows, related))


_LINKED_ISSUE = thawed(LinkedIssue)


def _linked_issue(
    anchor_id: int, link: IssueLink, issue: Issue, row: Any, assignees: bool
) -> LinkedIssue:
    linked = _LINKED_ISSUE(anchor_id, link, issue, row["assignee_ids"] if assignees else None)
    linked.__class__ = LinkedIssue
    return linked


async def linked_issue_counts(
    conn: Any,
    *,
    anchors: list[int],
    outward: list[str],
    inward: list[str],
    viewer_id: int | None,
    admin: bool,
) -> dict[int, int]:
    rows = await conn.fetch(
        f"with {_EDGES} select anchor, count(*) as n from visible group by anchor",
        anchors,
        outward,
        inward,
        viewer_id,
        admin,
    )
    return {r["anchor"]: r["n"] for r in rows}


async def open_blocker_flags(
    conn: Any, *, anchors: list[int], viewer_id: int | None, admin: bool
) -> set[int]:
    """The anchors that a readable, open issue blocks."""
    rows = await conn.fetch(
        f"""
        select distinct a.id from unnest($1::bigint[]) as a(id)
          join issue_links l on l.target_id = a.id and l.link_type = 'blocks'
          join issues o on o.id = l.source_id and o.state = 'opened'
         where {readable_issue("o", "$2", "$3")}
        """,
        anchors,
        viewer_id,
        admin,
    )
    return {r["id"] for r in rows}


async def links_by_ids(conn: Any, ids: list[int]) -> list[IssueLink]:
    rows = await conn.fetch(
        f"select {LINK_COLUMNS} from issue_links l where l.id = any($1::bigint[])", ids
    )
    return [to_link(r) for r in rows]


# -- the write paths ---------------------------------------------------------------------


async def take_graph_lock(conn: Any) -> None:
    """Serialise writers of `blocks`/`parent` links (the trigger takes the same lock)."""
    await conn.execute("select issue_links_graph_lock()")


async def lock_issues(conn: Any, issue_ids: list[int]) -> set[int]:
    """Row-lock the issues in id order (no deadlocks); return the ids that still exist."""
    rows = await conn.fetch(
        "select id from issues where id = any($1::bigint[]) order by id for update", issue_ids
    )
    return {r["id"] for r in rows}


async def links_between(conn: Any, sources: list[int], targets: list[int]) -> list[IssueLink]:
    """Existing links joining any of the given pairs, in either direction."""
    rows = await conn.fetch(
        f"""
        select {LINK_COLUMNS} from issue_links l
          join unnest($1::bigint[], $2::bigint[]) as p(a, b)
            on least(l.source_id, l.target_id) = least(p.a, p.b)
           and greatest(l.source_id, l.target_id) = greatest(p.a, p.b)
        """,
        sources,
        targets,
    )
    return [to_link(r) for r in rows]


async def link_counts(conn: Any, issue_ids: list[int]) -> dict[int, int]:
    rows = await conn.fetch(
        """
        select id, count(*) as n from (
            select source_id as id from issue_links where source_id = any($1::bigint[])
            union all
            select target_id from issue_links where target_id = any($1::bigint[])
        ) ends group by id
        """,
        issue_ids,
    )
    return {r["id"]: r["n"] for r in rows}


async def parent_links(conn: Any, child_ids: list[int]) -> dict[int, IssueLink]:
    rows = await conn.fetch(
        f"""
        select {LINK_COLUMNS} from issue_links l
         where l.target_id = any($1::bigint[]) and l.link_type = 'parent'
        """,
        child_ids,
    )
    return {r["target_id"]: to_link(r) for r in rows}


async def insert_links(
    conn: Any, sources: list[int], targets: list[int], types: list[str], author_id: int
) -> list[IssueLink]:
    """Insert many links in one statement; returned in the order given."""
    rows = await conn.fetch(
        f"""
        insert into issue_links as l (source_id, target_id, link_type, author_id)
        select s, t, k, $4
          from unnest($1::bigint[], $2::bigint[], $3::link_type[])
               with ordinality as n(s, t, k, ord)
         order by n.ord
        returning {LINK_COLUMNS}
        """,
        sources,
        targets,
        types,
        author_id,
    )
    by_pair = {(r["source_id"], r["target_id"]): to_link(r) for r in rows}
    return [by_pair[pair] for pair in zip(sources, targets, strict=True)]


async def update_link(
    conn: Any, link_id: int, *, source_id: int, target_id: int, link_type: str, updated_by: int
) -> IssueLink | None:
    row = await conn.fetchrow(
        f"""
        update issue_links as l
           set source_id = $2, target_id = $3, link_type = $4::link_type,
               updated_by_id = $5, updated_at = now()
         where l.id = $1
        returning {LINK_COLUMNS}
        """,
        link_id,
        source_id,
        target_id,
        link_type,
        updated_by,
    )
    return to_link(row) if row else None


async def delete_link(conn: Any, link_id: int) -> IssueLink | None:
    row = await conn.fetchrow(
        f"delete from issue_links as l where l.id = $1 returning {LINK_COLUMNS}", link_id
    )
    return to_link(row) if row else None


async def delete_links_of(conn: Any, issue_id: int) -> list[IssueLink]:
    rows = await conn.fetch(
        f"""
        delete from issue_links as l where l.source_id = $1 or l.target_id = $1
        returning {LINK_COLUMNS}
        """,
        issue_id,
    )
    return [to_link(r) for r in rows]
