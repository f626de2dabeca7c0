"""How errors look on the wire: every one coded, with the request id, unexpected ones masked."""

from __future__ import annotations

import enum
from typing import Any

import asyncpg
from graphql import GraphQLError, GraphQLSyntaxError

from issuegraph.domain.errors import DomainError, UnauthenticatedError


class RequestErrorCode(enum.StrEnum):
    """`extensions.code` of an error that is no rule's verdict: the request's or the server's.

    The response's `errors` carry these, or for a query field that a rule refuses the
    rule's `ErrorCode` (which is also a mutation's `UserError.code`, and the schema's
    enum). These are not in the schema: no field returns them.
    """

    # The document, its variables and the parameters.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # A variable's or parameter's value, a body that is not a JSON object, no such operation.
    BAD_USER_INPUT = "BAD_USER_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    # Introspection asked for while it is switched off.
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    # HTTP: the method, Accept, the body's size and type.
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    # The server: out of time, the database gone, a bug.
    TIMEOUT = "TIMEOUT"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INTERNAL = "INTERNAL"


INTERNAL_MESSAGE = "Internal server error"
# What a client reads for a failure of the infrastructure; the cause (PostgreSQL's own
# message, perhaps naming a table or a statement) goes to the log only.
TIMEOUT_MESSAGE = "The request took too long and was cancelled"
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly"
_MASKED = {
    RequestErrorCode.INTERNAL.value: INTERNAL_MESSAGE,
    RequestErrorCode.TIMEOUT.value: TIMEOUT_MESSAGE,
    RequestErrorCode.DATABASE_UNAVAILABLE.value: DATABASE_UNAVAILABLE_MESSAGE,
}
# Exceptions raised on purpose, whose message is for the client.
_DELIBERATE = (DomainError, UnauthenticatedError, GraphQLError)

# The server is down, starting, shutting down, out of connection slots, or the connection
# died (PostgreSQL's classes 08 and 57 but a cancelled statement, and 53300); OSError
# covers a refused or timed-out reconnect.
_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    OSError,
)


def _connection_lost(exception: BaseException) -> bool:
    # asyncpg's words for a pooled connection that died under a caller: closed, or
    # terminated by the pool (a server shutting down) while a statement was in flight.
    return (
        isinstance(exception, asyncpg.InterfaceError) and "connection is closed" in str(exception)
    ) or (
        isinstance(exception, asyncpg.InternalClientError)
        and "cannot switch to state" in str(exception)
    )


def operational_code(exception: BaseException | None) -> RequestErrorCode | None:
    """TIMEOUT or DATABASE_UNAVAILABLE when the infrastructure, not the request, failed."""
    seen = 0
    while exception is not None and seen < 4:  # noqa: PLR2004  (a short chain of causes)
        if isinstance(exception, asyncpg.QueryCanceledError):
            return RequestErrorCode.TIMEOUT
        if isinstance(exception, _UNAVAILABLE) or _connection_lost(exception):
            return RequestErrorCode.DATABASE_UNAVAILABLE
        exception = exception.__cause__
        seen += 1
    return None


def is_expected(error: GraphQLError) -> bool:
    """True unless the error comes from an exception no rule raised on purpose.

    A timeout or a database outage is expected too: the view logs it, without a traceback.
    """
    original = error.original_error
    return (
        original is None
        or isinstance(original, _DELIBERATE)
        or operational_code(original) is not None
    )


def error_code(error: GraphQLError) -> str:
    if error.extensions and isinstance(error.extensions.get("code"), str):
        return str(error.extensions["code"])
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return _exception_code(original)
    if isinstance(error, GraphQLSyntaxError):
        return RequestErrorCode.GRAPHQL_PARSE_FAILED.value
    # Without a path the document failed validation, unless a variable's value did.
    if error.path is None and not error.message.startswith("Variable "):
        return RequestErrorCode.GRAPHQL_VALIDATION_FAILED.value
    return RequestErrorCode.BAD_USER_INPUT.value


def _exception_code(exception: Exception) -> str:
    """The code of what a resolver raised: a rule's, a 401's, the infrastructure's, else
    INTERNAL."""
    if isinstance(exception, DomainError):
        return exception.code.value
    if isinstance(exception, UnauthenticatedError):
        return RequestErrorCode.UNAUTHENTICATED.value
    return (operational_code(exception) or RequestErrorCode.INTERNAL).value


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    code = error_code(error)
    original = error.original_error
    # Whatever an unexpected exception says stays in the log (stack, SQL, hidden titles).
    unexpected = original is not None and not isinstance(original, _DELIBERATE)
    masked = code == RequestErrorCode.INTERNAL.value or (unexpected and code in _MASKED)
    formatted: dict[str, Any] = {"message": _MASKED[code] if masked else error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path is not None:
        formatted["path"] = error.path
    extensions: dict[str, Any] = {"code": code, "requestId": request_id}
    if isinstance(original, DomainError):
        if original.path is not None:
            extensions["argumentPath"] = original.path
        if original.details:
            extensions["details"] = original.details
    elif error.extensions and error.extensions.get("details"):
        extensions["details"] = error.extensions["details"]
    formatted["extensions"] = extensions
    return formatted


def error_body(
    code: str, message: str, request_id: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A GraphQL-shaped body for failures that happen before (or instead of) execution."""
    extensions: dict[str, Any] = {"code": str(code), "requestId": request_id}
    if details:
        extensions["details"] = details
    return {"errors": [{"message": message, "extensions": extensions}]}
