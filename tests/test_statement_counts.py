"""SQL statements per request, counted on the wire, must not grow with the work asked for."""

from __future__ import annotations

import pytest

from issuegraph.app import create_app
from issuegraph.models import Visibility
from tests.helpers import Api, StatementLog


@pytest.fixture
async def counted(aiohttp_client, settings):
    log = StatementLog()
    client = await aiohttp_client(create_app(settings, on_connect=log.attach))
    return Api(client), log


BULK = """mutation($input: CreateIssueLinksInput!) { createIssueLinks(input: $input) {
  errors { code message path } links { link { databaseId } created } } }"""
SINGLE = """mutation($input: CreateIssueLinkInput!) { createIssueLink(input: $input) {
  errors { code message path } link { databaseId } } }"""


async def _hub(world, n: int, name: str):
    owner, token = await world.user_with_token(name)
    project = await world.project(owner, f"{name}/p", Visibility.PRIVATE)
    issues = [await world.issue(owner, project, f"Issue {i}") for i in range(n + 1)]
    return token, project, issues


def _link(project, source, target, link_type="BLOCKS"):
    return {
        "project": project.full_path,
        "iid": source.iid,
        "targetProject": project.full_path,
        "targetIssueIid": target.iid,
        "linkType": link_type,
    }


# Reads: viewer's token, project by path, viewer's role, issue by iid (both ends batched),
# then in one transaction: BEGIN, graph lock, row locks, existing links, link counts,
# insert, change events, COMMIT.
CREATE_LINK_STATEMENTS = 12


async def test_create_issue_link_uses_a_fixed_number_of_statements(counted, world):
    api, log = counted
    token, project, issues = await _hub(world, 3, "single")
    warm = api.gql(SINGLE, {"input": _link(project, issues[0], issues[1])}, token=token)
    await log.count(warm)  # first use of a connection introspects the enum types
    statements = await log.count(
        api.gql(SINGLE, {"input": _link(project, issues[0], issues[2])}, token=token)
    )
    assert log.queries, "statements were not logged"
    assert statements == CREATE_LINK_STATEMENTS, log.queries


@pytest.mark.parametrize("size", [1, 10, 100])
async def test_create_issue_links_statements_do_not_grow_with_the_batch(counted, world, size):
    api, log = counted
    token, project, issues = await _hub(world, size + 1, f"bulk{size}")
    await log.count(
        api.gql(BULK, {"input": {"links": [_link(project, issues[0], issues[1])]}}, token=token)
    )
    links = [_link(project, issues[0], issues[i + 2]) for i in range(size)]
    statements = await log.count(api.gql(BULK, {"input": {"links": links}}, token=token))
    response = await api.gql(
        "query($p: ID!) { issue(project: $p, iid: 1) { blockingCount } }",
        {"p": project.full_path},
        token=token,
    )
    assert response.data["issue"]["blockingCount"] == size + 1
    assert statements == CREATE_LINK_STATEMENTS, log.queries
