"""The dependency graph: walks and rollups from each issue, the links among a set of
issues, a project's ready issues (open, no open blocker) and their count."""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from issuegraph.db.queries import export as export_queries
from issuegraph.db.queries import graph as graph_queries
from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries import links as link_queries
from issuegraph.db.queries.graph import Reached
from issuegraph.domain.graph import Closure
from issuegraph.loaders.core import K, Primer, RequestLoader, V, by_shape

if TYPE_CHECKING:
    from collections.abc import Callable

    from issuegraph.db.queries.graph import Walk
    from issuegraph.domain.graph_index import GraphIndex, Viewer
    from issuegraph.models import Issue, IssueLink, ReadScope

WalkKey = tuple[int, "Walk"]
# (issue ids, stored link types)
AmongKey = tuple[frozenset[int], tuple[str, ...]]
# (project id, the iid the page starts after or None, rows asked for)
ReadyPageKey = tuple[int, int | None, int]


class GraphWalks:
    """How one request walks the graph: through the process's in-memory index
    (`domain.graph_index`) when it has one and it is built, else in PostgreSQL
    (`db.queries.graph`). Both give the same answers; the index catches up with the change
    log before each walk, so a walk sees every write committed before it began."""

    def __init__(
        self,
        pool: Any,
        scope: ReadScope,
        index: GraphIndex | None,
        prime: Callable[[list[Issue]], None] | None = None,
    ) -> None:
        self.pool = pool
        self.scope = scope
        self.index = index
        # Tells the request's other loaders of the issues read here (`Loaders.prime_issues`).
        self._prime = prime or _ignore
        self._viewer: asyncio.Task[Viewer] | None = None  # the grants, read once
        self._ready_ids: dict[int, Any] = {}
        # Any catch-up that begins after the request did serves all its walks...
        self._ticket = index.ticket() if index is not None else 0

    def close(self) -> None:
        """Let go of the request's loaders (`prime` refers back to them: a cycle)."""
        self._prime = _ignore
        self._ready_ids.clear()

    def written(self) -> None:
        """...until the request writes: its next walk must see that write."""
        if self.index is not None:
            self._ticket = self.index.ticket()
        self._ready_ids.clear()

    async def _current(self) -> tuple[GraphIndex, Viewer] | None:
        index = self.index
        if index is None or not index.ready:
            return None
        await index.catch_up(self._ticket)
        if self._viewer is None:
            self._viewer = asyncio.ensure_future(index.viewer(self.scope))
        return index, await asyncio.shield(self._viewer)

    async def _reached(self, walks: list[tuple[int, Any, Any]]) -> list[Reached]:
        """Issue rows for (anchor, ids, distances) walks: the index's cached ones, the
        others in one statement."""
        wanted: list[int] = (
            np.unique(np.concatenate([ids for _, ids, _ in walks])).tolist() if walks else []
        )
        issues = await self._issues(wanted)
        return [
            Reached(anchor, issues[issue_id], distance)
            for anchor, ids, distances in walks
            for issue_id, distance in zip(ids.tolist(), distances.tolist(), strict=True)
            if issue_id in issues  # deleted since the walk
        ]

    async def _issues(self, ids: list[int]) -> dict[int, Issue]:
        """The issues of these ids that exist, from the index's cache or the database."""
        assert self.index is not None  # noqa: S101  (only with an index)
        found, _ = await self.index.rows(
            self.index.issue_rows,
            ids,
            functools.partial(issue_queries.issues_by_ids, self.pool),
            keep=self.pool is self.index.pool,
        )
        return found

    async def _links(
        self, ids: list[int], types: tuple[str, ...], inside: set[int]
    ) -> list[IssueLink]:
        """The links of these ids (in that order) from the index's cache or the database.
        A cached link is as the index has it (a change drops it from both); one read now
        may have changed since the index found it, and is kept only if it still has one of
        `types` and both ends `inside`."""
        assert self.index is not None  # noqa: S101  (only with an index)
        found, fresh = await self.index.rows(
            self.index.link_rows,
            ids,
            functools.partial(link_queries.links_by_ids, self.pool),
            keep=self.pool is self.index.pool,
        )
        for link in fresh:
            if not (
                link.link_type.value in types
                and link.source_id in inside
                and link.target_id in inside
            ):
                del found[link.id]
        return [found[i] for i in ids if i in found]

    async def walk_from(self, anchors: list[int], walk: Walk) -> list[Reached]:
        """For each anchor, the issues its walk reaches, by distance then id."""
        current = await self._current()
        if current is None:
            reached = await graph_queries.walk_from(self.pool, anchors, walk, self.scope)
            self._prime([one.issue for one in reached])
            return reached
        # Not primed from the index: ten thousand issues would cost more to tell the other
        # loaders of than the rare later lookup of one of them by id.
        index, viewer = current
        return await self._reached(
            [(anchor, *index.walk([anchor], walk, viewer)) for anchor in anchors]
        )

    async def distances(self, anchor: int, walk: Walk) -> list[int]:
        """The distances of the issues a walk from `anchor` reaches, nearest first: the
        walk without its rows."""
        current = await self._current()
        if current is None:
            reached = await graph_queries.walk_from(self.pool, [anchor], walk, self.scope)
            return [r.distance for r in reached]
        index, viewer = current
        _, distances = index.walk([anchor], walk, viewer)
        found: list[int] = distances.tolist()
        return found

    async def project_closure(self, project_id: int, walk: Walk) -> Closure:
        """A project's open issues the viewer reads, what `walk` reaches from them all, and
        the links of the walk's types among them: what `GraphService.dependency_order`
        orders."""
        current = await self._current()
        if current is None:
            opened = await graph_queries.open_issues(self.pool, project_id, self.scope)
            found = await graph_queries.walk_all(
                self.pool, [i.id for i in opened], walk, self.scope
            )
            issues = opened + [r.issue for r in found]
            self._prime(issues)
            links = await graph_queries.links_among(self.pool, [i.id for i in issues], walk.types)
            return Closure(
                ids=[issue.id for issue in issues],
                iids=[issue.iid for issue in issues],
                sources=[link.source_id for link in links],
                targets=[link.target_id for link in links],
            )
        index, viewer = current
        start = index.project_issues(project_id, viewer, opened_only=True)
        reached, _ = index.walk(start, walk, viewer)
        ids = np.concatenate([start, reached])
        source, target, _ = index.edges_among(ids, walk.types)
        return Closure(ids=ids, iids=index.iid[ids], sources=source, targets=target)

    async def ready_page(self, project_id: int, after_iid: int | None, limit: int) -> list[Issue]:
        """Up to `limit` of the project's ready issues (open, no open readable blocker)
        past `after_iid`, by iid."""
        current = await self._current()
        if current is None:
            return await graph_queries.ready_issues_page(
                self.pool,
                project_id=project_id,
                scope=self.scope,
                after_iid=after_iid,
                limit=limit,
            )
        index, viewer = current
        ready = self._ready(index, viewer, project_id)
        if after_iid is not None:
            ready = ready[index.iid[ready] > after_iid]
        page = ready[:limit].tolist()
        issues = await self._issues(page)
        return [issues[i] for i in page if i in issues]

    async def ready_count(self, project_id: int) -> int:
        current = await self._current()
        if current is None:
            return await graph_queries.count_ready_issues(
                self.pool, project_id=project_id, scope=self.scope
            )
        index, viewer = current
        return int((self._ready(index, viewer, project_id)).size)

    def _ready(self, index: GraphIndex, viewer: Viewer, project_id: int) -> Any:
        """The project's ready issues, worked out once per request."""
        found = self._ready_ids.get(project_id)
        if found is None:
            found = self._ready_ids[project_id] = index.ready_issues(project_id, viewer)
        return found

    async def rollups(self, anchors: list[int], walk: Walk) -> dict[int, tuple[int, int]]:
        """Per anchor: issues its walk reaches, closed ones among them."""
        current = await self._current()
        if current is None:
            return await graph_queries.rollups(self.pool, anchors, walk, self.scope)
        index, viewer = current
        counts = {}
        for anchor in anchors:
            ids, _ = index.walk([anchor], walk, viewer)
            if ids.size:
                counts[anchor] = (int(ids.size), int((~index.opened[ids]).sum()))
        return counts

    async def links_among(self, ids: list[int], types: tuple[str, ...]) -> list[IssueLink]:
        """The links of `types` with both ends in `ids`, by id."""
        current = await self._current()
        if current is None:
            return await graph_queries.links_among(self.pool, ids, types)
        index, _ = current
        found = index.links_among(np.asarray(ids, dtype=np.int64), types)  # by id
        return await self._links(found.tolist(), types, set(ids))

    async def hidden_counts(self, sets: list[tuple[list[int], tuple[str, ...]]]) -> list[int]:
        """For each (issue ids, stored link types): how many distinct issues the viewer
        may not read are linked by one of those types to one of the ids, either way (a
        number the graph page shows; which ones, never)."""
        current = await self._current()
        if current is None:
            return await export_queries.hidden_neighbours(self.pool, sets, self.scope)
        index, viewer = current
        return [index.hidden_neighbours(ids, types, viewer) for ids, types in sets]

    async def shortest_path(
        self, source: int, target: int, types: tuple[str, ...], *, directed: bool, max_depth: int
    ) -> list[int] | None:
        current = await self._current()
        if current is None:
            return await graph_queries.shortest_path(
                self.pool,
                source=source,
                target=target,
                types=types,
                directed=directed,
                max_depth=max_depth,
                scope=self.scope,
            )
        index, viewer = current
        return index.path(
            source, target, types, directed=directed, max_depth=max_depth, viewer=viewer
        )


