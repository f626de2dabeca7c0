"""A faster executor: plain leaf fields are completed without the generic per-field path.

graphql-core resolves every field the same way: a `Path`, a `GraphQLResolveInfo`, the
resolver (behind Strawberry's wrapper), an awaitable check, then `complete_value`'s chain
of type tests. For a data-heavy result most fields need none of it: they read one
attribute of an object that is already in memory and serialise it as a scalar or enum.

`FastExecutor.execute_fields` completes those fields directly:

- a *basic* Strawberry field (no resolver, no field extension, no arguments, no
  exception handler) of a scalar or enum type, or a list of them: the attribute,
  serialised by the same `coerce_output_value` that `complete_leaf_value` calls;
- `__typename`: the parent type's name;
- a relay `Node`'s `id`, when the type keeps relay's own `resolve_id`: the
  `GlobalID` of the parent type's name and the node id, serialised by the `ID` scalar.

Anything unusual on the way (a null for a non-null type, a value the scalar refuses, a
source that is not the expected class) sends that field down graphql-core's own path,
which raises the error with its exact message, path and null propagation. Every other
field (resolvers, objects, abstract types) takes that path too. Field order, aliases,
directives and fragments are untouched: they are decided by `collect_fields`, before
this method runs. `tests/test_execution.py` compares the two executors byte for byte.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.relay import GlobalID, Node
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

if TYPE_CHECKING:
    from graphql import GraphQLField, GraphQLLeafType, GraphQLOutputType
    from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
    from graphql.pyutils import AwaitableOrValue

# What a fast completer answers when the field must take graphql-core's path instead.
SLOW: Final = object()

Completer = Callable[[Any], Any]


def _leaf(leaf: GraphQLLeafType, *, non_null: bool) -> Callable[[Any], Any]:
    coerce = leaf.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None:
            return SLOW if non_null else None
        try:
            coerced = coerce(value)
        except Exception:  # noqa: BLE001  (graphql-core's path raises it, located)
            return SLOW
        return SLOW if coerced is None or coerced is Undefined else coerced

    return complete


def _value_completer(output: GraphQLOutputType) -> Callable[[Any], Any] | None:
    """Completes an in-memory value of a leaf type or a list of them; None for others."""
    non_null = isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    if is_leaf_type(inner):
        return _leaf(inner, non_null=non_null)
    if not isinstance(inner, GraphQLList):
        return None
    item = _value_completer(inner.of_type)
    if item is None or isinstance(inner.of_type, GraphQLList):
        return None

    def complete_list(value: Any) -> Any:
        if value is None:
            return SLOW if non_null else None
        if not isinstance(value, (list, tuple)):
            return SLOW
        completed = [item(v) for v in value]
        return SLOW if any(c is SLOW for c in completed) else completed

    return complete_list


def _basic_field(field: GraphQLField) -> Completer | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field.resolve
    if (
        definition is None
        or field.args
        or not getattr(definition, "is_basic_field", False)
        # Strawberry's resolver for a basic field, not one wrapping a handler or extension
        or getattr(resolve, "__name__", "") != "_get_basic_result"
    ):
        return None
    get = definition.default_resolver
    name = definition.python_name
    output = field.type
    non_null = isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    if is_leaf_type(inner):
        # The common case in one step: read, check for null, coerce.
        coerce = inner.coerce_output_value

        def read_leaf(source: Any) -> Any:
            try:
                value = get(source, name)
                if value is None:
                    return SLOW if non_null else None
                coerced = coerce(value)
            except Exception:  # noqa: BLE001  (graphql-core's path raises it, located)
                return SLOW
            return SLOW if coerced is None or coerced is Undefined else coerced

        return read_leaf
    complete = _value_completer(output)
    if complete is None:
        return None

    def read(source: Any) -> Any:
        try:
            value = get(source, name)
        except Exception:  # noqa: BLE001  (graphql-core's path raises it, located)
            return SLOW
        return complete(value)

    return read


def _relay_id(parent_type: GraphQLObjectType, field: GraphQLField) -> Completer | None:
    type_definition = (parent_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(type_definition, "origin", None)
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(origin, type)
        or not issubclass(origin, Node)
        or getattr(definition, "python_name", None) != "_id"
        or definition.extensions  # type: ignore[union-attr]
        or origin.resolve_id.__func__ is not Node.resolve_id.__func__  # type: ignore[attr-defined]
        or origin.resolve_typename.__func__ is not Node.resolve_typename.__func__  # type: ignore[attr-defined]
        or not isinstance(field.type, GraphQLNonNull)
    ):
        return None
    id_scalar = field.type.of_type
    if not is_leaf_type(id_scalar):
        return None
    serialize = id_scalar.coerce_output_value
    attribute = origin.resolve_id_attr()
    type_name = parent_type.name

    def read(source: Any) -> Any:
        if type(source) is not origin:
            return SLOW
        node_id = getattr(source, attribute, None)
        if node_id is None:
            return SLOW
        return serialize(GlobalID(type_name=type_name, node_id=str(node_id)))

    return read


def _typename(parent_type: GraphQLObjectType) -> Completer:
    name = parent_type.name
    return lambda _source: name


@dataclass(frozen=True, slots=True)
class ObjectShape:
    """An output type that is an object type, or a list of one object type."""

    field_type: GraphQLOutputType
    object_type: GraphQLObjectType
    non_null: bool
    # None for a single object; else whether the list's items are non-null
    non_null_items: bool | None


def _object_shape(output: GraphQLOutputType) -> ObjectShape | None:
    non_null = isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    non_null_items: bool | None = None
    if isinstance(inner, GraphQLList):
        non_null_items = isinstance(inner.of_type, GraphQLNonNull)
        inner = (
            inner.of_type.of_type if isinstance(inner.of_type, GraphQLNonNull) else inner.of_type
        )
    if not isinstance(inner, GraphQLObjectType) or not _plain_type_check(inner):
        return None
    return ObjectShape(output, inner, non_null, non_null_items)


@dataclass(frozen=True, slots=True)
class ObjectField:
    """A basic field whose value is an object, or a list of objects, of one object type."""

    read: Callable[[Any], Any]
    shape: ObjectShape


def _object_field(field: GraphQLField) -> ObjectField | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        definition is None
        or field.args
        or not getattr(definition, "is_basic_field", False)
        or getattr(field.resolve, "__name__", "") != "_get_basic_result"
    ):
        return None
    shape = _object_shape(field.type)
    if shape is None:
        return None
    get = definition.default_resolver
    name = definition.python_name

    def read(source: Any) -> Any:
        try:
            return get(source, name)
        except Exception:  # noqa: BLE001  (graphql-core's path raises it, located)
            return SLOW

    return ObjectField(read, shape)


IN_PLACE = "__issuegraph_in_place__"
R = TypeVar("R", bound=Callable[..., Any])


def in_place(resolver: R) -> R:
    """Marks a resolver that reads nothing of `info` but `info.context`.

    `FastExecutor` calls such a resolver directly, with a stand-in that has only
    `context`, instead of through graphql-core's and Strawberry's per-field machinery.
    A marked resolver that touches anything else of `info` fails with AttributeError.
    """
    setattr(resolver, IN_PLACE, True)
    return resolver


class ContextOnly:
    """What an `in_place` resolver gets as its `info`."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


