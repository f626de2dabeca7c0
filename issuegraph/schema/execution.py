"""A faster executor: each selection is completed by a function generated for it.

graphql-core resolves every field alike: a `Path`, a `GraphQLResolveInfo`, the resolver
behind Strawberry's wrapper, an awaitable check, `complete_value`'s chain of type tests.
Most fields of a data-heavy result need none of it: they read an attribute of an object in
memory and write it as a scalar or an enum.

`FastExecutor.execute_fields` completes each selection of an object type (a grouped field
set) with a function generated for exactly its fields (`_generate`: once per process, in a
bounded cache; the source is made of the schema's names, never of the query's text). A
field's plan (`_plan`) says how its value is had: `__typename`, and a relay `Node`'s `id`
that relay's own resolver would write, are written in place; a *basic* field's attribute
is read in place; a resolver marked `@in_place` (it reads nothing of `info` but the
context) is called in place; any other resolver whose arguments are of leaf types is called
by `_call` as Strawberry's wrapper calls it, its arguments converted once per request. Then
how the value is completed: a scalar, an enum or a list of them by the code of
`_leaf_lines`, the one leaf emitter (built-in scalars pass values of their own class,
enums look members up, dates and naive or UTC datetimes are written by orjson, the text of
`isoformat()`, anything else goes through `coerce_output_value`); an object or a list of
objects of one type by that selection's function; an awaitable once awaited. A selection of
leaves only also gets a path-free `fast` function, whose answer is shared by every place of
the result that shows the same object. A list may be given as models (`Models`: a walk's
ten thousand issues and their links): a selection of fields that its type reads of its
model (`reads_model`) gets a `direct` function that completes each model, no object being
made; any other selection gets the made objects.

Anything unusual (a null for a non-null type, a value the type refuses, an object
graphql-core would reject) goes down graphql-core's own path before anything of it ran
(`execute_field`, or `complete_value` for a resolver's value), which raises the error with
its message, path and null propagation; so do fields without a plan (abstract types, field
extensions, input-object arguments). A request runs the stock executor throughout when a
schema extension hooks into resolvers, the schema has exception handlers, or the installed
libraries are not those it is built for (`SUPPORTED`; a warning says so). What it takes for
granted of Strawberry is in one section; `tests/test_execution_paths.py` tests each piece,
and that the representative queries take no generic path; `tests/test_execution.py` holds
it to the stock executor byte for byte.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import keyword
import logging
from binascii import b2a_base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, EnumMeta
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, TypeVar

from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel, is_awaitable
from orjson import dumps
from strawberry.relay import GlobalID, Node
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

if TYPE_CHECKING:
    from graphql import GraphQLField, GraphQLOutputType, GraphQLResolveInfo, GraphQLSchema
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


# -- what it takes for granted of Strawberry ------------------------------------------------
# All it recognises of Strawberry by a private name or by behaviour, each piece tested by
# `tests/test_execution_paths.py`: a release that changes one fails a named test instead of
# quietly slowing fields down. (graphql-core's executor methods it overrides and calls are
# marked private: the version check guards them, and a test their signatures.)


def definition_of(thing: Any) -> Any:
    """Strawberry's definition of a graphql-core type or field, or None."""
    return (getattr(thing, "extensions", None) or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)


def strawberry_schema(schema: GraphQLSchema) -> Any:
    """The Strawberry schema that built `schema` (where Strawberry's `Info.schema` finds it)."""
    return schema._strawberry_schema  # type: ignore[attr-defined]  # noqa: SLF001


def strawberry_info(config: Any, info: GraphQLResolveInfo[Any], field: StrawberryField) -> Any:
    """The `Info` that Strawberry's resolver wrapper makes of graphql-core's."""
    return config.info_class(_raw_info=info, _field=field)


def basic_read(field: StrawberryField) -> tuple[Callable[[Any, str], Any], str] | None:
    """How Strawberry reads a basic field (no resolver, no extension): its `get_result` is
    `default_resolver(source, python_name)`. None for any other field."""
    if not field.is_basic_field or type(field).get_result is not StrawberryField.get_result:
        return None
    return field.default_resolver, field.python_name


class Convention(NamedTuple):
    """How Strawberry's wrapper calls a resolver (`get_arguments`): the source first for
    `self`, by name for `root` and `parent`; the info by name."""

    function: Callable[..., Any]
    source_first: bool
    source_names: tuple[str, ...]
    info_name: str | None


def resolver_call(field: StrawberryField) -> Convention | None:
    resolver = field.base_resolver
    if resolver is None or type(field).get_result is not StrawberryField.get_result:
        return None
    sources = (resolver.parent_parameter, resolver.root_parameter)
    info = resolver.info_parameter
    return Convention(
        resolver.wrapped_func,  # type: ignore[arg-type]
        resolver.self_parameter is not None,
        tuple(p.name for p in sources if p is not None),
        None if info is None else info.name,
    )


def type_check(object_type: GraphQLObjectType) -> tuple[bool, type | None]:
    """(True, None) for a type without `is_type_of`; (True, its class) where it is Strawberry's
    own (made for a type with interfaces: it ignores `info`, and accepts an object of that
    class that `strawberry.cast` did not mark); (False, None) where the type brings one."""
    if object_type.is_type_of is None:
        return True, None
    definition = definition_of(object_type)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_type_of:
        return False, None
    return True, definition.origin


