"""A faster executor: each selection is completed by a function generated for it.

graphql-core resolves every field the same way: a `Path`, a `GraphQLResolveInfo`, the
resolver (behind Strawberry's wrapper), an awaitable check, then `complete_value`'s chain
of type tests. For a data-heavy result most fields need none of it: they read one
attribute of an object that is already in memory and serialise it as a scalar or enum.

`FastExecutor.execute_fields` runs, for each selection of an object type (its grouped
field set), a Python function written for exactly that list of fields, once per process
(`_generate`, kept in a bounded cache keyed by the type and the fields' response and
schema names; nothing of the query text goes into the generated source). Per field it
inlines what the field needs:

- a *basic* Strawberry field (no resolver, no field extension, no arguments, no
  exception handler) of a scalar or enum type: the attribute, passed through when its
  class is one the scalar returns unchanged (`str` for String and ID, `int` in range for
  Int, `bool` for Boolean), looked up for an enum member, written by orjson for a date
  or a naive or UTC datetime where the scalar writes `isoformat()` (the same text), else
  serialised by the same `coerce_output_value` that `complete_leaf_value` calls; lists
  of leaves likewise;
- `__typename`: the parent type's name;
- a relay `Node`'s `id`, when the type keeps relay's own `resolve_id`: the global id of
  the parent type's name and the node id, as relay's `to_base64` writes it;
- a basic field whose value is an object or a list of objects of one object type, and a
  resolver marked `@in_place` (it reads nothing of `info` but the context): the resolver
  called and the objects completed here, by their own selection's generated function
  (found once per request and field: `_Child.kids`); a selection of leaves only also has
  a path-free `fast` function whose answer is shared by every place the same object
  appears in the result;
- any other Strawberry resolver without field extensions or exception handlers whose
  arguments are of leaf types: called as Strawberry's wrapper calls it, with the
  arguments coerced and converted once per request instead of once per parent.

Anything unusual on the way (a null for a non-null type, a value the scalar refuses, a
source that is not the expected class) sends that field down graphql-core's own
`execute_field`, which raises the error with its exact message, path and null
propagation; every other field (resolvers with input-object arguments or extensions,
abstract types) takes that path too. Field order, aliases, directives and fragments are
untouched: they are decided by `collect_fields`, before these functions run.
`tests/test_execution.py` compares this executor with Strawberry's stock one byte for byte.

It recognises the libraries' internals, so it runs only on the versions it is built for
(`SUPPORTED`); with any other installed, `FastExecutor` is Strawberry's stock execution
context and a warning says so once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import keyword
import logging
import operator
from binascii import b2a_base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, EnumMeta
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from orjson import dumps
from strawberry.relay import GlobalID, Node
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

if TYPE_CHECKING:
    from graphql import GraphQLField, GraphQLOutputType
    from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
    from graphql.pyutils import AwaitableOrValue

log = logging.getLogger(__name__)

# -- the libraries it is built for ---------------------------------------------------------

SUPPORTED: Final = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}


def installed_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = dict.fromkeys(SUPPORTED)
    for name in SUPPORTED:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def fast_path_state(installed: Mapping[str, str | None]) -> tuple[bool, str]:
    """Whether the generated executor runs with these versions installed, and why."""
    wanted = " and ".join(f"{name} {number}" for name, number in SUPPORTED.items())
    found = ", ".join(f"{name} {number or '(none)'}" for name, number in installed.items())
    if dict(installed) == SUPPORTED:
        return True, f"the generated executor runs: built for {wanted}"
    return (
        False,
        f"the generated executor supports {wanted}; installed {found}; running the stock executor",
    )


FAST_PATH_ENABLED, FAST_PATH_REASON = fast_path_state(installed_versions())
_warn_stock = functools.cache(lambda: log.warning("%s", FAST_PATH_REASON))

# What a fast completer answers when the field must take graphql-core's path instead.
SLOW: Final = object()

# `Path(prev, key, typename)` is `_new_path(Path, (prev, key, typename))` (a NamedTuple's
# `__new__` is a lambda around it): one Python call less for each path of a list item.
_new_path = tuple.__new__

# Generated selections kept per process (each a few kB); queries beyond that recompile.
GENERATED_CACHE_SIZE = 2048

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
    # Items of this class the item type passes through unchanged (not int: its range).
    passes = _PASS_THROUGH.get(get_named_type(inner.of_type))
    passes = None if passes is int else passes

    def complete_list(value: Any) -> Any:
        if value is None:
            return SLOW if non_null else None
        if not isinstance(value, (list, tuple)):
            return SLOW
        for one in value:
            if one.__class__ is not passes:
                break
        else:  # (every item passes, or the list is empty)
            return list(value)
        completed = [item(v) for v in value]
        return SLOW if any(c is SLOW for c in completed) else completed

    return complete_list


# -- what a field needs, worked out once per (object type, field) ---------------------------

# Values of these classes pass through these scalars' `coerce_output_value` unchanged.
_PASS_THROUGH: Final[dict[GraphQLLeafType, type]] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}
_INT_RANGE: Final = (-(2**31), 2**31 - 1)


@dataclass(frozen=True, slots=True)
class LeafField:
    """A basic field of a scalar or enum type."""

    get: Callable[[Any, str], Any]
    attribute: str
    non_null: bool
    coerce: Callable[[Any], Any]
    # the class whose values `coerce` returns unchanged, if the scalar is a built-in one
    passes: type | None
    int_range: bool
    # an enum's members (of `members_of`) and the names `coerce` gives them
    names: dict[Any, str] | None
    members_of: type | None
    # `datetime` or `date`, when `coerce` is their `isoformat`: see `_iso_class`
    iso: type | None


@dataclass(frozen=True, slots=True)
class ValueField:
    """A basic field of a list of leaves: `complete` answers the completed value of its
    attribute, or SLOW."""

    get: Callable[[Any, str], Any]
    attribute: str
    complete: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class RelayIdField:
    """A relay `Node`'s `id`: the global id of the node's type name and its node id."""

    origin: type
    attribute: str
    encode: Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class TypeNameField:
    name: str


@dataclass(frozen=True, slots=True)
class ObjectShape:
    """An output type that is an object type, or a list of one object type."""

    field_type: GraphQLOutputType
    object_type: GraphQLObjectType
    non_null: bool
    # None for a single object; else whether the list's items are non-null
    non_null_items: bool | None
    # the list's item type (the object type, or non-null of it); None for a single object
    item_type: GraphQLOutputType | None
    # The class of the type's own objects (Strawberry's `is_type_of` accepts one without
    # a `strawberry.cast` mark at once); None where the type has no `is_type_of`.
    origin: type | None


@dataclass(frozen=True, slots=True)
class ObjectField:
    """A basic field whose value is an object, or a list of objects, of one object type."""

    get: Callable[[Any, str], Any]
    attribute: str
    shape: ObjectShape


@dataclass(frozen=True, slots=True)
class ResolvedField:
    """A field with an `in_place` resolver, no arguments and no field extensions."""

    field: GraphQLField
    resolve: Callable[[Any, ContextOnly], Any]
    leaf: Callable[[Any], Any] | None
    shape: ObjectShape | None


@dataclass(frozen=True, slots=True)
class ResolverField:
    """A field with a resolver of its own and arguments of leaf types (or none), without
    field extensions or exception handlers: called directly, as Strawberry's wrapper
    would call it, with the arguments coerced and converted once per request."""

    field: GraphQLField
    definition: StrawberryField
    call: Callable[..., Any]
    # how the resolver takes its source and info (Strawberry's `get_arguments`)
    source_first: bool
    source_names: tuple[str, ...]
    info_name: str | None
    # an object (list) type's, for a value answered at once
    shape: ObjectShape | None


Plan = (
    LeafField
    | ValueField
    | RelayIdField
    | TypeNameField
    | ObjectField
    | ResolvedField
    | ResolverField
)


def _basic_definition(field: GraphQLField) -> Any:
    """Strawberry's definition of a basic field without arguments, or None."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        definition is None
        or field.args
        or not getattr(definition, "is_basic_field", False)
        # Strawberry's resolver for a basic field, not one wrapping a handler or extension
        or getattr(field.resolve, "__name__", "") != "_get_basic_result"
    ):
        return None
    return definition


