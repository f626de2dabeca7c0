"""The graph page's server side: `Project.graph`, `DependencyGraph.hiddenCount` and
`GET /graphql/graph/export`, on the demo data over real HTTP, in both graph-index modes,
checked against hand-computed answers and against `issuegraph graph` run as a subprocess.

The demo (issuegraph/demo.py), as far as these tests read it: acme/platform is public and
holds #1..#8, #7 confidential (its reporters, its author alice and its assignee carol read
it); #1 and #2 closed. acme/tools is internal, acme/security private (carol a member).
Links: platform#1 parent of #3, #4, #6; #2 blocks #3 blocks #4 blocks #5; #6 blocks #5;
#7 blocks #6; #8 relates to #1; platform#4 blocks tools#1; tools#3 relates to platform#5;
tools#2 duplicates tools#3; security#2 relates to platform#7; security#1 blocks #2.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import asyncpg
import pytest

from issuegraph import demo
from issuegraph.app import create_app
from issuegraph.config import Settings
from tests.helpers import Api, StatementLog, World
from tests.test_graph_export import graph as cli_graph

GRAPH = """query($p: ID!, $labels: [String!], $states: [IssueState!], $types: [LinkType!],
                 $first: Int! = 300) {
  project(fullPath: $p) {
    graph(labels: $labels, states: $states, linkTypes: $types, first: $first) {
      nodes { reference title state }
      edges { source { reference } target { reference } linkType }
      issueCount truncated hiddenCount
    }
  }
}"""

PLATFORM = [f"acme/platform#{n}" for n in range(1, 9)]
ALL_EDGES = {
    ("acme/platform#1", "acme/platform#3", "PARENT_OF"),
    ("acme/platform#1", "acme/platform#4", "PARENT_OF"),
    ("acme/platform#1", "acme/platform#6", "PARENT_OF"),
    ("acme/platform#2", "acme/platform#3", "BLOCKS"),
    ("acme/platform#3", "acme/platform#4", "BLOCKS"),
    ("acme/platform#4", "acme/platform#5", "BLOCKS"),
    ("acme/platform#6", "acme/platform#5", "BLOCKS"),
    ("acme/platform#7", "acme/platform#6", "BLOCKS"),
    ("acme/platform#8", "acme/platform#1", "RELATES_TO"),
    ("acme/platform#4", "acme/tools#1", "BLOCKS"),
    ("acme/tools#3", "acme/platform#5", "RELATES_TO"),
    ("acme/security#2", "acme/platform#7", "RELATES_TO"),
}


def project_path_sort(refs: list[str]) -> list[str]:
    def key(ref: str) -> tuple[str, int]:
        path, iid = ref.split("#")
        return path, int(iid)

    return sorted(refs, key=key)


@pytest.fixture(params=["memory", "sql"])
async def demo_api(request: Any, aiohttp_client: Any, settings: Settings, pool: asyncpg.Pool):
    """The demo data, served by an app whose graph index is in memory, or off."""
    await demo.seed_demo(pool)
    app = create_app(dataclasses.replace(settings, graph_index=request.param))
    return Api(await aiohttp_client(app))


async def project_graph(
    api: Api, token: str | None, path: str = "acme/platform", **variables: Any
) -> dict[str, Any]:
    response = await api.gql(GRAPH, {"p": path, **variables}, token=token)
    found: dict[str, Any] = response.data["project"]["graph"]
    return found


def refs(graph: dict[str, Any]) -> list[str]:
    return [node["reference"] for node in graph["nodes"]]


def edges(graph: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (e["source"]["reference"], e["target"]["reference"], e["linkType"]) for e in graph["edges"]
    }


def heads(queries: list[str]) -> list[str]:
    """Each statement's first words: what a failed count shows."""
    return [" ".join(q.split())[:100] for q in queries]


# -- Project.graph, by hand ------------------------------------------------------------------


async def test_root_sees_the_whole_project_and_its_far_ends(demo_api: Api, world: World):
    root = await world.token("root")
    graph = await project_graph(demo_api, root)
    far = ["acme/security#2", "acme/tools#1", "acme/tools#3"]
    assert refs(graph) == project_path_sort([*PLATFORM, *far])
    assert edges(graph) == ALL_EDGES
    assert (graph["issueCount"], graph["truncated"], graph["hiddenCount"]) == (8, False, 0)
    # The CLI's default kinds: tools#3 and security#2 (relates links) drop out.
    graph = await project_graph(demo_api, root, types=["BLOCKS", "CHILD_OF"])
    assert refs(graph) == [*PLATFORM, "acme/tools#1"]
    assert edges(graph) == {e for e in ALL_EDGES if e[2] != "RELATES_TO"}


