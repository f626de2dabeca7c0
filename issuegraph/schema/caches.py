"""Parse and validate each distinct query once: most requests repeat a few query texts.

The caches are bounded LRU maps shared by all requests, keyed by the query text (and
what else changes the answer), never by anything of the viewer's. graphql-core never
changes a document it executes, so one parsed document serves every request with that
text. `QueryLimits` runs before the validation cache, so a query over a limit is turned
away before it is validated, cached or not.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, get_operation_ast, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from issuegraph.context import Context
from issuegraph.schema.limits import QueryLimits

if TYPE_CHECKING:
    from collections.abc import Iterator

    from graphql import ASTValidationRule, DocumentNode, GraphQLSchema

    from issuegraph.config import Settings

# Distinct query texts remembered; a parsed document of the largest query allowed
# (10,000 characters) takes well under a megabyte.
MAX_DOCUMENTS = 512


@lru_cache(maxsize=MAX_DOCUMENTS)
def _parse(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    # A text that does not parse raises, and lru_cache keeps nothing for it.
    return parse(query, **dict(options))


def operation_of(
    query: str, operation_name: str | None, settings: Settings
) -> OperationType | None:
    """The type of the operation a request runs (query, mutation, subscription), or None
    when it will be refused before running: over a text limit, not parsing, no such
    operation. The parse lands in the cache that execution reads from."""
    if QueryLimits.text_refusal(query, settings) is not None:
        return None
    try:
        document = _parse(query, ())  # Strawberry's parse options by default: none
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return None if operation is None else operation.operation


@lru_cache(maxsize=MAX_DOCUMENTS)
def _validate(
    schema: GraphQLSchema,
    query: str,
    options: tuple[tuple[str, Any], ...],
    rules: tuple[type[ASTValidationRule], ...],
) -> tuple[GraphQLError, ...]:
    return tuple(validate_document(schema, _parse(query, options), rules))


class DocumentCache(SchemaExtension):
    """Strawberry's parse and validation steps, answered from the caches above."""

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.query is not None and execution.graphql_document is None:
            options = tuple(sorted(execution.parse_options.items()))
            execution.graphql_document = _parse(execution.query, options)
        if execution.graphql_document is not None and isinstance(execution.context, Context):
            execution.context.operation_name = execution.operation_name
        yield

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        # Left alone when an earlier extension has refused the query already.
        if (
            execution.pre_execution_errors is None
            and execution.query is not None
            and execution.validation_rules
        ):
            options = tuple(sorted(execution.parse_options.items()))
            errors = _validate(
                execution.schema._schema,  # noqa: SLF001  (Strawberry's own cache reads it so)
                execution.query,
                options,
                tuple(execution.validation_rules),
            )
            execution.pre_execution_errors = list(errors) or _unnamed_choice(execution)
        yield


def _unnamed_choice(execution: Any) -> list[GraphQLError]:
    """A document of several operations names the one to run (GraphQL's GetOperation).

    Strawberry would run the first; the specification makes it a request error.
    """
    document = execution.graphql_document
    # `operation_name` falls back to the first operation's; what the client sent is this:
    if execution._provided_operation_name is not None or document is None:  # noqa: SLF001
        return []
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if operations < 2:  # noqa: PLR2004  (one operation needs no name)
        return []
    return [GraphQLError("Must provide operation name if query contains multiple operations.")]
