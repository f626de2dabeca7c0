"""Query limits: text length, tokens, depth (15 anonymous, 20 signed in), aliases, estimated
cost, introspection, page sizes; each refusal a coded error."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from graphql import GraphQLObjectType, GraphQLSyntaxError, get_introspection_query, parse

from bench.queries import REPRESENTATIVE
from issuegraph.api import schema
from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.domain.export import MAX_FIRST as GRAPH_MAX_FIRST
from issuegraph.domain.graph import MAX_NODES
from issuegraph.models import Visibility
from issuegraph.schema.limits import PLAIN_LIST_SIZE, estimate_cost, too_many_tokens
from issuegraph.schema.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tests.helpers import Api


def selection(depth: int) -> str:
    """A selection on Issue exactly `depth` fields deep: links(first: 2) { nodes { ... } }.

    Pages of two keep the estimated cost far below its limit, whatever the depth."""
    pairs, odd = divmod(depth - 1, 2)
    inner = "author { username }" if odd else "title"
    for _ in range(pairs):
        inner = f"links(first: 2) {{ nodes {{ {inner} }} }}"
    return inner


def nested_links(depth: int) -> str:
    """A query exactly `depth` fields deep: issue { links(first: 2) { nodes { ... } } }."""
    return f'{{ issue(project: "g/p", iid: 1) {{ {selection(depth - 1)} }} }}'


@pytest.fixture
async def project(world):
    alice, token = await world.user_with_token("alice")
    project = await world.project(alice, "g/p", Visibility.PUBLIC)
    await world.issue(alice, project, "A")
    return token


@pytest.mark.parametrize(
    ("depth", "signed_in", "allowed"),
    [(15, False, True), (16, False, False), (16, True, True), (20, True, True), (21, True, False)],
)
async def test_depth_limit_is_15_anonymous_and_20_signed_in(
    api, project, depth, signed_in, allowed
):
    query = nested_links(depth)
    response = await api.gql(query, token=project if signed_in else None)

    assert response.status == 200
    if allowed:
        assert response.data["issue"] is not None
    else:
        assert response.body["data"] is None
        (error,) = response.errors
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert error["extensions"]["details"]["limit"] == "depth"
        assert error["extensions"]["details"]["depth"] == depth
        assert error["extensions"]["details"]["maxDepth"] == (20 if signed_in else 15)
        assert error["extensions"]["requestId"] == response.headers["X-Request-Id"]


async def test_depth_counts_through_fragments_and_survives_fragment_cycles(api, project):
    deep = f"fragment F on Issue {{ {selection(15)} }}"  # + issue = 16 > 15
    response = await api.gql(f'{{ issue(project: "g/p", iid: 1) {{ ...F }} }} {deep}')
    assert response.codes == ["QUERY_TOO_COMPLEX"]

    cyclic = (
        '{ issue(project: "g/p", iid: 1) { ...A } } '
        "fragment A on Issue { links { nodes { ...B } } } "
        "fragment B on Issue { links { nodes { ...A } } }"
    )
    response = await api.gql(cyclic)
    assert response.status == 200
    assert response.codes == ["GRAPHQL_VALIDATION_FAILED"]


async def test_alias_flooding_is_refused_before_running(api, project):
    many = " ".join(f'a{n}: issue(project: "g/p", iid: 1) {{ title }}' for n in range(101))
    response = await api.gql(f"{{ {many} }}")
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    assert response.errors[0]["extensions"]["details"] == {
        "limit": "aliases",
        "aliases": 101,
        "maxAliases": 100,
    }
    fine = " ".join(f'a{n}: issue(project: "g/p", iid: 1) {{ title }}' for n in range(100))
    assert len((await api.gql(f"{{ {fine} }}")).data) == 100


async def test_query_text_longer_than_the_limit_is_refused(api, project):
    padding = " " * 10_000
    response = await api.gql(f'{{ issue(project: "g/p", iid: 1) {{ title }} }}{padding}')
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    assert response.errors[0]["extensions"]["details"]["limit"] == "length"


async def test_limits_are_configurable(aiohttp_client, settings, project):
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_depth_anonymous=2)))
    api = Api(client)
    assert (await api.gql('{ issue(project: "g/p", iid: 1) { title } }')).data["issue"]
    response = await api.gql('{ issue(project: "g/p", iid: 1) { author { username } } }')
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    await client.close()


async def test_the_playground_introspection_query_fits_the_anonymous_limit(api):
    response = await api.gql(get_introspection_query(descriptions=True))
    assert response.data["__schema"]["queryType"]["name"] == "Query"


# -- tokens ------------------------------------------------------------------------------------


async def test_query_with_more_tokens_than_the_limit_is_refused_before_parsing(
    aiohttp_client, settings, project
):
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_query_tokens=20)))
    api = Api(client)
    fits = '{ issue(project: "g/p", iid: 1) { title } }'  # 13 tokens
    assert (await api.gql(fits)).data["issue"]["title"] == "A"
    # A comment is a token, as graphql-core's parser counts them.
    assert (await api.gql(f"# {'x ' * 50}\n{fits}")).data["issue"]
    assert (await api.gql("#\n" * 8 + fits)).codes == ["QUERY_TOO_COMPLEX"]
    response = await api.gql(
        '{ issue(project: "g/p", iid: 1) { title description state author { username name } } }'
    )
    assert response.body["data"] is None
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    assert response.errors[0]["extensions"]["details"] == {
        "limit": "tokens",
        "tokens": 21,
        "maxTokens": 20,
    }
    # Text that does not lex is the parser's to report.
    assert (await api.gql('{ issue(project: "g/p }')).codes == ["GRAPHQL_PARSE_FAILED"]
    await client.close()


def test_token_count_matches_the_parser():
    query = '# one\n{ a(b: "c", d: [1, 2.5]) { ... on E { f } ...G } } # two'
    assert too_many_tokens(query, 100) is None
    # `...` is one token, commas are none, comments count.
    assert too_many_tokens(query, 25) == 26
    with pytest.raises(GraphQLSyntaxError, match="more than 25 tokens"):
        parse(query, max_tokens=25)
    parse(query, max_tokens=26)
    assert too_many_tokens('{ a(b: "unterminated }', 0) is not None  # counted up to the error


# -- cost --------------------------------------------------------------------------------------


def cost(query: str, variables: dict[str, Any] | None = None, name: str | None = None) -> int:
    return estimate_cost(schema, parse(query), variables, name)


def test_every_field_costs_one_and_scalar_lists_do_not_multiply():
    assert cost("{ viewer { id username } }") == 3
    assert cost('{ issue(project: "g/p", iid: 1) { title labels } }') == 3
    assert cost("{ __typename }") == 1


def test_a_connection_multiplies_its_lists_by_the_page_size():
    # issue + links + pageInfo(1 + 1) + totalCount + edges(1 + 7 * (node + title))
    query = 'query($n: Int) { issue(project: "g/p", iid: 1) { links(first: $n) { pageInfo { hasNextPage } totalCount edges { node { title } } } } }'
    assert cost(query, {"n": 7}) == 1 + 1 + 2 + 1 + 1 + 7 * 2
    literal = query.replace("query($n: Int) ", "").replace("$n", "7")
    assert cost(literal) == cost(query, {"n": 7})
    assert cost(query, {}) == cost(query, {"n": DEFAULT_PAGE_SIZE})
    # Out of range is the resolver's BAD_USER_INPUT: the estimate stays within the bounds.
    assert cost(query, {"n": 2**40}) == cost(query, {"n": MAX_PAGE_SIZE})
    assert cost(query, {"n": -5}) == cost(query, {"n": 1})
    assert cost(query, {"n": "many"}) == cost(query, {})
    with_default = query.replace("$n: Int", "$n: Int = 3")
    assert cost(with_default, {}) == cost(query, {"n": 3})


def test_nested_pages_multiply():
    query = '{ issue(project: "g/p", iid: 1) { links(first: 10) { nodes { links(first: 4) { nodes { title } } } } } }'
    assert cost(query) == 1 + 1 + 1 + 10 * (1 + 1 + 4 * 1)


def test_plain_lists_count_as_ten_and_graph_fields_as_their_first():
    assert cost('{ issue(project: "g/p", iid: 1) { assignees { username } } }') == 2 + (
        PLAIN_LIST_SIZE * 1
    )
    walk = '{ issue(project: "g/p", iid: 1) { dependencies%s { nodes { issue { title } } } } }'
    assert cost(walk % "") == 2 + 1 + MAX_NODES * 2
    assert cost(walk % "(first: 30)") == 2 + 1 + 30 * 2


def test_fragments_inline_fragments_and_skip_include_are_followed():
    spread = """
        query($skip: Boolean!, $n: Int) { issue(project: "g/p", iid: 1) { ...F } }
        fragment F on Issue { links(first: $n) { nodes { ... on Issue { title iid } } } }
        fragment Unused on Issue { links(first: 100) { nodes { title } } }
    """
    assert cost(spread, {"skip": False, "n": 5}) == 1 + 1 + 1 + 5 * 2
    skipped = spread.replace("{ ...F }", "{ ...F @skip(if: $skip) }")
    assert cost(skipped, {"skip": True}) == 1
    assert cost(skipped, {"skip": False, "n": 5}) == cost(spread, {"skip": False, "n": 5})
    included = spread.replace("{ ...F }", "{ ...F @include(if: false) }")
    assert cost(included, {"skip": False}) == 1


def test_the_named_operation_is_the_one_costed_and_cycles_are_cut():
    two = 'query Cheap { viewer { id } } query Dear { issue(project: "g/p", iid: 1) { links(first: 100) { nodes { title } } } }'
    assert cost(two, name="Cheap") == 2
    assert cost(two, name="Dear") == 3 + 100
    assert cost(two) == 3 + 100  # without a name: the costliest
    cyclic = "{ ...A } fragment A on Query { ...B viewer { id } } fragment B on Query { ...A }"
    assert cost(cyclic) == 2
    assert cost("{ nope { deeper { still } } }") == 3


def test_the_representative_queries_fit_the_default_ceiling():
    ceiling = Settings().max_query_cost
    variables = {"project": "g/p", "iid": 1}
    costs = {r.name: cost(r.query, variables) for r in REPRESENTATIVE}
    # At the time of writing: issue_page 8182, project_page 12309, nested_links 198353.
    assert all(value <= ceiling for value in costs.values()), costs


async def test_a_query_over_the_cost_ceiling_is_refused_with_its_cost(api, project):
    query = 'query($n: Int) { issue(project: "g/p", iid: 1) { links(first: $n) { nodes { links(first: $n) { nodes { links(first: $n) { nodes { title } } } } } } } }'
    response = await api.gql(query, {"n": 100})
    assert response.body["data"] is None
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    assert response.errors[0]["extensions"]["details"] == {
        "limit": "cost",
        "cost": cost(query, {"n": 100}),
        "maxCost": 250_000,
    }
    assert (await api.gql(query, {"n": 10})).data["issue"] == {"links": {"nodes": []}}


async def test_costs_remembered_for_a_query_text_follow_its_variables(
    aiohttp_client, settings, project
):
    """Measures of a query text are kept between requests, its cost by the variables that
    change it: each answer is the one a fresh estimate gives."""
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_query_cost=40)))
    api = Api(client)
    query = 'query($n: Int, $yes: Boolean = true) { issue(project: "g/p", iid: 1) { links(first: $n) { nodes { title @include(if: $yes) iid } } } }'
    for variables in [
        {"n": 30},
        {"n": 5},
        {"n": 30},
        {"n": True},
        {"n": 1},
        {"n": 30, "yes": False},
        {},
        {"n": "30"},
    ]:
        expected = cost(query, variables)
        response = await api.gql(query, variables)
        if expected > 40:
            assert response.errors[0]["extensions"]["details"]["cost"] == expected, variables
        else:
            assert response.codes in ([], ["BAD_USER_INPUT"]), (variables, response.errors)
    assert (
        len({cost(query, v) for v in [{"n": 30}, {"n": 5}, {"n": True}, {"n": 30, "yes": False}]})
        == 4
    )
    await client.close()


async def test_the_cost_ceiling_is_configurable(aiohttp_client, settings, project):
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_query_cost=5)))
    api = Api(client)
    assert (await api.gql('{ issue(project: "g/p", iid: 1) { title } }')).data["issue"]
    response = await api.gql(
        '{ issue(project: "g/p", iid: 1) { links(first: 3) { nodes { title } } } }'
    )
    assert response.errors[0]["extensions"]["details"] == {
        "limit": "cost",
        "cost": 5 + 1,
        "maxCost": 5,
    }
    await client.close()


# -- introspection -------------------------------------------------------------------------------


async def test_introspection_can_be_switched_off_but_typename_stays(
    aiohttp_client, settings, project
):
    client = await aiohttp_client(create_app(dataclasses.replace(settings, introspection=False)))
    api = Api(client)
    for query, fields in [
        (get_introspection_query(), ["__schema"]),
        ("{ __schema { queryType { name } } }", ["__schema"]),
        ('{ __type(name: "Issue") { name } }', ["__type"]),
        ('{ ...F } fragment F on Query { t: __type(name: "Issue") { name } }', ["__type"]),
        (
            '{ issue(project: "g/p", iid: 1) { title } ... on Query { __schema { types { name } } } }',
            ["__schema"],
        ),
    ]:
        response = await api.gql(query)
        assert response.body["data"] is None, query
        assert response.codes == ["FORBIDDEN"], query
        assert response.errors[0]["extensions"]["details"] == {"fields": fields}
        assert response.errors[0]["extensions"]["requestId"] == response.headers["X-Request-Id"]
    response = await api.gql('{ __typename issue(project: "g/p", iid: 1) { __typename title } }')
    assert response.data == {"__typename": "Query", "issue": {"__typename": "Issue", "title": "A"}}
    await client.close()


async def test_introspection_is_on_by_default(api):
    assert (await api.gql("{ __schema { queryType { name } } }")).data


# -- page sizes ----------------------------------------------------------------------------------


def paged_fields() -> dict[str, list[str]]:
    """Every field of the schema with a `first` argument, by the type that has it."""
    found: dict[str, list[str]] = {}
    for type_ in schema._schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                if "first" in field.args:
                    found.setdefault(type_.name, []).append(name)
    return found


def on(type_name: str, selection: str, head: str = "query($n: Int)") -> str:
    """An operation selecting `selection` at the root, on the project g/p or on its issue #1."""
    if type_name == "Query":
        return f"{head} {{ {selection} }}"
    parent = (
        'project(fullPath: "g/p")' if type_name == "Project" else 'issue(project: "g/p", iid: 1)'
    )
    return f"{head} {{ {parent} {{ {selection} }} }}"


