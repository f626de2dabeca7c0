"""The fast executor answers byte for byte what graphql-core's own executor answers.

Every query of a corpus (hand-written ones for aliases, fragments, directives,
`__typename`, nulls, errors and their propagation; the benchmark's representative
queries; and queries generated from the schema by hypothesis-graphql) runs twice on the
same data, through the service's schema and through one built the same way but with
Strawberry's stock execution context, each with fresh loaders. The two responses,
formatted as the endpoint formats them, must be the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries as graphql_queries
from strawberry.relay import GlobalID, Node, NodeID

from bench.queries import ISSUE_PAGE, NESTED_LINKS, PROJECT_PAGE
from issuegraph.api import IssuegraphSchema, Mutation, Query, Subscription, schema
from issuegraph.context import Context
from issuegraph.demo import seed_demo
from issuegraph.domain.access import Access
from issuegraph.domain.auth import authenticate
from issuegraph.loaders import Loaders
from issuegraph.models import Viewer
from issuegraph.schema import execution
from issuegraph.schema.errors import format_error
from issuegraph.schema.execution import FastExecutor

STOCK = IssuegraphSchema(
    query=Query, mutation=Mutation, subscription=Subscription, extensions=list(schema.extensions)
)
SDL = str(schema)

_ISSUE_FIELDS = """
  __typename id databaseId iid projectId title description state labels milestone dueDate
  confidential weight createdAt updatedAt closedAt webUrl reference userNotesCount
  isBlocked blockedByCount blockingCount
  author { __typename id username name avatarUrl webUrl state }
  closedBy { id username }
  assignee { id username }
  assignees { id username name }
  project { __typename id fullPath name description visibility webUrl viewerRole }