# Samples on which orjson must write what `isoformat()` writes (naive ones are written too).
_DATES: Final = (dt.date(1, 1, 1), dt.date(2026, 12, 31))
_TIMES: Final = (dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), dt.datetime(999, 1, 2, 3))  # noqa: DTZ001
_ISO_SCALARS: Final = ((DateTimeDefinition, dt.datetime, _TIMES), (DateDefinition, dt.date, _DATES))


def iso_class(leaf: Any) -> type | None:
    """`datetime` or `date` for Strawberry's DateTime and Date scalars, which write
    `isoformat()`: orjson writes a date, and a datetime that is naive or in UTC, as the
    same text in a third of the time."""
    definition = definition_of(leaf)
    for scalar, iso, samples in _ISO_SCALARS:
        if definition is scalar and leaf.coerce_output_value is scalar.serialize:
            same = all(dumps(s)[1:-1].decode() == scalar.serialize(s) for s in samples)
            return iso if same else None
    return None


def is_relay_id(field: StrawberryField) -> bool:
    """Whether the field is relay's own `Node.id`, resolved by `Node._id`."""
    function = getattr(field.base_resolver, "wrapped_func", None)
    return getattr(function, "__func__", None) is getattr(Node._id, "__func__", Node)  # noqa: SLF001


# -- plans: what a field needs, worked out once per (object type, field) --------------------

SLOW: Final = object()  # a completion's answer where graphql-core's path must take over

# Values of these classes pass these scalars' `coerce_output_value` unchanged.
_PASS_THROUGH: Final = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool, GraphQLInt: int}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _unwrap(output: Any) -> tuple[bool, Any, bool | None]:
    """(non-null, the named or list's item's type, None or whether a list's items are non-null)."""
    non_null = isinstance(output, GraphQLNonNull)
    inner = output.of_type if non_null else output
    if not isinstance(inner, GraphQLList):
        return non_null, inner, None
    items_non_null = isinstance(inner.of_type, GraphQLNonNull)
    return non_null, inner.of_type.of_type if items_non_null else inner.of_type, items_non_null


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar or enum type, or a list of one (`item`): how its values are completed."""

    non_null: bool
    item: Leaf | None = None
    coerce: Callable[[Any], Any] | None = None
    passes: type | None = None  # the class whose values `coerce` returns unchanged
    names: dict[Any, str] | None = None  # an enum's members and the names `coerce` gives
    members_of: type | None = None
    iso: type | None = None  # see `iso_class`


def _leaf(output: Any) -> Leaf | None:
    non_null, inner, non_null_items = _unwrap(output)
    if not is_leaf_type(inner):
        return None
    names: dict[Any, str] = {}
    member: Any
    members_of = getattr(definition_of(inner), "wrapped_cls", None)
    if isinstance(inner, GraphQLEnumType) and isinstance(members_of, EnumMeta):
        for member in members_of:
            try:
                names[member] = inner.coerce_output_value(member)
            except Exception:  # noqa: BLE001,S112  (left to graphql-core's path, which raises it)
                continue
    leaf = Leaf(
        non_null if non_null_items is None else non_null_items,
        coerce=inner.coerce_output_value,
        passes=_PASS_THROUGH.get(inner),
        names=names or None,
        members_of=members_of if names else None,
        iso=iso_class(inner),
    )
    return leaf if non_null_items is None else Leaf(non_null, item=leaf)


@dataclass(frozen=True, slots=True)
class Objects:
    """An object type, or a list of one (`non_null_items` not None), as a field's type."""

    field_type: GraphQLOutputType
    object_type: GraphQLObjectType
    non_null: bool
    non_null_items: bool | None
    item_type: GraphQLOutputType | None  # the list's
    origin: type | None  # see `type_check`


def _objects(output: Any) -> Objects | None:
    non_null, inner, non_null_items = _unwrap(output)
    if not isinstance(inner, GraphQLObjectType):
        return None
    plain, origin = type_check(inner)
    item_type = None if non_null_items is None else (output.of_type if non_null else output).of_type
    return Objects(output, inner, non_null, non_null_items, item_type, origin) if plain else None


@dataclass(frozen=True, slots=True)
class TypeName:
    name: str


@dataclass(frozen=True, slots=True)
class RelayId:
    """A relay `Node`'s `id`: the global id of the node's type name and its node id."""

    origin: type
    attribute: str
    encode: Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class Read:
    """A basic field: the source's attribute, read by `get`."""

    get: Callable[[Any, str], Any]
    attribute: str
    leaf: Leaf | None
    objects: Objects | None


@dataclass(frozen=True, slots=True)
class Call:
    """A resolver without field extensions whose arguments are of leaf types; `in_place`
    where it is marked so, takes no arguments and is not async."""

    parent_type: GraphQLObjectType
    field: GraphQLField
    definition: StrawberryField
    convention: Convention
    in_place: bool
    leaf: Leaf | None
    objects: Objects | None


Plan = TypeName | RelayId | Read | Call

RELAY_IDS_KEPT = 20_000  # relay ids kept written, per type (see `_relay_id`)


