"""Error codes and the exceptions that carry them to the transport."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any


class ErrorCode(enum.StrEnum):
    """Why a rule said no: a mutation's `UserError.code` (the schema's ErrorCode enum).

    A query field that a rule refuses is an error with the same code. The codes of a
    request that fails as a whole (UNAUTHENTICATED, TIMEOUT, GRAPHQL_PARSE_FAILED ...) are
    `issuegraph.schema.errors.RequestErrorCode`, which the schema does not show.
    """

    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    CYCLE = "CYCLE"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


class DomainError(Exception):
    """A rule said no. Mutations return it as data; queries raise it as a coded error."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        path: Sequence[str | int] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = list(path) if path is not None else None
        self.details = details


class UnauthenticatedError(Exception):
    """No valid credentials where they are needed: the request fails as a whole.

    Never a rule's verdict (no mutation returns it as data): the transport answers HTTP
    401 with one error coded UNAUTHENTICATED.
    """

    def __init__(self, message: str = "Authentication required") -> None:
        super().__init__(message)
        self.message = message


def not_found(what: str, path: Sequence[str | int] | None = None) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found", path=path)


def forbidden(message: str, path: Sequence[str | int] | None = None) -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message, path=path)


def bad_input(message: str, path: Sequence[str | int] | None = None, **details: Any) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, message, path=path, details=details or None)


class RuleViolationsError(Exception):
    """Several rules said no at once (e.g. items of a bulk request); all are reported."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def raise_if_any(errors: Sequence[DomainError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise RuleViolationsError(errors)
