"""Notes (comments) of issues: pages and counts, batched over the issues of a list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from issuegraph.db.queries import notes as note_queries
from issuegraph.loaders.core import RequestLoader, by_shape

if TYPE_CHECKING:
    from issuegraph.models import Note

# (issue id, the note the page starts after or None, page size asked)
NotePageKey = tuple[int, int | None, int]


class NotePageByIssueLoader(RequestLoader[NotePageKey, "list[Note]"]):
    """One statement per distinct (cursor, page size), paged per issue in SQL."""

    async def batch(self, keys: list[NotePageKey]) -> list[list[Note]]:
        pages: dict[NotePageKey, list[Note]] = {}
        for (after, limit), issue_ids in by_shape(keys).items():
            found = await note_queries.notes_pages(self.pool, sorted(issue_ids), after, limit)
            for issue_id in issue_ids:
                pages[(issue_id, after, limit)] = found.get(issue_id, [])
        return [pages[key] for key in keys]


class NoteCountByIssueLoader(RequestLoader[int, int]):
    async def batch(self, keys: list[int]) -> list[int]:
        found = await note_queries.note_counts(self.pool, keys)
        return [found.get(i, 0) for i in keys]