def _relay_id(parent_type: GraphQLObjectType, field: GraphQLField) -> RelayId | None:
    origin = getattr(definition_of(parent_type), "origin", None)
    definition = definition_of(field)
    if (
        not isinstance(origin, type)
        or not issubclass(origin, Node)
        or not isinstance(definition, StrawberryField)
        or not is_relay_id(definition)
        or definition.extensions
        or origin.resolve_id.__func__ is not Node.resolve_id.__func__  # type: ignore[attr-defined]
        or origin.resolve_typename.__func__ is not Node.resolve_typename.__func__  # type: ignore[attr-defined]
        or not isinstance(field.type, GraphQLNonNull)
        or not is_leaf_type(field.type.of_type)
    ):
        return None
    prefix = f"{parent_type.name}:"

    def write(node_id: Any) -> str:
        # relay's `to_base64(type_name, str(node_id))`, as GlobalID's `__str__` calls it
        return b2a_base64((prefix + str(node_id)).encode(), newline=False).decode()

    # Ids written lately (int node ids only: True is not 1 here); bounded.
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
    global_id = GlobalID(type_name=parent_type.name, node_id="1")
    if write(1) != field.type.of_type.coerce_output_value(global_id):
        return None
    return RelayId(origin, origin.resolve_id_attr(), encode)


def _field_plan(parent_type: GraphQLObjectType, field: GraphQLField) -> Read | Call | None:
    definition = definition_of(field)
    if not isinstance(definition, StrawberryField) or definition.extensions:
        return None
    leaf, objects = _leaf(field.type), _objects(field.type)
    read = basic_read(definition)
    if read is not None:
        return None if leaf is None and objects is None else Read(*read, leaf, objects)
    convention = resolver_call(definition)
    arguments = field.args.values()
    if convention is None or not all(is_leaf_type(get_named_type(a.type)) for a in arguments):
        return None
    marked = getattr(convention.function, IN_PLACE, False)
    in_place = bool(marked and not arguments and not definition.is_async)
    return Call(parent_type, field, definition, convention, in_place, leaf, objects)


# Plans by (parent type, field name); None sends the field down the generic path.
# Bounded by the schema: one entry per field of an object type at most.
_plans: dict[tuple[GraphQLObjectType, str], Plan | None] = {}


def _plan(parent_type: GraphQLObjectType, field_name: str) -> Plan | None:
    key = (parent_type, field_name)
    if key not in _plans:
        field = parent_type.fields.get(field_name)
        plan: Plan | None = TypeName(parent_type.name) if field_name == "__typename" else None
        if field is not None:
            plan = _relay_id(parent_type, field) or _field_plan(parent_type, field)
        _plans[key] = plan
    return _plans[key]


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


# -- lists given as models ------------------------------------------------------------------

MODEL_READS = "__issuegraph_model_reads__"
Reader = str | Callable[[Any], Any]  # an attribute of the model, or a function of it


@dataclass(frozen=True, slots=True)
class ModelReads:
    """How the fields of a type's objects read the model each object is made of."""

    model: type
    reads: Mapping[str, Reader]  # by the field's Python name


def reads_model(cls: type, model: type, **reads: Reader) -> None:
    """Declares that an object of `cls` made of a `model` instance shows, for each field
    named in `reads`, that attribute of the model (or that function's value of it).
    A selection of those fields only (and `__typename`, and the relay id when `pk` is
    named) is completed from the models of a `Models` list, no object being made; a field
    of an object type reads its sub-model, whose type must declare its own reads."""
    setattr(cls, MODEL_READS, ModelReads(model, reads))


class Models:
    """A list field's value given as models, with how each object is made (`make`).

    Iterated, it is the list of the made objects: that is all graphql-core's path (and
    the stock executor) sees. The generated code completes a selection that reads only
    what the type declares of its model (`reads_model`) from the models themselves."""

    __slots__ = ("make", "models")

    def __init__(self, models: Sequence[Any], make: Callable[[Any], Any]) -> None:
        self.models = models
        self.make = make

    def __iter__(self) -> Any:
        return map(self.make, self.models)

    def __len__(self) -> int:
        return len(self.models)


def _model_reads(object_type: GraphQLObjectType) -> ModelReads | None:
    origin = getattr(definition_of(object_type), "origin", None)
    found = getattr(origin, MODEL_READS, None) if origin is not None else None
    return found if isinstance(found, ModelReads) else None


# -- the generated functions ----------------------------------------------------------------


def _add(pending: list[str] | None, key: str) -> list[str]:
    if pending is None:
        return [key]
    pending.append(key)
    return pending


# `Path(prev, key, typename)` is `_new_path(Path, (prev, key, typename))` (a NamedTuple's
# `__new__` is a lambda around it): one Python call less for each path.
_new_path = tuple.__new__


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return ["    " * depth + line for line in lines]


def _assign(target: str) -> Callable[[str], list[str]]:
    return lambda value: [f"{target} = {value}"]


class _Code:
    """The objects the generated functions of one selection refer to, by name."""

    def __init__(self, parent_type: GraphQLObjectType) -> None:
        self.parent_type = parent_type
        self.uses_context = False
        self.names: dict[str, Any] = {
            "Path": Path,
            "new_path": _new_path,
            "SLOW": SLOW,
            "Undefined": Undefined,
            "PT": parent_type,
            "TN": parent_type.name,
            "add": _add,
            "settled": _settled,
            "dumps": dumps,
            "AW": is_awaitable,
            "UTC": dt.UTC,
            "CAST": TYPE_CAST_ATTRIBUTE,
        }

    def name(self, value: Any) -> str:
        name = f"N{len(self.names)}"
        self.names[name] = value
        return name

    def function(self, name: str, lines: list[str]) -> Any:
        """The function `name` that `lines` define."""
        where = f"<issuegraph selection on {self.parent_type.name}>"
        exec(compile("\n".join(lines), where, "exec"), self.names)  # noqa: S102  (see `_generate`)
        return self.names[name]