def _enum_names(leaf: GraphQLLeafType) -> tuple[dict[Any, str], type] | None:
    """An enum's members and the names the type gives them, when it takes its members."""
    members_of = getattr(leaf, "wrapped_cls", None)  # Strawberry's enum types
    if not isinstance(leaf, GraphQLEnumType) or not isinstance(members_of, EnumMeta):
        return None
    names: dict[Any, str] = {}
    member: Any
    for member in members_of:
        try:
            names[member] = leaf.coerce_output_value(member)
        except Exception:  # noqa: BLE001,S112  (left to graphql-core's path, which raises it)
            continue
    return names, members_of


# Scalars that write their values with `isoformat()` (Strawberry's DateTime and Date), by
# name, with the class of their values and samples on which orjson must agree.
_ISOFORMAT: Final = repr(operator.methodcaller("isoformat"))
_ISO_SCALARS: Final[dict[str, tuple[type, tuple[dt.date, ...]]]] = {
    "DateTime": (
        dt.datetime,
        (
            dt.datetime(1, 1, 1),  # noqa: DTZ001  (naive values are written too)
            dt.datetime(999, 2, 3, 4, 5, 6, 999_999),  # noqa: DTZ001
            dt.datetime(2026, 12, 1, 19, 5, 3, 10, tzinfo=dt.UTC),
            dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        ),
    ),
    "Date": (dt.date, (dt.date(1, 1, 1), dt.date(2026, 12, 31))),
}


def _iso_class(leaf: GraphQLLeafType) -> type | None:
    """`datetime` or `date`, for a scalar that writes its values with `isoformat()`.

    orjson writes a `date`, and a `datetime` without a time zone or in UTC (as the pool
    hands timestamps over: `db.codecs`), as `isoformat()` does, in a third of the time:
    the generated code has it write those, of exactly that class (`_iso_test`,
    `_iso_text`), and leaves every other value to the scalar.
    """
    known = _ISO_SCALARS.get(getattr(leaf, "name", ""))
    coerce = leaf.coerce_output_value
    if known is None or repr(coerce) != _ISOFORMAT:
        return None
    iso, samples = known
    return iso if all(_iso_text(s) == coerce(s) for s in samples) else None


def _iso_text(value: dt.date) -> str:
    """orjson's text of a date or time, as the generated code writes it (inline)."""
    return dumps(value)[1:-1].decode()


def _leaf_field(field: GraphQLField) -> LeafField | ValueField | None:
    definition = _basic_definition(field)
    if definition is None:
        return None
    get = definition.default_resolver
    name = definition.python_name
    output = field.type
    non_null = isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    if is_leaf_type(inner):
        passes = _PASS_THROUGH.get(inner)
        enum = _enum_names(inner)
        return LeafField(
            get=get,
            attribute=name,
            non_null=non_null,
            coerce=inner.coerce_output_value,
            passes=passes,
            int_range=passes is int,
            names=enum[0] if enum else None,
            members_of=enum[1] if enum else None,
            iso=_iso_class(inner),
        )
    complete = _value_completer(output)
    return None if complete is None else ValueField(get, name, complete)