"""

CORPUS: list[tuple[str, dict[str, Any]]] = [
    (ISSUE_PAGE, {"project": "acme/platform", "iid": 4}),
    (PROJECT_PAGE, {"project": "acme/platform"}),
    (NESTED_LINKS, {"project": "acme/platform"}),
    (f'{{ issue(project: "acme/platform", iid: 5) {{ {_ISSUE_FIELDS} }} }}', {}),
    (
        # aliases, the same field twice under different aliases and arguments, __typename
        """query($p: ID!) { a: project(fullPath: $p) { t: __typename x: name
             first: issues(first: 2) { edges { cursor node { iid a: title b: title } } }
             second: issues(first: 3, sort: CREATED_ASC) { totalCount
               pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }
           b: project(fullPath: "acme/tools") { name } __typename }""",
        {"p": "acme/platform"},
    ),
    (
        # fragments, nested fragments, inline fragments with and without a type condition
        """fragment U on User { id username ... on User { name } }
           fragment I on Issue { iid title author { ...U } ... { state labels } }
           query { issue(project: "acme/platform", iid: 4) { ...I
             links { edges { linkType link { id databaseId linkType createdAt
               source { ...I } target { iid } author { ...U } updatedBy { ...U } }
               node { ...I ... on Issue { weight } } } } } }""",
        {},
    ),
    (
        # @skip / @include from variables and literals, on fields, fragments and spreads
        """query($yes: Boolean!, $no: Boolean!) {
             issue(project: "acme/platform", iid: 4) {
               title @include(if: $yes) description @include(if: $no)
               state @skip(if: $yes) labels @skip(if: $no)
               ... on Issue @include(if: $no) { weight }
               ... @skip(if: false) { iid author @include(if: $yes) { username } }
             } }""",
        {"yes": True, "no": False},
    ),
    (
        # a field error under a nullable parent: null there, the error located by path
        """{ issue(project: "acme/platform", iid: 4) { iid
             links(first: 1000) { totalCount } blockedBy(first: 0) { totalCount }
             ok: blocking { totalCount } } }""",
        {},
    ),
    (
        # nulls: a hidden issue, a missing project, a bad global id, fields that are null
        """{ hidden: issue(project: "acme/security", iid: 1) { iid }
             missing: project(fullPath: "no/such") { name }
             node(id: "bm90IGFuIGlk") { id }
             viewer { id username }
             issue(project: "acme/platform", iid: 1) { closedAt closedBy { id } milestone } }""",
        {},
    ),
    (
        # the graph fields, lists of objects with resolvers mixed with plain fields: their
        # lists given as models, completed from the models or from the objects made
        """{ issue(project: "acme/platform", iid: 5) {
             dependencies { depthReached truncated
               nodes { distance issue { __typename id databaseId iid title state labels
                 createdAt closedAt } }
               edges { __typename id databaseId linkType createdAt updatedAt } }
             mixed: dependencies(direction: BOTH, maxDepth: 2) {
               nodes { issue { iid webUrl } } edges { databaseId source { iid title }
                 target { iid } author { username } } }
             none: dependencies(states: [CLOSED]) { nodes { distance } edges { id } }
             openBlockers { id iid title } blockerRollup { total open completed }
             criticalPath { issues { iid title } issueCount totalWeight }
             weighted: criticalPath(weighted: true) { issues { iid reference } }
             parent { iid } children { totalCount } }
           project(fullPath: "acme/platform") { readyIssues { edges { node { iid } } }
             dependencyOrder { edges { node { iid } } } } }""",
        {},
    ),
]


@pytest.fixture
async def demo(pool: Any) -> Any:
    assert await seed_demo(pool)
    return pool


async def _context(pool: Any, settings: Any, token: str | None) -> Context:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    viewer: Viewer = await authenticate(pool, headers)
    loaders = Loaders(pool, viewer)
    return Context(
        request_id="differential",
        settings=settings,
        pool=pool,
        viewer=viewer,
        loaders=loaders,
        access=Access(viewer, loaders),
    )


async def _response(
    target: IssuegraphSchema, pool: Any, settings: Any, token: str | None, *, query: str, v: Any
) -> bytes:
    result = await target.execute(
        query, variable_values=v, context_value=await _context(pool, settings, token)
    )
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e, "differential") for e in result.errors]
    return json.dumps(body).encode()


async def _same(pool: Any, settings: Any, token: str | None, query: str, v: Any) -> bytes:
    fast = await _response(schema, pool, settings, token, query=query, v=v)
    stock = await _response(STOCK, pool, settings, token, query=query, v=v)
    assert fast == stock, query
    return fast


def test_the_service_schema_runs_the_fast_executor():
    assert schema.execution_context_class is FastExecutor
    assert STOCK.execution_context_class is not FastExecutor
    assert str(STOCK) == SDL


@pytest.mark.parametrize(("query", "variables"), CORPUS)
@pytest.mark.parametrize("viewer", ["anonymous", "carol", "root"])
async def test_fast_and_stock_executors_answer_the_same_bytes(  # noqa: PLR0917  (fixtures)
    demo, world, settings, query, variables, viewer
):
    token = None if viewer == "anonymous" else await world.token(viewer)
    body = await _same(demo, settings, token, query, variables)
    assert b'"data"' in body


async def test_the_corpus_exercises_errors_nulls_and_data(demo, world, settings):
    # The corpus is only worth its name if it reaches each kind of outcome.
    token = await world.token("carol")
    bodies = [json.loads(await _same(demo, settings, token, q, v)) for q, v in CORPUS]
    assert any(b.get("errors") for b in bodies)
    assert any(b["data"] and None in b["data"].values() for b in bodies)
    assert sum(len(json.dumps(b)) for b in bodies) > 20_000


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_queries_answer_the_same_bytes(demo, world, settings, data):
    token = data.draw(st.sampled_from([None, "carol", "root"]))
    if token is not None:
        token = await world.token(token)
    query = data.draw(graphql_queries(SDL, fields=["issue", "project", "viewer", "node"]))
    await _same(demo, settings, token, query, {})


# -- the error paths, on a schema of its own whose objects break their declared types ------


@strawberry.type
class Leaf:
    name: str
    maybe: str | None
    tags: list[str]


@strawberry.type
class Box:
    leaf: Leaf
    maybe_leaf: Leaf | None
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None

    @strawberry.field
    def boom(self) -> str:
        raise ValueError("boom")

    @strawberry.field
    async def later(self) -> Leaf:
        return self.leaf


@strawberry.type
class Other:
    name: str


def _leaf(name: Any = "x", maybe: Any = None, tags: Any = ("a",)) -> Leaf:
    return Leaf(name=name, maybe=maybe, tags=list(tags))


def _box(**overrides: Any) -> Box:
    values: dict[str, Any] = {
        "leaf": _leaf(),
        "maybe_leaf": None,
        "leaves": [_leaf("a"), _leaf("b")],
        "maybe_leaves": [None, _leaf("c")],
    }
    values.update(overrides)
    return Box(**values)


BROKEN_BOXES = {
    "fine": _box(),
    "null name": _box(leaf=_leaf(name=None)),
    "null in a non-null list": _box(leaves=[_leaf(), None]),
    "null tag": _box(leaves=[_leaf(tags=["a", None])]),
    "bad scalar": _box(leaf=_leaf(name=object())),
    "wrong object type": _box(maybe_leaf=Other(name="o")),
    "not a list": _box(leaves=_leaf()),
    "null nested in a nullable list": _box(maybe_leaves=[_leaf(name=None), _leaf()]),
}


@strawberry.type
class BoxQuery:
    @strawberry.field
    def boxes(self, which: list[str]) -> list[Box | None]:
        return [BROKEN_BOXES[w] for w in which]

    @strawberry.field
    def box(self, which: str) -> Box:
        return BROKEN_BOXES[which]


BOX_FAST = strawberry.Schema(query=BoxQuery, execution_context_class=FastExecutor)
BOX_STOCK = strawberry.Schema(query=BoxQuery)
BOX_QUERY = """query($which: [String!]!, $one: String!) {
  boxes(which: $which) { __typename ...B }
  box(which: $one) { ...B }
}
fragment B on Box {
  leaf { name maybe tags }
  alias: maybeLeaf { __typename name }
  leaves { n: name tags }
  maybeLeaves { name maybe }
  later { name }
}"""


def _box_body(result: Any) -> bytes:
    errors = [
        {"message": e.message, "path": e.path, "locations": [tuple(x) for x in e.locations or []]}
        for e in result.errors or []
    ]
    return json.dumps({"data": result.data, "errors": errors}).encode()


@pytest.mark.parametrize("broken", sorted(BROKEN_BOXES))
@pytest.mark.parametrize("extra", [[], ["boom"]])
async def test_broken_values_fail_the_same_way_on_both_executors(broken, extra):
    query = BOX_QUERY.replace("later { name }", "later { name } " + " ".join(extra))
    variables = {"which": ["fine", broken, "fine"], "one": broken}
    fast = await BOX_FAST.execute(query, variable_values=variables)
    stock = await BOX_STOCK.execute(query, variable_values=variables)
    assert _box_body(fast) == _box_body(stock)
    # Strawberry checks an object's class only for types with interfaces: an Other
    # where a Leaf belongs passes on both.
    if broken not in {"fine", "wrong object type"} or extra:
        assert stock.errors  # the case does break something


# -- lists given as models: a selection of the fields a type reads of its model is completed
# from the models; anything else (another field, a model of another class, a value the type
# refuses) from the objects made of them, as graphql-core completes them.


@dataclass(frozen=True)
class PartModel:
    number: Any
    label: Any
    inner: Any = None  # a PartModel


class OtherPartModel(PartModel):
    pass


@strawberry.type
class Part(Node):
    pk: NodeID[int]
    number: int
    label: str
    inner: Part | None

    @strawberry.field
    def shout(self) -> str:
        return self.label.upper()


execution.reads_model(Part, PartModel, pk="number", number="number", label="label", inner="inner")
MADE: list[Any] = []


def _part(model: PartModel) -> Part:
    MADE.append(model)
    inner = None if model.inner is None else _part(model.inner)
    return Part(pk=model.number, number=model.number, label=model.label, inner=inner)


PART_MODELS: dict[str, Any] = {
    "fine": PartModel(1, "one", PartModel(2, "two")),
    "no inner": PartModel(3, "three"),
    "null label": PartModel(4, None),
    "null inner label": PartModel(5, "five", PartModel(6, None)),
    "bad number": PartModel("seven", "seven"),
    "another class": OtherPartModel(8, "eight"),
}


@strawberry.type
class Parts:
    parts: list[Part]


@strawberry.type
class PartQuery:
    @strawberry.field
    def shelf(self, which: str) -> Parts:
        # The list is an attribute: completed by the generated code, not graphql-core.
        models = [PART_MODELS[w] for w in which.split(",")]
        return Parts(parts=cast("list[Part]", execution.Models(models, _part)))


PART_FAST = strawberry.Schema(query=PartQuery, execution_context_class=FastExecutor)
PART_STOCK = strawberry.Schema(query=PartQuery)


@pytest.mark.parametrize("which", sorted(PART_MODELS))
@pytest.mark.parametrize("selection", ["__typename id number label inner { id label }", "shout"])
async def test_lists_given_as_models_complete_the_same_way(which, selection):
    query = f"query($w: String!) {{ shelf(which: $w) {{ parts {{ {selection} number }} }} }}"
    variables = {"w": f"fine,{which},no inner"}
    MADE.clear()
    fast = await PART_FAST.execute(query, variable_values=variables)
    made = len(MADE)
    stock = await PART_STOCK.execute(query, variable_values=variables)
    assert _box_body(fast) == _box_body(stock)
    broken = {"null label", "bad number"} | (
        {"null inner label"} if "inner" in selection else set()
    )
    assert bool(stock.errors) == (which in broken)
    # Made only where the selection or a model needs the objects.
    assert (made == 0) == ("shout" not in selection and which in {"fine", "no inner"})


# -- objects of a type with an interface: Strawberry's `is_type_of` checks their class and
# any `strawberry.cast` mark; the executor answers it without the call only for an object
# of the type's own class that carries no mark.


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Tagged(Named):
    tag: str


class TaggedSubclass(Tagged):
    pass


@strawberry.type
class Untagged(Named):
    pass


SHELF_ITEMS = {
    "own class": lambda: Tagged(name="a", tag="t"),
    "a subclass": lambda: TaggedSubclass(name="b", tag="u"),
    "cast to another type": lambda: strawberry.cast(Untagged, Tagged(name="c", tag="v")),
    "cast to its own type": lambda: strawberry.cast(Tagged, Tagged(name="d", tag="w")),
    "another class": lambda: Untagged(name="e"),
}


@strawberry.type
class Shelf:
    item: Tagged
    items: list[Tagged]


@strawberry.type
class ShelfQuery:
    @strawberry.field
    def shelf(self, which: str) -> Shelf:
        # Objects held by attributes: completed by the generated code, not graphql-core.
        return Shelf(
            item=SHELF_ITEMS[which](), items=[Tagged(name="z", tag="z"), SHELF_ITEMS[which]()]
        )


SHELF_FAST = strawberry.Schema(query=ShelfQuery, execution_context_class=FastExecutor)
SHELF_STOCK = strawberry.Schema(query=ShelfQuery)


@pytest.mark.parametrize("which", sorted(SHELF_ITEMS))
async def test_objects_of_a_type_with_an_interface_are_checked_the_same_way(which):
    query = "query($w: String!) { shelf(which: $w) { item { name tag } items { name } } }"
    fast = await SHELF_FAST.execute(query, variable_values={"w": which})
    stock = await SHELF_STOCK.execute(query, variable_values={"w": which})
    assert _box_body(fast) == _box_body(stock)
    rejected = which in {"cast to another type", "another class"}
    assert bool(stock.errors) == rejected, stock.errors


# -- dates and times: orjson writes the ones it writes as `isoformat()` does; the scalar
# writes the rest (other time zones, subclasses, values of another type) on both executors.


class _LaterDatetime(dt.datetime):
    pass


MOMENTS: dict[str, Any] = {
    "utc": dt.datetime(2026, 12, 1, 19, 5, 3, 10, tzinfo=dt.UTC),
    "utc, a whole second": dt.datetime(2026, 12, 1, 19, 5, 3, tzinfo=dt.UTC),
    "utc, year 1": dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    "naive": dt.datetime(999, 1, 2, 3, 4, 5, 999_999),  # noqa: DTZ001
    "an offset": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
    "an offset in seconds": dt.datetime(2026, 1, 2, tzinfo=dt.timezone(dt.timedelta(seconds=30))),
    "a subclass": _LaterDatetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    "a date": dt.date(2026, 1, 2),
    "a string": "2026-01-02",
}


@strawberry.type
class Moment:
    at: dt.datetime
    maybe_at: dt.datetime | None
    day: dt.date

    @strawberry.field
    def later(self) -> str:  # a resolver: the selection is completed field by field
        return "later"


def _moment(value: Any) -> Moment:
    day = value.date() if isinstance(value, dt.datetime) else value
    return Moment(at=value, maybe_at=value, day=day if isinstance(day, dt.date) else value)


@strawberry.type
class MomentQuery:
    @strawberry.field
    def moments(self, which: list[str]) -> list[Moment]:
        # a datetime where a date belongs too: Date's isoformat writes it whole
        return [_moment(MOMENTS[w]) for w in which] + [
            Moment(at=MOMENTS["utc"], maybe_at=None, day=MOMENTS["naive"])
        ]


MOMENT_FAST = strawberry.Schema(query=MomentQuery, execution_context_class=FastExecutor)
MOMENT_STOCK = strawberry.Schema(query=MomentQuery)


@pytest.mark.parametrize("which", sorted(MOMENTS))
async def test_dates_and_times_are_written_the_same_way(which):
    query = """query($w: [String!]!) { leaves: moments(which: $w) { at maybeAt day }
               full: moments(which: $w) { day maybeAt at later } }"""
    variables = {"w": ["utc", which, "naive"]}
    fast = await MOMENT_FAST.execute(query, variable_values=variables)
    stock = await MOMENT_STOCK.execute(query, variable_values=variables)
    assert _box_body(fast) == _box_body(stock)
    assert bool(stock.errors) == (which == "a string"), stock.errors


def test_relay_ids_written_by_the_shortcut_are_relays_own_past_its_memory(monkeypatch):
    monkeypatch.setattr(execution, "RELAY_IDS_KEPT", 3)
    issue_type = schema._schema.type_map["Issue"]
    shortcut = execution._relay_id(issue_type, issue_type.fields["id"])
    assert shortcut is not None
    for node_id in [1, 2, 3, 4, 1, 5, 2, 2, True, 10**20, "7", 1]:
        assert shortcut.encode(node_id) == str(GlobalID(type_name="Issue", node_id=str(node_id)))


# -- resolvers called in place, awaited values, lists of leaves: each way a value reaches
# the generated code, fine or broken, on both executors.


@strawberry.enum
class Tone(Enum):
    LOW = "low"
    HIGH = "high"


def _later(value: Any) -> Any:
    async def later() -> Any:
        if isinstance(value, Exception):
            raise value
        return value

    return later()


@strawberry.type
class Gauge:
    value: strawberry.Private[Any]

    @strawberry.field
    @execution.in_place
    def text(self, info: strawberry.Info) -> str:  # noqa: ARG002  (in_place: takes info)
        if isinstance(self.value, Exception):
            raise self.value
        return self.value

    @strawberry.field
    @execution.in_place
    def maybe(self, info: strawberry.Info) -> Leaf | None:  # noqa: ARG002
        return self.value if isinstance(self.value, (Leaf, Other)) else None

    @strawberry.field
    @execution.in_place
    def awaited(self, info: strawberry.Info) -> str:  # noqa: ARG002
        return _later(self.value)  # type: ignore[no-any-return]

    @strawberry.field
    async def leaf(self) -> Leaf:
        if isinstance(self.value, Exception):
            raise self.value
        return self.value if isinstance(self.value, (Leaf, Other)) else None  # type: ignore[return-value]

    @strawberry.field
    async def leaves(self) -> list[Leaf | None] | None:
        return [self.value, None] if isinstance(self.value, Leaf) else self.value  # type: ignore[no-any-return]

    @strawberry.field
    def numbers(self) -> list[int]:
        return [1, -(2**31), 2**31 - 1] if self.value == "fine" else [1, 2**31]

    @strawberry.field
    def tones(self) -> list[Tone] | None:
        return (Tone.LOW, Tone.HIGH) if self.value == "fine" else ["low", Tone.HIGH]  # type: ignore[list-item]


GAUGES: dict[str, Any] = {
    "fine": "fine",
    "a leaf": _leaf("g"),
    "another type": Other(name="o"),
    "null": None,
    "an error": ValueError("broken"),
    "a number": 7,
}


@strawberry.type
class GaugeQuery:
    @strawberry.field
    def gauges(self, which: list[str]) -> list[Gauge]:
        return [Gauge(value=GAUGES[w]) for w in which]


GAUGE_FAST = strawberry.Schema(query=GaugeQuery, execution_context_class=FastExecutor)
GAUGE_STOCK = strawberry.Schema(query=GaugeQuery)


@pytest.mark.parametrize("which", sorted(GAUGES))
@pytest.mark.parametrize(
    "selection",
    ["text", "maybe { name }", "awaited", "leaf { name }", "leaves { name }", "numbers tones"],
)
async def test_resolved_and_awaited_values_complete_the_same_way(which, selection):
    query = f"query($w: [String!]!) {{ gauges(which: $w) {{ {selection} }} }}"
    variables = {"w": ["fine", which]}
    fast = await GAUGE_FAST.execute(query, variable_values=variables)
    stock = await GAUGE_STOCK.execute(query, variable_values=variables)
    assert _box_body(fast) == _box_body(stock)