def _leaf_lines(
    code: _Code, leaf: Leaf, value: str, ok: Callable[[str], list[str]], slow: list[str]
) -> list[str]:
    """The one leaf emitter: lines that complete `value` (a local) of `leaf`'s type as
    graphql-core's `complete_value` would, then run `ok(the completed value)`; or run `slow`
    where graphql-core must complete it (a null for a non-null type, a value the type
    refuses or that is awaitable), before anything of it ran."""
    lines: list[str] = []

    def branch(test: str, body: list[str]) -> None:
        lines.extend([f"{'elif' if lines else 'if'} {test}:", *_indent(body)])

    if leaf.passes is not None:
        test = f"{value}.__class__ is {code.name(leaf.passes)}"
        if leaf.passes is int:
            test += f" and {_INT_MIN} <= {value} <= {_INT_MAX}"
        branch(test, ok(value))
    branch(f"{value} is None", slow if leaf.non_null else ok("None"))
    if leaf.item is not None:  # the items of a list or a tuple, one by one
        append = ["o = SLOW", "break"]
        item = _leaf_lines(code, leaf.item, "y", lambda e: [f"o.append({e})"], append)
        loop = ["o = []", f"for y in {value}:", *_indent(item), "if o is SLOW:", *_indent(slow)]
        test = f"{value}.__class__ is list or {value}.__class__ is tuple"
        branch(test, [*loop, "else:", *_indent(ok("o"))])
        return [*lines, "else:", *_indent(slow)]
    if leaf.names is not None:
        members, names = code.name(leaf.members_of), code.name(leaf.names)
        branch(
            f"{value}.__class__ is {members} and (e := {names}.get({value})) is not None", ok("e")
        )
    if leaf.iso is not None:
        test = f"{value}.__class__ is {code.name(leaf.iso)}"
        if leaf.iso is dt.datetime:
            test += f" and ({value}.tzinfo is None or {value}.tzinfo is UTC)"
        branch(test, ok(f"dumps({value})[1:-1].decode()"))
    branch(f"{value} is SLOW or AW({value})", slow)
    coerce = ["try:", f"    c = {code.name(leaf.coerce)}({value})", "except Exception:"]
    coerce += ["    c = SLOW", "if c is SLOW or c is None or c is Undefined:", *_indent(slow)]
    return [*lines, "else:", *_indent([*coerce, "else:", *_indent(ok("c"))])]


def _objects_lines(code: _Code, i: int, objects: Objects) -> list[str]:
    """Lines that set x to the completed value of v, an object of field i's type of the
    type's own class without a cast mark (a list: a list), or a null where the type allows
    one, as graphql-core would; else x stays SLOW, nothing having run."""
    s = code.name(objects)
    if objects.non_null_items is not None:
        test = "v.__class__ is list"
    elif objects.origin is not None:
        test = f"v.__class__ is {code.name(objects.origin)} and not hasattr(v, CAST)"
    else:
        test = "v is not None and v is not SLOW"
    path = f"new_path(Path, (path, K{i}, TN))"
    kid = [f"k = kids[{i}]", "if k is None:", f"    k = ex._kid(ch, {i}, {s})"]
    kid.append("if k is not False:")
    if objects.non_null_items is not None:
        complete = [f"x = ex._complete_items({s}, v, {path}, k, details[{i}]) if v else []"]
    else:
        complete = [
            "if k.fast is not None:",
            "    known = k.done.get(id(v))",
            "    x = known[1] if known is not None and known[0] is v else k.shared(v)",
            "if x is SLOW:",
            f"    p = {path}",
            "    try:",
            "        x = k.complete",  # (a slot read, then a call: no method lookup)
            "        x = x(ex, v, p, k)",
            "    except Exception as error:",
            f"        x = ex.handle_field_error(error, {s}.field_type, details[{i}], p)",
            "    else:",
            "        if x.__class__ is not dict and ex.is_awaitable(x):",
            f"            x = ex._await_completed(x, {s}.field_type, details[{i}], p)",
        ]
    lines = [f"if {test}:", *_indent([*kid, *_indent(complete)])]
    return lines if objects.non_null else [*lines, "elif v is None:", "    x = None"]


def _generic(i: int) -> list[str]:
    """graphql-core's `execute_field` for field i, as its own loop calls it."""
    return [
        f"x = ex.execute_field(PT, src, details[{i}], Path(path, K{i}, TN), None)",
        "if x is not Undefined:",
        f"    r[K{i}] = x",
        "    if ex.is_awaitable(x):",
        f"        aw = add(aw, K{i})",
    ]


def _store(i: int) -> list[str]:
    """r[Ki] = x, noted as pending when x is an awaitable."""
    pending = "x.__class__ is not dict and x.__class__ is not list and x is not None"
    return [f"r[K{i}] = x", f"if {pending} and ex.is_awaitable(x):", f"    aw = add(aw, K{i})"]


def _read(code: _Code, plan: Read) -> str:
    """The expression that reads the field's attribute of `src`."""
    name = plan.attribute
    if plan.get is getattr and name.isidentifier() and not keyword.iskeyword(name):
        return f"src.{name}"
    return f"{code.name(plan.get)}(src, {code.name(name)})"