# Relay ids kept written, per type (see `_relay_id`).
RELAY_IDS_KEPT = 20_000


def _relay_id(parent_type: GraphQLObjectType, field: GraphQLField) -> RelayIdField | None:
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
        or not is_leaf_type(field.type.of_type)
    ):
        return None
    serialize = field.type.of_type.coerce_output_value
    type_name = parent_type.name
    prefix = f"{type_name}:"

    def write(node_id: Any) -> str:
        # relay's `to_base64(type_name, str(node_id))`, as GlobalID's `__str__` calls it
        return b2a_base64((prefix + str(node_id)).encode(), newline=False).decode()

    # The ids written lately (integer node ids only: True is not 1 here), as pages show
    # the same users and projects again and again; bounded, emptied when full.
    written: dict[int, str] = {}

    def encode(node_id: Any) -> str:
        if node_id.__class__ is not int:
            return write(node_id)
        text = written.get(node_id)
        if text is None:
            if len(written) >= RELAY_IDS_KEPT:
                written.clear()
            text = written[node_id] = write(node_id)
        return text

    # The shortcut stands only if it writes what the ID scalar writes for a GlobalID.
    if write(1) != serialize(GlobalID(type_name=type_name, node_id="1")):
        return None
    return RelayIdField(origin, origin.resolve_id_attr(), encode)


