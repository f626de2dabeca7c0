"""The generated executor runs where it should, and the representative queries need nothing
of graphql-core's per-field path.

- The version check: the fast path is on for the installed strawberry-graphql and
  graphql-core; with any other version `FastExecutor` is Strawberry's stock executor, and
  says so once.
- What `schema.execution` takes for granted of Strawberry's workings (its one section of
  them), each piece against today's objects: a release that changes one fails here.
- The queries of `bench/queries.py`, run on the demo data through an executor that notes
  every field graphql-core resolves (`execute_field`) or completes (`complete_value`), send
  none there; every field they select has the plan its kind calls for (dates written by
  orjson, enum members looked up, relay ids written, `@in_place` resolvers called in
  place, objects completed by their selection's code), and shows a value.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import GraphQLEnumType, GraphQLObjectType, get_named_type
from strawberry.extensions import SchemaExtension
from strawberry.relay import Node
from strawberry.schema.schema_converter import get_arguments

from bench.queries import ISSUE_PAGE, NESTED_LINKS, PROJECT_PAGE
from bench.traversal import DEPENDENCIES as TRAVERSAL
from issuegraph.api import IssuegraphSchema, Mutation, Query, schema
from issuegraph.context import Context
from issuegraph.demo import seed_demo
from issuegraph.domain.access import Access
from issuegraph.domain.auth import authenticate
from issuegraph.loaders import Loaders
from issuegraph.models import IssueState
from issuegraph.schema import execution
from issuegraph.schema.execution import Call, FastExecutor, Read, RelayId, TypeName
from issuegraph.schema.graph import DependencyNode
from issuegraph.schema.issues import Issue
from issuegraph.schema.links import IssueLink
from issuegraph.schema.users import User
from tests.test_models import ISSUE, LINK

TYPES = schema._schema.type_map
ISSUE_TYPE: Any = TYPES["Issue"]


def _definition(type_name: str, field_name: str) -> Any:
    return execution.definition_of(TYPES[type_name].fields[field_name])  # type: ignore[union-attr]


class Recording(FastExecutor):
    """FastExecutor, noting each field that graphql-core's per-field path resolves
    (`execute_field`) or completes (`complete_value`) as "Type.field"."""

    generic: ClassVar[set[str]] = set()

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        self.generic.add(f"{parent_type.name}.{field_details_list[0].node.name.value}")
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def complete_value(self, return_type, field_details_list, info, path, result, context):  # noqa: PLR0917
        self.generic.add(f"{info.parent_type.name}.{info.field_name}")
        return super().complete_value(return_type, field_details_list, info, path, result, context)


RECORDING = IssuegraphSchema(
    query=Query,
    mutation=Mutation,
    extensions=list(schema.extensions),
    execution_context_class=Recording,
)

# -- the version check ----------------------------------------------------------------------


def test_fast_path_is_enabled_for_the_installed_libraries():
    assert execution.installed_versions() == execution.SUPPORTED
    assert execution.FAST_PATH_ENABLED, execution.FAST_PATH_REASON


def test_other_versions_turn_the_fast_path_off():
    on, reason = execution.fast_path_state(
        {"strawberry-graphql": "0.342.0", "graphql-core": "3.3.2"}
    )
    assert not on
    assert reason == (
        "the generated executor supports strawberry-graphql 0.341.2 and graphql-core 3.3.2; "
        "installed strawberry-graphql 0.342.0, graphql-core 3.3.2; running the stock executor"
    )
    assert not execution.fast_path_state({"strawberry-graphql": "0.341.2", "graphql-core": None})[0]


@strawberry.type
class Pair:
    left: str
    right: int


@strawberry.type
class PairQuery:
    @strawberry.field
    def pairs(self) -> list[Pair]:
        return [Pair(left="a", right=1), Pair(left="b", right=2)]


PAIRS = strawberry.Schema(query=PairQuery, execution_context_class=Recording)


async def test_with_the_fast_path_off_it_is_the_stock_executor(monkeypatch, caplog):
    off, reason = execution.fast_path_state({"strawberry-graphql": "1.0", "graphql-core": "3.3.2"})
    monkeypatch.setattr(execution, "FAST_PATH_ENABLED", off)
    monkeypatch.setattr(execution, "FAST_PATH_REASON", reason)
    execution._warn_stock.cache_clear()
    Recording.generic.clear()
    with caplog.at_level(logging.WARNING, logger=execution.__name__):
        for _ in range(2):
            result = await PAIRS.execute("{ pairs { left right __typename } }")
            assert not result.errors
            assert result.data == {
                "pairs": [
                    {"left": "a", "right": 1, "__typename": "Pair"},
                    {"left": "b", "right": 2, "__typename": "Pair"},
                ]
            }
    execution._warn_stock.cache_clear()
    assert Recording.generic == {"PairQuery.pairs", "Pair.left", "Pair.right", "Pair.__typename"}
    assert [r.getMessage() for r in caplog.records] == [reason]
    # and on again, the generated code answers them
    monkeypatch.setattr(execution, "FAST_PATH_ENABLED", True)
    Recording.generic.clear()
    assert not (await PAIRS.execute("{ pairs { left right __typename } }")).errors
    assert Recording.generic == set()


class BrokenError(Exception):
    pass


@strawberry.type
class Problem:
    message: str


class ProblemHandler(strawberry.ExceptionHandler[BrokenError, Problem]):
    def handle(self, exception: BrokenError, *, field: Any, info: Any) -> Problem:  # noqa: ARG002
        return Problem(message=str(exception))


@strawberry.type
class HandledQuery(PairQuery):
    @strawberry.field
    def pair(self) -> Pair | Problem:
        raise BrokenError("no pair")


class Watching(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


@pytest.mark.parametrize(
    "options",
    [{"exception_handlers": [ProblemHandler()]}, {"extensions": [Watching]}],
    ids=["exception handlers", "a resolve hook"],
)
async def test_schemas_that_see_every_field_run_the_stock_executor(options):
    query = "{ pairs { left right } pair { ... on Problem { message } } }"
    stock = await strawberry.Schema(query=HandledQuery, **options).execute(query)
    Recording.generic.clear()
    recording = strawberry.Schema(query=HandledQuery, execution_context_class=Recording, **options)
    fast = await recording.execute(query)
    assert (fast.data, fast.errors) == (stock.data, stock.errors)
    assert {"HandledQuery.pairs", "Pair.left", "Pair.right"} <= Recording.generic


def test_the_graphql_core_methods_it_calls_take_what_it_passes():
    expected = {
        "execute_field": "parent_type source field_details_list path position_context",
        "complete_value": "return_type field_details_list info path result position_context",
        "handle_field_error": "raw_error return_type field_details_list path",
        "build_resolve_info": "field_def field_nodes parent_type path",
        "collect_subfields": "return_type field_details_list",
        "settle_in_background": "awaitables",
        "with_abort_signal": "awaitable",
        "execute_fields": "parent_type source_value path grouped_field_set position_context",
        "build_response": "data",
    }
    for name, parameters in expected.items():
        found = list(inspect.signature(getattr(FastExecutor.__mro__[1], name)).parameters)
        assert found == ["self", *parameters.split()], name


# -- what it takes for granted of Strawberry's workings -------------------------------------


def test_the_strawberry_schema_is_found_from_graphql_cores():
    assert execution.strawberry_schema(schema._schema) is schema


async def test_info_is_made_as_strawberrys_wrapper_makes_it():
    seen: list[Any] = []

    @strawberry.type
    class InfoQuery:
        @strawberry.field
        def hello(self, info: strawberry.Info) -> str:
            seen.append(info)
            return "hello"

    stock = strawberry.Schema(query=InfoQuery)
    assert (await stock.execute("{ hello }")).data == {"hello": "hello"}
    info = seen[0]
    made = execution.strawberry_info(stock.config, info._raw_info, info._field)
    assert type(made) is type(info)
    assert made == info


@pytest.mark.parametrize("name", ["title", "state", "labels", "dueDate", "createdAt", "weight"])
def test_basic_fields_are_read_as_strawberry_reads_them(name):
    issue = Issue.from_model(ISSUE)
    field = ISSUE_TYPE.fields[name]
    read = execution.basic_read(execution.definition_of(field))
    assert read is not None
    get, attribute = read
    assert get(issue, attribute) == field.resolve(issue, None)  # Strawberry's resolver
    assert execution.basic_read(_definition("Issue", "author")) is None


@pytest.mark.parametrize(
    ("type_name", "field_name"),
    [
        ("Issue", "author"),  # a method: self, info
        ("LinkedIssueEdge", "cursor"),  # a function: root, info
        ("Issue", "links"),  # self, info and arguments
        ("IssueConnection", "nodes"),  # self only
        ("Query", "issue"),
    ],
)
def test_resolvers_are_called_as_strawberrys_wrapper_calls_them(type_name, field_name):
    definition = _definition(type_name, field_name)
    convention = execution.resolver_call(definition)
    assert convention is not None
    assert convention.function is definition.base_resolver.wrapped_func
    source, info = object(), object()
    args, kwargs = get_arguments(
        field=definition,
        source=source,
        info=info,  # type: ignore[arg-type]
        kwargs={},
        config=schema.config,
        scalar_registry=schema.schema_converter.scalar_registry,
    )
    assert args == ([source] if convention.source_first else [])
    expected = dict.fromkeys(convention.source_names, source)
    if convention.info_name is not None:
        expected[convention.info_name] = info
    assert kwargs == expected
    assert execution.resolver_call(_definition("Issue", "title")) is None


def test_strawberrys_own_type_checks_are_recognised():
    assert execution.type_check(ISSUE_TYPE) == (True, Issue)
    is_type_of = ISSUE_TYPE.is_type_of
    issue = Issue.from_model(ISSUE)
    assert is_type_of(issue, None)  # what `_acceptable` answers without asking
    assert not is_type_of(SimpleNamespace(), None)
    assert not is_type_of(strawberry.cast(User, Issue.from_model(ISSUE)), None)
    assert execution.type_check(TYPES["PageInfo"]) == (True, None)  # type: ignore[arg-type]
    own = strawberry.Schema(query=OwnQuery)._schema.type_map["Own"]
    assert execution.type_check(own) == (False, None)  # type: ignore[arg-type]


@strawberry.type
class Own:
    x: int

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, cls)


@strawberry.type
class OwnQuery:
    own: Own


def test_strawberrys_date_scalars_are_recognised():
    assert execution.iso_class(TYPES["DateTime"]) is dt.datetime
    assert execution.iso_class(TYPES["Date"]) is dt.date
    assert execution.iso_class(TYPES["String"]) is None


@pytest.mark.parametrize("name", ["User", "Project", "Issue", "IssueLink"])
def test_relays_own_ids_are_recognised(name):
    node_type: Any = TYPES[name]
    assert execution.is_relay_id(execution.definition_of(node_type.fields["id"]))
    assert isinstance(execution._relay_id(node_type, node_type.fields["id"]), RelayId)
    assert not execution.is_relay_id(_definition("Issue", "author"))


# What each type says its fields read of its model is what its objects show (`Models`).
MADE_OF_MODELS = {
    "Issue": (Issue.from_model, ISSUE),
    "IssueLink": (lambda link: IssueLink.from_model(link, None, None), LINK),
    "DependencyNode": (lambda pair: DependencyNode(issue=pair[0], distance=pair[1]), (ISSUE, 3)),
}


@pytest.mark.parametrize("name", sorted(MADE_OF_MODELS))
def test_fields_read_of_a_model_are_what_the_made_object_shows(name):
    make, model = MADE_OF_MODELS[name]
    declared = execution._model_reads(TYPES[name])  # type: ignore[arg-type]
    assert declared is not None
    assert isinstance(model, declared.model)
    made = make(model)
    shown = {f.python_name for f in execution.definition_of(TYPES[name]).fields}
    assert set(declared.reads) - {"pk"} <= shown
    for field, reader in declared.reads.items():
        read = getattr(model, reader) if isinstance(reader, str) else reader(model)
        value = getattr(made, field)
        # (a tuple where the object holds a list is written as the same JSON list)
        assert (list(read) if isinstance(read, tuple) else read) == value, field


def test_enum_members_are_looked_up_by_name():
    leaf = execution._leaf(TYPES["IssueState"])  # type: ignore[arg-type]
    assert leaf is not None
    assert leaf.names == {IssueState.OPENED: "OPENED", IssueState.CLOSED: "CLOSED"}


# -- the representative queries --------------------------------------------------------------

REPRESENTATIVE = {
    "issue_page": (ISSUE_PAGE, {"project": "acme/platform", "iid": 4}),
    "project_page": (PROJECT_PAGE, {"project": "acme/platform"}),
    "nested_links": (NESTED_LINKS, {"project": "acme/platform"}),
    "traversal": (TRAVERSAL, {"project": "acme/platform", "iid": 5, "direction": "UPSTREAM"}),
}

# Fields the representative queries may send down graphql-core's per-field path, with why:
# none. (Their root fields and the pages loaded when asked for are awaited, and their
# objects completed, by the generated code too: `FastExecutor._later`.)
GENERIC: dict[str, str] = {}

# Fields the demo data leaves null everywhere, with why.
NULL: dict[str, str] = {
    "milestone": "no demo issue has one",
    "avatarUrl": "no demo user has one",
}


@pytest.fixture
async def demo(pool: Any) -> Any:
    assert await seed_demo(pool)
    return pool


async def _context(pool: Any, settings: Any, token: str) -> Context:
    viewer = await authenticate(pool, {"Authorization": f"Bearer {token}"})
    loaders = Loaders(pool, viewer)
    return Context(
        request_id="paths",
        settings=settings,
        pool=pool,
        viewer=viewer,
        loaders=loaders,
        access=Access(viewer, loaders),
    )


def _shown(value: Any, keys: dict[str, bool]) -> None:
    """Each key of the answer, and whether some value of it is not null."""
    if isinstance(value, list):
        for item in value:
            _shown(item, keys)
    elif isinstance(value, dict):
        for key, item in value.items():
            keys[key] = keys.get(key, False) or item not in (None, [])
            _shown(item, keys)


@pytest.mark.parametrize("name", sorted(REPRESENTATIVE))
async def test_the_representative_queries_take_no_generic_path(demo, world, settings, name):
    query, variables = REPRESENTATIVE[name]
    token = await world.token("root")
    Recording.generic.clear()
    result = await RECORDING.execute(
        query, variable_values=variables, context_value=await _context(demo, settings, token)
    )
    assert not result.errors, result.errors
    assert Recording.generic == set(GENERIC), Recording.generic - set(GENERIC)
    keys: dict[str, bool] = {}
    _shown(result.data, keys)
    assert len(keys) >= 10
    assert {key for key, shown in keys.items() if not shown} <= set(NULL)
    _check_plans(RECORDING._schema.type_map)


@pytest.mark.parametrize("direction", ["UPSTREAM", "DOWNSTREAM", "BOTH"])
async def test_the_traversal_query_completes_its_lists_from_the_models(
    demo, world, settings, monkeypatch, direction
):
    made: list[str] = []
    iterate = execution.Models.__iter__

    def noted(models: execution.Models) -> Any:
        made.append(type(models.make(models.models[0])).__name__)
        return iterate(models)

    monkeypatch.setattr(execution.Models, "__iter__", noted)
    token = await world.token("root")
    Recording.generic.clear()
    variables = {"project": "acme/platform", "iid": 4, "direction": direction}
    result = await RECORDING.execute(
        TRAVERSAL, variable_values=variables, context_value=await _context(demo, settings, token)
    )
    assert not result.errors, result.errors
    graph = result.data["issue"]["dependencies"]  # type: ignore[index]
    assert graph["nodes"]
    assert graph["edges"]
    assert Recording.generic == set()
    assert made == []  # no node, issue or link object made
    # A selection of a field the model does not answer gets the objects.
    mixed = TRAVERSAL.replace("edges { databaseId }", "edges { databaseId source { iid } }")
    result = await RECORDING.execute(
        mixed, variable_values=variables, context_value=await _context(demo, settings, token)
    )
    assert not result.errors, result.errors
    assert made == ["IssueLink"]


def _check_plans(types: dict[str, Any]) -> None:
    """Every field that ran has the plan its kind calls for."""
    plans = {
        (parent_type.name, field_name): plan
        for (parent_type, field_name), plan in execution._plans.items()
        if types.get(parent_type.name) is parent_type
    }
    assert plans
    for (type_name, field_name), plan in plans.items():
        where = f"{type_name}.{field_name}"
        if field_name == "__typename":
            assert isinstance(plan, TypeName), where
            continue
        parent: GraphQLObjectType = types[type_name]
        field = parent.fields[field_name]
        definition = execution.definition_of(field)
        origin = execution.definition_of(parent).origin
        if field_name == "id" and issubclass(origin, Node):
            assert isinstance(plan, RelayId), where
            continue
        resolver = definition.base_resolver
        if resolver is None:
            assert isinstance(plan, Read), where
        else:
            assert isinstance(plan, Call), where
            marked = getattr(resolver.wrapped_func, execution.IN_PLACE, False)
            assert plan.in_place == marked, where
        named = get_named_type(field.type)
        leaf = plan.leaf.item or plan.leaf if plan.leaf is not None else None
        if isinstance(named, GraphQLObjectType):
            assert plan.objects is not None, where
            assert named.is_type_of is None or plan.objects.origin is not None, where
            continue
        assert leaf is not None, where
        if named.name in {"DateTime", "Date"}:
            assert leaf.iso is not None, where
        if isinstance(named, GraphQLEnumType):
            assert leaf.names is not None, where
            assert len(leaf.names) == len(named.values), where