@dataclass(frozen=True, slots=True)
class ResolvedField:
    """A field with an `in_place` resolver, no arguments and no field extensions."""

    field: GraphQLField
    resolve: Callable[[Any, ContextOnly], Any]
    leaf: Callable[[Any], Any] | None
    shape: ObjectShape | None


def _resolved_field(field: GraphQLField) -> ResolvedField | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    base = getattr(definition, "base_resolver", None)
    function = getattr(base, "wrapped_func", None)
    if (
        function is None
        or not getattr(function, IN_PLACE, False)
        or field.args
        or definition.extensions  # type: ignore[union-attr]
        or getattr(field.resolve, "__name__", "") != "_resolver"  # sync, no error handlers
    ):
        return None

    def resolve(source: Any, info: ContextOnly) -> Any:
        return function(source, info=info)

    return ResolvedField(field, resolve, _value_completer(field.type), _object_shape(field.type))


def _plain_type_check(object_type: GraphQLObjectType) -> bool:
    """True when the type's `is_type_of` (if any) is Strawberry's, which ignores `info`."""
    is_type_of = object_type.is_type_of
    return is_type_of is None or getattr(is_type_of, "__qualname__", "").startswith(
        "GraphQLCoreConverter."
    )


Plan = Completer | ObjectField | ResolvedField


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with plain fields completed in place (see the module)."""

    # Plans by (parent type, field name); None sends the field down the generic path.
    # Bounded by the schema: one entry per field of an object type at most.
    _plans: ClassVar[dict[tuple[GraphQLObjectType, str], Plan | None]] = {}

    def _plan(self, parent_type: GraphQLObjectType, field_name: str) -> Plan | None:
        key = (parent_type, field_name)
        try:
            return self._plans[key]
        except KeyError:
            pass
        plan: Plan | None = None
        if field_name == "__typename":
            plan = _typename(parent_type)
        else:
            field = parent_type.fields.get(field_name)
            if field is not None:
                plan = (
                    _basic_field(field)
                    or _relay_id(parent_type, field)
                    or _object_field(field)
                    or _resolved_field(field)
                )
        self._plans[key] = plan
        return plan

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each grouped field set (one per selection and type, memoised by graphql-core for
        # the whole request) with the plans of its fields, looked up once per request.
        self._compiled: dict[int, tuple[GroupedFieldSet, list[tuple[str, Any, Plan | None]]]]
        self._compiled = {}

    def _compile(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[tuple[str, Any, Plan | None]]:
        compiled = self._compiled.get(id(grouped_field_set))
        if compiled is not None and compiled[0] is grouped_field_set:
            return compiled[1]
        entries = [
            (name, details, self._plan(parent_type, details[0].node.name.value))
            for name, details in grouped_field_set.items()
        ]
        # The set is kept with its plans, so its id cannot be reused while they are cached.
        self._compiled[id(grouped_field_set)] = (grouped_field_set, entries)
        return entries

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        middleware = self.middleware_manager
        if (middleware is not None and middleware.middlewares) or position_context is not None:
            # A resolve hook must see every field; deferred delivery is graphql-core's.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        # graphql-core's loop, with the fast completions tried first.
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, details, plan in self._compile(parent_type, grouped_field_set):
                result = (
                    SLOW
                    if plan is None
                    else self._complete_fast(
                        plan, parent_type, source_value, path, response_name, details
                    )
                )
                if result is SLOW:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        details,
                        Path(path, response_name, parent_type.name),
                        None,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _settled(results, awaitable_fields)

    def _complete_fast(
        self,
        plan: Plan,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        response_name: str,
        field_details_list: FieldDetailsList,
    ) -> Any:
        if isinstance(plan, ObjectField):
            value = plan.read(source)
            if value is SLOW:
                return SLOW
            field_path = Path(path, response_name, parent_type.name)
            return self._complete_shape(plan.shape, value, field_path, field_details_list)
        if isinstance(plan, ResolvedField):
            return self._complete_resolved(
                plan,
                parent_type,
                source,
                Path(path, response_name, parent_type.name),
                field_details_list,
            )
        return plan(source)

    def _complete_resolved(
        self,
        plan: ResolvedField,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """graphql-core's `execute_field` for an `in_place` resolver, in fewer steps.

        The resolver runs once, here; what it returns is completed in place when it can
        be, else by graphql-core's `complete_value` or `complete_awaitable_value`.
        """
        return_type = plan.field.type
        try:
            result = plan.resolve(source, ContextOnly(self.context_value))
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type,
                    field_details_list,
                    self._info(plan, parent_type, path, field_details_list),
                    path,
                    result,
                    None,
                )
            completed = SLOW
            if plan.leaf is not None:
                completed = plan.leaf(result)
            elif plan.shape is not None:
                completed = self._complete_shape(plan.shape, result, path, field_details_list)
            if completed is SLOW:
                completed = self.complete_value(
                    return_type,
                    field_details_list,
                    self._info(plan, parent_type, path, field_details_list),
                    path,
                    result,
                    None,
                )
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, return_type, field_details_list, path)
        return completed

    def _info(
        self,
        plan: ResolvedField,
        parent_type: GraphQLObjectType,
        path: Path,
        field_details_list: FieldDetailsList,
    ) -> Any:
        nodes = [details.node for details in field_details_list]
        return self.build_resolve_info(plan.field, nodes, parent_type, path)

    def _complete_shape(
        self,
        shape: ObjectShape,
        value: Any,
        path: Path,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The completed value of an object (list) field, or SLOW.

        SLOW is answered only before anything ran, so graphql-core's path can take the
        value over from scratch. Once sub-fields run, errors are handled as its
        `execute_field` and `complete_list_item_value` handle them.
        """
        if value is None:
            return SLOW if shape.non_null else None
        if not _acceptable(shape, value):
            return SLOW
        grouped, defer_usages, _forbidden = self.collect_subfields(
            shape.object_type, field_details_list
        )
        if defer_usages:
            return SLOW
        completed: AwaitableOrValue[dict[str, Any] | list[Any]]
        try:
            if shape.non_null_items is None:
                completed = self.execute_fields(shape.object_type, value, path, grouped, None)
            else:
                completed = self._complete_items(shape, value, path, grouped, field_details_list)
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            self.handle_field_error(raw_error, shape.field_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, shape.field_type, field_details_list, path)
        return completed

    def _complete_items(
        self,
        shape: ObjectShape,
        items: Sequence[Any],
        path: Path,
        grouped: GroupedFieldSet,
        field_details_list: FieldDetailsList,
    ) -> AwaitableOrValue[list[Any]]:
        item_type: GraphQLOutputType = (
            GraphQLNonNull(shape.object_type) if shape.non_null_items else shape.object_type
        )
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                value = self._complete_item(
                    shape, item, item_type, path.add_key(index, None), grouped, field_details_list
                )
                completed.append(value)
                if self.is_awaitable(value):
                    awaitable_indices.append(index)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return _settled(completed, awaitable_indices)

    def _complete_item(
        self,
        shape: ObjectShape,
        item: Any,
        item_type: GraphQLOutputType,
        item_path: Path,
        grouped: GroupedFieldSet,
        field_details_list: FieldDetailsList,
    ) -> Any:
        if item is None:  # allowed: `_acceptable` checked the list
            return None
        try:
            value = self.execute_fields(shape.object_type, item, item_path, grouped, None)
        except Exception as raw_error:  # noqa: BLE001  (as complete_list_item_value)
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            return None
        if self.is_awaitable(value):
            return self._await_completed(value, item_type, field_details_list, item_path)
        return value

    async def _await_completed(
        self,
        value: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await value
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's await_completed)
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


def _acceptable(shape: ObjectShape, value: Any) -> bool:
    """Whether graphql-core would complete `value` without an error of its own."""
    # Strawberry's `is_type_of` ignores its `info` (checked by `_plain_type_check`).
    is_type_of: Any = shape.object_type.is_type_of
    if shape.non_null_items is None:
        return is_type_of is None or bool(is_type_of(value, None))
    if not isinstance(value, (list, tuple)):
        return False
    return all(
        not shape.non_null_items
        if item is None
        else (is_type_of is None or bool(is_type_of(item, None)))
        for item in value
    )


async def _settled(container: Any, keys: Sequence[Any]) -> Any:
    """`container` with the awaitables at `keys` replaced by their values, awaited at once."""
    if len(keys) == 1:
        container[keys[0]] = await container[keys[0]]
    else:
        awaited = await gather_with_cancel(*(container[k] for k in keys))
        for key, value in zip(keys, awaited, strict=True):
            container[key] = value
    return container