def _ignore(_: list[Issue]) -> None:
    pass


class WalksPrimer(Primer, Protocol):
    """The request's loaders, as the graph's loaders see them: with its `GraphWalks`."""

    graph_walks: GraphWalks


class GraphLoader(RequestLoader[K, V]):
    """A loader that reads through the request's `GraphWalks`."""

    def __init__(self, primer: WalksPrimer) -> None:
        super().__init__(primer)
        self.walks = primer.graph_walks


class WalkByIssueLoader(GraphLoader[WalkKey, "list[Reached]"]):
    """One walk per distinct walk shape, for every issue that asked for it."""

    async def batch(self, keys: list[WalkKey]) -> list[list[Reached]]:
        found: dict[WalkKey, list[Reached]] = {key: [] for key in keys}
        for (walk,), anchors in by_shape(keys).items():
            reached = await self.walks.walk_from(anchors, walk)
            for one in reached:
                found[(one.anchor_id, walk)].append(one)
        return [found[key] for key in keys]


class RollupByIssueLoader(GraphLoader[WalkKey, tuple[int, int]]):
    """(issues reached, closed ones among them), one walk per distinct walk shape."""

    async def batch(self, keys: list[WalkKey]) -> list[tuple[int, int]]:
        found: dict[WalkKey, tuple[int, int]] = {}
        for (walk,), anchors in by_shape(keys).items():
            counts = await self.walks.rollups(anchors, walk)
            for anchor in anchors:
                found[(anchor, walk)] = counts.get(anchor, (0, 0))
        return [found[key] for key in keys]


