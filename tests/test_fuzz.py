"""Fuzzing the running app with operations generated from its own schema.

Two sources of requests, sent over HTTP to the real app as an anonymous viewer or as a
signed-in project owner (whose mutations really write):

- `hypothesis-graphql` builds whole operations from the schema, with literal arguments
  of every kind (NUL and other control characters in strings included), valid ones and
  ones with one schema violation each;
- for every root field, an operation passing each argument as a variable, with values
  built from the argument's type (well typed, out of range, or arbitrary JSON).

Whatever is sent, the answer comes within REQUEST_BOUND seconds, its status is below
500, and every error, top-level or in a mutation payload, carries a code that is not
INTERNAL (top-level ones with the request id).

How hypothesis meets asyncio: as in `test_link_properties.py`, pytest-asyncio runs each
example as a coroutine on the session's event loop, which also serves the app.
"""

from __future__ import annotations

import asyncio
import base64
import json
import string
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from issuegraph.api import schema
from issuegraph.models import Visibility
from tests.helpers import Api, World

REQUEST_BOUND = 10.0
CORE = schema._schema


def global_id(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Values that name something that exists, so that some requests get past the lookups, and
# values that have hurt before: NUL, numbers past 64 bits, ids of the wrong type.
KNOWN_TEXT = ["g/p", "g/q", "1", "2", "alice", "bob", global_id("Issue:1"), global_id("User:1")]
HOSTILE_TEXT = [
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "g%2Fp%00",
    "\ud800",
    "99999999999999999999",
    "-1",
    global_id("Issue:99999999999999999999"),
    global_id("IssueLink:-1"),
    global_id("Project:\u0000"),
    "'; drop table issues; --",
]
KNOWN_INTS = [0, 1, 2, 3, -1, 100, 101, 10_000, 10_001, 2**31 - 1, -(2**31), 2**31, 2**63]

text = st.one_of(
    st.sampled_from(KNOWN_TEXT),
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(alphabet=string.printable + "'%_\\\u0000\u202e🔥", max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def is_required(type_: GraphQLInputType) -> bool:
    return isinstance(type_, GraphQLNonNull)


def value_for(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """A JSON value for a variable of `type_`: mostly well typed, sometimes anything."""
    if isinstance(type_, GraphQLNonNull):
        return value_for(type_.of_type, depth)
    typed: st.SearchStrategy[Any]
    if isinstance(type_, GraphQLList):
        typed = st.lists(value_for(type_.of_type, depth + 1), max_size=3)
    elif isinstance(type_, GraphQLEnumType):
        typed = st.sampled_from([*type_.values, "NOPE", "relates_to"])
    elif isinstance(type_, GraphQLInputObjectType):
        fields = type_.fields.items() if depth < 3 else ()
        required = {n: value_for(f.type, depth + 1) for n, f in fields if is_required(f.type)}
        optional = {n: value_for(f.type, depth + 1) for n, f in fields if not is_required(f.type)}
        typed = st.fixed_dictionaries(required, optional=optional)
    elif isinstance(type_, GraphQLScalarType) and type_.name == "Int":
        typed = st.sampled_from(KNOWN_INTS) | st.integers(1, 3) | st.integers(-(2**31), 2**31 - 1)
    elif isinstance(type_, GraphQLScalarType) and type_.name == "Boolean":
        typed = st.booleans()
    elif isinstance(type_, GraphQLScalarType) and type_.name == "Date":
        typed = st.dates().map(str) | text
    else:  # String, ID, and the rest
        typed = text
    # One value in ten is arbitrary JSON: most get past coercion to the resolvers.
    return st.integers(0, 9).flatmap(lambda n: json_values if n == 0 else typed)


def selection(field: GraphQLField, depth: int = 0) -> str:
    """What `field` returns, two levels deep: leaf fields, and objects reached through
    fields without required arguments (a payload's `errors { code message ... }`)."""
    named = get_named_type(field.type)
    if is_leaf_type(named):
        return ""
    if not isinstance(named, GraphQLObjectType) or depth >= 2:
        return " { __typename }"
    chosen = ["__typename"]
    for name, child in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in child.args.values()):
            continue
        chosen.append(name + selection(child, depth + 1))
    return " { " + " ".join(chosen) + " }"


def variable_operations() -> list[tuple[str, dict[str, GraphQLInputType]]]:
    """For each root field, an operation taking every argument as a variable."""
    operations = []
    for kind, root in [("query", CORE.query_type), ("mutation", CORE.mutation_type)]:
        assert root is not None
        for name, field in root.fields.items():
            definitions = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
            arguments = ", ".join(f"{a}: ${a}" for a in field.args)
            head = f"{kind}({definitions})" if definitions else kind
            call = f"{name}({arguments})" if arguments else name
            types = {a: arg.type for a, arg in field.args.items()}
            operations.append((f"{head} {{ {call}{selection(field)} }}", types))
    return operations


@st.composite
def with_variables(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    query, types = draw(st.sampled_from(variable_operations()))
    variables = {name: draw(value_for(type_)) for name, type_ in types.items()}
    # Sometimes leave a variable out, or send one the operation does not declare.
    if variables and draw(st.booleans()):
        variables.pop(draw(st.sampled_from(sorted(variables))))
    if draw(st.integers(0, 9)) == 0:
        variables["undeclared"] = draw(json_values)
    return query, variables


generated = from_schema(
    CORE,
    custom_scalars={"Date": st.dates().map(nodes.String) | text.map(nodes.String)},
    allow_x00=True,
    codec=None,
    mode=Mode.POSITIVE,
)
generated_invalid = from_schema(
    CORE,
    custom_scalars={"Date": st.dates().map(nodes.String)},
    mode=Mode.NEGATIVE,
)
# Half of the requests pass variables, which reach the resolvers with hostile values.
requests = st.one_of(
    generated.map(lambda q: (q, None)),
    generated_invalid.map(lambda q: (q, None)),
    with_variables(),
    with_variables(),
)


@pytest.fixture
async def owner_token(world: World) -> str:
    """alice owns the public `g/p` (issues 1 and 2, linked) and the private `g/q`."""
    alice, token = await world.user_with_token("alice")
    await world.user("bob")
    public = await world.project(alice, "g/p", Visibility.PUBLIC)
    await world.project(alice, "g/q", Visibility.PRIVATE)
    one = await world.issue(alice, public, "One", labels=["x"])
    await world.issue(alice, public, "Two", description="text")
    assert one.iid == 1
    return token


def payload_errors(data: Any) -> list[dict[str, Any]]:
    """Every `UserError`-shaped object (code + message) anywhere in the data."""
    found: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "code" in item and "message" in item:
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(request=requests, signed_in=st.booleans())
async def test_generated_operations_never_get_a_5xx_or_an_uncoded_error(
    api: Api, owner_token: str, request: tuple[str, dict[str, Any] | None], signed_in: bool
) -> None:
    query, variables = request
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    headers = {"Authorization": f"Bearer {owner_token}"} if signed_in else {}
    try:
        async with asyncio.timeout(REQUEST_BOUND):
            resp = await api.client.post("/graphql", json=payload, headers=headers)
            raw = await resp.read()
    except TimeoutError:
        pytest.fail(f"no answer within {REQUEST_BOUND} s to {payload!r}")
    assert resp.status < 500, (resp.status, raw[:2000], payload)
    body = json.loads(raw)
    request_id = resp.headers["X-Request-Id"]
    event(f"status {resp.status}")
    for error in body.get("errors") or []:
        code = error.get("extensions", {}).get("code")
        event(f"error {code}")
        assert isinstance(code, str), (error, payload)
        assert code != "INTERNAL", (error, payload)
        assert error["extensions"]["requestId"] == request_id
    for error in payload_errors(body.get("data")):
        event(f"payload error {error['code']}")
        assert error["code"] != "INTERNAL", (error, payload)
