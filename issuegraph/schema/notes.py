"""Note: a comment on an issue, and its connection."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self

import strawberry

from issuegraph.context import Info
from issuegraph.schema.pagination import Connection
from issuegraph.schema.users import User, load_user

if TYPE_CHECKING:
    from issuegraph import models


@strawberry.type(description="A comment on an issue.")
class Note:
    database_id: int
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime
    author_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, note: models.Note) -> Self:
        return cls(
            database_id=note.id,
            body=note.body,
            created_at=note.created_at,
            updated_at=note.updated_at,
            author_id=note.author_id,
        )

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        return await load_user(info, self.author_id)


@strawberry.type
class NoteConnection(Connection[Note]):
    pass
