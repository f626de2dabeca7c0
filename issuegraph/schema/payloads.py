"""What every mutation payload carries: `errors`, a rule violation each, as data."""

from __future__ import annotations

from typing import Self, cast

import strawberry
from strawberry.scalars import JSON

from issuegraph.domain.errors import DomainError, ErrorCode


@strawberry.type(description="A rule violation of a mutation, returned as data.")
class UserError:
    code: ErrorCode
    message: str
    path: list[str] | None = strawberry.field(
        description='Path to the offending input field, e.g. ["input", "title"].'
    )
    details: JSON | None = None

    @classmethod
    def from_domain(cls, error: DomainError) -> Self:
        return cls(
            code=error.code,
            message=error.message,
            path=["input", *map(str, error.path)] if error.path is not None else None,
            details=cast("JSON", error.details),
        )