async def test_anonymous_sees_less_and_is_told_how_many_linked_issues_are_hidden(
    demo_api: Api, world: World
):
    root = await world.token("root")
    anonymous = await project_graph(demo_api, None)
    seen = [r for r in PLATFORM if r != "acme/platform#7"]
    assert refs(anonymous) == seen
    assert edges(anonymous) == {e for e in ALL_EDGES if e[0] in seen and e[1] in seen}
    assert anonymous["issueCount"] == 7
    # platform#7 (confidential, blocks #6), tools#1 (blocked by #4) and tools#3 (relates to
    # #5); security#2 is linked only to #7, which anonymous does not see either.
    assert anonymous["hiddenCount"] == 3
    # What the admin sees and the anonymous viewer not, restricted to what links to one of
    # the anonymous viewer's nodes, is exactly that many.
    admin = await project_graph(demo_api, root)
    unseen = set(refs(admin)) - set(seen)
    linked = {
        other
        for source, target, _ in edges(admin)
        for node, other in ((source, target), (target, source))
        if node in seen and other in unseen
    }
    assert len(linked) == anonymous["hiddenCount"]
    # By the CLI's default kinds: #7 and tools#1.
    blocks_parent = await project_graph(demo_api, None, types=["BLOCKS", "PARENT_OF"])
    assert blocks_parent["hiddenCount"] == 2


async def test_members_see_by_their_roles(demo_api: Api, world: World):
    # dave: a guest of platform (no confidential #7), reads internal tools, not security.
    dave = await world.token("dave")
    graph = await project_graph(demo_api, dave)
    seen = [r for r in PLATFORM if r != "acme/platform#7"]
    assert refs(graph) == [*seen, "acme/tools#1", "acme/tools#3"]
    assert graph["hiddenCount"] == 1  # platform#7
    # carol: a reporter of platform (reads #7) and a developer of security.
    carol = await world.token("carol")
    graph = await project_graph(demo_api, carol)
    assert refs(graph) == project_path_sort(
        [*PLATFORM, "acme/security#2", "acme/tools#1", "acme/tools#3"]
    )
    assert graph["hiddenCount"] == 0


async def test_label_and_state_filters(demo_api: Api, world: World):
    root = await world.token("root")
    # #1 (api, design) and #6 (api, performance); labels compare case-insensitively.
    graph = await project_graph(demo_api, root, labels=["API"])
    assert refs(graph) == ["acme/platform#1", "acme/platform#6"]
    assert edges(graph) == {("acme/platform#1", "acme/platform#6", "PARENT_OF")}
    assert (graph["issueCount"], graph["truncated"], graph["hiddenCount"]) == (2, False, 0)
    # Every label named must be there.
    graph = await project_graph(demo_api, root, labels=["api", "design"])
    assert refs(graph) == ["acme/platform#1"]
    graph = await project_graph(demo_api, root, labels=["api", "nonexistent"])
    assert (refs(graph), graph["issueCount"], graph["edges"]) == ([], 0, [])
    # Anonymous, label api: #6 is blocked by the hidden #7.
    assert (await project_graph(demo_api, None, labels=["api"]))["hiddenCount"] == 1
    # Closed ones: #1 and #2, not linked to each other.
    graph = await project_graph(demo_api, root, states=["CLOSED"])
    assert refs(graph) == ["acme/platform#1", "acme/platform#2"]
    assert graph["edges"] == []
    assert {node["state"] for node in graph["nodes"]} == {"CLOSED"}
    # Open ones with label backend: #3; the far end tools#1 is #4's, not #3's.
    graph = await project_graph(demo_api, root, labels=["backend"], states=["OPENED"])
    assert refs(graph) == ["acme/platform#3"]
    # Both states, in any order and repeated, are all states.
    graph = await project_graph(demo_api, root, states=["OPENED", "CLOSED", "OPENED"])
    assert graph["issueCount"] == 8
    # The security project's far ends: security#2 relates to platform#7.
    graph = await project_graph(demo_api, root, "acme/security", types=["RELATES_TO"])
    assert refs(graph) == ["acme/platform#7", "acme/security#1", "acme/security#2"]


