"""The dependency graph: what blocks what, transitively; what is ready; in which order.

Walks go through the request's `Walks` (`loaders.graph.GraphWalks`): the process's
in-memory index (`domain.graph_index`) or, without one, PostgreSQL (`issue_graph_walk`,
`issue_graph_path`); both breadth-first, each issue visited once, never stepping onto an
issue the viewer may not read, with the same answers. What is left here is small and
exact: ordering what a walk returned (a topological sort), and the longest chain through
it.
"""

from __future__ import annotations

import dataclasses
import enum
import heapq
import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from issuegraph.db.queries import graph as graph_queries
from issuegraph.domain.errors import bad_input
from issuegraph.domain.link_types import LinkType, canonical
from issuegraph.models import Issue, IssueLink, IssueState, StoredLinkType

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    # Issue ids as a list or a numpy array (`Closure`).
    Ids = Sequence[int] | npt.NDArray[np.int64]

    from issuegraph.domain.access import Loading

DEFAULT_MAX_DEPTH = 50
MAX_DEPTH = 100
MAX_NODES = 10_000
UNBOUNDED = 1_000_000  # deeper than any chain: every issue is visited once anyway
BLOCKS = (StoredLinkType.BLOCKS.value,)
PARENT = (StoredLinkType.PARENT.value,)


class Direction(enum.Enum):
    UPSTREAM = "upstream"  # towards what must happen first: target -> source
    DOWNSTREAM = "downstream"  # towards what waits on this: source -> target
    BOTH = "both"


def stored_types(link_types: Iterable[LinkType]) -> tuple[str, ...]:
    """Link kinds to walk; an inverse name (IS_BLOCKED_BY) names its kind (blocks)."""
    return tuple(sorted({canonical(t)[0].value for t in link_types}))


def make_walk(
    types: tuple[str, ...],
    direction: Direction,
    max_depth: int,
    states: Sequence[IssueState] | None = None,
) -> graph_queries.Walk:
    if not 1 <= max_depth <= MAX_DEPTH:
        raise bad_input(f"maxDepth must be between 1 and {MAX_DEPTH}", ["maxDepth"])
    if not types:
        raise bad_input("linkTypes must name at least one type", ["linkTypes"])
    if states is not None and not states:
        raise bad_input("states must name at least one state (or be null for all)", ["states"])
    return graph_queries.Walk(
        types=types,
        downstream=direction is not Direction.UPSTREAM,
        upstream=direction is not Direction.DOWNSTREAM,
        max_depth=max_depth,
        states=tuple(sorted(s.value for s in states)) if states is not None else None,
    )


def whole_walk(
    types: tuple[str, ...], direction: Direction, states: Sequence[IssueState] | None = None
) -> graph_queries.Walk:
    """A walk with no depth bound, for answers that need the whole closure."""
    return graph_queries.Walk(
        types=types,
        downstream=direction is not Direction.UPSTREAM,
        upstream=direction is not Direction.DOWNSTREAM,
        max_depth=UNBOUNDED,
        states=tuple(sorted(s.value for s in states)) if states is not None else None,
    )


@dataclass(frozen=True, slots=True)
class DependencyGraph:
    nodes: list[tuple[Issue, int]]  # issue, distance from the start
    edges: list[IssueLink]
    depth_reached: int
    truncated: bool
    # Unreadable issues linked (walked types, either way) to the start or a node; None
    # when not asked for.
    hidden_count: int | None = None


def order_key(issue: Issue) -> tuple[int, int]:
    """Ties are broken by iid (then by id, for issues of different projects)."""
    return (issue.iid, issue.id)


@dataclass(frozen=True, slots=True)
class Closure:
    """Issues (`ids`, and their `iids` side by side) and links among them (`sources[k]`
    blocks `targets[k]`): what `topological_ids` orders. Lists or numpy arrays."""

    ids: Ids
    iids: Ids
    sources: Ids
    targets: Ids


