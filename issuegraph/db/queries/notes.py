"""Notes: comments on issues, listed oldest first."""

from __future__ import annotations

from typing import Any

from issuegraph.models import Note

_COLUMNS = "n.id, n.issue_id, n.author_id, n.body, n.created_at, n.updated_at"


def _note(row: Any) -> Note:
    return Note(
        id=row["id"],
        issue_id=row["issue_id"],
        author_id=row["author_id"],
        body=row["body"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def insert_notes(conn: Any, issue_ids: list[int], bodies: list[str], author_id: int) -> None:
    await conn.execute(
        """
        insert into notes (issue_id, body, author_id)
        select i, b, $3 from unnest($1::bigint[], $2::text[]) as n(i, b)
        """,
        issue_ids,
        bodies,
        author_id,
    )


async def notes_pages(
    conn: Any, issue_ids: list[int], after_id: int | None, limit: int
) -> dict[int, list[Note]]:
    """A page of each issue's notes (oldest first, after the note `after_id`), paged per
    issue in one statement."""
    rows = await conn.fetch(
        f"""
        select * from (
            select {_COLUMNS},
                   row_number() over (partition by n.issue_id order by n.id) as n_in_issue
              from notes n
             where n.issue_id = any($1::bigint[]) and ($2::bigint is null or n.id > $2)
        ) ranked
        where n_in_issue <= $3
        order by issue_id, id
        """,
        issue_ids,
        after_id,
        limit,
    )
    pages: dict[int, list[Note]] = {}
    for row in rows:
        pages.setdefault(row["issue_id"], []).append(_note(row))
    return pages


async def note_counts(conn: Any, issue_ids: list[int]) -> dict[int, int]:
    rows = await conn.fetch(
        """
        select issue_id, count(*) as n from notes
        where issue_id = any($1::bigint[]) group by issue_id
        """,
        issue_ids,
    )
    return {r["issue_id"]: r["n"] for r in rows}