async def test_first_bounds_the_project_issues_and_says_so(demo_api: Api, world: World):
    root = await world.token("root")
    graph = await project_graph(demo_api, root, first=3)
    assert refs(graph) == ["acme/platform#1", "acme/platform#2", "acme/platform#3"]
    assert edges(graph) == {
        ("acme/platform#1", "acme/platform#3", "PARENT_OF"),
        ("acme/platform#2", "acme/platform#3", "BLOCKS"),
    }
    assert (graph["issueCount"], graph["truncated"]) == (8, True)
    graph = await project_graph(demo_api, None, first=7)
    assert (graph["issueCount"], graph["truncated"]) == (7, False)
    graph = await project_graph(demo_api, root, first=1000)
    assert graph["truncated"] is False


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"first": 0}, "first"),
        ({"first": 1001}, "first"),
        ({"first": -5}, "first"),
        ({"types": []}, "linkTypes"),
        ({"states": []}, "states"),
        ({"labels": ["x" * 300]}, "labels"),
        ({"labels": [" "]}, "labels"),
        ({"labels": ["a\x00b"]}, "labels"),
        ({"labels": [f"l{n}" for n in range(101)]}, "labels"),
    ],
)
async def test_bad_arguments_are_coded_errors(
    demo_api: Api, world: World, variables: dict[str, Any], argument: str
):
    response = await demo_api.gql(GRAPH, {"p": "acme/platform", **variables})
    assert response.status == 200
    assert response.codes == ["BAD_USER_INPUT"]
    assert response.body["data"]["project"] is None
    assert response.errors[0]["extensions"]["argumentPath"] == [argument]


async def test_hidden_and_unknown_projects_have_no_graph(demo_api: Api, world: World):
    for path in ("acme/security", "acme/tools", "no/such"):
        response = await demo_api.gql(GRAPH, {"p": path})
        assert response.data == {"project": None}


# -- Project.graph against `issuegraph graph` ------------------------------------------------


@pytest.mark.parametrize("viewer", ["root", "dave", "alice"])
async def test_project_graph_is_what_the_cli_prints(
    demo_api: Api, world: World, database_url: str, viewer: str
):
    token = await world.token(viewer)
    cases: list[tuple[list[str], dict[str, Any]]] = [
        ([], {"types": ["BLOCKS", "PARENT_OF"]}),
        (["--link-types", "relates,blocks,parent,duplicates,clones"], {}),
        (
            ["--label", "API", "--link-types", "blocks,parent"],
            {"labels": ["api"], "types": ["BLOCKS", "PARENT_OF"]},
        ),
        (
            ["--state", "closed", "--link-types", "relates"],
            {"states": ["CLOSED"], "types": ["RELATES_TO"]},
        ),
    ]
    for args, variables in cases:
        printed = json.loads(
            await cli_graph(
                database_url,
                "--project",
                "acme/platform",
                "--as",
                viewer,
                "--format",
                "json",
                *args,
            )
        )
        graph = await project_graph(demo_api, token, **variables)
        assert refs(graph) == [node["reference"] for node in printed["nodes"]], args
        by_id = {node["id"]: node["reference"] for node in printed["nodes"]}
        assert [
            (e["source"]["reference"], e["target"]["reference"], e["linkType"])
            for e in graph["edges"]
        ] == [(by_id[e["source"]], by_id[e["target"]], e["linkType"]) for e in printed["edges"]]


async def test_cli_label_and_state_refuse_what_makes_no_sense(database_url: str, pool):
    from tests.test_graph_export import cli  # noqa: PLC0415

    await demo.seed_demo(pool)
    run = await cli(
        database_url, "graph", "--project", "acme/platform", "--issue", "1", "--label", "x"
    )
    assert run.returncode == 2
    assert "--label and --state" in run.stderr
    run = await cli(database_url, "graph", "--project", "acme/platform", "--state", "open")
    assert run.returncode == 2
    run = await cli(database_url, "graph", "--project", "acme/platform", "--label", " ")
    assert run.returncode == 1
    assert "blank" in run.stderr


# -- DependencyGraph.hiddenCount -------------------------------------------------------------

DEPENDENCIES = """query($p: ID!, $iid: Int!, $direction: DependencyDirection!, $types: [LinkType!]) {
  project(fullPath: $p) { issue(iid: $iid) {
    dependencies(direction: $direction, linkTypes: $types) {
      nodes { issue { reference } } hiddenCount
    }
  } }
}"""


async def dependencies(
    api: Api, token: str | None, iid: int, direction: str, types: list[str]
) -> tuple[list[str], int]:
    response = await api.gql(
        DEPENDENCIES,
        {"p": "acme/platform", "iid": iid, "direction": direction, "types": types},
        token=token,
    )
    found = response.data["project"]["issue"]["dependencies"]
    return sorted(n["issue"]["reference"] for n in found["nodes"]), found["hiddenCount"]