def topological_ids(closure: Closure) -> list[int]:
    """Kahn's algorithm over issue ids, the smallest `order_key` (iid, id) first among the
    ready ones. Each id comes after every id that blocks it (edges run blocker -> blocked);
    edges with an end outside the closure are ignored.

    Ids are ranked by key once (numpy), so the heap holds plain ints. Issues with no edge
    at all never wait and hold nobody up: they stay out of the heap and are merged in
    afterwards, each just before the first issue of the order whose rank is larger (where
    the heap would have given it out)."""
    ids = np.asarray(closure.ids, dtype=np.int64)
    count = len(ids)
    by_key = np.lexsort((ids, np.asarray(closure.iids, dtype=np.int64)))  # rank -> place
    ids = ids[by_key]  # now by rank
    pairs = np.stack(
        [np.asarray(closure.sources, dtype=np.int64), np.asarray(closure.targets, np.int64)],
        axis=1,
    ).reshape(-1, 2)
    by_id = np.argsort(ids)
    at = np.searchsorted(ids, pairs, sorter=by_id).clip(0, max(count - 1, 0))
    ranks = by_id[at] if count else at
    known = (ids[ranks] == pairs).all(axis=1) if count else np.zeros(len(pairs), np.bool_)
    source, target = ranks[known, 0], ranks[known, 1]
    order = np.argsort(source, kind="stable")
    source, target = source[order], target[order]
    start = np.searchsorted(source, np.arange(count + 1)).tolist()
    targets = target.tolist()
    indegree = np.bincount(target, minlength=count).tolist()
    linked = np.zeros(count, dtype=np.bool_)
    linked[source] = True
    linked[target] = True
    heap = np.flatnonzero(linked & (np.bincount(target, minlength=count) == 0)).tolist()
    ordered: list[int] = []  # ranks, heap order
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        rank = pop(heap)
        ordered.append(rank)
        for k in range(start[rank], start[rank + 1]):
            nxt = targets[k]
            indegree[nxt] -= 1
            if not indegree[nxt]:
                push(heap, nxt)
    done = np.asarray(ordered, dtype=np.int64)
    alone = np.flatnonzero(~linked)
    highest = np.maximum.accumulate(done) if done.size else done
    merged = np.insert(done, np.searchsorted(highest, alone, side="right"), alone)
    result: list[int] = ids[merged].tolist()
    return result


def topological_order(issues: Sequence[Issue], edges: Iterable[IssueLink]) -> list[Issue]:
    """`topological_ids` of issues and links: each issue after every issue that blocks it."""
    by_id = {issue.id: issue for issue in issues}
    links = list(edges)
    closure = Closure(
        ids=list(by_id),
        iids=[issue.iid for issue in by_id.values()],
        sources=[link.source_id for link in links],
        targets=[link.target_id for link in links],
    )
    return [by_id[i] for i in topological_ids(closure)]


@dataclass(frozen=True, slots=True)
class CriticalPath:
    issues: list[Issue]  # the first blocker first, the issue itself last
    total_weight: int


def critical_path(
    issue: Issue, blockers: Sequence[Issue], edges: Iterable[IssueLink], *, weighted: bool
) -> CriticalPath:
    """The longest chain of blockers ending at `issue`: by count, or by summed weight.

    Among equally long chains, each step takes the predecessor with the smallest
    `order_key`, so the answer is deterministic.
    """
    nodes = [issue, *blockers]
    order = topological_order(nodes, edges)

    def value(node: Issue) -> int:
        return (node.weight or 0) if weighted else 1

    predecessors: dict[int, list[Issue]] = defaultdict(list)
    by_id = {node.id: node for node in nodes}
    for link in edges:
        if link.source_id in by_id and link.target_id in by_id:
            predecessors[link.target_id].append(by_id[link.source_id])
    best: dict[int, int] = {}
    previous: dict[int, Issue | None] = {}
    for node in order:
        choice: Issue | None = None
        for pred in sorted(predecessors[node.id], key=order_key):
            if choice is None or best[pred.id] > best[choice.id]:
                choice = pred
        best[node.id] = value(node) + (best[choice.id] if choice else 0)
        previous[node.id] = choice
    chain: list[Issue] = []
    cursor: Issue | None = issue
    while cursor is not None:
        chain.append(cursor)
        cursor = previous.get(cursor.id)
    chain.reverse()
    return CriticalPath(issues=chain, total_weight=sum(n.weight or 0 for n in chain))


class Walks(Protocol):
    """How a request walks: in PostgreSQL or through the in-memory index, with the same
    answers (`loaders.graph.GraphWalks`)."""

    async def project_closure(self, project_id: int, walk: graph_queries.Walk) -> Closure: ...
    async def distances(self, anchor: int, walk: graph_queries.Walk) -> list[int]: ...
    async def links_among(self, ids: list[int], types: tuple[str, ...]) -> list[IssueLink]: ...
    async def shortest_path(
        self, source: int, target: int, types: tuple[str, ...], *, directed: bool, max_depth: int
    ) -> list[int] | None: ...