def _arguments(convention: Convention) -> str:
    """The arguments of an `in_place` resolver's call, as Strawberry's wrapper passes them;
    by position where the function takes just these (no keywords to match each call)."""
    function, source_first, source_names, info_name = convention
    given = dict.fromkeys(source_names, "src") | ({} if info_name is None else {info_name: "ctx"})
    arguments = [f"{name}={value}" for name, value in given.items()]
    try:
        rest = list(inspect.signature(function).parameters.values())[int(source_first) :]
    except (TypeError, ValueError):  # (no signature to read: by keyword)
        rest = []
    if {p.name for p in rest} == set(given) and all(
        p.kind is p.POSITIONAL_OR_KEYWORD for p in rest
    ):
        arguments = [given[p.name] for p in rest]
    return ", ".join(["src", *arguments] if source_first else arguments)


def _source_lines(
    code: _Code, plan: Plan | None, ok: Callable[[str], list[str]], slow: list[str]
) -> list[str] | None:
    """For a field that reads nothing but its source (`__typename`, a relay id, a basic
    field of a leaf type), lines that complete it and run `ok(value)`, else `slow`: the
    same for `complete` and `fast`. None for other fields."""
    if isinstance(plan, TypeName):
        return ok("TN")
    if isinstance(plan, RelayId):
        origin, attribute = code.name(plan.origin), code.name(plan.attribute)
        node_id = f"v = getattr(src, {attribute}, None) if src.__class__ is {origin} else None"
        encoded = ok(f"{code.name(plan.encode)}(v)")
        return [node_id, "if v is None:", *_indent(slow), "else:", *_indent(encoded)]
    if not isinstance(plan, Read) or plan.leaf is None:
        return None
    read = ["try:", f"    v = {_read(code, plan)}", "except Exception:", "    v = SLOW"]
    return read + _leaf_lines(code, plan.leaf, "v", ok, slow)


def _field_lines(code: _Code, i: int, plan: Plan | None) -> list[str]:
    """The lines of `complete` that set r[Ki], field i's value, or note it as pending."""
    lines = _source_lines(code, plan, _assign(f"r[K{i}]"), _generic(i))
    if lines is not None:
        return lines
    if isinstance(plan, Read) and plan.objects is not None:
        s = code.name(plan.objects)
        return [
            "try:",
            f"    v = {_read(code, plan)}",
            "except Exception:",
            "    v = SLOW",
            "x = SLOW",
            *_objects_lines(code, i, plan.objects),
            "if x is SLOW and v is not SLOW:",
            f"    x = ex._complete_objects({s}, v, Path(path, K{i}, TN), details[{i}])",
            "if x is SLOW:",
            *_indent(_generic(i)),
            "else:",
            *_indent(_store(i)),
        ]
    if not isinstance(plan, Call):
        return _generic(i)
    r = code.name(plan)
    if not plan.in_place:
        return [f"x = ex._call({r}, src, path, K{i}, details[{i}])", *_store(i)]
    # An in-place resolver, called here as Strawberry's wrapper calls it.
    code.uses_context = True
    call = f"{code.name(plan.convention.function)}({_arguments(plan.convention)})"
    complete = ["x = SLOW"]
    if plan.leaf is not None:
        complete += _leaf_lines(code, plan.leaf, "v", _assign("x"), ["pass"])
    elif plan.objects is not None:
        complete += _objects_lines(code, i, plan.objects)
    path = f"Path(path, K{i}, TN)"
    return [
        "try:",
        f"    v = {call}",
        "except Exception as error:",
        f"    x = ex.handle_field_error(error, {r}.field.type, details[{i}], {path})",
        "else:",
        *_indent(complete),
        "    if x is SLOW:",
        f"        x = ex._settle({r}, v, {path}, details[{i}])",
        *_store(i),
    ]


def _model_read(code: _Code, reader: Reader) -> str:
    """The expression that reads `reader` of the model `m`."""
    if isinstance(reader, str) and reader.isidentifier() and not keyword.iskeyword(reader):
        return f"m.{reader}"
    if isinstance(reader, str):
        return f"getattr(m, {code.name(reader)})"
    return f"{code.name(reader)}(m)"


def _model_lines(code: _Code, i: int, plan: Plan | None, model: ModelReads) -> list[str] | None:
    """For a field that `model` says how to read, lines of `direct` that set d{i} to its
    completed value, else return SLOW; None for other fields."""
    if isinstance(plan, TypeName):
        return [f"d{i} = TN"]
    reader = model.reads.get(plan.attribute) if isinstance(plan, (RelayId, Read)) else None
    if reader is None:
        return None
    read = f"v = {_model_read(code, reader)}"
    if isinstance(plan, RelayId):
        encoded = f"d{i} = {code.name(plan.encode)}(v)"
        return [read, "if v is None:", "    return SLOW", encoded]
    assert isinstance(plan, Read)  # noqa: S101  (as `reader` says)
    if plan.leaf is not None:
        return [read, *_leaf_lines(code, plan.leaf, "v", _assign(f"d{i}"), ["return SLOW"])]
    objects = plan.objects
    if objects is None or objects.non_null_items is not None:
        return None
    # One object, completed from its sub-model by its own selection's `direct`.
    kid = [f"k = kids[{i}]", "if k is None:", f"    k = ex._kid(ch, {i}, {code.name(objects)})"]
    kid += ["if k is False or k.direct is None:", "    return SLOW"]
    kid += [f"d{i} = k.direct(ex, v, k)", f"if d{i} is SLOW:", "    return SLOW"]
    null = ["return SLOW"] if objects.non_null else [f"d{i} = None"]
    return [read, "if v is None:", *_indent(null), "else:", *_indent(kid)]