async def test_every_paged_field_refuses_page_sizes_out_of_range_as_bad_user_input(api, project):
    fields = paged_fields()
    # A webhook's deliveries are a maintainer's: tests/test_webhooks.py bounds their pages.
    fields.pop("Webhook", None)
    # A new paged type needs a case in `on`.
    assert set(fields) == {"Query", "Project", "Issue"}, fields
    bounds = {"dependencies": MAX_NODES, "graph": GRAPH_MAX_FIRST}
    # Pages without a total (the change log's) answer with their page info.
    selections = {
        "dependencies": "truncated",
        "events": "pageInfo { hasNextPage }",
        "graph": "issueCount",
    }
    for type_name, names in fields.items():
        parent = [] if type_name == "Query" else [type_name.lower()]
        for name in names:
            maximum = bounds.get(name, MAX_PAGE_SIZE)
            selection = selections.get(name, "totalCount")
            query = on(type_name, f"{name}(first: $n) {{ {selection} }}")
            for n in [0, -1, maximum + 1, 2**31 - 1]:
                response = await api.gql(query, {"n": n})
                assert response.codes == ["BAD_USER_INPUT"], (name, n, response.body)
                assert response.errors[0]["path"] == [*parent, name], (name, n)
            for n in [2**31, 2**40, -(2**53)]:  # not an Int at all: refused before running
                response = await api.gql(query, {"n": n})
                assert response.codes == ["BAD_USER_INPUT"], (name, n, response.body)
                assert response.body["data"] is None
            literal = on(type_name, f"{name}(first: {2**40}) {{ {selection} }}", head="query")
            response = await api.gql(literal)
            assert response.codes == ["GRAPHQL_VALIDATION_FAILED"], (name, response.body)
            assert (await api.gql(query, {"n": maximum})).errors == [], name
