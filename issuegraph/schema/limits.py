"""Limits a query must stay within before it runs (GitLab-like defaults, configurable).

Text length and lexical tokens are checked before parsing, so an oversized text costs one
pass of the lexer; field depth (deeper for signed-in viewers, as GitLab allows), aliases
and the estimated cost on the parsed document before validation, so an oversized query
costs a parse and walks of its syntax tree, nothing more. A query over a limit is
answered with one error, code QUERY_TOO_COMPLEX, whose `details` say which limit and by
how much. With introspection switched off, a query for `__schema` or `__type` is refused
the same way with code FORBIDDEN.

The cost estimate counts every field once, times the size of each list it sits in: a
paged field (one with `first` or `last`) contributes its page size (the argument's value,
literal or variable, clamped to the field's bounds, else its default), and any other list
of objects PLAIN_LIST_SIZE. Fragments count wherever they are spread, and @skip/@include
are honoured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    VariableNode,
    get_named_type,
)
from graphql.language import Lexer
from strawberry.extensions import SchemaExtension

from issuegraph.domain.export import DEFAULT_FIRST as GRAPH_DEFAULT_FIRST
from issuegraph.domain.export import MAX_FIRST as GRAPH_MAX_FIRST
from issuegraph.domain.graph import MAX_NODES
from issuegraph.schema.errors import RequestErrorCode
from issuegraph.schema.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLField, GraphQLNamedType, ValueNode
    from strawberry import Schema
    from strawberry.schema.base import BaseSchema

    from issuegraph.config import Settings

# How many items a list without paging arguments (Issue.assignees, openBlockers, ...) is
# assumed to hold; lists of scalars (labels) are one field like any other.
PLAIN_LIST_SIZE = 10
PAGE_ARGUMENTS = ("first", "last")
# (default, maximum) page sizes of the paged fields that are not Relay connections of
# 1..MAX_PAGE_SIZE items (DEFAULT_PAGE_SIZE without `first`).
PAGE_BOUNDS: dict[tuple[str, str], tuple[int, int]] = {
    ("Issue", "dependencies"): (MAX_NODES, MAX_NODES),
    ("Project", "graph"): (GRAPH_DEFAULT_FIRST, GRAPH_MAX_FIRST),
}
# The estimate saturates here: a client can read it exactly (JavaScript's largest safe
# integer), and a query built to overflow any sane bound is still just "too costly".
MAX_COST_ESTIMATE = 2**53 - 1
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


def too_complex(message: str, **details: Any) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": RequestErrorCode.QUERY_TOO_COMPLEX.value, "details": details}
    )


def too_many_tokens(query: str, limit: int) -> int | None:
    """The number of lexical tokens in `query` when it is over `limit`, else None.

    Counted as graphql-core's parser counts them for `max_tokens`: comments included, so
    that padding a query with comments is no way around the limit. Text that does not
    lex is left for the parser to report.
    """
    lexer = Lexer(Source(query))
    token = lexer.token
    count = 0
    try:
        while token.kind is not TokenKind.EOF:
            token = lexer.read_next_token(token.end)
            count += token.kind is not TokenKind.EOF
    except GraphQLError:
        pass
    return count if count > limit else None


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def query_depth(document: DocumentNode) -> int:
    """The deepest field nesting of any operation, through fragments.

    Each fragment's depth is computed once: a chain of fragments that each spread the
    next twice would otherwise take exponential time. A fragment cycle is cut where it
    closes (validation rejects it anyway).
    """
    fragments = _fragments(document)
    fragment_depths: dict[str, int] = {}
    return max(
        (
            _depth(d.selection_set, frozenset(), fragments, fragment_depths)
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        ),
        default=0,
    )


def _depth(
    selections: SelectionSetNode | None,
    seen: frozenset[str],
    fragments: dict[str, FragmentDefinitionNode],
    fragment_depths: dict[str, int],
) -> int:
    deepest = 0
    for selection in selections.selections if selections else ():
        if isinstance(selection, FieldNode):
            inner = _depth(selection.selection_set, seen, fragments, fragment_depths)
            deepest = max(deepest, 1 + inner)
        elif isinstance(selection, InlineFragmentNode):
            inner = _depth(selection.selection_set, seen, fragments, fragment_depths)
            deepest = max(deepest, inner)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                if name not in fragment_depths:
                    fragment = fragments[name].selection_set
                    fragment_depths[name] = _depth(
                        fragment, seen | {name}, fragments, fragment_depths
                    )
                deepest = max(deepest, fragment_depths[name])
    return deepest


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


def introspection_fields(document: DocumentNode) -> list[str]:
    """The introspection fields (`__schema`, `__type`) anywhere in the document."""
    return sorted({f.name.value for f in _fields(document) if f.name.value in INTROSPECTION_FIELDS})


def estimate_cost(
    schema: BaseSchema | GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """The estimated cost of running the named operation (see the module's docstring).

    Safe on any parsed document, valid or not: unknown fields cost 1, wrong or missing
    variable values fall back to the defaults, fragment cycles are cut. Without an
    operation name and with several operations, the costliest one counts.
    """
    # A strawberry.Schema keeps graphql-core's schema in `_schema`.
    core = schema if isinstance(schema, GraphQLSchema) else cast("Schema", schema)._schema  # noqa: SLF001
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        named = [op for op in operations if op.name and op.name.value == operation_name]
        operations = named or operations
    return max(
        (
            _CostWalker(core, document, operation, variables).operation_cost()
            for operation in operations
        ),
        default=0,
    )


class _CostWalker:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = _fragments(document)
        self.variables: dict[str, Any] = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
        }
        # A value sent for a variable wins over its literal default; checked where used.
        self.sent = variables if isinstance(variables, Mapping) else {}
        self.fragment_costs: dict[tuple[str, int | None], int] = {}
        self.expanding: set[str] = set()

    def operation_cost(self) -> int:
        root = self.schema.get_root_type(self.operation.operation)
        return self.selections(self.operation.selection_set, root, None)

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, page: int | None
    ) -> int:
        """What a selection set costs once; `page` sizes its list fields (in a connection)."""
        total = 0
        for selection in selection_set.selections:
            if not self.included(selection):
                continue
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, on, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return min(total, MAX_COST_ESTIMATE)

    def fragment(self, name: str, page: int | None) -> int:
        definition = self.fragments.get(name)
        if definition is None or name in self.expanding:  # undefined or a cycle: invalid
            return 0
        key = (name, page)
        if key not in self.fragment_costs:
            self.expanding.add(name)
            on = self.schema.get_type(definition.type_condition.name.value)
            self.fragment_costs[key] = self.selections(definition.selection_set, on, page)
            self.expanding.discard(name)
        return self.fragment_costs[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, page: int | None) -> int:
        if node.selection_set is None:
            return 1
        definition = None
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            definition = parent.fields.get(node.name.value)
        if definition is None:  # unknown (validation will say so) or introspection
            return 1 + self.selections(node.selection_set, None, None)
        field_type = definition.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        child = get_named_type(field_type)
        size = self.page_size(node, definition, parent)
        if not isinstance(field_type, GraphQLList):
            # A connection: its own lists (edges, nodes) hold one page.
            return 1 + self.selections(node.selection_set, child, size)
        items = size or page or PLAIN_LIST_SIZE
        return min(1 + items * self.selections(node.selection_set, child, None), MAX_COST_ESTIMATE)

    def page_size(
        self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType | None
    ) -> int | None:
        """The page size a paged field asks for, within its bounds; None if not paged."""
        names = [name for name in PAGE_ARGUMENTS if name in definition.args]
        if not names:
            return None
        default, maximum = PAGE_BOUNDS.get(
            (parent.name if parent else "", node.name.value), (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        )
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        asked = [self.int_value(given[name]) for name in names if name in given]
        sizes = [value for value in asked if value is not None]
        if not sizes:
            return default
        # Out of range is the resolver's BAD_USER_INPUT, not a cost: clamp to the bounds.
        return min(max(*sizes, 1), maximum)

    def int_value(self, value: ValueNode) -> int | None:
        if isinstance(value, VariableNode):
            name = value.name.value
            sent = self.sent.get(name)
            if type(sent) is int:
                return sent
            default = self.variables.get(name)
            return self.int_value(default) if default is not None else None
        if isinstance(value, IntValueNode):
            try:
                return int(value.value)
            except ValueError:
                return None
        return None

    def included(self, selection: Any) -> bool:
        """False when @skip(if: true) or @include(if: false) leaves the selection out."""
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in {"skip", "include"}:
                continue
            condition = next((a.value for a in directive.arguments if a.name.value == "if"), None)
            value = self.bool_value(condition)
            if value is not None and value == (name == "skip"):
                return False
        return True

    def bool_value(self, value: ValueNode | None) -> bool | None:
        if isinstance(value, VariableNode):
            sent = self.sent.get(value.name.value)
            if isinstance(sent, bool):
                return sent
            return self.bool_value(self.variables.get(value.name.value))
        if isinstance(value, BooleanValueNode):
            return value.value
        return None


@dataclass(frozen=True, slots=True)
class _Measures:
    """What the limits read of a document alone."""

    introspection: list[str]
    depth: int | None  # None: too deep to measure
    aliases: int


def _measure(document: DocumentNode) -> _Measures:
    try:
        depth: int | None = query_depth(document)
    except RecursionError:
        depth = None
    return _Measures(introspection_fields(document), depth, alias_count(document))


def _cost(
    schema: BaseSchema,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> int:
    try:
        return estimate_cost(schema, document, variables, operation_name)
    except RecursionError:
        return MAX_COST_ESTIMATE


# The measures and costs of the query texts lately checked (most requests repeat a few):
# a text always parses to the same document, so what is measured of it stands; emptied
# when full. Keyed by the text, they hold no document.
MEASURES_KEPT = 1024
_MEASURES: dict[str, _Measures] = {}
_COSTS: dict[tuple[str, str | None, tuple[tuple[str, str, Any], ...]], int] = {}
K = TypeVar("K")
T = TypeVar("T")


def _remembered(kept: dict[K, T], key: K, measure: Callable[[], T]) -> T:
    known = kept.get(key)
    if known is not None:
        return known
    value = kept[key] = measure()
    if len(kept) > MEASURES_KEPT:
        kept.clear()
    return value


class QueryLimits(SchemaExtension):
    """Rejects a query over the limits of the request's `Settings` before it is validated."""

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        settings = getattr(execution.context, "settings", None)
        if settings is not None and execution.query is not None:
            error = self.text_refusal(execution.query, settings)
            if error is not None:
                # Raised before parsing: Strawberry answers with this error alone.
                raise error
        yield

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        settings = getattr(execution.context, "settings", None)
        if document is not None and settings is not None and execution.query is not None:
            error = self._check(
                execution.schema,
                execution.query,
                document,
                execution.context,
                settings,
                execution.variables,
                execution.operation_name,
            )
            if error is not None:
                # Set before validation runs: Strawberry then skips it and answers with this.
                execution.pre_execution_errors = [error]
        yield

    @staticmethod
    def text_refusal(query: str, limits: Settings) -> GraphQLError | None:
        """Why a query text is refused before parsing (length, tokens), or None."""
        if len(query) > limits.max_query_length:
            return too_complex(
                f"The query is {len(query)} characters long; the limit is "
                f"{limits.max_query_length}",
                limit="length",
                length=len(query),
                maxLength=limits.max_query_length,
            )
        # A token is at least one character: a text no longer than the limit is within it.
        tokens = None
        if len(query) > limits.max_query_tokens:
            tokens = too_many_tokens(query, limits.max_query_tokens)
        if tokens is not None:
            return too_complex(
                f"The query has {tokens} tokens; the limit is {limits.max_query_tokens}",
                limit="tokens",
                tokens=tokens,
                maxTokens=limits.max_query_tokens,
            )
        return None

    @staticmethod
    def _check(
        schema: BaseSchema,
        query: str,
        document: DocumentNode,
        context: Any,
        limits: Settings,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> GraphQLError | None:
        measures = _remembered(_MEASURES, query, lambda: _measure(document))
        if not limits.introspection:
            asked = measures.introspection
            if asked:
                return GraphQLError(
                    "Introspection is disabled on this server: __schema and __type are not "
                    "answered (__typename is)",
                    extensions={
                        "code": RequestErrorCode.FORBIDDEN.value,
                        "details": {"fields": asked},
                    },
                )
        viewer = getattr(context, "viewer", None)
        signed_in = viewer is not None and viewer.is_authenticated
        max_depth = limits.max_depth if signed_in else limits.max_depth_anonymous
        depth = measures.depth
        if depth is None:  # fragments spread in fragments, thousands of levels
            return too_complex(
                "The query nests fields and fragments too deeply to measure",
                limit="depth",
                maxDepth=max_depth,
            )
        if depth > max_depth:
            return too_complex(
                f"The query is {depth} fields deep; the limit is {max_depth}"
                + ("" if signed_in else " for anonymous requests"),
                limit="depth",
                depth=depth,
                maxDepth=max_depth,
            )
        aliases = measures.aliases
        if aliases > limits.max_aliases:
            return too_complex(
                f"The query uses {aliases} aliases; the limit is {limits.max_aliases}",
                limit="aliases",
                aliases=aliases,
                maxAliases=limits.max_aliases,
            )
        # The cost reads the integer and boolean variables (page sizes, @skip/@include).
        sent = variables if isinstance(variables, Mapping) else {}
        read = tuple(
            sorted((k, type(v).__name__, v) for k, v in sent.items() if type(v) in {int, bool})
        )
        cost = _remembered(
            _COSTS,
            (query, operation_name, read),
            lambda: _cost(schema, document, variables, operation_name),
        )
        if cost > limits.max_query_cost:
            return too_complex(
                f"The query's estimated cost is {cost}; the limit is {limits.max_query_cost}",
                limit="cost",
                cost=cost,
                maxCost=limits.max_query_cost,
            )
        return None
