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
from typing import TYPE_CHECKING, Any, ClassVar, Final

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
    complete = _value_completer(field.type)
    if complete is None:
        return None
    get = definition.default_resolver
    name = definition.python_name

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
class ObjectField:
    """A basic field whose value is an object, or a list of objects, of one object type."""

    read: Callable[[Any], Any]
    field_type: GraphQLOutputType
    object_type: GraphQLObjectType
    non_null: bool
    # None for a single object; else whether the list's items are non-null
    non_null_items: bool | None


def _object_field(field: GraphQLField) -> ObjectField | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        definition is None
        or field.args
        or not getattr(definition, "is_basic_field", False)
        or getattr(field.resolve, "__name__", "") != "_get_basic_result"
    ):
        return None
    output = field.type
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
    get = definition.default_resolver
    name = definition.python_name

    def read(source: Any) -> Any:
        try:
            return get(source, name)
        except Exception:  # noqa: BLE001  (graphql-core's path raises it, located)
            return SLOW

    return ObjectField(read, field.type, inner, non_null, non_null_items)


def _plain_type_check(object_type: GraphQLObjectType) -> bool:
    """True when the type's `is_type_of` (if any) is Strawberry's, which ignores `info`."""
    is_type_of = object_type.is_type_of
    return is_type_of is None or getattr(is_type_of, "__qualname__", "").startswith(
        "GraphQLCoreConverter."
    )


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with plain fields completed in place (see the module)."""

    # Plans by (parent type, field name): a leaf completer, an object field, or None for
    # the generic path. Bounded by the schema: one entry per field of an object type.
    _plans: ClassVar[dict[tuple[GraphQLObjectType, str], Completer | ObjectField | None]] = {}

    def _plan(
        self, parent_type: GraphQLObjectType, field_name: str
    ) -> Completer | ObjectField | None:
        key = (parent_type, field_name)
        try:
            return self._plans[key]
        except KeyError:
            pass
        plan: Completer | ObjectField | None = None
        if field_name == "__typename":
            plan = _typename(parent_type)
        else:
            field = parent_type.fields.get(field_name)
            if field is not None:
                plan = _basic_field(field) or _relay_id(parent_type, field) or _object_field(field)
        self._plans[key] = plan
        return plan

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
            for response_name, field_details_list in grouped_field_set.items():
                result = self._complete_fast(
                    parent_type, source_value, path, response_name, field_details_list
                )
                if result is SLOW:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
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
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        response_name: str,
        field_details_list: FieldDetailsList,
    ) -> Any:
        plan = self._plan(parent_type, field_details_list[0].node.name.value)
        if plan is None:
            return SLOW
        if isinstance(plan, ObjectField):
            return self._complete_object_field(
                plan, parent_type, source, path, response_name, field_details_list
            )
        return plan(source)

    def _complete_object_field(
        self,
        plan: ObjectField,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        response_name: str,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The completed value of a basic object (list) field, or SLOW.

        SLOW is answered only before anything ran, so graphql-core's path can take the
        field over from scratch. Once sub-fields run, errors are handled as its
        `execute_field` and `complete_list_item_value` handle them.
        """
        value = plan.read(source)
        if value is None:
            return SLOW if plan.non_null else None
        if value is SLOW or not _acceptable(plan, value):
            return SLOW
        grouped, defer_usages, _forbidden = self.collect_subfields(
            plan.object_type, field_details_list
        )
        if defer_usages:
            return SLOW
        field_path = Path(path, response_name, parent_type.name)
        completed: AwaitableOrValue[dict[str, Any] | list[Any]]
        try:
            if plan.non_null_items is None:
                completed = self.execute_fields(plan.object_type, value, field_path, grouped, None)
            else:
                completed = self._complete_items(
                    plan, value, field_path, grouped, field_details_list
                )
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            self.handle_field_error(raw_error, plan.field_type, field_details_list, field_path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, plan.field_type, field_details_list, field_path)
        return completed

    def _complete_items(
        self,
        plan: ObjectField,
        items: Sequence[Any],
        path: Path,
        grouped: GroupedFieldSet,
        field_details_list: FieldDetailsList,
    ) -> AwaitableOrValue[list[Any]]:
        item_type: GraphQLOutputType = (
            GraphQLNonNull(plan.object_type) if plan.non_null_items else plan.object_type
        )
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                value = self._complete_item(
                    plan, item, item_type, path.add_key(index, None), grouped, field_details_list
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
        plan: ObjectField,
        item: Any,
        item_type: GraphQLOutputType,
        item_path: Path,
        grouped: GroupedFieldSet,
        field_details_list: FieldDetailsList,
    ) -> Any:
        if item is None:  # allowed: `_acceptable` checked the list
            return None
        try:
            value = self.execute_fields(plan.object_type, item, item_path, grouped, None)
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


def _acceptable(plan: ObjectField, value: Any) -> bool:
    """Whether graphql-core would complete `value` without an error of its own."""
    # Strawberry's `is_type_of` ignores its `info` (checked by `_plain_type_check`).
    is_type_of: Any = plan.object_type.is_type_of
    if plan.non_null_items is None:
        return is_type_of is None or bool(is_type_of(value, None))
    if not isinstance(value, (list, tuple)):
        return False
    return all(
        not plan.non_null_items
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
