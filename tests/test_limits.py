"""Query limits: depth (15 anonymous, 20 signed in), aliases, text length; coded errors."""

from __future__ import annotations

import dataclasses

import pytest
from graphql import get_introspection_query

from issuegraph.app import create_app
from issuegraph.domain.models import Visibility
from tests.helpers import Api


def selection(depth: int) -> str:
    """A selection on Issue exactly `depth` fields deep: links { nodes { ... title } }."""
    pairs, odd = divmod(depth - 1, 2)
    inner = "author { username }" if odd else "title"
    for _ in range(pairs):
        inner = f"links {{ nodes {{ {inner} }} }}"
    return inner


def nested_links(depth: int) -> str:
    """A query exactly `depth` fields deep: issue { links { nodes { ... title } } }."""
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
