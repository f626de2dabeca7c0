"""Reads for exporting a project's dependency graph (`issuegraph graph`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from issuegraph.db.queries.issues import COLUMNS as ISSUE_COLUMNS
from issuegraph.db.queries.issues import to_issue
from issuegraph.db.queries.visibility import readable_issue

if TYPE_CHECKING:
    from issuegraph.models import Issue, ReadScope


async def project_graph_issues(
    conn: Any, project_id: int, types: tuple[str, ...], scope: ReadScope
) -> list[Issue]:
    """A project's readable issues (every state), and the readable issues of other projects
    one link of these types away from them, by id."""
    rows = await conn.fetch(
        f"""
        with own as (
            select i.id from issues i
             where i.project_id = $3 and {readable_issue("i", "$1", "$2")}
        ),
        near as (
            select l.target_id as id from issue_links l join own on own.id = l.source_id
             where l.link_type = any($4::link_type[])
            union
            select l.source_id from issue_links l join own on own.id = l.target_id
             where l.link_type = any($4::link_type[])
        )
        select {ISSUE_COLUMNS} from issues i
         where i.id in (select id from own)
            or (i.project_id <> $3 and i.id in (select id from near)
                and {readable_issue("i", "$1", "$2")})
         order by i.id
        """,
        scope.viewer_id,
        scope.admin,
        project_id,
        list(types),
    )
    return [to_issue(r) for r in rows]