class LinksAmongIssuesLoader(GraphLoader[AmongKey, "list[IssueLink]"]):
    """Links inside each set of issues: one read per link-type set, over the union."""

    async def batch(self, keys: list[AmongKey]) -> list[list[IssueLink]]:
        by_types: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for ids, types in keys:
            by_types[types] |= ids
        links = {
            types: await self.walks.links_among(sorted(ids), types)
            for types, ids in by_types.items()
        }
        if len(keys) == 1:  # the union is the set itself
            return [links[keys[0][1]]]
        return [
            [link for link in links[types] if link.source_id in ids and link.target_id in ids]
            for ids, types in keys
        ]


class HiddenCountByIssuesLoader(GraphLoader[AmongKey, int]):
    """How many unreadable issues are linked to each set of issues: one read for all."""

    async def batch(self, keys: list[AmongKey]) -> list[int]:
        return await self.walks.hidden_counts([(sorted(ids), types) for ids, types in keys])


class ReadyIssuePageByProjectLoader(GraphLoader[ReadyPageKey, "list[Issue]"]):
    """A page of a project's open issues that no open, readable issue blocks, by iid."""

    async def batch(self, keys: list[ReadyPageKey]) -> list[list[Issue]]:
        pages = []
        for project_id, after_iid, limit in keys:
            rows = await self.walks.ready_page(project_id, after_iid, limit)
            self.primer.prime_issues(rows, force=False)
            pages.append(rows)
        return pages


class ReadyIssueCountByProjectLoader(GraphLoader[int, int]):
    async def batch(self, keys: list[int]) -> list[int]:
        return [await self.walks.ready_count(p) for p in keys]
