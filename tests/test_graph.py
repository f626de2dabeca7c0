"""The dependency graph, checked against networkx as an independent oracle.

Every traversal field (`Issue.dependencies`, `openBlockers`, `blockerRollup`,
`childrenRollup`, `criticalPath`, `Project.readyIssues`, `Project.dependencyOrder`,
`Query.path`) is asked over HTTP of the real app, and its answer is compared with what
networkx computes on the same graph, read back from the tables:

- who may read what is computed here in Python from the raw rows (project visibility,
  membership roles, confidential, author, assignees: docs/contract.md "Access"), not with the
  service's `issue_visible`;
- a walk is a breadth-first search (`nx.single_source_shortest_path_length`) over the
  subgraph of the issues the viewer may read (and, with `states`, in those states) plus
  the start issue, cross-checked with `nx.ancestors` / `nx.descendants`;
- the dependency order is `nx.lexicographical_topological_sort` with the key (iid, id);
- the critical path's length is `nx.dag_longest_path_length` (node weights moved onto the
  edges for the weighted one); the returned chain must be a real chain of open blockers
  ending at the issue, and the one the documented tie-break picks (each step back takes
  the predecessor with the smallest (iid, id) among the best), which is the only one when
  the longest chain is unique;
- a path's length is `nx.shortest_path_length`; the returned chain must be a real chain
  of readable issues and links of that length.

Cases: hand-built graphs (diamonds, a 120-issue chain, fans of 300, cross-project and
hidden issues, closed issues, parent trees), hypothesis-generated random DAGs, and the
number of SQL statements per traversal, which must not grow with the graph.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import networkx as nx
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.models import Issue, Project, Role, User, Visibility
from tests.helpers import Api, StatementLog, World

MAX_NODES = 10_000  # the service's cap on `first`
ROLES = ("guest", "reporter", "developer", "maintainer", "owner")
STORED = {
    "BLOCKS": "blocks",
    "IS_BLOCKED_BY": "blocks",
    "PARENT_OF": "parent",
    "CHILD_OF": "parent",
    "RELATES_TO": "relates",
    "DUPLICATES": "duplicates",
    "IS_DUPLICATED_BY": "duplicates",
    "CLONES": "clones",
    "IS_CLONED_BY": "clones",
}
BLOCKS = frozenset({"blocks"})
PARENT = frozenset({"parent"})


# -- the oracle ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: int
    iid: int
    project_id: int
    state: str
    weight: int | None
    confidential: bool
    author_id: int


@dataclass(frozen=True)
class Viewer:
    name: str
    user_id: int | None
    admin: bool
    token: str | None


ANONYMOUS = Viewer("anonymous", None, admin=False, token=None)


@dataclass
class Model:
    """The graph as the tables hold it."""

    issues: dict[int, Row]
    links: dict[int, tuple[int, int, str]]  # link id -> (source, target, stored type)
    visibility: dict[int, str]
    roles: dict[tuple[int, int], str]  # (project, user) -> role
    assignees: dict[int, set[int]]

    def readable(self, issue: Row, viewer: Viewer) -> bool:
        """docs/contract.md "Access", written out independently of the service's SQL."""
        if viewer.admin:
            return True
        uid = viewer.user_id
        role = self.roles.get((issue.project_id, uid)) if uid is not None else None
        visibility = self.visibility[issue.project_id]
        if not (
            visibility == "public"
            or (visibility == "internal" and uid is not None)
            or role is not None
        ):
            return False
        if not issue.confidential:
            return True
        return (
            (role is not None and ROLES.index(role) >= ROLES.index("reporter"))
            or (uid is not None and issue.author_id == uid)
            or (uid is not None and uid in self.assignees.get(issue.id, set()))
        )


async def load_model(pool: asyncpg.Pool) -> Model:
    async with pool.acquire() as conn:
        issues = await conn.fetch(
            "select id, iid, project_id, state::text as state, weight, confidential, author_id"
            " from issues"
        )
        links = await conn.fetch(
            "select id, source_id, target_id, link_type::text as kind from issue_links"
        )
        projects = await conn.fetch("select id, visibility::text as visibility from projects")
        members = await conn.fetch(
            "select project_id, user_id, role::text as role from project_members"
        )
        assignees = await conn.fetch("select issue_id, user_id from issue_assignees")
    assigned: dict[int, set[int]] = defaultdict(set)
    for r in assignees:
        assigned[r["issue_id"]].add(r["user_id"])
    return Model(
        issues={r["id"]: Row(**dict(r)) for r in issues},
        links={r["id"]: (r["source_id"], r["target_id"], r["kind"]) for r in links},
        visibility={r["id"]: r["visibility"] for r in projects},
        roles={(r["project_id"], r["user_id"]): r["role"] for r in members},
        assignees=dict(assigned),
    )


@dataclass(frozen=True)
class Chain:
    """What the oracle knows about the longest chain of open blockers ending at an issue."""

    best: int  # its value: number of issues, or summed weight
    ways: int  # how many maximal chains reach that value
    chain: list[int]  # the one the documented tie-break picks


class View:
    """The oracle for one viewer: networkx over the issues that viewer may read."""

    def __init__(self, model: Model, viewer: Viewer) -> None:
        self.model = model
        self.viewer = viewer
        self.ok = {i for i, row in model.issues.items() if model.readable(row, viewer)}
        self._graphs: dict[frozenset[str], nx.DiGraph] = {}

    def row(self, issue_id: int) -> Row:
        return self.model.issues[issue_id]

    def key(self, issue_id: int) -> tuple[int, int]:
        return (self.row(issue_id).iid, issue_id)

    def graph(self, types: frozenset[str], allowed: set[int] | None = None) -> nx.DiGraph:
        """The links of these types among the readable issues (and only `allowed` ones)."""
        if types not in self._graphs:
            g = nx.DiGraph()
            g.add_nodes_from(self.ok)
            g.add_edges_from(
                (s, t, {"link": lid})
                for lid, (s, t, kind) in self.model.links.items()
                if kind in types and s in self.ok and t in self.ok
            )
            self._graphs[types] = g
        whole = self._graphs[types]
        return whole if allowed is None else whole.subgraph(allowed)

    def closure(
        self,
        start: int,
        types: frozenset[str],
        direction: str,
        states: frozenset[str] | None = None,
    ) -> dict[int, int]:
        """Every issue the unbounded walk reaches, with its shortest distance."""
        assert start in self.ok
        allowed = {i for i in self.ok if states is None or self.row(i).state in states}
        g = self.graph(types, None if states is None else allowed | {start})
        if direction == "UPSTREAM":
            walked: nx.Graph = g.reverse(copy=False)
            expected = nx.ancestors(g, start)
        elif direction == "DOWNSTREAM":
            walked = g
            expected = nx.descendants(g, start)
        else:
            walked = g.to_undirected(as_view=True)
            expected = nx.node_connected_component(walked, start) - {start}
        distances = dict(nx.single_source_shortest_path_length(walked, start))
        del distances[start]
        assert set(distances) == expected  # the two networkx answers agree
        return distances

    def links_among(self, ids: set[int], types: frozenset[str]) -> set[int]:
        return {
            lid
            for lid, (s, t, kind) in self.model.links.items()
            if kind in types and s in ids and t in ids
        }

    def open_blockers(self, issue: int) -> dict[int, int]:
        return self.closure(issue, BLOCKS, "UPSTREAM", frozenset({"opened"}))

    def rollup(self, issue: int, types: frozenset[str], direction: str) -> dict[str, int]:
        reached = self.closure(issue, types, direction)
        total = len(reached)
        closed = sum(self.row(i).state == "closed" for i in reached)
        return {
            "total": total,
            "open": total - closed,
            "completed": closed,
            "percentCompleted": closed * 100 // total if total else 0,
        }

    def critical(self, issue: int, *, weighted: bool) -> Chain:
        allowed = {i for i in self.ok if self.row(i).state == "opened"} | {issue}
        g = self.graph(BLOCKS, allowed)
        h = g.subgraph(nx.ancestors(g, issue) | {issue})

        def value(n: int) -> int:
            return (self.row(n).weight or 0) if weighted else 1

        if weighted:  # node weights onto the edges, from a virtual source
            w = nx.DiGraph()
            w.add_edges_from((u, v, {"w": value(v)}) for u, v in h.edges)
            w.add_edges_from((-1, v, {"w": value(v)}) for v in h.nodes)  # -1: no issue
            best = nx.dag_longest_path_length(w, weight="w")
        else:
            best = nx.dag_longest_path_length(h) + 1  # edges -> issues
        best_to: dict[int, int] = {}
        ways: dict[int, int] = {}
        for n in nx.topological_sort(h):
            preds = list(h.predecessors(n))
            top = max((best_to[p] for p in preds), default=0)
            best_to[n] = value(n) + top
            ways[n] = sum(ways[p] for p in preds if best_to[p] == top) if preds else 1
        assert best_to[issue] == best
        chain = [issue]
        while preds := list(h.predecessors(chain[-1])):
            need = best_to[chain[-1]] - value(chain[-1])
            chain.append(min((p for p in preds if best_to[p] == need), key=self.key))
        return Chain(best=best, ways=ways[issue], chain=chain[::-1])

    def ready(self, project_id: int) -> list[int]:
        g = self.graph(BLOCKS)
        found = [
            i
            for i in self.ok
            if self.row(i).project_id == project_id
            and self.row(i).state == "opened"
            and all(self.row(b).state == "closed" for b in g.predecessors(i))
        ]
        return sorted(found, key=self.key)

    def dependency_order(self, project_id: int) -> list[int]:
        allowed = {i for i in self.ok if self.row(i).state == "opened"}
        g = self.graph(BLOCKS, allowed)
        nodes = {i for i in allowed if self.row(i).project_id == project_id}
        for start in list(nodes):
            nodes |= nx.ancestors(g, start)
        return list(nx.lexicographical_topological_sort(g.subgraph(nodes), key=self.key))

    def shortest(self, a: int, b: int, types: frozenset[str], *, directed: bool) -> int | None:
        if a not in self.ok or b not in self.ok:
            return None
        g = self.graph(types)
        walked = g if directed else g.to_undirected(as_view=True)
        try:
            return int(nx.shortest_path_length(walked, a, b))
        except nx.NetworkXNoPath:
            return None


