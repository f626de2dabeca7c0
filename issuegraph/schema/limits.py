"""Limits a query must stay within before it runs (GitLab-like defaults, configurable).

Checked on the parsed document before validation, so an oversized query costs a parse
and a walk of its syntax tree, nothing more: text length, field depth (deeper for
signed-in viewers, as GitLab allows) and aliases. A query over a limit is answered with
one error, code QUERY_TOO_COMPLEX, whose `details` say which limit and by how much.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from graphql import DocumentNode

    from issuegraph.config import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def too_complex(message: str, **details: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": QUERY_TOO_COMPLEX, "details": details})


def query_depth(document: DocumentNode) -> int:
    """The deepest field nesting of any operation, through fragments (each spread once)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def depth(selections: SelectionSetNode | None, seen: frozenset[str]) -> int:
        deepest = 0
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                deepest = max(deepest, 1 + depth(selection.selection_set, seen))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, depth(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:  # cycles are validation's business
                    deepest = max(deepest, depth(fragments[name].selection_set, seen | {name}))
        return deepest

    return max(
        (
            depth(d.selection_set, frozenset())
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        ),
        default=0,
    )


def _fields(document: DocumentNode) -> Iterator[FieldNode]:
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            yield node
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)


def alias_count(document: DocumentNode) -> int:
    return sum(1 for field in _fields(document) if field.alias is not None)


class QueryLimits(SchemaExtension):
    """Rejects a query over the limits of the request's `Settings` before it is validated."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        settings = getattr(execution.context, "settings", None)
        if document is not None and settings is not None:
            error = self._check(execution.query or "", document, execution.context, settings)
            if error is not None:
                # Set before validation runs: Strawberry then skips it and answers with this.
                execution.pre_execution_errors = [error]
        yield

    @staticmethod
    def _check(
        query: str, document: DocumentNode, context: Any, limits: Settings
    ) -> GraphQLError | None:
        if len(query) > limits.max_query_length:
            return too_complex(
                f"The query is {len(query)} characters long; the limit is "
                f"{limits.max_query_length}",
                limit="length",
                length=len(query),
                maxLength=limits.max_query_length,
            )
        viewer = getattr(context, "viewer", None)
        signed_in = viewer is not None and viewer.is_authenticated
        max_depth = limits.max_depth if signed_in else limits.max_depth_anonymous
        depth = query_depth(document)
        if depth > max_depth:
            return too_complex(
                f"The query is {depth} fields deep; the limit is {max_depth}"
                + ("" if signed_in else " for anonymous requests"),
                limit="depth",
                depth=depth,
                maxDepth=max_depth,
            )
        aliases = alias_count(document)
        if aliases > limits.max_aliases:
            return too_complex(
                f"The query uses {aliases} aliases; the limit is {limits.max_aliases}",
                limit="aliases",
                aliases=aliases,
                maxAliases=limits.max_aliases,
            )
        return None