# complete(executor, source, path, the selection as one request runs it) -> the dict of the
# completed fields, or an awaitable of it; fast(source) -> the same dict, or SLOW;
# direct(executor, model, the selection) -> the dict of an object made of the model, or SLOW
Complete = Callable[["FastExecutor", Any, "Path | None", "_Child"], Any]
Fast = Callable[[Any], dict[str, Any]]
Direct = Callable[["FastExecutor", Any, "_Child"], Any]

GENERATED_CACHE_SIZE = 2048  # selections kept per process (a few kB each)


@functools.lru_cache(maxsize=GENERATED_CACHE_SIZE)
def _generate(
    parent_type: GraphQLObjectType, fields: tuple[tuple[str, str], ...]
) -> tuple[Complete, Fast | None, Direct | None]:
    """The functions that complete `fields` ((response name, field name) pairs, in order)
    of a `parent_type` object: `complete`, graphql-core's `execute_fields` for them; for a
    selection of fields that read nothing but their source (leaves, ids, `__typename`),
    `fast`, which needs no path and answers the same source the same dict; for a
    selection of fields the type reads of its model (`reads_model`), `direct`, which
    completes the model of an object instead of the object, none being made.
    The source is made of the schema's names: response names reach it as values."""
    code = _Code(parent_type)
    model = _model_reads(parent_type)
    body: list[str] = []
    fast: list[str] | None = []
    direct: list[str] | None = None if model is None else []
    for i, (response_name, field_name) in enumerate(fields):
        code.names[f"K{i}"] = response_name
        plan = _plan(parent_type, field_name)
        body += _field_lines(code, i, plan)
        if fast is not None:
            lines = _source_lines(code, plan, _assign(f"f{i}"), ["return SLOW"])
            fast = None if lines is None else fast + lines
        if direct is not None and model is not None:
            lines = _model_lines(code, i, plan, model)
            direct = None if lines is None else direct + lines
    complete = [
        "def complete(ex, src, path, ch):",
        "    details, kids = ch.details, ch.kids",
        *(["    ctx = ex._context_only"] if code.uses_context else []),
        "    r = {}",
        "    aw = None",
        "    try:",
        *_indent(body or ["pass"], 2),
        "    except Exception:",
        "        if aw is not None:",
        "            ex.settle_in_background([r[k] for k in aw])",
        "        raise",
        "    return r if aw is None else settled(r, aw)",
    ]
    answer = ", ".join(f"K{i}: f{i}" for i in range(len(fields)))
    made = code.function("complete", complete), None, None
    if fast is not None:
        fast = ["def fast(src):", "    try:", *_indent(fast, 2), "    except Exception:"]
        fast += ["        return SLOW", f"    return {{{answer}}}"]
        made = made[0], code.function("fast", fast), None
    if direct is not None and model is not None:
        direct = [
            "def direct(ex, m, ch):",
            f"    if m.__class__ is not {code.name(model.model)}:",
            "        return SLOW",
            "    kids = ch.kids",
            "    try:",
            *_indent(direct, 2),
            "    except Exception:",
            "        return SLOW",
            f"    return {{{answer.replace(': f', ': d')}}}",
        ]
        made = made[0], made[1], code.function("direct", direct)
    return made


@dataclass(frozen=True, slots=True)
class _Child:
    """A selection of an object type as one request runs it."""

    complete: Complete
    fast: Fast | None
    direct: Direct | None
    details: tuple[Any, ...]
    # fast answers by source id: (source, answer), the source kept so its id stays its own
    done: dict[int, tuple[Any, dict[str, Any]]]
    # per field, the sub-selection of an object field: None until asked for, False
    # where graphql-core completes it (see `FastExecutor._kid`)
    kids: list[_Child | Literal[False] | None]

    def shared(self, source: Any) -> Any:
        """`fast`'s answer for `source` (the same dict every time), or SLOW."""
        if self.fast is None:
            return SLOW
        known = self.done.get(id(source))
        if known is not None and known[0] is source:
            return known[1]
        answer = self.fast(source)
        if answer is not SLOW:
            self.done[id(source)] = (source, answer)
        return answer