class GraphReads(Protocol):
    """The loaders the graph reads through (`loaders.Loaders` has them)."""

    @property
    def graph_walks(self) -> Walks: ...

    @property
    def walk_by_issue(
        self,
    ) -> Loading[tuple[int, graph_queries.Walk], list[graph_queries.Reached]]: ...
    @property
    def links_among_issues(
        self,
    ) -> Loading[tuple[frozenset[int], tuple[str, ...]], list[IssueLink]]: ...
    @property
    def hidden_count_by_issues(self) -> Loading[tuple[frozenset[int], tuple[str, ...]], int]: ...


class GraphService:
    """The dependency-graph reads for one viewer: all through `reads`, the request's
    loaders, which know the viewer and how to walk."""

    def __init__(self, reads: GraphReads) -> None:
        self.reads = reads

    async def dependencies(
        self,
        issue: Issue,
        *,
        types: tuple[str, ...],
        direction: Direction,
        max_depth: int,
        states: Sequence[IssueState] | None,
        first: int | None,
        rows: bool = True,
        hidden: bool = False,
    ) -> DependencyGraph:
        """The transitive closure from `issue` (not included), nearest first. Without
        `rows` (nobody reads the nodes or edges), only how far it goes and whether it was
        cut: `nodes` and `edges` are left empty. With `hidden`, how many issues the viewer
        may not read are linked by these types to the issue or a node (`hidden_count`)."""
        limit = MAX_NODES if first is None else first
        if not 1 <= limit <= MAX_NODES:
            raise bad_input(f"first must be between 1 and {MAX_NODES}", ["first"])
        walk = make_walk(types, direction, max_depth, states)
        # One level further than asked, to know whether the bound cut anything off.
        probe = dataclasses.replace(walk, max_depth=max_depth + 1)
        if not rows and not hidden:
            distances = await self.reads.graph_walks.distances(issue.id, probe)
            within_count = sum(1 for d in distances if d <= max_depth)
            return DependencyGraph(
                nodes=[],
                edges=[],
                depth_reached=max(distances[: min(within_count, limit)], default=0),
                truncated=within_count < len(distances) or within_count > limit,
            )
        reached = await self.reads.walk_by_issue.load((issue.id, probe))
        within = [r for r in reached if r.distance <= max_depth]
        shown = within[:limit]
        ids = frozenset([issue.id, *(r.issue.id for r in shown)])
        edges = await self.reads.links_among_issues.load((ids, types)) if rows else []
        hidden_count = None
        if hidden:
            hidden_count = await self.reads.hidden_count_by_issues.load((ids, types))
        return DependencyGraph(
            nodes=[(r.issue, r.distance) for r in shown] if rows else [],
            edges=edges,
            depth_reached=max((r.distance for r in shown), default=0),
            truncated=len(within) < len(reached) or len(within) > limit,
            hidden_count=hidden_count,
        )

    async def dependency_order(self, project_id: int) -> list[int]:
        """Ids of a project's open issues and their open blockers anywhere, blockers first."""
        walk = whole_walk(BLOCKS, Direction.UPSTREAM, [IssueState.OPENED])
        return topological_ids(await self.reads.graph_walks.project_closure(project_id, walk))

    async def critical_path(self, issue: Issue, *, weighted: bool) -> CriticalPath:
        walk = whole_walk(BLOCKS, Direction.UPSTREAM, [IssueState.OPENED])
        reached = await self.reads.walk_by_issue.load((issue.id, walk))
        blockers = [r.issue for r in reached]
        among = frozenset([issue.id, *(b.id for b in blockers)])
        edges = await self.reads.links_among_issues.load((among, BLOCKS))
        return critical_path(issue, blockers, edges, weighted=weighted)

    async def path(
        self,
        source: Issue,
        target: Issue,
        types: tuple[str, ...],
        *,
        directed: bool,
        max_depth: int,
    ) -> tuple[list[int], list[IssueLink]] | None:
        """The shortest chain of links from `source` to `target`, through readable issues."""
        make_walk(types, Direction.BOTH, max_depth)  # validates the bounds
        ids = await self.reads.graph_walks.shortest_path(
            source.id, target.id, types, directed=directed, max_depth=max_depth
        )
        if ids is None:
            return None
        links = await self.reads.graph_walks.links_among(ids, types)
        steps: list[IssueLink] = []
        for a, b in itertools.pairwise(ids):
            step = next(
                link
                for link in links
                if (link.source_id, link.target_id) == (a, b)
                or (not directed and (link.source_id, link.target_id) == (b, a))
            )
            steps.append(step)
        return ids, steps