# -- asking the service --------------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """One `dependencies(...)` selection."""

    alias: str
    direction: str | None = None  # None: the default (UPSTREAM)
    link_types: tuple[str, ...] | None = None
    max_depth: int | None = None
    states: tuple[str, ...] | None = None
    first: int | None = None

    def args(self) -> str:
        parts = []
        if self.direction:
            parts.append(f"direction: {self.direction}")
        if self.link_types is not None:
            parts.append(f"linkTypes: [{', '.join(self.link_types)}]")
        if self.max_depth is not None:
            parts.append(f"maxDepth: {self.max_depth}")
        if self.states is not None:
            parts.append(f"states: [{', '.join(self.states)}]")
        if self.first is not None:
            parts.append(f"first: {self.first}")
        return f"({', '.join(parts)})" if parts else ""

    @property
    def types(self) -> frozenset[str]:
        return frozenset(STORED[t] for t in self.link_types or ("BLOCKS",))

    @property
    def state_values(self) -> frozenset[str] | None:
        return frozenset(s.lower() for s in self.states) if self.states is not None else None


WALKS = (
    Walk("up"),
    Walk("down", "DOWNSTREAM"),
    Walk("both", "BOTH", max_depth=3),
    Walk("openUp", states=("OPENED",)),
    Walk("closedDown", "DOWNSTREAM", states=("CLOSED",), max_depth=2),
    Walk("inverse", "UPSTREAM", link_types=("IS_BLOCKED_BY",), max_depth=2),
    Walk("near", max_depth=1, first=2),
    Walk("sub", "DOWNSTREAM", link_types=("PARENT_OF",)),
    Walk("sup", "UPSTREAM", link_types=("CHILD_OF",)),
    Walk("mixed", "BOTH", link_types=("BLOCKS", "PARENT_OF"), max_depth=4, first=6),
    Walk("rel", "BOTH", link_types=("RELATES_TO",)),
)

GRAPH = "nodes { distance issue { databaseId } } edges { databaseId } depthReached truncated"
ROLLUP = "total open completed percentCompleted"
CHAIN = "issues { databaseId state weight } issueCount totalWeight"
PAGE = "totalCount nodes { databaseId } pageInfo { hasNextPage endCursor }"


def issue_selection(walks: tuple[Walk, ...]) -> str:
    deps = "\n".join(f"{w.alias}: dependencies{w.args()} {{ {GRAPH} }}" for w in walks)
    return f"""databaseId
      {deps}
      openBlockers {{ databaseId }}
      blockerRollup {{ {ROLLUP} }}
      childrenRollup {{ {ROLLUP} }}
      criticalPath {{ {CHAIN} }}
      weightedPath: criticalPath(weighted: true) {{ {CHAIN} }}"""


def ref(row: Row) -> str:
    return f'{{project: "{row.project_id}", iid: {row.iid}}}'