# -- the executor ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event of a subscription: the root field's value, and the context its fields
    resolve in. A subscription lives for hours and its connection's context with it; each
    event is read with loaders of its own (`build_per_event_executor`)."""

    value: Any
    context: Any


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with selections completed by generated code (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = FAST_PATH_ENABLED
        if not self._fast:
            _warn_stock()
            return
        self._strawberry: Any = strawberry_schema(self.schema)
        middleware = self.middleware_manager
        # (a resolve hook must see every field, an exception handler every error)
        hooks = bool(middleware and middleware.middlewares)
        self._generic = hooks or bool(self._strawberry.exception_handlers)
        self._context_only = ContextOnly(self.context_value)
        # By the id of what each keeps: grouped field sets as they run here; the sub-selection
        # of a field details list (None: graphql-core's path); a field's converted arguments.
        self._selections: dict[int, tuple[GroupedFieldSet, _Child]] = {}
        self._children: dict[int, tuple[Any, _Child | None]] = {}
        self._arguments: dict[int, tuple[Any, dict[str, Any] | None]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if (
            not self._fast
            or self._generic
            or position_context is not None
            or parent_type is self.schema.subscription_type
        ):
            # (deferred delivery is graphql-core's; so is a subscription's root field, whose
            # value is the event, not its resolver's)
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        child = self._selection(parent_type, grouped_field_set)
        return child.complete(self, source_value, path, child)  # type: ignore[no-any-return]

    def build_per_event_executor(self, payload: Any) -> Any:
        """The executor of one subscription event; a `Delivery` brings its own context."""
        if not isinstance(payload, Delivery):
            return super().build_per_event_executor(payload)
        executor: Any = super().build_per_event_executor(payload.value)
        executor.context_value = payload.context
        if self._fast:
            executor._context_only = ContextOnly(payload.context)  # noqa: SLF001  (its own class)
            executor._selections = {}  # noqa: SLF001
            executor._children = {}  # noqa: SLF001
            executor._arguments = {}  # noqa: SLF001
        return executor

    def build_response(self, data: dict[str, Any] | None) -> Any:
        """The response; when nothing is left to deliver, the request's caches go.

        They hold every object the selections completed, and graphql-core's `async_helpers`
        hold bound methods of this executor: dropped here, all that a request made is freed
        by reference counting with the response instead of by the cyclic collector.
        """
        response = super().build_response(data)
        if self._fast and isinstance(response, ExecutionResult):
            self._selections.clear()
            self._children.clear()
            self._arguments.clear()
            del self.async_helpers
        return response

    def _selection(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> _Child:
        known = self._selections.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        fields = tuple((key, group[0].node.name.value) for key, group in grouped_field_set.items())
        details = tuple(grouped_field_set.values())
        child = _Child(*_generate(parent_type, fields), details, {}, [None] * len(details))
        self._selections[id(grouped_field_set)] = (grouped_field_set, child)
        return child

    def _kid(self, parent: _Child, index: int, objects: Objects) -> _Child | Literal[False]:
        """The sub-selection of `parent`'s field `index`, kept in `parent.kids`."""
        child = self._child(objects.object_type, parent.details[index])
        kid = parent.kids[index] = False if child is None else child
        return kid

    def _child(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> _Child | None:
        known = self._children.get(id(details))
        if known is not None and known[0] is details:
            return known[1]
        grouped, defer_usages, _forbidden = self.collect_subfields(object_type, details)
        child = None if defer_usages else self._selection(object_type, grouped)
        self._children[id(details)] = (details, child)
        return child

    def _call(
        self, plan: Call, source: Any, parent_path: Path | None, key: str, details: FieldDetailsList
    ) -> Any:
        """graphql-core's `execute_field` with Strawberry's resolver wrapper, in fewer steps:
        the arguments from `_arguments_of`, the value completed by `_settle`."""
        path = Path(parent_path, key, plan.parent_type.name)
        arguments = self._arguments_of(plan, details)
        if arguments is None:
            return self.execute_field(plan.parent_type, source, details, path, None)
        convention = plan.convention
        kwargs = dict(arguments)
        for name in convention.source_names:
            kwargs[name] = source
        if convention.info_name is not None:
            nodes = [field_details.node for field_details in details]
            info = self.build_resolve_info(plan.field, nodes, plan.parent_type, path)
            info = strawberry_info(self._strawberry.config, info, plan.definition)
            kwargs[convention.info_name] = info
        function = convention.function
        try:
            value = function(source, **kwargs) if convention.source_first else function(**kwargs)
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            return self.handle_field_error(raw_error, plan.field.type, details, path)
        return self._settle(plan, value, path, details)

    def _arguments_of(self, plan: Call, details: FieldDetailsList) -> dict[str, Any] | None:
        """The arguments as Strawberry hands them to the resolver, once per request: coerced,
        then converted (for leaf types that reads nothing else). None: graphql-core's path."""
        known = self._arguments.get(id(details))
        if known is not None and known[0] is details:
            return known[1]
        first = details[0]
        converted: dict[str, Any] | None
        try:
            converted = convert_arguments(
                get_argument_values(
                    plan.field,
                    first.node,
                    self.variable_values,
                    first.fragment_variable_values,
                    self.hide_suggestions,
                ),
                plan.definition.arguments,
                scalar_registry=self._strawberry.schema_converter.scalar_registry,
                config=self._strawberry.config,
            )
        except Exception:  # noqa: BLE001  (graphql-core's path raises it, located)
            converted = None
        if converted is not None and not all(map(_plain_value, converted.values())):
            converted = None  # a list, say: each call gets its own, as Strawberry's would
        self._arguments[id(details)] = (details, converted)
        return converted

    def _settle(self, plan: Call, value: Any, path: Path, details: FieldDetailsList) -> Any:
        """A resolver's value completed as graphql-core's `execute_field` completes it; an
        awaitable by `_later`."""
        try:
            if self.is_awaitable(value):
                return self._later(plan, value, path, details)
            completed = SLOW
            if plan.objects is not None:
                completed = self._complete_objects(plan.objects, value, path, details)
            if completed is SLOW:
                completed = self._complete_value(plan, value, path, details)
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            return self.handle_field_error(raw_error, plan.field.type, details, path)
        if completed.__class__ is not dict and self.is_awaitable(completed):
            return self._await_completed(completed, plan.field.type, details, path)
        return completed

    async def _later(self, plan: Call, value: Any, path: Path, details: FieldDetailsList) -> Any:
        """graphql-core's `complete_awaitable_value`, an object (list) completed here."""
        try:
            value = await self.with_abort_signal(value)
            completed = SLOW
            if plan.objects is not None:
                completed = self._complete_objects(plan.objects, value, path, details)
            if completed is SLOW:
                completed = self._complete_value(plan, value, path, details)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's)
            return self.handle_field_error(raw_error, plan.field.type, details, path)
        return completed

    def _complete_value(self, plan: Call, value: Any, path: Path, details: FieldDetailsList) -> Any:
        nodes = [field_details.node for field_details in details]
        info = self.build_resolve_info(plan.field, nodes, plan.parent_type, path)
        return self.complete_value(plan.field.type, details, info, path, value, None)

    def _complete_objects(  # noqa: PLR0911
        self, objects: Objects, value: Any, path: Path, details: FieldDetailsList
    ) -> Any:
        """The completed value of an object (list) field, or SLOW, before anything ran, where
        graphql-core must take it over; errors of sub-fields handled as its own are."""
        if value is None:
            return SLOW if objects.non_null else None
        child = self._child(objects.object_type, details)
        if child is None:
            return SLOW
        if value.__class__ is Models and objects.non_null_items is not None:
            return self._complete_models(objects, value, path, child, details)
        if objects.non_null_items is not None:
            return self._complete_items(objects, value, path, child, details)
        if not _acceptable(objects, value):
            return SLOW
        answer = child.shared(value)
        if answer is not SLOW:
            return answer
        try:
            complete = child.complete
            completed = complete(self, value, path, child)
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's execute_field)
            return self.handle_field_error(raw_error, objects.field_type, details, path)
        if completed.__class__ is not dict and self.is_awaitable(completed):
            return self._await_completed(completed, objects.field_type, details, path)
        return completed

    def _complete_models(
        self, objects: Objects, value: Models, path: Path, child: _Child, details: Any
    ) -> Any:
        """A list given as models: each completed by the selection's `direct` where it can
        be, else (a model it does not take, a value graphql-core must complete) the list of
        the made objects as `_complete_items` completes it; `direct` having only read."""
        direct = child.direct
        if direct is not None:
            completed: list[Any] = []
            append = completed.append
            for model in value.models:
                answer = direct(self, model, child)
                if answer is SLOW:
                    break
                append(answer)
            else:
                return completed
        return self._complete_items(objects, list(value), path, child, details)

    def _complete_items(
        self, objects: Objects, items: Sequence[Any], path: Path, child: _Child, details: Any
    ) -> Any:
        """graphql-core's `complete_list_value` for a list of objects of one type (each item
        as `complete_list_item_value`, or shared), or SLOW for a list it would refuse."""
        if not _acceptable(objects, items):
            return SLOW
        item_type: Any = objects.item_type
        fast, complete, is_awaitable = child.fast, child.complete, self.is_awaitable
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                # (a None is allowed: `_acceptable` checked the list)
                value = None if item is None else SLOW if fast is None else child.shared(item)
                if value is SLOW:
                    item_path = _new_path(Path, (path, index, None))
                    try:
                        value = complete(self, item, item_path, child)
                    except Exception as raw_error:  # noqa: BLE001  (as complete_list_item_value)
                        self.handle_field_error(raw_error, item_type, details, item_path)
                        value = None
                    else:
                        if value.__class__ is not dict and is_awaitable(value):
                            awaitable_indices.append(index)
                            value = self._await_completed(value, item_type, details, item_path)
                completed.append(value)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[i] for i in awaitable_indices])
            raise
        return _settled(completed, awaitable_indices) if awaitable_indices else completed

    async def _await_completed(
        self, value: Awaitable[Any], return_type: Any, details: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await value
        except Exception as raw_error:  # noqa: BLE001  (as graphql-core's await_completed)
            self.handle_field_error(raw_error, return_type, details, path)
            return None


def _plain_value(value: Any) -> bool:
    """A value a resolver cannot change, so that calls may share it."""
    return value is None or isinstance(value, (bool, int, float, str, Enum))


def _acceptable(objects: Objects, value: Any) -> bool:
    """Whether graphql-core would complete `value` without an error of its own: each
    object passes `is_type_of` (Strawberry's ignores its `info`: `type_check`), unasked
    for one of the type's own class without a cast mark."""
    is_type_of: Any = objects.object_type.is_type_of
    origin = objects.origin
    if objects.non_null_items is None:  # one object, not None
        own = value.__class__ is origin and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None
        return is_type_of is None or own or bool(is_type_of(value, None))
    if not isinstance(value, (list, tuple)):
        return False
    for item in value:
        if item is None:
            if objects.non_null_items:
                return False
        elif is_type_of is not None and not (
            (item.__class__ is origin and getattr(item, TYPE_CAST_ATTRIBUTE, None) is None)
            or is_type_of(item, None)
        ):
            return False
    return True


async def _settled(container: Any, keys: Sequence[Any]) -> Any:
    """`container` with the awaitables at `keys` replaced by their values, awaited at once."""
    if len(keys) == 1:
        container[keys[0]] = await container[keys[0]]
    else:
        awaited = await gather_with_cancel(*(container[k] for k in keys))
        for key, value in zip(keys, awaited, strict=True):
            container[key] = value
    return container