def _object_shape(output: GraphQLOutputType) -> ObjectShape | None:
    non_null = isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    non_null_items: bool | None = None
    item_type: GraphQLOutputType | None = None
    if isinstance(inner, GraphQLList):
        item_type = inner.of_type
        non_null_items = isinstance(item_type, GraphQLNonNull)
        inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
    if not isinstance(inner, GraphQLObjectType) or not _plain_type_check(inner):
        return None
    origin = None
    if inner.is_type_of is not None:
        definition = (inner.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        origin = getattr(definition, "origin", None)
    return ObjectShape(output, inner, non_null, non_null_items, item_type, origin)


def _object_field(field: GraphQLField) -> ObjectField | None:
    definition = _basic_definition(field)
    shape = None if definition is None else _object_shape(field.type)
    if shape is None:
        return None
    return ObjectField(definition.default_resolver, definition.python_name, shape)


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


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD


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

    # A method `(self, info)` takes both by position: one call less a field.
    resolve: Callable[[Any, ContextOnly], Any] = function
    parameters = list(inspect.signature(function).parameters.values())
    if [(p.name, p.kind) for p in parameters] != [("self", _POSITIONAL), ("info", _POSITIONAL)]:

        def resolve(source: Any, info: ContextOnly) -> Any:
            return function(source, info=info)

    return ResolvedField(field, resolve, _value_completer(field.type), _object_shape(field.type))


def _resolver_field(field: GraphQLField) -> ResolverField | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolver = getattr(definition, "base_resolver", None)
    if (
        not isinstance(definition, StrawberryField)
        or resolver is None
        or definition.extensions
        or field.resolve is None
        or getattr(field.resolve, "__name__", "") not in {"_resolver", "_async_resolver"}
        # Strawberry's wrapper holds the exception handlers that apply to the field
        or inspect.getclosurevars(field.resolve).nonlocals.get("field_exception_handlers") != ()
        or not all(is_leaf_type(get_named_type(a.type)) for a in field.args.values())
    ):
        return None
    parameters = (resolver.parent_parameter, resolver.root_parameter)
    info = resolver.info_parameter
    return ResolverField(
        field=field,
        definition=definition,
        call=resolver.wrapped_func,
        source_first=resolver.self_parameter is not None,
        source_names=tuple(p.name for p in parameters if p is not None),
        info_name=info.name if info is not None else None,
        shape=_object_shape(field.type),
    )


def _plain_type_check(object_type: GraphQLObjectType) -> bool:
    """True when the type's `is_type_of` (if any) is Strawberry's, which ignores `info`."""
    is_type_of = object_type.is_type_of
    return is_type_of is None or getattr(is_type_of, "__qualname__", "").startswith(
        "GraphQLCoreConverter."
    )


# Plans by (parent type, field name); None sends the field down the generic path.
# Bounded by the schema: one entry per field of an object type at most.
_plans: dict[tuple[GraphQLObjectType, str], Plan | None] = {}


def _plan(parent_type: GraphQLObjectType, field_name: str) -> Plan | None:
    key = (parent_type, field_name)
    try:
        return _plans[key]
    except KeyError:
        pass
    plan: Plan | None = None
    if field_name == "__typename":
        plan = TypeNameField(parent_type.name)
    else:
        field = parent_type.fields.get(field_name)
        if field is not None:
            plan = (
                _leaf_field(field)
                or _relay_id(parent_type, field)
                or _object_field(field)
                or _resolved_field(field)
                or _resolver_field(field)
            )
    _plans[key] = plan
    return plan


# -- the generated functions ----------------------------------------------------------------

# complete(executor, source, path, the selection as the request runs it) -> the dict of
# the completed fields, or an awaitable of it
Generated = Callable[["FastExecutor", Any, "Path | None", "_Child"], Any]


def _add(pending: list[str] | None, key: str) -> list[str]:
    if pending is None:
        return [key]
    pending.append(key)
    return pending


class _Source:
    """The text of one generated function and the names it refers to."""

    def __init__(self, parent_type: GraphQLObjectType) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "Path": Path,
            "SLOW": SLOW,
            "Undefined": Undefined,
            "PT": parent_type,
            "TN": parent_type.name,
            "add": _add,
            "settled": _settled,
            "dumps": dumps,
            "CAST": TYPE_CAST_ATTRIBUTE,
            "new_path": _new_path,
        }
        self.uses_context = False

    def emit(self, indent: int, *lines: str) -> None:
        self.lines.extend("    " * indent + line for line in lines)

    def generic(self, i: int, indent: int) -> None:
        """graphql-core's `execute_field` for field i, as its own loop calls it."""
        self.emit(
            indent,
            f"x = ex.execute_field(PT, src, details[{i}], Path(path, K{i}, TN), None)",
            "if x is not Undefined:",
            f"    r[K{i}] = x",
            "    if ex.is_awaitable(x):",
            f"        aw = add(aw, K{i})",
        )

    def read(self, i: int, get: Callable[[Any, str], Any], attribute: str, indent: int) -> None:
        """v = the source's attribute, or SLOW when reading it raises."""
        access = _access(i, get, attribute, self.names)
        self.emit(indent, "try:", f"    v = {access}", "except Exception:", "    v = SLOW")

    def field(self, i: int, plan: Plan | None) -> None:
        if isinstance(plan, TypeNameField):
            self.emit(2, f"r[K{i}] = TN")
        elif isinstance(plan, LeafField):
            self.leaf(i, plan)
        elif isinstance(plan, ValueField):
            self.names[f"V{i}"] = plan.complete
            self.read(i, plan.get, plan.attribute, 2)
            self.emit(2, f"x = SLOW if v is SLOW else V{i}(v)", "if x is SLOW:")
            self.generic(i, 3)
            self.emit(2, "else:", f"    r[K{i}] = x")
        elif isinstance(plan, RelayIdField):
            self.names[f"O{i}"], self.names[f"A{i}"] = plan.origin, plan.attribute
            self.names[f"E{i}"] = plan.encode
            self.emit(
                2,
                f"v = getattr(src, A{i}, None) if src.__class__ is O{i} else None",
                "if v is None:",
            )
            self.generic(i, 3)
            self.emit(2, "else:", f"    r[K{i}] = E{i}(v)")
        elif isinstance(plan, ObjectField):
            self.names[f"S{i}"] = plan.shape
            self.read(i, plan.get, plan.attribute, 2)
            self.emit(2, "x = SLOW")
            self.objects(i, plan.shape, 2)
            self.emit(
                2,
                "if x is SLOW and v is not SLOW:",
                f"    x = ex._complete_shape(S{i}, v, path, K{i}, TN, details[{i}])",
                "if x is SLOW:",
            )
            self.generic(i, 3)
            self.emit(2, "else:")
            self.settle(i, 3)
        elif isinstance(plan, ResolverField):
            self.names[f"R{i}"] = plan
            self.emit(2, f"x = ex._call_resolver(R{i}, PT, src, path, K{i}, details[{i}])")
            self.settle(i, 2)
        elif isinstance(plan, ResolvedField):
            self.names[f"R{i}"] = plan
            if plan.shape is None:
                self.emit(2, f"x = ex._complete_resolved(R{i}, PT, src, path, K{i}, details[{i}])")
            else:
                # The resolver called here; an object (list) it answers completed here too.
                self.uses_context = True
                self.names[f"S{i}"], self.names[f"RV{i}"] = plan.shape, plan.resolve
                self.emit(
                    2,
                    "try:",
                    f"    v = RV{i}(src, ctx)",
                    "except Exception as error:",
                    f"    x = ex._resolver_failed(error, R{i}, PT, path, K{i}, details[{i}])",
                    "else:",
                    "    x = SLOW",
                )
                self.objects(i, plan.shape, 3)
                self.emit(
                    3,
                    "if x is SLOW:",
                    f"    x = ex._resolved_value(R{i}, PT, v, path, K{i}, details[{i}])",
                )
            self.settle(i, 2)
        else:
            self.generic(i, 2)

    def objects(self, i: int, shape: ObjectShape, indent: int) -> None:
        """x = the completed value of v, an object (list) of field i's shape, when it is one
        of the type's own class without a cast mark (a list: a list), and the field's
        sub-selection is known; else x stays SLOW, touched nothing, for the full path."""
        if shape.non_null_items is not None:
            test = "v.__class__ is list"
        elif shape.origin is not None:
            self.names[f"O{i}"] = shape.origin
            test = f"v.__class__ is O{i} and not hasattr(v, CAST)"
        else:
            test = "v is not None and v is not SLOW"
        self.emit(
            indent,
            f"if {test}:",
            f"    k = kids[{i}]",
            "    if k is None:",
            f"        k = ex._kid(ch, {i}, S{i})",
            "    if k is not False:",
        )
        if shape.non_null_items is not None:
            self.emit(
                indent + 2,
                f"x = ex._complete_list(S{i}, v, path, K{i}, TN, details[{i}], k) if v else []",
            )
            return
        self.emit(
            indent + 2,
            "if k.fast is not None:",
            "    known = k.done.get(id(v))",
            "    x = known[1] if known is not None and known[0] is v else k.shared(v)",
            "if x is SLOW:",
            f"    p = new_path(Path, (path, K{i}, TN))",
            "    try:",
            "        x = k.selection.complete(ex, v, p, k)",
            "    except Exception as error:",
            f"        x = ex._field_failed(error, S{i}.field_type, details[{i}], p)",
            "    else:",
            "        if x.__class__ is not dict and ex.is_awaitable(x):",
            f"            x = ex._await_completed(x, S{i}.field_type, details[{i}], p)",
        )

    def settle(self, i: int, indent: int) -> None:
        """r[Ki] = x, noted as pending when x is an awaitable."""
        self.emit(
            indent,
            f"r[K{i}] = x",
            "if x.__class__ is not dict and x.__class__ is not list and x is not None "
            "and ex.is_awaitable(x):",
            f"    aw = add(aw, K{i})",
        )

    def leaf(self, i: int, plan: LeafField) -> None:
        self.read(i, plan.get, plan.attribute, 2)
        if plan.passes is not None:
            self.names[f"C{i}"] = plan.passes
            test = f"v.__class__ is C{i}"
            if plan.int_range:
                test += f" and {_INT_RANGE[0]} <= v <= {_INT_RANGE[1]}"
            self.emit(2, f"if {test}:", f"    r[K{i}] = v")
        elif plan.names is not None:
            self.names[f"N{i}"], self.names[f"M{i}"] = plan.names, plan.members_of
            self.emit(
                2,
                f"n = N{i}.get(v) if v.__class__ is M{i} else None",
                "if n is not None:",
                f"    r[K{i}] = n",
            )
        else:
            self.names[f"F{i}"] = plan.coerce
            indent = 2
            if plan.iso is not None:
                self.emit(2, f"if {_iso_test(i, 'v', plan.iso, self.names)}:")
                self.emit(3, "n = dumps(v)[1:-1].decode()")
                self.emit(2, "else:")
                indent = 3
            self.emit(
                indent,
                "n = SLOW",
                "if v is not SLOW and v is not None:",
                "    try:",
                f"        n = F{i}(v)",
                "    except Exception:",
                "        n = SLOW",
                "    if n is None or n is Undefined:",
                "        n = SLOW",
            )
            self.emit(2, "if n is not SLOW:", f"    r[K{i}] = n")
        if not plan.non_null:
            self.emit(2, "elif v is None:", f"    r[K{i}] = None")
        self.emit(2, "else:")
        self.generic(i, 3)


