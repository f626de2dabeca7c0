"""How errors look on the wire: every one coded, with the request id, unexpected ones masked."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from issuegraph.domain.errors import DomainError, ErrorCode

INTERNAL_MESSAGE = "Internal server error"


def is_expected(error: GraphQLError) -> bool:
    """True unless the error comes from an exception no rule raised on purpose."""
    original = error.original_error
    return original is None or isinstance(original, (DomainError, GraphQLError))


def error_code(error: GraphQLError) -> str:
    if error.extensions and isinstance(error.extensions.get("code"), str):
        return str(error.extensions["code"])
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code.value
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if original is not None and not isinstance(original, GraphQLError):
        return ErrorCode.INTERNAL.value
    # Without a path the document failed validation, unless a variable's value did.
    if error.path is None and not error.message.startswith("Variable "):
        return "GRAPHQL_VALIDATION_FAILED"
    return ErrorCode.BAD_USER_INPUT.value


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    code = error_code(error)
    original = error.original_error
    formatted: dict[str, Any] = {
        "message": INTERNAL_MESSAGE if code == ErrorCode.INTERNAL.value else error.message
    }
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


def error_body(code: ErrorCode | str, message: str, request_id: str) -> dict[str, Any]:
    """A GraphQL-shaped body for failures that happen before execution."""
    return {
        "errors": [{"message": message, "extensions": {"code": str(code), "requestId": request_id}}]
    }