async def ask(api: Api, viewer: Viewer, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await api.gql(query, variables, token=viewer.token)
    assert response.status == 200, response.body
    return response.data


def check_walk(view: View, start: int, walk: Walk, got: dict[str, Any], where: str) -> None:
    distances = view.closure(start, walk.types, walk.direction or "UPSTREAM", walk.state_values)
    max_depth = walk.max_depth or 50
    limit = walk.first or MAX_NODES
    within = sorted((d, i) for i, d in distances.items() if d <= max_depth)
    nodes = [(n["issue"]["databaseId"], n["distance"]) for n in got["nodes"]]
    # Nearest first, as many at each distance as the first `limit` nearest: ties at the
    # cut may be any of the issues at that distance.
    assert [d for _, d in nodes] == [d for d, _ in within[:limit]], (where, nodes, within)
    assert len({i for i, _ in nodes}) == len(nodes), where
    for issue_id, distance in nodes:
        assert distances.get(issue_id) == distance, (where, issue_id, distance)
    if len(within) <= limit:
        assert set(nodes) == {(i, d) for d, i in within}, where
    ids = {start} | {i for i, _ in nodes}
    assert {e["databaseId"] for e in got["edges"]} == view.links_among(ids, walk.types), where
    assert len(got["edges"]) == len({e["databaseId"] for e in got["edges"]}), where
    assert got["depthReached"] == max((d for _, d in nodes), default=0), where
    truncated = any(d > max_depth for d in distances.values()) or len(within) > limit
    assert got["truncated"] is truncated, where


def check_chain(view: View, issue: int, got: dict[str, Any], *, weighted: bool, where: str) -> None:
    oracle = view.critical(issue, weighted=weighted)
    chain = [i["databaseId"] for i in got["issues"]]
    weights = [view.row(i).weight or 0 for i in chain]
    assert chain[-1] == issue, where
    assert got["issueCount"] == len(chain), where
    assert got["totalWeight"] == sum(weights), where
    assert (sum(weights) if weighted else len(chain)) == oracle.best, (where, chain, oracle)
    for blocker in chain[:-1]:
        assert blocker in view.ok, where
        assert view.row(blocker).state == "opened", where
    links = {(s, t) for s, t, kind in view.model.links.values() if kind == "blocks"}
    for a, b in itertools.pairwise(chain):
        assert (a, b) in links, (where, chain)
    if oracle.ways == 1:  # the longest chain is unique
        assert chain == oracle.chain, (where, chain, oracle)
    else:  # several: the documented tie-break (smallest (iid, id) at each step back)
        assert chain == oracle.chain, ("tie-break", where, chain, oracle)
    assert [i["weight"] for i in got["issues"]] == [view.row(i).weight for i in chain], where


async def check_issues(
    api: Api, view: View, issue_ids: list[int], walks: tuple[Walk, ...] = WALKS
) -> None:
    selection = issue_selection(walks)
    for chunk in batched(issue_ids, 40):
        fields = "\n".join(
            f'i{n}: issue(project: "{view.row(i).project_id}", iid: {view.row(i).iid}) {{ ...F }}'
            for n, i in enumerate(chunk)
        )
        data = await ask(api, view.viewer, f"{{ {fields} }} fragment F on Issue {{ {selection} }}")
        for n, issue in enumerate(chunk):
            got = data[f"i{n}"]
            where = f"{view.viewer.name} on issue {issue} (iid {view.row(issue).iid})"
            if issue not in view.ok:
                assert got is None, where
                continue
            assert got["databaseId"] == issue, where
            for walk in walks:
                check_walk(view, issue, walk, got[walk.alias], f"{where}, {walk}")
            blockers = view.open_blockers(issue)
            found = [b["databaseId"] for b in got["openBlockers"]]
            assert set(found) == set(blockers), where
            assert [blockers[b] for b in found] == sorted(blockers.values()), where
            assert got["blockerRollup"] == view.rollup(issue, BLOCKS, "UPSTREAM"), where
            assert got["childrenRollup"] == view.rollup(issue, PARENT, "DOWNSTREAM"), where
            check_chain(view, issue, got["criticalPath"], weighted=False, where=where)
            check_chain(view, issue, got["weightedPath"], weighted=True, where=f"{where} (w)")


async def pages(
    api: Api, viewer: Viewer, project_id: int, field_name: str, size: int = 100
) -> list[int] | None:
    """Every node of a project's list, page by page; None when the project is not readable."""
    found: list[int] = []
    after = None
    while True:
        data = await ask(
            api,
            viewer,
            f"query($p: ID!, $first: Int!, $after: String) {{ project(fullPath: $p) "
            f"{{ {field_name}(first: $first, after: $after) {{ {PAGE} }} }} }}",
            {"p": str(project_id), "first": size, "after": after},
        )
        if data["project"] is None:
            return None
        page = data["project"][field_name]
        found += [n["databaseId"] for n in page["nodes"]]
        assert page["totalCount"] >= len(found)
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(found), field_name
            return found
        assert len(page["nodes"]) == size
        after = page["pageInfo"]["endCursor"]


async def check_projects(api: Api, view: View, project_ids: list[int], size: int = 100) -> None:
    for project_id in project_ids:
        where = f"{view.viewer.name} on project {project_id}"
        ready = await pages(api, view.viewer, project_id, "readyIssues", size)
        order = await pages(api, view.viewer, project_id, "dependencyOrder", size)
        if ready is None or order is None:
            assert not any(view.row(i).project_id == project_id for i in view.ok), where
            continue
        assert ready == view.ready(project_id), where
        assert order == view.dependency_order(project_id), where


@dataclass(frozen=True)
class PathAsk:
    source: int
    target: int
    link_types: tuple[str, ...] | None = None
    directed: bool | None = None
    max_depth: int | None = None

    def args(self, model: Model) -> str:
        parts = [
            f"from: {ref(model.issues[self.source])}",
            f"to: {ref(model.issues[self.target])}",
        ]
        if self.link_types is not None:
            parts.append(f"linkTypes: [{', '.join(self.link_types)}]")
        if self.directed is not None:
            parts.append(f"directed: {'true' if self.directed else 'false'}")
        if self.max_depth is not None:
            parts.append(f"maxDepth: {self.max_depth}")
        return ", ".join(parts)


async def check_paths(api: Api, view: View, asks: list[PathAsk]) -> list[Any]:
    if not asks:
        return []
    fields = "\n".join(
        f"p{n}: path({a.args(view.model)}) {{ length issues {{ databaseId }} "
        f"links {{ databaseId linkType source {{ databaseId }} target {{ databaseId }} }} }}"
        for n, a in enumerate(asks)
    )
    data = await ask(api, view.viewer, f"{{ {fields} }}")
    answers = []
    for n, a in enumerate(asks):
        got = data[f"p{n}"]
        answers.append(got)
        where = f"{view.viewer.name}: {a}"
        types = frozenset(STORED[t] for t in a.link_types or ("BLOCKS",))
        directed = a.directed is not False
        length = view.shortest(a.source, a.target, types, directed=directed)
        if length is None or length > (a.max_depth or 50):
            assert got is None, (where, length, got)
            continue
        assert got is not None, (where, length)
        ids = [i["databaseId"] for i in got["issues"]]
        assert got["length"] == length == len(got["links"]) == len(ids) - 1, (where, got)
        assert ids[0] == a.source, where
        assert ids[-1] == a.target, where
        assert len(set(ids)) == len(ids), where
        assert set(ids) <= view.ok, where
        for (x, y), link in zip(itertools.pairwise(ids), got["links"], strict=True):
            s, t, kind = view.model.links[link["databaseId"]]
            assert kind in types, where
            assert (link["source"]["databaseId"], link["target"]["databaseId"]) == (s, t)
            assert (s, t) == (x, y) or (not directed and (s, t) == (y, x)), (where, ids)
    return answers


async def check_everything(
    api: Api,
    pool: asyncpg.Pool,
    viewers: list[Viewer],
    *,
    issues: list[int] | None = None,
    projects: list[int] | None = None,
    paths: list[PathAsk] | None = None,
    walks: tuple[Walk, ...] = WALKS,
    page_size: int = 100,
) -> Model:
    """Every field, for every viewer, against the oracle."""
    model = await load_model(pool)
    for viewer in viewers:
        view = View(model, viewer)
        await check_issues(api, view, sorted(issues or model.issues), walks)
        await check_projects(api, view, sorted(projects or model.visibility), page_size)
        await check_paths(api, view, paths or [])
    return model


# -- building graphs -----------------------------------------------------------------------


async def insert_links(pool: asyncpg.Pool, rows: list[tuple[Issue, Issue, str]]) -> list[int]:
    """Links straight into issue_links (the cycle trigger still checks every row)."""
    found = await pool.fetch(
        "insert into issue_links (source_id, target_id, link_type)"
        " select * from unnest($1::bigint[], $2::bigint[], $3::link_type[]) returning id",
        [s.id for s, _, _ in rows],
        [t.id for _, t, _ in rows],
        [k for _, _, k in rows],
    )
    return [r["id"] for r in found]


async def set_closed(pool: asyncpg.Pool, issues: list[Issue], *, closed: bool = True) -> None:
    await pool.execute(
        "update issues set state = $2::issue_state,"
        " closed_at = case when $2 = 'closed' then now() end where id = any($1::bigint[])",
        [i.id for i in issues],
        "closed" if closed else "opened",
    )


async def set_weights(pool: asyncpg.Pool, weights: dict[Issue, int]) -> None:
    await pool.execute(
        "update issues i set weight = w.weight"
        " from unnest($1::bigint[], $2::int[]) as w(id, weight) where i.id = w.id",
        [i.id for i in weights],
        list(weights.values()),
    )


async def make_issues(
    world: World, author: User, project: Project, n: int, **kw: Any
) -> list[Issue]:
    return [await world.issue(author, project, f"{project.full_path} {k}", **kw) for k in range(n)]


async def create_links(api: Api, token: str, rows: list[tuple[Issue, Issue, str]]) -> None:
    """Links through the GraphQL mutation, 100 per call."""
    for chunk in batched(rows, 100):
        items = [
            {
                "project": str(s.project_id),
                "iid": s.iid,
                "targetProject": str(t.project_id),
                "targetIssueIid": t.iid,
                "linkType": kind,
            }
            for s, t, kind in chunk
        ]
        payload = await api.mutate(
            "createIssueLinks", {"links": items}, "links { link { databaseId } }", token=token
        )
        assert payload["errors"] == [], payload


async def deps(api: Api, viewer: Viewer, issue: Issue, args: str) -> Any:
    return (await one(api, viewer, issue, f"dependencies{args} {{ {GRAPH} }}"))["dependencies"]


async def one(api: Api, viewer: Viewer, issue: Issue, selection: str) -> Any:
    data = await ask(
        api,
        viewer,
        f"query($p: ID!, $iid: Int!) {{ issue(project: $p, iid: $iid) {{ {selection} }} }}",
        {"p": str(issue.project_id), "iid": issue.iid},
    )
    return data["issue"]


def batched(items: list[Any], size: int) -> list[list[Any]]:
    return [items[k : k + size] for k in range(0, len(items), size)]


def ids(nodes: list[dict[str, Any]]) -> list[int]:
    return [n["databaseId"] if "databaseId" in n else n["issue"]["databaseId"] for n in nodes]


def ids_of(issues: list[Issue]) -> list[int]:
    return [i.id for i in issues]


@dataclass
class Cast:
    owner: User
    owner_token: str
    guest: Viewer  # GUEST in the project "home": reads it, not its confidential issues
    admin: Viewer
    home: Project
    users: dict[str, User] = field(default_factory=dict)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests ask for many whole walks at once (no `first`: up to 10,000 nodes each),
    far over the default cost ceiling, which tests/test_limits.py covers."""
    return dataclasses.replace(settings, max_query_cost=10**9)


@pytest.fixture
async def cast(world: World) -> Cast:
    owner, owner_token = await world.user_with_token("owner")
    guest_user, guest_token = await world.user_with_token("guest")
    admin_user, admin_token = await world.user_with_token("root", admin=True)
    home = await world.project(owner, "team/home", Visibility.PRIVATE)
    await world.member(home, guest_user, Role.GUEST)
    return Cast(
        owner,
        owner_token,
        Viewer("guest", guest_user.id, admin=False, token=guest_token),
        Viewer("admin", admin_user.id, admin=True, token=admin_token),
        home,
        {"guest": guest_user},
    )


# -- hand-built graphs ---------------------------------------------------------------------


async def test_diamond(api: Api, pool: asyncpg.Pool, world: World, cast: Cast) -> None:
    """e -> a -> {b, c} -> d, created through the GraphQL mutation; relates noise b - c."""
    e, a, b, c, d = await make_issues(world, cast.owner, cast.home, 5)
    await create_links(
        api,
        cast.owner_token,
        [
            (e, a, "BLOCKS"),
            (a, b, "BLOCKS"),
            (a, c, "BLOCKS"),
            (d, b, "IS_BLOCKED_BY"),  # stored b -> d
            (c, d, "BLOCKS"),
            (b, c, "RELATES_TO"),
        ],
    )
    guest = cast.guest
    up = await deps(api, guest, d, "")
    assert {(n["issue"]["databaseId"], n["distance"]) for n in up["nodes"]} == {
        (b.id, 1),
        (c.id, 1),
        (a.id, 2),
        (e.id, 3),
    }
    assert [n["distance"] for n in up["nodes"]] == [1, 1, 2, 3]
    assert len(up["edges"]) == 5  # every blocks link, not the relates one
    assert up["depthReached"] == 3
    assert up["truncated"] is False
    both = await deps(api, guest, b, "(direction: BOTH, maxDepth: 1)")
    assert sorted(ids(both["nodes"])) == [a.id, d.id]
    assert both["truncated"] is True  # c and e lie 2 away
    chain = (await one(api, guest, d, f"criticalPath {{ {CHAIN} }}"))["criticalPath"]
    assert ids(chain["issues"]) == [e.id, a.id, b.id, d.id]  # b before c: smaller iid
    await set_weights(pool, {b: 1, c: 5, d: 2})
    heavy = (await one(api, guest, d, f"criticalPath(weighted: true) {{ {CHAIN} }}"))[
        "criticalPath"
    ]
    assert ids(heavy["issues"]) == [e.id, a.id, c.id, d.id]
    assert heavy["totalWeight"] == 7
    assert heavy["issueCount"] == 4
    order = await pages(api, guest, cast.home.id, "dependencyOrder")
    assert order == [e.id, a.id, b.id, c.id, d.id]
    assert await pages(api, guest, cast.home.id, "readyIssues") == [e.id]
    paths = [
        PathAsk(e.id, d.id),
        PathAsk(d.id, e.id),
        PathAsk(d.id, e.id, directed=False),
        PathAsk(b.id, c.id, ("RELATES_TO",)),
        PathAsk(c.id, b.id, ("RELATES_TO",)),
        PathAsk(c.id, b.id, ("RELATES_TO",), directed=False),
        PathAsk(b.id, c.id, ("BLOCKS", "RELATES_TO"), directed=False),
        PathAsk(d.id, d.id),
        PathAsk(e.id, d.id, max_depth=2),
        PathAsk(e.id, d.id, ("PARENT_OF",), directed=False),
    ]
    got = await check_paths(api, View(await load_model(pool), guest), paths)
    assert got[0]["length"] == 3
    assert got[1] is None
    assert got[2]["length"] == 3
    assert got[3]["length"] == 1
    assert got[4] is None
    assert got[6]["length"] == 1
    assert got[7] == {"length": 0, "issues": [{"databaseId": d.id}], "links": []}
    assert got[8] is None
    assert got[9] is None
    await check_everything(api, pool, [guest, cast.admin], paths=paths)


async def test_long_chain(api: Api, pool: asyncpg.Pool, world: World, cast: Cast) -> None:
    """120 issues, chain[k + 1] blocks chain[k]: the blocker always has the larger iid."""
    chain = await make_issues(world, cast.owner, cast.home, 120)
    await insert_links(pool, [(chain[k + 1], chain[k], "blocks") for k in range(119)])
    guest, bottom, top = cast.guest, chain[0], chain[-1]

    default = await deps(api, guest, bottom, "")
    assert ids(default["nodes"]) == ids_of(chain[1:51])
    assert [n["distance"] for n in default["nodes"]] == list(range(1, 51))
    assert default["depthReached"] == 50
    assert default["truncated"] is True
    assert len(default["edges"]) == 50
    deepest = await deps(api, guest, bottom, "(maxDepth: 100)")
    assert ids(deepest["nodes"]) == ids_of(chain[1:101])
    assert deepest["truncated"] is True
    assert deepest["depthReached"] == 100
    middle = chain[60]  # 59 issues above it
    exact = await deps(api, guest, middle, "(maxDepth: 59)")
    assert len(exact["nodes"]) == 59
    assert exact["truncated"] is False
    short = await deps(api, guest, middle, "(maxDepth: 58)")
    assert len(short["nodes"]) == 58
    assert short["truncated"] is True
    capped = await deps(api, guest, bottom, "(maxDepth: 100, first: 5)")
    assert ids(capped["nodes"]) == ids_of(chain[1:6])
    assert capped["truncated"] is True
    assert capped["depthReached"] == 5
    assert len(capped["edges"]) == 5
    down = await deps(api, guest, top, "(direction: DOWNSTREAM)")
    assert ids(down["nodes"]) == ids_of(chain[118:68:-1])

    whole = await one(
        api,
        guest,
        bottom,
        f"openBlockers {{ databaseId }} blockerRollup {{ {ROLLUP} }} criticalPath {{ {CHAIN} }}",
    )
    assert ids(whole["openBlockers"]) == ids_of(chain[1:])
    assert whole["blockerRollup"] == {
        "total": 119,
        "open": 119,
        "completed": 0,
        "percentCompleted": 0,
    }
    assert ids(whole["criticalPath"]["issues"]) == ids_of(chain[::-1])
    assert await pages(api, guest, cast.home.id, "dependencyOrder") == ids_of(chain[::-1])
    assert await pages(api, guest, cast.home.id, "readyIssues") == [top.id]

    paths = [
        PathAsk(top.id, bottom.id, max_depth=100),  # 119 links: beyond any bound
        PathAsk(chain[100].id, bottom.id, max_depth=100),
        PathAsk(chain[100].id, bottom.id),
        PathAsk(chain[50].id, bottom.id),
        PathAsk(bottom.id, chain[50].id, directed=False),
        PathAsk(bottom.id, chain[51].id, directed=False),
    ]
    got = await check_paths(api, View(await load_model(pool), guest), paths)
    assert [p and p["length"] for p in got] == [None, 100, None, 50, 50, None]

    await set_closed(pool, [chain[50]])
    cut = await one(
        api,
        guest,
        bottom,
        f"openBlockers {{ databaseId }} blockerRollup {{ {ROLLUP} }} criticalPath {{ {CHAIN} }}",
    )
    assert ids(cut["openBlockers"]) == ids_of(chain[1:50])  # the walk stops at the closed one
    assert cut["blockerRollup"] == {
        "total": 119,
        "open": 118,
        "completed": 1,
        "percentCompleted": 0,
    }
    assert ids(cut["criticalPath"]["issues"]) == ids_of(chain[49::-1])
    assert await pages(api, guest, cast.home.id, "readyIssues") == [chain[49].id, top.id]
    # Two chains, each blocker first; between them the smaller iid goes first.
    order = await pages(api, guest, cast.home.id, "dependencyOrder", size=33)
    assert order == ids_of(chain[49::-1] + chain[:50:-1])
    await check_everything(
        api, pool, [guest], issues=[*ids_of(chain[::7]), bottom.id, chain[51].id], paths=paths
    )


async def test_wide_fans(api: Api, pool: asyncpg.Pool, world: World, cast: Cast) -> None:
    """hub is blocked by 300 issues, each blocked by top (closed); a third of them closed."""
    hub = await world.issue(cast.owner, cast.home, "hub")
    fan = await make_issues(world, cast.owner, cast.home, 300)
    top = await world.issue(cast.owner, cast.home, "top")
    await insert_links(pool, [(b, hub, "blocks") for b in fan] + [(top, b, "blocks") for b in fan])
    closed = fan[::3]
    opened = [b for b in fan if b not in closed]
    await set_closed(pool, [*closed, top])
    heavy = opened[137]
    await set_weights(pool, {heavy: 9, opened[3]: 4})
    guest = cast.guest

    near = await deps(api, guest, hub, "(first: 10)")
    assert len(near["nodes"]) == 10
    assert {n["distance"] for n in near["nodes"]} == {1}
    assert set(ids(near["nodes"])) <= set(ids_of(fan))
    assert near["truncated"] is True
    assert near["depthReached"] == 1
    assert len(near["edges"]) == 10  # hub's links to those ten, no more
    level = await deps(api, guest, hub, "(maxDepth: 1)")
    assert sorted(ids(level["nodes"])) == ids_of(fan)
    assert level["truncated"] is True  # top lies 2 away
    full = await deps(api, guest, hub, "")
    assert len(full["nodes"]) == 301
    assert ids(full["nodes"])[-1] == top.id
    assert len(full["edges"]) == 600
    assert full["truncated"] is False
    many = await deps(api, guest, hub, "(first: 10000)")
    assert len(many["nodes"]) == 301
    out = await deps(api, guest, top, "(direction: DOWNSTREAM)")
    assert [n["distance"] for n in out["nodes"]] == [1] * 300 + [2]

    summary = await one(
        api,
        guest,
        hub,
        f"openBlockers {{ databaseId }} blockerRollup {{ {ROLLUP} }} "
        f"criticalPath {{ {CHAIN} }} weighted: criticalPath(weighted: true) {{ {CHAIN} }}",
    )
    assert sorted(ids(summary["openBlockers"])) == ids_of(opened)
    assert summary["blockerRollup"] == {
        "total": 301,
        "open": 200,
        "completed": 101,
        "percentCompleted": 33,
    }
    assert ids(summary["criticalPath"]["issues"]) == [opened[0].id, hub.id]
    assert ids(summary["weighted"]["issues"]) == [heavy.id, hub.id]
    assert summary["weighted"]["totalWeight"] == 9
    assert await pages(api, guest, cast.home.id, "readyIssues") == ids_of(opened)
    order = await pages(api, guest, cast.home.id, "dependencyOrder")
    assert order == [*ids_of(opened), hub.id]  # hub has the smallest iid, yet comes last
    await check_everything(
        api,
        pool,
        [guest],
        issues=[hub.id, top.id, *ids_of(fan[:12])],
        walks=(*WALKS, Walk("first50", first=50), Walk("first299", first=299)),
    )


async def test_cross_project_blockers(
    api: Api, pool: asyncpg.Pool, world: World, cast: Cast
) -> None:
    owner = cast.owner
    public = await world.project(owner, "other/public", Visibility.PUBLIC)
    internal = await world.project(owner, "other/internal", Visibility.INTERNAL)
    private = await world.project(owner, "other/private", Visibility.PRIVATE)
    a0, a1 = await make_issues(world, owner, cast.home, 2)
    p0, p1 = await make_issues(world, owner, public, 2)
    secret = await world.issue(owner, public, "confidential", confidential=True)
    i1 = await world.issue(owner, internal, "internal")
    x1 = await world.issue(owner, private, "private")
    await insert_links(
        pool,
        [
            (x1, a1, "blocks"),
            (p1, a1, "blocks"),
            (i1, a1, "blocks"),
            (secret, a1, "blocks"),
            (a0, x1, "blocks"),
            (p0, p1, "blocks"),
            (i1, p0, "blocks"),
        ],
    )
    guest = cast.guest
    up = await one(api, guest, a1, f"dependencies {{ {GRAPH} }} openBlockers {{ databaseId }}")
    assert {(n["issue"]["databaseId"], n["distance"]) for n in up["dependencies"]["nodes"]} == {
        (p1.id, 1),
        (i1.id, 1),
        (p0.id, 2),
    }
    assert sorted(ids(up["openBlockers"])) == sorted([p1.id, i1.id, p0.id])
    as_admin = await deps(api, cast.admin, a1, "")
    assert sorted(ids(as_admin["nodes"])) == sorted([x1.id, p1.id, i1.id, secret.id, a0.id, p0.id])
    order = await pages(api, guest, cast.home.id, "dependencyOrder")
    assert order == [a0.id, i1.id, p0.id, p1.id, a1.id]  # blockers from other projects too
    anonymous = await deps(api, ANONYMOUS, p1, "(direction: BOTH)")
    assert ids(anonymous["nodes"]) == [p0.id]  # neither the internal issue nor the home ones
    await check_everything(
        api,
        pool,
        [guest, cast.admin, ANONYMOUS],
        paths=[PathAsk(i1.id, a1.id), PathAsk(a0.id, a1.id), PathAsk(p0.id, a1.id)],
    )


@pytest.mark.parametrize("hiding", ["confidential", "private project"])
async def test_a_hidden_issue_stops_every_walk(
    api: Api, pool: asyncpg.Pool, world: World, cast: Cast, hiding: str
) -> None:
    """a0 -> a1 -> h -> a3 -> a4 and a parent chain t0 > h > t2 > t3, h hidden from guest."""
    owner = cast.owner
    writer, writer_token = await world.user_with_token("writer")
    await world.member(cast.home, writer, Role.GUEST)
    a0, a1 = await make_issues(world, owner, cast.home, 2)
    if hiding == "confidential":
        h = await world.issue(writer, cast.home, "hidden", confidential=True)
    else:
        elsewhere = await world.project(owner, "other/private", Visibility.PRIVATE)
        await world.member(elsewhere, writer, Role.GUEST)
        h = await world.issue(writer, elsewhere, "hidden")
    a3, a4, t0, t2, t3 = await make_issues(world, owner, cast.home, 5)
    await insert_links(
        pool,
        [
            (a0, a1, "blocks"),
            (a1, h, "blocks"),
            (h, a3, "blocks"),
            (a3, a4, "blocks"),
            (t0, h, "parent"),
            (h, t2, "parent"),
            (t2, t3, "parent"),
        ],
    )
    guest = cast.guest
    selection = (
        f"up: dependencies(maxDepth: 100) {{ {GRAPH} }} "
        f"both: dependencies(direction: BOTH, linkTypes: [BLOCKS, PARENT_OF]) {{ {GRAPH} }} "
        f"openBlockers {{ databaseId }} blockerRollup {{ {ROLLUP} }} "
        f"childrenRollup {{ {ROLLUP} }} criticalPath {{ {CHAIN} }}"
    )
    seen = await one(api, guest, a4, selection)
    assert ids(seen["up"]["nodes"]) == [a3.id]
    assert seen["up"]["truncated"] is False
    assert sorted(ids(seen["both"]["nodes"])) == [a3.id]
    assert ids(seen["openBlockers"]) == [a3.id]
    assert seen["blockerRollup"]["total"] == 1
    assert ids(seen["criticalPath"]["issues"]) == [a3.id, a4.id]
    down = await deps(api, guest, a0, "(direction: DOWNSTREAM)")
    assert ids(down["nodes"]) == [a1.id]
    tree = await one(api, guest, t0, selection)
    assert tree["childrenRollup"]["total"] == 0
    assert ids(tree["both"]["nodes"]) == []
    assert await pages(api, guest, cast.home.id, "readyIssues") == [
        a0.id,
        a3.id,  # its only blocker is hidden: work that can start, as far as guest knows
        t0.id,
        t2.id,
        t3.id,
    ]
    assert await pages(api, guest, cast.home.id, "dependencyOrder") == [
        a0.id,
        a1.id,
        a3.id,
        a4.id,
        t0.id,
        t2.id,
        t3.id,
    ]
    paths = [
        PathAsk(a0.id, a4.id, max_depth=100),
        PathAsk(a4.id, a0.id, directed=False),
        PathAsk(t0.id, t3.id, ("PARENT_OF",)),
        PathAsk(a1.id, a3.id, ("BLOCKS", "PARENT_OF"), directed=False),
    ]
    assert await check_paths(api, View(await load_model(pool), guest), paths) == [None] * 4

    # Who may read h walks through it: an admin, and (confidential or not) its author.
    admin_view = await one(api, cast.admin, a4, selection)
    assert ids(admin_view["up"]["nodes"]) == [a3.id, h.id, a1.id, a0.id]
    assert ids(admin_view["criticalPath"]["issues"]) == [a0.id, a1.id, h.id, a3.id, a4.id]
    writer_viewer = Viewer("writer", writer.id, admin=False, token=writer_token)
    assert (await one(api, writer_viewer, t0, selection))["childrenRollup"]["total"] == 3
    await check_everything(api, pool, [guest, cast.admin, writer_viewer], paths=paths)


async def test_closed_issues_and_states(
    api: Api, pool: asyncpg.Pool, world: World, cast: Cast
) -> None:
    """a0 -> a1 (closed) -> a2 -> a3 <- c (closed)."""
    a0, a1, a2, a3, c = await make_issues(world, cast.owner, cast.home, 5)
    await insert_links(
        pool, [(a0, a1, "blocks"), (a1, a2, "blocks"), (a2, a3, "blocks"), (c, a3, "blocks")]
    )
    await set_closed(pool, [a1, c])
    guest = cast.guest
    got = await one(
        api,
        guest,
        a3,
        f"opened: dependencies(states: [OPENED]) {{ {GRAPH} }} "
        f"closed: dependencies(states: [CLOSED]) {{ {GRAPH} }} "
        f"any: dependencies(states: [OPENED, CLOSED]) {{ {GRAPH} }} "
        f"openBlockers {{ databaseId }} blockerRollup {{ {ROLLUP} }} criticalPath {{ {CHAIN} }}",
    )
    assert ids(got["opened"]["nodes"]) == [a2.id]  # not a0: a1 is closed
    assert ids(got["closed"]["nodes"]) == [c.id]  # not a1: a2 is open
    assert sorted(ids(got["any"]["nodes"])) == sorted([a2.id, c.id, a1.id, a0.id])
    assert ids(got["openBlockers"]) == [a2.id]
    assert got["blockerRollup"] == {"total": 4, "open": 2, "completed": 2, "percentCompleted": 50}
    assert ids(got["criticalPath"]["issues"]) == [a2.id, a3.id]
    closed_start = await deps(api, guest, a1, "(states: [OPENED])")
    assert ids(closed_start["nodes"]) == [a0.id]  # the start's own state does not matter
    assert await pages(api, guest, cast.home.id, "readyIssues") == [a0.id, a2.id]
    assert await pages(api, guest, cast.home.id, "dependencyOrder") == [a0.id, a2.id, a3.id]
    await check_everything(api, pool, [guest, cast.admin])


async def test_parent_walks(api: Api, pool: asyncpg.Pool, world: World, cast: Cast) -> None:
    """A tree 8 links deep (the limit), blocks links among its issues, a closed sub-issue."""
    owner = cast.owner
    root, c1, c2, c3, g1, g2 = await make_issues(world, owner, cast.home, 6)
    deep = await make_issues(world, owner, cast.home, 8)
    await create_links(
        api,
        cast.owner_token,
        [(root, c1, "PARENT_OF"), (root, c2, "PARENT_OF"), (c3, root, "CHILD_OF")]
        + [(c1, g1, "PARENT_OF"), (g2, c1, "CHILD_OF"), (g1, c2, "BLOCKS"), (c3, g2, "BLOCKS")]
        + [(root, deep[0], "PARENT_OF")]
        + [(deep[k], deep[k + 1], "PARENT_OF") for k in range(7)],
    )
    await set_closed(pool, [g2, deep[3]])
    guest = cast.guest
    sub = await one(
        api,
        guest,
        root,
        f"sub: dependencies(direction: DOWNSTREAM, linkTypes: [PARENT_OF]) {{ {GRAPH} }} "
        f"blocks: dependencies(direction: BOTH) {{ {GRAPH} }} childrenRollup {{ {ROLLUP} }}",
    )
    distances = {n["issue"]["databaseId"]: n["distance"] for n in sub["sub"]["nodes"]}
    assert distances == {c1.id: 1, c2.id: 1, c3.id: 1, deep[0].id: 1, g1.id: 2, g2.id: 2} | {
        deep[k].id: k + 1 for k in range(8)
    }
    assert sub["sub"]["depthReached"] == 8
    assert sub["blocks"]["nodes"] == []
    assert sub["childrenRollup"] == {
        "total": 13,
        "open": 11,
        "completed": 2,
        "percentCompleted": 15,
    }
    leaf = await one(
        api,
        guest,
        deep[7],
        f"sup: dependencies(linkTypes: [CHILD_OF]) {{ {GRAPH} }} "
        f"sub: dependencies(direction: DOWNSTREAM, linkTypes: [CHILD_OF]) {{ {GRAPH} }}",
    )
    assert ids(leaf["sup"]["nodes"]) == [*ids_of(deep[6::-1]), root.id]
    assert leaf["sub"]["nodes"] == []
    mixed = await deps(
        api, guest, g1, "(direction: BOTH, linkTypes: [PARENT_OF, BLOCKS], maxDepth: 2)"
    )
    assert {(n["issue"]["databaseId"], n["distance"]) for n in mixed["nodes"]} == {
        (c1.id, 1),
        (c2.id, 1),
        (root.id, 2),
        (g2.id, 2),
    }
    await check_everything(
        api,
        pool,
        [guest, cast.admin],
        paths=[
            PathAsk(root.id, deep[7].id, ("PARENT_OF",)),
            PathAsk(deep[7].id, g2.id, ("CHILD_OF",), directed=False),
            PathAsk(c3.id, c2.id, ("PARENT_OF", "BLOCKS"), directed=False, max_depth=2),
        ],
    )


async def test_bounds_are_checked(api: Api, world: World, cast: Cast) -> None:
    issue = await world.issue(cast.owner, cast.home, "alone")
    for args in ["maxDepth: 0", "maxDepth: 101", "first: 0", "first: 10001"]:
        response = await cast_query(api, cast, issue, f"dependencies({args}) {{ truncated }}")
        assert response.codes == ["BAD_USER_INPUT"], (args, response.body)
    for args in ["maxDepth: 100", "first: 10000", "maxDepth: 1, first: 1"]:
        response = await cast_query(api, cast, issue, f"dependencies({args}) {{ truncated }}")
        assert response.data["issue"]["dependencies"] == {"truncated": False}
    # An empty list names no link kind: an error, not the default (BLOCKS).
    response = await cast_query(api, cast, issue, "dependencies(linkTypes: []) { truncated }")
    assert response.codes == ["BAD_USER_INPUT"], response.body
    assert response.errors[0]["path"] == ["issue", "dependencies"]
    # Likewise an empty states list: it would walk nowhere, which no one means.
    response = await cast_query(api, cast, issue, "dependencies(states: []) { truncated }")
    assert response.codes == ["BAD_USER_INPUT"], response.body
    for depth in (0, 101):
        response = await api.gql(
            f'{{ path(from: {{project: "{issue.project_id}", iid: {issue.iid}}}, '
            f'to: {{project: "{issue.project_id}", iid: {issue.iid}}}, maxDepth: {depth}) '
            "{ length } }",
            token=cast.guest.token,
        )
        assert response.codes == ["BAD_USER_INPUT"], (depth, response.body)
    response = await api.gql(
        f'{{ path(from: {{project: "{issue.project_id}", iid: {issue.iid}}}, '
        f'to: {{project: "{issue.project_id}", iid: {issue.iid}}}, linkTypes: []) {{ length }} }}',
        token=cast.guest.token,
    )
    assert response.codes == ["BAD_USER_INPUT"], response.body


async def cast_query(api: Api, cast: Cast, issue: Issue, selection: str) -> Any:
    return await api.gql(
        "query($p: ID!, $iid: Int!) { issue(project: $p, iid: $iid) { " + selection + " } }",
        {"p": str(issue.project_id), "iid": issue.iid},
        token=cast.guest.token,
    )


# -- random DAGs ---------------------------------------------------------------------------

POOL = 40  # issues per project, made once; each example uses some of them
PROJECTS = ("home", "public", "hidden")  # guest: GUEST, not a member, not a member


@dataclass
class Bench:
    api: Api
    pool: asyncpg.Pool
    viewers: list[Viewer]
    guest_id: int
    issues: dict[str, list[Issue]]


@pytest.fixture
async def bench(api: Api, pool: asyncpg.Pool, world: World, cast: Cast) -> Bench:
    public = await world.project(cast.owner, "random/public", Visibility.PUBLIC)
    hidden = await world.project(cast.owner, "random/hidden", Visibility.PRIVATE)
    issues = {
        name: await make_issues(world, cast.owner, project, POOL)
        for name, project in zip(PROJECTS, [cast.home, public, hidden], strict=True)
    }
    assert cast.guest.user_id is not None
    return Bench(api, pool, [cast.guest, cast.admin, ANONYMOUS], cast.guest.user_id, issues)


@dataclass(frozen=True)
class NodeSpec:
    project: str
    closed: bool
    weight: int | None
    confidential: bool
    assigned: bool  # the guest is an assignee


node_specs = st.builds(
    NodeSpec,
    project=st.sampled_from(["home"] * 5 + ["public"] * 2 + ["hidden"]),
    closed=st.sampled_from([False, False, True]),
    weight=st.one_of(st.none(), st.integers(0, 9)),
    confidential=st.sampled_from([False] * 6 + [True]),
    assigned=st.booleans(),
)

TYPE_CHOICES = [("BLOCKS",), ("PARENT_OF",), ("RELATES_TO",), ("BLOCKS", "PARENT_OF"), None]


@dataclass
class Example:
    nodes: list[NodeSpec]
    links: list[tuple[int, int, str]]  # by node index
    perms: dict[str, list[int]]
    max_depth: int
    first: int
    paths: list[tuple[int, int, int, bool, int]]  # source, target, type choice, directed, depth


@st.composite
def examples(draw: Any) -> Example:
    n = draw(st.integers(2, POOL))
    nodes = [draw(node_specs) for _ in range(n)]
    reach = draw(st.integers(1, 8))  # small: long, thin graphs; large: wide ones
    pairs: set[frozenset[int]] = set()
    links: list[tuple[int, int, str]] = []
    depth = [0] * n  # in the parent forest
    for j in range(1, n):
        near = st.integers(max(0, j - reach), j - 1)
        for i in draw(st.lists(near, max_size=3, unique=True)):
            kind = draw(st.sampled_from(["blocks"] * 4 + ["relates"]))
            ends = (i, j) if kind == "blocks" or draw(st.booleans()) else (j, i)
            pairs.add(frozenset(ends))
            links.append((*ends, kind))
        parent = draw(st.none() | near)
        if parent is not None and frozenset((parent, j)) not in pairs and depth[parent] < 8:
            pairs.add(frozenset((parent, j)))
            links.append((parent, j, "parent"))
            depth[j] = depth[parent] + 1
    perms = {p: draw(st.permutations(range(POOL))) for p in PROJECTS}
    node = st.integers(0, n - 1)
    paths = draw(
        st.lists(
            st.tuples(node, node, st.integers(0, 4), st.booleans(), st.integers(1, 12)),
            min_size=1,
            max_size=8,
        )
    )
    return Example(nodes, links, perms, draw(st.integers(1, 6)), draw(st.integers(1, 8)), paths)


async def arrange(bench: Bench, ex: Example) -> list[int]:
    """The example's graph on the bench's issues: node index -> issue id."""
    taken: dict[str, int] = defaultdict(int)
    chosen = []
    for spec in ex.nodes:
        k = taken[spec.project]
        taken[spec.project] += 1
        chosen.append(bench.issues[spec.project][ex.perms[spec.project][k]].id)
    async with bench.pool.acquire() as conn, conn.transaction():
        await conn.execute("delete from issue_links")
        await conn.execute("delete from issue_assignees")
        await conn.execute(
            "update issues set state = 'opened', closed_at = null, weight = null,"
            " confidential = false"
        )
        await conn.execute(
            "update issues i set state = s.state::issue_state,"
            " closed_at = case when s.state = 'closed' then now() end,"
            " weight = s.weight, confidential = s.confidential"
            " from unnest($1::bigint[], $2::text[], $3::int[], $4::boolean[])"
            " as s(id, state, weight, confidential) where i.id = s.id",
            chosen,
            ["closed" if s.closed else "opened" for s in ex.nodes],
            [s.weight for s in ex.nodes],
            [s.confidential for s in ex.nodes],
        )
        await conn.execute(
            "insert into issue_assignees (issue_id, user_id) select unnest($1::bigint[]), $2",
            [i for i, s in zip(chosen, ex.nodes, strict=True) if s.assigned],
            bench.guest_id,
        )
        await conn.execute(
            "insert into issue_links (source_id, target_id, link_type)"
            " select * from unnest($1::bigint[], $2::bigint[], $3::link_type[])",
            [chosen[s] for s, _, _ in ex.links],
            [chosen[t] for _, t, _ in ex.links],
            [k for _, _, k in ex.links],
        )
    return chosen


@hypothesis_settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(ex=examples())
async def test_random_dags_agree_with_networkx(bench: Bench, ex: Example) -> None:
    chosen = await arrange(bench, ex)
    walks = (
        *WALKS[:2],
        Walk("bounded", max_depth=ex.max_depth, first=ex.first),
        Walk("openBoth", "BOTH", states=("OPENED",), max_depth=ex.max_depth),
        Walk("closedDown", "DOWNSTREAM", states=("CLOSED",)),
        Walk("sub", "DOWNSTREAM", link_types=("PARENT_OF",), first=ex.first),
        Walk("sup", "UPSTREAM", link_types=("CHILD_OF",), max_depth=ex.max_depth),
        Walk("mixed", "BOTH", link_types=("IS_BLOCKED_BY", "CHILD_OF"), max_depth=ex.max_depth),
        Walk("rel", "BOTH", link_types=("RELATES_TO",), first=ex.first),
    )
    paths = [
        PathAsk(chosen[s], chosen[t], TYPE_CHOICES[k], directed, depth)
        for s, t, k, directed, depth in ex.paths
    ]
    model = await check_everything(
        bench.api, bench.pool, bench.viewers, issues=chosen, walks=walks, paths=paths
    )
    guest = View(model, bench.viewers[0])
    event(f"issues: {len(chosen) // 10 * 10}-{len(chosen) // 10 * 10 + 9}")
    event(f"hidden from guest: {sum(i not in guest.ok for i in chosen) > 0}")
    longest = max(
        (guest.critical(i, weighted=False).best for i in chosen if i in guest.ok), default=0
    )
    bucket = str(longest) if longest <= 1 else "2-4" if longest < 5 else "5+"
    event(f"longest open chain (guest): {bucket}")
    tied = any(guest.critical(i, weighted=True).ways > 1 for i in chosen if i in guest.ok)
    event(f"a tied weighted critical path: {tied}")


# -- statements per request ----------------------------------------------------------------


@dataclass
class Layers:
    project: Project
    top: Issue
    bottom: Issue
    root: Issue


async def layered(world: World, pool: asyncpg.Pool, cast: Cast, path: str, depth: int) -> Layers:
    """`depth` levels of 3 issues, each blocked by two of the level above, the last level
    blocking `bottom`; every 5th closed, one confidential (hidden from guest) half-way
    down; a parent tree of 2 * depth sub-issues under `root` (as deep as depth / 10 + 1
    allows, at most 8)."""
    project = await world.project(cast.owner, path, Visibility.PRIVATE)
    await world.member(project, cast.users["guest"], Role.GUEST)
    levels = [await make_issues(world, cast.owner, project, 3) for _ in range(depth)]
    bottom = await world.issue(cast.owner, project, "bottom")
    root = await world.issue(cast.owner, project, "root")
    tree = await make_issues(world, cast.owner, project, 2 * depth)
    rows = [(a, bottom, "blocks") for a in levels[-1]]
    for upper, lower in itertools.pairwise(levels):
        for j, issue in enumerate(lower):
            rows += [(upper[j], issue, "blocks"), (upper[(j + 1) % 3], issue, "blocks")]
    spine = min(7, max(1, depth // 10))
    rows += [(root, tree[0], "parent")]
    rows += [(tree[k], tree[k + 1], "parent") for k in range(spine - 1)]
    rows += [(tree[k % spine], tree[k], "parent") for k in range(spine, len(tree))]
    await insert_links(pool, rows)
    everyone = [i for level in levels for i in level]
    await set_closed(pool, everyone[::5] + tree[::4])
    await pool.execute(
        "update issues set confidential = true where id = $1", levels[depth // 2][1].id
    )
    await set_weights(pool, {issue: k % 4 for k, issue in enumerate(everyone)})
    return Layers(project, levels[0][0], bottom, root)


TRAVERSALS = {
    "dependencies": "issue(project: $p, iid: $bottom) { dependencies(maxDepth: 100) { "
    + GRAPH
    + " } }",
    "openBlockers": "issue(project: $p, iid: $bottom) { openBlockers { iid } }",
    "criticalPath": "issue(project: $p, iid: $bottom) { criticalPath { " + CHAIN + " } }",
    "weightedCriticalPath": "issue(project: $p, iid: $bottom) {"
    " criticalPath(weighted: true) { " + CHAIN + " } }",
    "readyIssues": "project(fullPath: $p) { readyIssues(first: 100) { " + PAGE + " } }",
    "dependencyOrder": "project(fullPath: $p) { dependencyOrder(first: 100) { " + PAGE + " } }",
    "path": "path(from: {project: $p, iid: $top}, to: {project: $p, iid: $bottom},"
    " maxDepth: 100) { length issues { iid } links { databaseId } }",
    "blockerRollup": "issue(project: $p, iid: $bottom) { blockerRollup { " + ROLLUP + " } }",
    "childrenRollup": "issue(project: $p, iid: $root) { childrenRollup { " + ROLLUP + " } }",
    "list of 20": "project(fullPath: $p) { issues(first: 20, sort: CREATED_ASC) { nodes { iid"
    " dependencies { " + GRAPH + " } blockerRollup { " + ROLLUP + " } } } }",
}

# Measured, and each one explained: every request first reads the viewer's token (1); an
# issue is its project by path with the issue by iid, then the viewer's role there (2).
EXPECTED_STATEMENTS = {
    "dependencies": 5,  # token, issue (2), the walk, the links among the nodes
    "openBlockers": 4,  # token, issue (2), the walk
    "criticalPath": 5,  # token, issue (2), the walk, the links among the blockers
    "weightedCriticalPath": 5,
    "readyIssues": 5,  # token, project, role, the page, its count
    "dependencyOrder": 6,  # token, project, role, open issues, one walk from all, links
    "path": 8,  # token, project, role, each end by iid (2), the path, its links, its issues
    "blockerRollup": 4,  # token, issue (2), the counts
    "childrenRollup": 4,
    "list of 20": 7,  # token, project, role, the page, one walk, one links, one rollup
}
# Walked in the in-memory index (docs/graph-index.md), a request's first walk brings the
# index up to date (1) and reads the viewer's project grants (1). The rows of the issues and
# links it reaches come from the process's cache: each query here runs once before it is
# counted, so they are cached, and a rollup reads nothing at all.
EXPECTED_IN_MEMORY = {
    "dependencies": 5,  # token, issue (2), catch-up, grants
    "openBlockers": 5,
    "criticalPath": 5,
    "weightedCriticalPath": 5,
    "readyIssues": 5,  # no walk: as in SQL
    "dependencyOrder": 6,  # token, project, role, catch-up, grants, the page's issues
    "path": 8,  # token, project, role, ends (2), catch-up, grants, the path's issues
    "blockerRollup": 5,  # token, issue (2), catch-up, grants
    "childrenRollup": 5,
    "list of 20": 6,  # token, project, role, the page, catch-up, grants
}


@pytest.mark.parametrize("graph_index", ["sql", "memory"])
async def test_traversals_use_a_fixed_number_of_statements(  # noqa: PLR0917  (fixtures)
    aiohttp_client: Any,
    settings: Any,
    pool: asyncpg.Pool,
    world: World,
    cast: Cast,
    graph_index: str,
) -> None:
    log = StatementLog()
    settings = dataclasses.replace(settings, graph_index=graph_index)
    api = Api(await aiohttp_client(create_app(settings, on_connect=log.attach)))
    small = await layered(world, pool, cast, "count/small", 7)
    large = await layered(world, pool, cast, "count/large", 70)
    measured: dict[str, list[int]] = {}
    for name, selection in TRAVERSALS.items():
        used = [v for v in ("top", "bottom", "root") if f"${v}" in selection]
        declared = ", ".join(["$p: ID!", *(f"${v}: Int!" for v in used)])
        query = f"query({declared}) {{ {selection} }}"
        measured[name] = []
        answers = []
        for layers in (small, large):
            ends = {"top": layers.top.iid, "bottom": layers.bottom.iid, "root": layers.root.iid}
            variables = {"p": layers.project.full_path} | {v: ends[v] for v in used}
            answers.append(await ask(api, cast.guest, query, variables))  # warm the statements
            assert all(answers[-1].values()), (name, answers[-1])
            measured[name].append(await log.count(ask(api, cast.guest, query, variables)))
        assert len(str(answers[1])) > len(str(answers[0])), name  # the larger graph was walked
    assert log.queries, "statements were not logged"
    assert {name: large for name, (_, large) in measured.items()} == {
        name: small for name, (small, _) in measured.items()
    }, measured
    expected = EXPECTED_STATEMENTS if graph_index == "sql" else EXPECTED_IN_MEMORY
    assert {name: small for name, (small, _) in measured.items()} == expected, measured
