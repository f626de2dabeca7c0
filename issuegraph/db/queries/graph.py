"""Dependency-graph reads: every traversal is one statement, walked inside PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from issuegraph.db.queries.issues import COLUMNS as ISSUE_COLUMNS
from issuegraph.db.queries.issues import to_issue
from issuegraph.db.queries.links import LINK_COLUMNS, to_link
from issuegraph.db.queries.visibility import readable_issue

if TYPE_CHECKING:
    from issuegraph.models import Issue, IssueLink, ReadScope


@dataclass(frozen=True, slots=True)
class Walk:
    """How to walk: stored link types, which way(s), how far, through which states."""

    types: tuple[str, ...]
    downstream: bool
    upstream: bool
    max_depth: int
    states: tuple[str, ...] | None


class Reached(NamedTuple):
    """An issue a walk from `anchor_id` reached. A tuple: walks make thousands of them."""

    anchor_id: int
    issue: Issue
    distance: int


_WALK = """
    cross join lateral issue_graph_walk(
        array[a.id], $2::link_type[], $3::boolean, $4::boolean, $5::integer,
        $6::issue_state[], $7::bigint, $8::boolean
    ) w
"""


def _walk_args(walk: Walk, scope: ReadScope) -> tuple[Any, ...]:
    return (
        list(walk.types),
        walk.downstream,
        walk.upstream,
        walk.max_depth,
        list(walk.states) if walk.states is not None else None,
        scope.viewer_id,
        scope.admin,
    )


async def walk_from(conn: Any, anchors: list[int], walk: Walk, scope: ReadScope) -> list[Reached]:
    """For each anchor, the issues its walk reaches, nearest first (then by id)."""
    rows = await conn.fetch(
        f"""
        select {ISSUE_COLUMNS}, a.id as anchor, w.distance
          from unnest($1::bigint[]) as a(id)
          {_WALK}
          join issues i on i.id = w.issue_id
         order by a.id, w.distance, i.id
        """,
        anchors,
        *_walk_args(walk, scope),
    )
    return [Reached(anchor_id=r["anchor"], issue=to_issue(r), distance=r["distance"]) for r in rows]


async def walk_all(conn: Any, start: list[int], walk: Walk, scope: ReadScope) -> list[Reached]:
    """One walk from a whole set of issues at once (anchor_id 0 on every row)."""
    rows = await conn.fetch(
        f"""
        select {ISSUE_COLUMNS}, w.distance
          from issue_graph_walk($1::bigint[], $2::link_type[], $3::boolean, $4::boolean,
                                $5::integer, $6::issue_state[], $7::bigint, $8::boolean) w
          join issues i on i.id = w.issue_id
         order by w.distance, i.id
        """,
        start,
        *_walk_args(walk, scope),
    )
    return [Reached(anchor_id=0, issue=to_issue(r), distance=r["distance"]) for r in rows]


async def rollups(
    conn: Any, anchors: list[int], walk: Walk, scope: ReadScope
) -> dict[int, tuple[int, int]]:
    """For each anchor: how many issues its walk reaches, and how many of them are closed."""
    rows = await conn.fetch(
        f"""
        select a.id as anchor, count(i.id) as total,
               count(i.id) filter (where i.state = 'closed') as closed
          from unnest($1::bigint[]) as a(id)
          {_WALK}
          join issues i on i.id = w.issue_id
         group by a.id
        """,
        anchors,
        *_walk_args(walk, scope),
    )
    return {r["anchor"]: (r["total"], r["closed"]) for r in rows}


async def links_among(conn: Any, issue_ids: list[int], types: tuple[str, ...]) -> list[IssueLink]:
    """The links of these types whose two ends are both in the set."""
    rows = await conn.fetch(
        f"""
        select {LINK_COLUMNS} from issue_links l
         where l.source_id = any($1::bigint[]) and l.target_id = any($1::bigint[])
           and l.link_type = any($2::link_type[])
         order by l.id
        """,
        issue_ids,
        list(types),
    )
    return [to_link(r) for r in rows]


async def shortest_path(
    conn: Any,
    *,
    source: int,
    target: int,
    types: tuple[str, ...],
    directed: bool,
    max_depth: int,
    scope: ReadScope,
) -> list[int] | None:
    path = await conn.fetchval(
        "select issue_graph_path($1, $2, $3::link_type[], $4, $5, $6::bigint, $7::boolean)",
        source,
        target,
        list(types),
        directed,
        max_depth,
        scope.viewer_id,
        scope.admin,
    )
    return list(path) if path is not None else None


async def open_issues(conn: Any, project_id: int, scope: ReadScope) -> list[Issue]:
    rows = await conn.fetch(
        f"""
        select {ISSUE_COLUMNS} from issues i
         where i.project_id = $3 and i.state = 'opened' and {readable_issue("i", "$1", "$2")}
         order by i.iid
        """,
        scope.viewer_id,
        scope.admin,
        project_id,
    )
    return [to_issue(r) for r in rows]


_READY = f"""
      from issues i
     where i.project_id = $3 and i.state = 'opened' and {readable_issue("i", "$1", "$2")}
       and not exists (
           select 1 from issue_links l join issues b on b.id = l.source_id
            where l.target_id = i.id and l.link_type = 'blocks' and b.state = 'opened'
              and {readable_issue("b", "$1", "$2")})
"""


async def ready_issues_page(
    conn: Any, *, project_id: int, scope: ReadScope, after_iid: int | None, limit: int
) -> list[Issue]:
    """Open issues no open (readable) issue blocks, by iid."""
    rows = await conn.fetch(
        f"""
        select {ISSUE_COLUMNS} {_READY}
           and ($4::int is null or i.iid > $4::int)
         order by i.iid
         limit $5
        """,
        scope.viewer_id,
        scope.admin,
        project_id,
        after_iid,
        limit,
    )
    return [to_issue(r) for r in rows]


async def count_ready_issues(conn: Any, *, project_id: int, scope: ReadScope) -> int:
    count: int = await conn.fetchval(
        f"select count(*) {_READY}", scope.viewer_id, scope.admin, project_id
    )
    return count