class _Anomaly(Exception):  # noqa: N818  (not an error: a signal to take the full path)
    """Raised by a selection's `fast` function where its full function would do more."""


def _pure(i: int, plan: Plan | None, names: dict[str, Any]) -> list[str] | None:
    """Lines that set v{i} to field i's completed value, raising on anything unusual; None
    for a field that needs more than its source (resolvers, objects, errors)."""
    if isinstance(plan, TypeNameField):
        return [f"v{i} = TN"]
    if isinstance(plan, ValueField):
        names[f"V{i}"] = plan.complete
        access = _access(i, plan.get, plan.attribute, names)
        return [f"v{i} = V{i}({access})", f"if v{i} is SLOW: raise ANOMALY"]
    if isinstance(plan, RelayIdField):
        names[f"O{i}"], names[f"A{i}"], names[f"E{i}"] = plan.origin, plan.attribute, plan.encode
        return [
            f"if src.__class__ is not O{i}: raise ANOMALY",
            f"v{i} = getattr(src, A{i}, None)",
            f"if v{i} is None: raise ANOMALY",
            f"v{i} = E{i}(v{i})",
        ]
    if not isinstance(plan, LeafField):
        return None
    lines = [f"v{i} = {_access(i, plan.get, plan.attribute, names)}"]
    if not plan.non_null:
        lines.append(f"if v{i} is None: pass")
    else:
        lines.append(f"if v{i} is None: raise ANOMALY")
    if plan.passes is not None:
        names[f"C{i}"] = plan.passes
        test = f"v{i}.__class__ is C{i}"
        if plan.int_range:
            test += f" and {_INT_RANGE[0]} <= v{i} <= {_INT_RANGE[1]}"
        lines += [f"elif {test}: pass", "else: raise ANOMALY"]
    elif plan.names is not None:
        names[f"N{i}"], names[f"M{i}"] = plan.names, plan.members_of
        lines += [
            f"elif v{i}.__class__ is M{i} and v{i} in N{i}: v{i} = N{i}[v{i}]",
            "else: raise ANOMALY",
        ]
    else:
        names[f"F{i}"] = plan.coerce
        if plan.iso is not None:
            test = _iso_test(i, f"v{i}", plan.iso, names)
            lines.append(f"elif {test}: v{i} = dumps(v{i})[1:-1].decode()")
        lines += [
            "else:",
            f"    v{i} = F{i}(v{i})",
            f"    if v{i} is None or v{i} is Undefined: raise ANOMALY",
        ]
    return lines


def _iso_test(i: int, value: str, iso: type, names: dict[str, Any]) -> str:
    """The test that `value` is one orjson writes as `isoformat()` does (`_iso_class`)."""
    names[f"I{i}"], names["UTC"] = iso, dt.UTC
    test = f"{value}.__class__ is I{i}"
    if iso is dt.datetime:
        test += f" and ({value}.tzinfo is None or {value}.tzinfo is UTC)"
    return test


def _access(i: int, get: Callable[[Any, str], Any], attribute: str, names: dict[str, Any]) -> str:
    """The expression that reads field i's attribute of `src`."""
    if get is getattr and attribute.isidentifier() and not keyword.iskeyword(attribute):
        return f"src.{attribute}"
    names[f"G{i}"], names[f"A{i}"] = get, attribute
    return f"G{i}(src, A{i})"


def _function(name: str, text: str, parent_type: GraphQLObjectType, names: dict[str, Any]) -> Any:
    code = compile(text, f"<issuegraph selection on {parent_type.name}>", "exec")
    exec(code, names)  # noqa: S102  (source made from the schema's names only)
    return names[name]


