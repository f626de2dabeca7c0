"""Reads for a project's dependency graph (`issuegraph graph`, `Project.graph`, the export
endpoint): its selected issues and their far ends, and how many hidden issues touch them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from issuegraph.db.queries.issues import COLUMNS as ISSUE_COLUMNS
from issuegraph.db.queries.issues import to_issue
from issuegraph.db.queries.visibility import readable_issue

if TYPE_CHECKING:
    from issuegraph.models import Issue, ReadScope


@dataclass(frozen=True, slots=True)
class ProjectGraphRows:
    issues: list[Issue]  # the selected issues and the far ends, by id
    matching: int  # the project's readable issues that pass the filters


async def project_graph_issues(
    conn: Any,
    project_id: int,
    types: tuple[str, ...],
    scope: ReadScope,
    *,
    labels: list[str] | None = None,
    states: list[str] | None = None,
    limit: int | None = None,
) -> ProjectGraphRows:
    """The project's readable issues that carry every one of `labels` (compared in lower
    case; give them lowered) and have one of `states` (None: any), the first `limit` by iid
    (None: all), how many match in all; and the readable issues of other projects one link
    of these types away from those selected. One statement: the bound is applied in it, so
    a project of a million issues reads `limit` rows and counts the rest by index."""
    rows = await conn.fetch(
        f"""
        with matching as (
            select i.id, i.iid from issues i
             where i.project_id = $3 and {readable_issue("i", "$1", "$2")}
               and ($5::text[] is null
                    or array(select lower(x) from unnest(i.labels) x) @> $5::text[])
               and ($6::issue_state[] is null or i.state = any($6::issue_state[]))
        ),
        own as materialized (
            select id from matching order by iid limit $7
        ),
        near as (
            select l.target_id as id from issue_links l join own on own.id = l.source_id
             where l.link_type = any($4::link_type[])
            union
            select l.source_id from issue_links l join own on own.id = l.target_id
             where l.link_type = any($4::link_type[])
        )
        select {ISSUE_COLUMNS}, (select count(*) from matching) as matching from issues i
         where i.id in (select id from own)
            or (i.project_id <> $3 and i.id in (select id from near)
                and {readable_issue("i", "$1", "$2")})
         order by i.id
        """,
        scope.viewer_id,
        scope.admin,
        project_id,
        list(types),
        labels,
        states,
        limit,
    )
    # With `limit` at least 1, no row means no issue matched.
    matching = int(rows[0]["matching"]) if rows else 0
    return ProjectGraphRows(issues=[to_issue(r) for r in rows], matching=matching)


async def hidden_neighbours(
    conn: Any, sets: list[tuple[list[int], tuple[str, ...]]], scope: ReadScope
) -> list[int]:
    """For each (issue ids, stored link types): how many distinct issues the viewer may
    not read are linked by one of those types to one of those issues, either way. One
    statement for all the sets."""
    keys: list[int] = []
    ids: list[int] = []
    types: list[str] = []
    for n, (members, kinds) in enumerate(sets):
        keys.extend([n] * len(members))
        ids.extend(members)
        types.append(",".join(kinds))
    rows = await conn.fetch(
        f"""
        with member(k, id) as (select * from unnest($3::int[], $4::bigint[])),
        kinds(k, types) as (
            select k - 1, string_to_array(t, ',')::link_type[]
              from unnest($5::text[]) with ordinality as u(t, k)
        ),
        other(k, id) as (
            select m.k, l.target_id from member m join kinds using (k)
              join issue_links l on l.source_id = m.id and l.link_type = any(kinds.types)
            union
            select m.k, l.source_id from member m join kinds using (k)
              join issue_links l on l.target_id = m.id and l.link_type = any(kinds.types)
        )
        select o.k, count(*) as hidden from other o join issues i on i.id = o.id
         where not {readable_issue("i", "$1", "$2")}
         group by o.k
        """,
        scope.viewer_id,
        scope.admin,
        keys,
        ids,
        types,
    )
    found = {r["k"]: r["hidden"] for r in rows}
    return [int(found.get(n, 0)) for n in range(len(sets))]