async def test_dependencies_hidden_count(demo_api: Api, world: World):
    root = await world.token("root")
    dave = await world.token("dave")
    # From #6 both ways over blocks: #5, #4, #3, #2 (and tools#1, #7 for who reads them).
    nodes, hidden = await dependencies(demo_api, None, 6, "BOTH", ["BLOCKS"])
    assert nodes == [f"acme/platform#{n}" for n in (2, 3, 4, 5)]
    assert hidden == 2  # platform#7 (blocks #6), tools#1 (blocked by #4)
    nodes, hidden = await dependencies(demo_api, dave, 6, "BOTH", ["BLOCKS"])
    assert "acme/tools#1" in nodes
    assert hidden == 1  # platform#7
    assert (await dependencies(demo_api, root, 6, "BOTH", ["BLOCKS"]))[1] == 0
    # The types walked count, the direction does not: #7 is upstream of #6, and is linked.
    assert (await dependencies(demo_api, None, 6, "DOWNSTREAM", ["IS_BLOCKED_BY"]))[1] == 1
    assert (await dependencies(demo_api, None, 8, "BOTH", ["RELATES_TO"]))[1] == 0
    # Only the count selected: the walk still runs for it.
    response = await demo_api.gql(
        """{ project(fullPath: "acme/platform") { issue(iid: 6) {
             dependencies(direction: BOTH) { hiddenCount truncated } } } }"""
    )
    assert response.data["project"]["issue"]["dependencies"] == {
        "hiddenCount": 2,
        "truncated": False,
    }


NESTED = """query($p: ID!, $first: Int!) { project(fullPath: $p) {
  issues(first: $first) { nodes { iid dependencies(direction: BOTH) { hiddenCount } } } } }"""


async def test_nested_hidden_counts_take_no_statement_per_issue(
    aiohttp_client: Any, settings: Settings, pool: asyncpg.Pool, world: World
):
    await demo.seed_demo(pool)
    counts = {}
    for mode in ("sql", "memory"):
        log = StatementLog()
        app = create_app(dataclasses.replace(settings, graph_index=mode), on_connect=log.attach)
        api = Api(await aiohttp_client(app))
        statements = []
        for first in (2, 8):
            variables = {"p": "acme/platform", "first": first}
            answer = (await api.gql(NESTED, variables)).data  # warm
            statements.append(await log.count(api.gql(NESTED, variables)))
        hidden = {
            n["iid"]: n["dependencies"]["hiddenCount"] for n in answer["project"]["issues"]["nodes"]
        }
        # Over blocks, both ways, as anonymous: every issue of the chain 2-3-4-5-6 reaches
        # #7 and tools#1; #1 and #8 have no blocks link.
        assert hidden == {1: 0, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2, 8: 0}
        assert statements[0] == statements[1], (mode, statements, heads(log.queries))
        counts[mode] = statements[1]
    assert counts == {"sql": PROJECT_PAGE_SQL, "memory": PROJECT_PAGE_MEMORY}


# Project by path, the page of issues, then SQL: the walks (one statement for every issue)
# and the hidden counts (one statement for every issue); memory: the index's catch-up and
# the anonymous viewer's grants, the counts made on the arrays.
PROJECT_PAGE_SQL = 4
PROJECT_PAGE_MEMORY = 4


# -- statements of Project.graph ------------------------------------------------------------

# The token; the project by path; the graph's issues with their count (one statement,
# whatever `first`); the links among them; the hidden count (SQL: one statement; memory:
# the index's catch-up, the count made on the arrays, an admin needing no grants); the far
# ends' projects; the nodes' authors.
GRAPH_STATEMENTS = {"sql": 7, "memory": 7}


@pytest.mark.parametrize("mode", ["sql", "memory"])
async def test_project_graph_statements_do_not_grow_with_the_project(
    aiohttp_client: Any, settings: Settings, pool: asyncpg.Pool, world: World, mode: str
):
    await demo.seed_demo(pool)
    log = StatementLog()
    app = create_app(dataclasses.replace(settings, graph_index=mode), on_connect=log.attach)
    api = Api(await aiohttp_client(app))
    token = await world.token("root")
    query = """query($first: Int!) { project(fullPath: "acme/platform") {
      graph(first: $first) { nodes { reference author { username } } edges { linkType }
        issueCount hiddenCount } } }"""
    counts = []
    for first in (4, 8):  # both reach tools#1 (platform#4 blocks it)
        await api.gql(query, {"first": first}, token=token)
        counts.append(await log.count(api.gql(query, {"first": first}, token=token)))
    assert counts == [GRAPH_STATEMENTS[mode]] * 2, heads(log.queries)