@dataclass(frozen=True, slots=True)
class Selection:
    """The generated functions of one selection (a grouped field set) of an object type.

    `complete(executor, source, path, field details lists)` is graphql-core's
    `execute_fields` for it. `fast(source)`, for a selection of fields that read only
    their source (leaves, ids, `__typename`), answers the same dict, or raises `_Anomaly`
    where `complete` would take graphql-core's path; it needs no path, and the same
    source always gives the same answer, so answers can be shared.
    """

    complete: Generated
    fast: Callable[[Any], dict[str, Any]] | None


@functools.lru_cache(maxsize=GENERATED_CACHE_SIZE)
def _generate(parent_type: GraphQLObjectType, fields: tuple[tuple[str, str], ...]) -> Selection:
    """The functions that complete `fields` ((response name, field name) pairs, in order)
    of a `parent_type` object; response names reach them as values, never as source text."""
    source = _Source(parent_type)
    pure: list[str] | None = []
    for i, (response_name, field_name) in enumerate(fields):
        source.names[f"K{i}"] = response_name
        plan = _plan(parent_type, field_name)
        source.field(i, plan)
        lines = None if pure is None else _pure(i, plan, source.names)
        pure = None if lines is None or pure is None else pure + lines
    complete = _function(
        "complete",
        "\n".join(
            [
                "def complete(ex, src, path, ch):",
                "    details = ch.details",
                "    kids = ch.kids",
                *(["    ctx = ex._context_only"] if source.uses_context else []),
                "    r = {}",
                "    aw = None",
                "    try:",
                *(source.lines or ["        pass"]),
                "    except Exception:",
                "        if aw is not None:",
                "            ex.settle_in_background([r[k] for k in aw])",
                "        raise",
                "    if aw is None:",
                "        return r",
                "    return settled(r, aw)",
            ]
        ),
        parent_type,
        source.names,
    )
    fast = None
    if pure is not None:
        source.names["ANOMALY"] = _Anomaly
        result = ", ".join(f"K{i}: v{i}" for i in range(len(fields)))
        fast = _function(
            "fast",
            "\n".join(
                [
                    "def fast(src):",
                    "    try:",
                    *("        " + line for line in pure),
                    "    except Exception:",
                    "        raise ANOMALY from None",
                    f"    return {{{result}}}",
                ]
            ),
            parent_type,
            source.names,
        )
    return Selection(complete, fast)


@dataclass(frozen=True, slots=True)
class _Child:
    """A selection of an object type as one request runs it."""

    selection: Selection
    details: tuple[Any, ...]
    # fast answers by source, for a selection that has `fast`: id -> (source, answer);
    # the source is kept so that its id is not reused within the request
    done: dict[int, tuple[Any, dict[str, Any]]]
    # per field, the sub-selection of an object field: None until asked for, False
    # where graphql-core completes it (see `FastExecutor._kid`)
    kids: list[_Child | Literal[False] | None]
    fast: Callable[[Any], dict[str, Any]] | None  # the selection's

    def shared(self, source: Any) -> Any:
        """`fast`'s answer for `source` (the same dict every time), or SLOW."""
        fast = self.fast
        if fast is None:
            return SLOW
        known = self.done.get(id(source))
        if known is not None and known[0] is source:
            return known[1]
        try:
            answer = fast(source)
        except _Anomaly:
            return SLOW
        self.done[id(source)] = (source, answer)
        return answer


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with selections completed by generated code (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built for exactly the library versions of SUPPORTED: with others, the stock path.
        self._fast = FAST_PATH_ENABLED
        if not self._fast:
            _warn_stock()
            return
        middleware = self.middleware_manager
        # A resolve hook must see every field: then graphql-core's path does it all.
        self._generic = bool(middleware and middleware.middlewares)
        self._context_only = ContextOnly(self.context_value)
        self._strawberry: Any = self.schema._strawberry_schema  # type: ignore[attr-defined]  # noqa: SLF001
        # Each grouped field set (one per selection and type, memoised by graphql-core for
        # the whole request) as it runs here, looked up once a request. The set is kept
        # with it, so its id cannot be reused while cached.
        self._selections: dict[int, tuple[GroupedFieldSet, _Child]] = {}
        # The same for the sub-selection of an object field: id of its field details list
        # -> (the list, the child or None for graphql-core's path). A list belongs to one
        # field, whose plan has one object type.
        self._children: dict[int, tuple[Any, _Child | None]] = {}
        # Converted arguments of a field, by the id of its field details list (kept alive
        # with them); None where they are not plain values or their coercion fails.
        self._arguments: dict[int, tuple[Any, dict[str, Any] | None]] = {}

    def _selection(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> _Child:
        known = self._selections.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        fields = tuple(
            (name, details[0].node.name.value) for name, details in grouped_field_set.items()
        )
        selection = _generate(parent_type, fields)
        details = tuple(grouped_field_set.values())
        child = _Child(selection, details, {}, [None] * len(details), selection.fast)
        self._selections[id(grouped_field_set)] = (grouped_field_set, child)
        return child

    def _kid(self, parent: _Child, index: int, shape: ObjectShape) -> _Child | Literal[False]:
        """The sub-selection of `parent`'s field `index`, kept in `parent.kids`."""
        child = self._child(shape.object_type, parent.details[index])
        kid = parent.kids[index] = False if child is None else child
        return kid

    def _child(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> _Child | None:
        known = self._children.get(id(field_details_list))
        if known is not None and known[0] is field_details_list:
            return known[1]
        grouped, defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        child = None if defer_usages else self._selection(object_type, grouped)
        self._children[id(field_details_list)] = (field_details_list, child)
        return child

    def build_response(self, data: dict[str, Any] | None) -> Any:
        """The response; when nothing is left to deliver, the request's caches go.

        They hold every object the selections completed (the shared answers keep their
        sources), and this executor would be part of a reference cycle (graphql-core's
        `async_helpers`): dropped here, all that is freed with the response instead of by
        the cyclic collector.
        """
        response = super().build_response(data)
        if self._fast and isinstance(response, ExecutionResult):
            self._selections.clear()
            self._children.clear()
            self._arguments.clear()
            # The helpers hold bound methods of this executor (graphql-core's cycle): let
            # go of them and the request's fields and field details go with the executor.
            del self.async_helpers
        return response

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not self._fast or self._generic or position_context is not None:
            # deferred delivery is graphql-core's
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        child = self._selection(parent_type, grouped_field_set)
        return child.selection.complete(self, source_value, path, child)  # type: ignore[no-any-return]

    def _complete_resolved(
        self,
        plan: ResolvedField,
        parent_type: GraphQLObjectType,
        source: Any,
        parent_path: Path | None,
        key: str,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """graphql-core's `execute_field` for an `in_place` resolver, in fewer steps: the
        resolver runs once, here, and its value is completed by `_resolved_value`."""
        try:
            result = plan.resolve(source, self._context_only)
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            return self._resolver_failed(
                raw_error, plan, parent_type, parent_path, key, field_details_list
            )
        return self._resolved_value(plan, parent_type, result, parent_path, key, field_details_list)

    def _resolved_value(
        self,
        plan: ResolvedField,
        parent_type: GraphQLObjectType,
        result: Any,
        parent_path: Path | None,
        key: str,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """What an `in_place` resolver returned, completed in place when it can be, else by
        graphql-core's `complete_value` or `complete_awaitable_value`."""
        return_type = plan.field.type
        path = None
        try:
            completed = SLOW
            if plan.leaf is not None:
                completed = plan.leaf(result)
            elif plan.shape is not None:
                completed = self._complete_shape(
                    plan.shape, result, parent_path, key, parent_type.name, field_details_list
                )
            if completed is SLOW:
                path = Path(parent_path, key, parent_type.name)
                info = self._info(plan, parent_type, path, field_details_list)
                if self.is_awaitable(result):
                    return self.complete_awaitable_value(
                        return_type, field_details_list, info, path, result, None
                    )
                completed = self.complete_value(
                    return_type, field_details_list, info, path, result, None
                )
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            if path is None:
                path = Path(parent_path, key, parent_type.name)
            return self._field_failed(raw_error, return_type, field_details_list, path)
        if completed.__class__ is not dict and self.is_awaitable(completed):
            if path is None:
                path = Path(parent_path, key, parent_type.name)
            return self._await_completed(completed, return_type, field_details_list, path)
        return completed

    def _resolver_failed(
        self,
        error: Exception,
        plan: ResolvedField,
        parent_type: GraphQLObjectType,
        parent_path: Path | None,
        key: str,
        field_details_list: FieldDetailsList,
    ) -> None:
        path = Path(parent_path, key, parent_type.name)
        return self._field_failed(error, plan.field.type, field_details_list, path)

    def _field_failed(
        self,
        error: Exception,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> None:
        """A field's error, as graphql-core's `execute_field` handles it: null here, or
        raised on for a non-null type (the parent then takes the null)."""
        self.handle_field_error(error, return_type, field_details_list, path)

    def _arguments_of(
        self, plan: ResolverField, field_details_list: FieldDetailsList
    ) -> dict[str, Any] | None:
        """The field's arguments as Strawberry hands them to the resolver, worked out
        once per request: graphql-core's coercion, then Strawberry's conversion (which
        for leaf types reads nothing else). None sends the field down graphql-core's
        path, which raises a coercion error where it belongs."""
        known = self._arguments.get(id(field_details_list))
        if known is not None and known[0] is field_details_list:
            return known[1]
        first = field_details_list[0]
        converted: dict[str, Any] | None = None
        try:
            raw = get_argument_values(
                plan.field,
                first.node,
                self.variable_values,
                first.fragment_variable_values,
                self.hide_suggestions,
            )
            converted = convert_arguments(
                raw,
                plan.definition.arguments,
                scalar_registry=self._strawberry.schema_converter.scalar_registry,
                config=self._strawberry.config,
            )
        except Exception:  # noqa: BLE001  (graphql-core's path raises it, located)
            converted = None
        if converted is not None and not all(map(_plain_value, converted.values())):
            converted = None  # a list, say: each call gets its own, as Strawberry's would
        self._arguments[id(field_details_list)] = (field_details_list, converted)
        return converted

    def _call_resolver(
        self,
        plan: ResolverField,
        parent_type: GraphQLObjectType,
        source: Any,
        parent_path: Path | None,
        key: str,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """graphql-core's `execute_field` with Strawberry's resolver wrapper, in fewer
        steps: the arguments come from `_arguments_of`, the resolver is called as
        Strawberry's `get_arguments` says, and the result is completed as usual (an object
        answered at once, by `_complete_shape`)."""
        path = Path(parent_path, key, parent_type.name)
        arguments = self._arguments_of(plan, field_details_list)
        if arguments is None:
            return self.execute_field(parent_type, source, field_details_list, path, None)
        return_type = plan.field.type
        info = self.build_resolve_info(
            plan.field, [details.node for details in field_details_list], parent_type, path
        )
        try:
            kwargs = dict(arguments)
            for name in plan.source_names:
                kwargs[name] = source
            if plan.info_name is not None:
                kwargs[plan.info_name] = self._strawberry_info(info, plan.definition)
            result = plan.call(source, **kwargs) if plan.source_first else plan.call(**kwargs)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, None
                )
            completed = SLOW
            if plan.shape is not None:  # an object answered at once: completed here
                completed = self._complete_shape(
                    plan.shape, result, parent_path, key, parent_type.name, field_details_list
                )
            if completed is SLOW:
                completed = self.complete_value(
                    return_type, field_details_list, info, path, result, None
                )
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, return_type, field_details_list, path)
        return completed

    def _strawberry_info(self, info: Any, definition: StrawberryField) -> Any:
        return self._strawberry.config.info_class(_raw_info=info, _field=definition)

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
        parent_path: Path | None,
        key: str,
        parent_name: str,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The completed value of an object (list) field, or SLOW.

        SLOW is answered only before anything ran, so graphql-core's path can take the
        value over from scratch. Once sub-fields run, errors are handled as its
        `execute_field` and `complete_list_item_value` handle them. The field's path is
        made only when something needs it.
        """
        child = None if value is None else self._child(shape.object_type, field_details_list)
        # (An unmarked object of the type's own class is acceptable without asking.)
        if child is None or (
            (value.__class__ is not shape.origin or hasattr(value, TYPE_CAST_ATTRIBUTE))
            and not _acceptable(shape, value)
        ):
            return None if value is None and not shape.non_null else SLOW
        if shape.non_null_items is not None:
            return self._complete_items(
                shape, value, (parent_path, key, parent_name), child, field_details_list
            )
        answer = child.shared(value)
        if answer is not SLOW:
            return answer
        path = Path(parent_path, key, parent_name)
        try:
            completed = child.selection.complete(self, value, path, child)
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            return self._field_failed(raw_error, shape.field_type, field_details_list, path)
        if completed.__class__ is not dict and self.is_awaitable(completed):
            return self._await_completed(completed, shape.field_type, field_details_list, path)
        return completed

    def _complete_list(
        self,
        shape: ObjectShape,
        value: list[Any],
        parent_path: Path | None,
        key: str,
        parent_name: str,
        field_details_list: FieldDetailsList,
        child: _Child,
    ) -> Any:
        """`_complete_shape` for a list whose sub-selection is known: SLOW, before
        anything ran, for a list graphql-core would refuse."""
        if not _acceptable(shape, value):
            return SLOW
        return self._complete_items(
            shape, value, (parent_path, key, parent_name), child, field_details_list
        )

    def _complete_items(
        self,
        shape: ObjectShape,
        items: Sequence[Any],
        field: tuple[Path | None, str, str],
        child: _Child,
        field_details_list: FieldDetailsList,
    ) -> AwaitableOrValue[list[Any]]:
        """graphql-core's `complete_list_value` for a list of objects of one type;
        `field` is (parent path, response name, parent type name). Each item is completed
        as its `complete_list_item_value` would: a shared answer where the selection has
        one, else by `_complete_item`."""
        item_type: Any = shape.item_type
        fast, done = child.fast, child.done
        path: Path | None = None
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, item in enumerate(items):
                if item is None:  # allowed: `_acceptable` checked the list
                    completed.append(None)
                    continue
                if fast is not None:
                    known = done.get(id(item))
                    answer = known[1] if known and known[0] is item else child.shared(item)
                    if answer is not SLOW:
                        completed.append(answer)
                        continue
                if path is None:
                    path = Path(*field)
                value = self._complete_item(
                    child, item, _new_path(Path, (path, index, None)), item_type, field_details_list
                )
                if value.__class__ is not dict and value is not None and is_awaitable(value):
                    awaitable_indices.append(index)
                completed.append(value)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return _settled(completed, awaitable_indices)

    def _complete_item(
        self,
        child: _Child,
        item: Any,
        item_path: Path,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """graphql-core's `complete_list_item_value` for an object of the list."""
        try:
            value = child.selection.complete(self, item, item_path, child)
        except Exception as raw_error:  # noqa: BLE001  (as complete_list_item_value)
            return self._field_failed(raw_error, item_type, field_details_list, item_path)
        if value.__class__ is not dict and self.is_awaitable(value):
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


def _plain_value(value: Any) -> bool:
    """A value a resolver cannot change, so that calls may share it."""
    return value is None or isinstance(value, (bool, int, float, str, Enum))


def _acceptable(shape: ObjectShape, value: Any) -> bool:
    """Whether graphql-core would complete `value` without an error of its own."""
    # Strawberry's `is_type_of` ignores its `info` (checked by `_plain_type_check`).
    is_type_of: Any = shape.object_type.is_type_of
    if shape.non_null_items is None:
        return is_type_of is None or _is_type(shape.origin, is_type_of, value)
    if not isinstance(value, (list, tuple)):
        return False
    origin = shape.origin
    for item in value:
        if item is None:
            if shape.non_null_items:
                return False
        elif is_type_of is not None and not (
            # `_is_type`'s shortcut, without its call
            (item.__class__ is origin and getattr(item, TYPE_CAST_ATTRIBUTE, None) is None)
            or is_type_of(item, None)
        ):
            return False
    return True


def _is_type(origin: type | None, is_type_of: Any, value: Any) -> bool:
    """Strawberry's `is_type_of(value)`, which is true for an object of the type's own
    class that `strawberry.cast` did not mark: answered without the call for those."""
    if value.__class__ is origin and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None:
        return True
    return bool(is_type_of(value, None))


async def _settled(container: Any, keys: Sequence[Any]) -> Any:
    """`container` with the awaitables at `keys` replaced by their values, awaited at once."""
    if len(keys) == 1:
        container[keys[0]] = await container[keys[0]]
    else:
        awaited = await gather_with_cancel(*(container[k] for k in keys))
        for key, value in zip(keys, awaited, strict=True):
            container[key] = value
    return container
