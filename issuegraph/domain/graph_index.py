"""The link graph in memory: every issue and link as compact arrays, walked with numpy.

One `GraphIndex` per process. It is built at start-up from PostgreSQL (binary COPY of
issues and links, in one snapshot) and brought up to date before every walk from the
change log: the events past the last one applied name the links and issues that changed,
and their current rows are read in the same statement. So a walk reflects every write
committed before the walk began, by any process; PostgreSQL stays the only source of truth
(docs/graph-index.md states the rule and why it holds).

Layout, for issue ids up to N and L links:
- per issue id (the id is the index): project (0 when there is no such issue), opened,
  confidential, author; the assignees of confidential issues in a dict;
- per direction (out: source -> target, in: target -> source) a CSR: `ptr[id]..ptr[id+1]`
  are the positions of the issue's links in `nbr` (the other end), `link` (the link id),
  `type` (an index into `graph_index.LINK_TYPES`), `alive` (False once the link is gone);
- links added since the CSR was made, in a small dict per direction (`extra`), with
  `has_extra` marking the issues that have some. Past `COMPACT_AT` added or removed links
  the CSR is made again, in memory.

A walk goes level by level: the frontier's neighbours are gathered with one fancy-indexing
pass over the CSR, then filtered by what was seen, the state asked for, and the read rule
(`visible`), which is `visibility.readable_issue` on arrays: the viewer's project grants
come from one statement per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from issuegraph.db.queries import graph_index as queries

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Sequence

    from issuegraph.db.queries.graph import Walk
    from issuegraph.models import Issue, IssueLink, ReadScope

log = logging.getLogger(__name__)
T = TypeVar("T")


class Row(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Row)

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
EMPTY: Ints = np.zeros(0, dtype=np.int64)
# Added and removed links the CSR may carry before it is made again.
COMPACT_AT = 50_000


def _id_type(bound: int) -> type[np.signedinteger[Any]]:
    """Ids below `bound` in 4 bytes when they fit."""
    return np.int32 if bound < 2**31 else np.int64


def type_mask(types: Iterable[str]) -> Bools:
    """A mask over `LINK_TYPES` codes (1-based, as array_position gives them)."""
    mask = np.zeros(len(queries.LINK_TYPES) + 1, dtype=np.bool_)
    for code, link_type in enumerate(queries.LINK_TYPES, start=1):
        mask[code] = link_type.value in types
    return mask


@dataclass(slots=True)
class Csr:
    """The links of one direction: `nbr[ptr[i]:ptr[i+1]]` are issue i's other ends."""

    ptr: Ints
    nbr: npt.NDArray[np.signedinteger[Any]]
    link: npt.NDArray[np.signedinteger[Any]]
    type: npt.NDArray[np.int8]
    alive: Bools
    # Added since: issue -> [(other end, link id, type)]; `has_extra[i]` marks issue i.
    extra: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    has_extra: Bools = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))

    @classmethod
    def of(cls, size: int, ends: Ints, others: Ints, links: Ints, types: Ints) -> Csr:
        order = np.argsort(ends, kind="stable")
        counts = np.bincount(ends, minlength=size)[:size]
        ptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return cls(
            ptr=ptr,
            nbr=others[order].astype(_id_type(size)),
            link=links[order].astype(_id_type(int(links.max(initial=0)) + 1)),
            type=types[order].astype(np.int8),
            alive=np.ones(len(order), dtype=np.bool_),
            has_extra=np.zeros(size, dtype=np.bool_),
        )

    @property
    def size(self) -> int:
        return len(self.ptr) - 1

    def grow(self, size: int) -> None:
        if size <= self.size:
            return
        self.ptr = np.concatenate([self.ptr, np.full(size - self.size, self.ptr[-1])])
        self.has_extra = np.concatenate(
            [self.has_extra, np.zeros(size - len(self.has_extra), dtype=np.bool_)]
        )

    def add(self, end: int, other: int, link: int, link_type: int) -> None:
        self.extra.setdefault(end, []).append((other, link, link_type))
        self.has_extra[end] = True

    def remove(self, end: int, link: int) -> int:
        """Forget link `link` at issue `end`: how many entries were live (0 or 1)."""
        if end >= self.size:
            return 0
        lo, hi = int(self.ptr[end]), int(self.ptr[end + 1])
        hits = lo + np.flatnonzero((self.link[lo:hi] == link) & self.alive[lo:hi])
        self.alive[hits] = False
        removed = int(hits.size)
        added = self.extra.get(end)
        if added:
            kept = [one for one in added if one[1] != link]
            removed += len(added) - len(kept)
            if kept:
                self.extra[end] = kept
            else:
                del self.extra[end]
                self.has_extra[end] = False
        return removed

    def gather(self, frontier: Ints, types: Bools) -> tuple[Ints, Ints, Ints]:
        """(other end, link id, the frontier issue it came from) of the frontier's live
        links of the given types."""
        lo = self.ptr[frontier]
        counts = self.ptr[frontier + 1] - lo
        total = int(counts.sum())
        if total:
            offsets = np.cumsum(counts) - counts
            at = np.arange(total, dtype=np.int64) + np.repeat(lo - offsets, counts)
            keep = self.alive[at] & types[self.type[at]]
            at = at[keep]
            nbr = self.nbr[at].astype(np.int64)
            link = self.link[at].astype(np.int64)
            came = np.repeat(frontier, counts)[keep]
        else:
            nbr = link = came = EMPTY
        if self.extra:
            marked = frontier[self.has_extra[frontier]]
            if marked.size:
                more = [
                    (other, link_id, int(end))
                    for end in marked.tolist()
                    for other, link_id, code in self.extra[end]
                    if types[code]
                ]
                if more:
                    extra = np.asarray(more, dtype=np.int64)
                    nbr = np.concatenate([nbr, extra[:, 0]])
                    link = np.concatenate([link, extra[:, 1]])
                    came = np.concatenate([came, extra[:, 2]])
        return nbr, link, came

    def live(self) -> tuple[Ints, Ints, Ints, Ints]:
        """(end, other end, link, type) of every live link, the added ones included."""
        ends = np.repeat(np.arange(self.size, dtype=np.int64), np.diff(self.ptr))
        keep = self.alive
        parts = [
            (
                ends[keep],
                self.nbr[keep].astype(np.int64),
                self.link[keep].astype(np.int64),
                self.type[keep].astype(np.int64),
            )
        ]
        if self.extra:
            rows = np.asarray(
                [(end, o, k, t) for end, added in self.extra.items() for o, k, t in added],
                dtype=np.int64,
            )
            parts.append((rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]))
        e, o, k, t = (np.concatenate([p[i] for p in parts]) for i in range(4))
        return e, o, k, t

    def nbytes(self) -> int:
        arrays = (self.ptr, self.nbr, self.link, self.type, self.alive, self.has_extra)
        return sum(a.nbytes for a in arrays) + 100 * sum(len(v) for v in self.extra.values())


class RowCache(Generic[T]):
    """Models of rows (issues, links) by id, the least recently used dropped past `size`.

    Kept exact by the index: a catch-up drops every row its changes name, and a row read
    while a catch-up applied changes is not kept (`GraphIndex.rows`), since it may be older
    than what that catch-up dropped."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: OrderedDict[int, T] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    def get_many(self, ids: Iterable[int]) -> tuple[dict[int, T], list[int]]:
        """(the cached rows, the ids not cached)."""
        rows = self._rows
        found: dict[int, T] = {}
        missing: list[int] = []
        for row_id in ids:
            row = rows.get(row_id)
            if row is None:
                missing.append(row_id)
            else:
                found[row_id] = row
                rows.move_to_end(row_id)
        return found, missing

    def put_many(self, rows: Iterable[tuple[int, T]]) -> None:
        if self.size <= 0:
            return
        self._rows.update(rows)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def clear(self) -> None:
        self._rows.clear()

    def drop(self, ids: Iterable[int]) -> None:
        for row_id in ids:
            self._rows.pop(row_id, None)


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the read rule needs of a viewer, as arrays over project ids."""

    admin: bool
    user_id: int  # -1 when anonymous: no author or assignee matches it
    readable: Bools  # by project id
    confidential: Bools  # by project id: sees the project's confidential issues


class GraphIndex:
    """Issues and links of the whole database, in memory, kept current from the change log."""

    def __init__(
        self,
        pool: Any,
        *,
        compact_at: int = COMPACT_AT,
        cached_issues: int = 200_000,
        cached_links: int = 400_000,
        retention_seconds: float | None = 3600.0,
    ) -> None:
        self.pool = pool
        self.compact_at = compact_at
        # How long graph_changes keeps a change (None: this process never prunes it).
        self.retention_seconds = retention_seconds
        self._pruned_at = time.monotonic()
        # Models of the rows walks return, so that a walk's answer need not read them again.
        self.issue_rows: RowCache[Issue] = RowCache(cached_issues)
        self.link_rows: RowCache[IssueLink] = RowCache(cached_links)
        self.applied = 0  # catch-ups that changed something
        self.builds = 0
        self.ready = False
        self._lock = asyncio.Lock()
        self._begun = 0  # catch-ups started
        self._finished = 0  # the number of the last catch-up that finished
        self._horizon = 0
        self._applied: dict[int, int] = {}
        self._changed = 0  # links added or removed since the CSR was made
        self.project: Ints = EMPTY
        self.opened: Bools = np.zeros(0, dtype=np.bool_)
        self.confidential: Bools = np.zeros(0, dtype=np.bool_)
        self.author: Ints = EMPTY
        self.iid: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.assignees: dict[int, frozenset[int]] = {}
        self.out = Csr.of(0, EMPTY, EMPTY, EMPTY, EMPTY)
        self.into = Csr.of(0, EMPTY, EMPTY, EMPTY, EMPTY)
        self.max_project = 0

    # -- building and catching up ------------------------------------------------------

    async def build(self) -> None:
        """Read the whole graph (again): at start-up, and to recover from a lost position."""
        started = time.perf_counter()
        snap = await queries.snapshot(self.pool)
        issues, links = snap.issues, snap.links
        size = _top(issues, links) + 1
        self._issues_from(size, issues)
        self.assignees = _assignees(snap.assignees)
        self.out = Csr.of(size, links.source, links.target, links.id, links.type)
        self.into = Csr.of(size, links.target, links.source, links.id, links.type)
        self._horizon, self._applied, self._changed = snap.horizon, snap.applied, 0
        self.ready = True
        self.builds += 1
        log.info(
            "graph index built",
            extra={
                "issues": len(issues.id),
                "links": len(links.id),
                "megabytes": round(self.nbytes() / 2**20, 1),
                "seconds": round(time.perf_counter() - started, 2),
            },
        )

    def _issues_from(self, size: int, issues: queries.IssueRows) -> None:
        self.project = np.zeros(size, dtype=np.int64)
        self.opened = np.zeros(size, dtype=np.bool_)
        self.confidential = np.zeros(size, dtype=np.bool_)
        self.author = np.zeros(size, dtype=np.int64)
        self.iid = np.zeros(size, dtype=np.int32)
        self._set_issues(issues)

    def _set_issues(self, issues: queries.IssueRows) -> None:
        ids = issues.id
        self.project[ids] = issues.project
        self.opened[ids] = issues.opened.astype(np.bool_)
        self.confidential[ids] = issues.confidential.astype(np.bool_)
        self.author[ids] = issues.author
        self.iid[ids] = issues.iid
        self.max_project = max(self.max_project, int(issues.project.max(initial=0)))

    def _grow(self, needed: int) -> None:
        size = len(self.project)
        if needed <= size:
            return
        new = max(needed, size + size // 2 + 1024)
        pad = new - size
        self.project = np.concatenate([self.project, np.zeros(pad, dtype=np.int64)])
        self.opened = np.concatenate([self.opened, np.zeros(pad, dtype=np.bool_)])
        self.confidential = np.concatenate([self.confidential, np.zeros(pad, dtype=np.bool_)])
        self.author = np.concatenate([self.author, np.zeros(pad, dtype=np.int64)])
        self.iid = np.concatenate([self.iid, np.zeros(pad, dtype=np.int32)])
        self.out.grow(new)
        self.into.grow(new)

    def ticket(self) -> int:
        """A number that `catch_up` takes: the catch-ups that begin from now on serve it."""
        return self._begun + 1

    async def catch_up(self, ticket: int) -> None:
        """Apply every change committed before `ticket` was taken: on return, the index
        holds at least every write acknowledged before then, in any process.

        Callers share catch-ups: one that began after a caller's ticket was taken serves it
        (a request takes its ticket when it starts, so all its walks share one catch-up).
        """
        async with self._lock:
            if self._finished >= ticket:
                return
            self._begun += 1
            number = self._begun
            changes = await queries.changes(self.pool, self._horizon, list(self._applied))
            if changes.pruned_below > self._horizon:
                # Changes this index had not read were pruned: read the whole graph again.
                log.warning("graph index behind the pruned changes; building it again")
                await self.build()
                self.issue_rows.clear()
                self.link_rows.clear()
                self.applied += 1
            else:
                self._apply(changes)
            self._finished = number
            await self._prune()

    async def _prune(self) -> None:
        """Now and then (a tenth of the retention), remove the changes past retention."""
        if self.retention_seconds is None:
            return
        now = time.monotonic()
        if now - self._pruned_at < self.retention_seconds / 10:
            return
        self._pruned_at = now
        removed = await queries.prune(self.pool, self.retention_seconds)
        if removed:
            log.info("graph changes pruned", extra={"removed": removed})

    def _apply(self, changes: queries.Changes) -> None:
        issues, links = changes.issues, changes.links
        self._grow(_top(issues, links) + 1)
        # Issues: the rows as they are now; a named issue without a row is gone.
        gone = np.setdiff1d(np.asarray(changes.issues_named, dtype=np.int64), issues.id)
        gone = gone[gone < len(self.project)]
        self.project[gone] = 0
        self._set_issues(issues)
        if changes.changes:
            self.applied += 1
        self.issue_rows.drop(changes.issues_named)
        self.link_rows.drop(link for link, _ in changes.links_named)
        for issue in [*gone.tolist(), *issues.id.tolist()]:
            self.assignees.pop(issue, None)
        self.assignees.update(_assignees(changes.assignees))
        # Links: take out each named link wherever it was, put back the ones that exist.
        for link, ends in changes.links_named:
            for end in ends:
                self._changed += self.out.remove(end, link) + self.into.remove(end, link)
        for link, source, target, code in zip(
            links.id.tolist(),
            links.source.tolist(),
            links.target.tolist(),
            links.type.tolist(),
            strict=True,
        ):
            self.out.add(source, target, link, code)
            self.into.add(target, source, link, code)
            self._changed += 2
        self._applied.update(changes.changes)
        self._horizon = changes.horizon
        self._applied = {e: x for e, x in self._applied.items() if x >= self._horizon}
        if self._changed > self.compact_at:
            self._compact()

    def _compact(self) -> None:
        """Make the CSRs again from what they hold now (added links in, removed ones out)."""
        size = len(self.project)
        source, target, link, code = self.out.live()
        self.out = Csr.of(size, source, target, link, code)
        self.into = Csr.of(size, target, source, link, code)
        self._changed = 0

    async def rows(
        self,
        cache: RowCache[R],
        ids: list[int],
        read: Callable[[list[int]], Awaitable[list[R]]],
        *,
        keep: bool = True,
    ) -> tuple[dict[int, R], list[R]]:
        """The rows of these ids that exist, by id: from `cache` (one of `issue_rows`,
        `link_rows`), the others by `read` (also returned apart: they are as of now, not of
        the index's last catch-up), kept unless a catch-up changed something while they were
        read (they might predate a change it dropped), or unless `keep` is false: rows read
        from a replica may be older than the index, and are never kept."""
        found, missing = cache.get_many(ids)
        fresh: list[R] = []
        if missing:
            since = self.applied
            fresh = await read(missing)
            if keep and self.applied == since:
                cache.put_many((row.id, row) for row in fresh)
            found.update((row.id, row) for row in fresh)
        return found, fresh

    # -- reading -----------------------------------------------------------------------

    async def viewer(self, scope: ReadScope) -> Viewer:
        size = self.max_project + 1
        if scope.admin:
            none = np.zeros(0, dtype=np.bool_)
            return Viewer(
                admin=True, user_id=scope.viewer_id or -1, readable=none, confidential=none
            )
        grants = await queries.grants(self.pool, scope.viewer_id)
        size = max(size, int(grants.readable.max(initial=0)) + 1)
        readable = np.zeros(size, dtype=np.bool_)  # readable[0] stays False: no issue
        readable[grants.readable] = True
        confidential = np.zeros(size, dtype=np.bool_)
        confidential[grants.confidential] = True
        return Viewer(
            admin=False,
            user_id=scope.viewer_id or -1,
            readable=readable,
            confidential=confidential,
        )

    def visible(self, ids: Ints, viewer: Viewer) -> Bools:
        """The read rule (`visibility.readable_issue`) for each of `ids`."""
        project = self.project[ids]
        if viewer.admin:
            return project > 0
        project = np.where(project < len(viewer.readable), project, 0)  # newer: not granted
        ok = viewer.readable[project]
        doubt = ok & self.confidential[ids] & ~viewer.confidential[project]
        if doubt.any():
            for at in np.flatnonzero(doubt).tolist():
                issue = int(ids[at])
                ok[at] = bool(self.author[issue] == viewer.user_id) or (
                    viewer.user_id in self.assignees.get(issue, ())
                )
        return ok

    def walk(self, start: Sequence[int] | Ints, walk: Walk, viewer: Viewer) -> tuple[Ints, Ints]:
        """(issue ids, distances) of the issues `walk` reaches from `start` (not included),
        by distance then id: `issue_graph_walk`'s answer (migration 0003)."""
        mask = type_mask(walk.types)
        downstream, upstream, max_depth = walk.downstream, walk.upstream, walk.max_depth
        opened_only = closed_only = False
        if walk.states is not None:
            opened_only = set(walk.states) == {"opened"}
            closed_only = set(walk.states) == {"closed"}
        seen = np.zeros(len(self.project), dtype=np.bool_)
        frontier = np.unique(np.asarray(start, dtype=np.int64))
        frontier = frontier[(frontier >= 0) & (frontier < len(seen))]
        seen[frontier] = True
        found_ids: list[Ints] = []
        found_depth: list[Ints] = []
        depth = 0
        while frontier.size and depth < max_depth:
            depth += 1
            parts = []
            if downstream:
                parts.append(self.out.gather(frontier, mask)[0])
            if upstream:
                parts.append(self.into.gather(frontier, mask)[0])
            reached = np.unique(np.concatenate(parts)) if parts else EMPTY
            reached = reached[~seen[reached]]
            if opened_only:
                reached = reached[self.opened[reached]]
            elif closed_only:
                reached = reached[~self.opened[reached]]
            reached = reached[self.visible(reached, viewer)]
            if not reached.size:
                break
            seen[reached] = True
            found_ids.append(reached)
            found_depth.append(np.full(reached.size, depth, dtype=np.int64))
            frontier = reached
        if not found_ids:
            return EMPTY, EMPTY
        return np.concatenate(found_ids), np.concatenate(found_depth)

    def path(
        self,
        source: int,
        target: int,
        types: Iterable[str],
        *,
        directed: bool,
        max_depth: int,
        viewer: Viewer,
    ) -> list[int] | None:
        """A shortest chain of issue ids from `source` to `target`: `issue_graph_path`'s
        answer (migration 0002), the same one among equally short chains (each issue is
        reached from the smallest id of the level before)."""
        if source == target:
            return [source]
        size = len(self.project)
        if not (0 <= source < size and 0 <= target < size):
            return None
        mask = type_mask(types)
        previous = np.full(size, -1, dtype=np.int64)
        seen = np.zeros(size, dtype=np.bool_)
        seen[source] = True
        frontier = np.asarray([source], dtype=np.int64)
        depth = 0
        while frontier.size and depth < max_depth:
            depth += 1
            nbr, _, came = self.out.gather(frontier, mask)
            if not directed:
                back, _, back_came = self.into.gather(frontier, mask)
                nbr, came = np.concatenate([nbr, back]), np.concatenate([came, back_came])
            fresh = ~seen[nbr]
            nbr, came = nbr[fresh], came[fresh]
            if nbr.size:
                order = np.lexsort((came, nbr))  # by issue, then the smallest predecessor
                nbr, came = nbr[order], came[order]
                first = np.ones(nbr.size, dtype=np.bool_)
                first[1:] = nbr[1:] != nbr[:-1]
                nbr, came = nbr[first], came[first]
                keep = self.visible(nbr, viewer)
                nbr, came = nbr[keep], came[keep]
            if not nbr.size:
                return None
            seen[nbr] = True
            previous[nbr] = came
            if seen[target]:
                chain = [target]
                while chain[-1] != source:
                    chain.append(int(previous[chain[-1]]))
                return chain[::-1]
            frontier = nbr
        return None

    def edges_among(self, ids: Ints, types: Iterable[str]) -> tuple[Ints, Ints, Ints]:
        """(source, target, link id) of the live links of `types` with both ends in `ids`."""
        ids = np.unique(ids[(ids >= 0) & (ids < len(self.project))])
        inside = np.zeros(len(self.project), dtype=np.bool_)
        inside[ids] = True
        target, link, source = self.out.gather(ids, type_mask(types))
        keep = inside[target]
        return source[keep], target[keep], link[keep]

    def links_among(self, ids: Ints, types: Iterable[str]) -> Ints:
        """Ids of the live links of `types` whose two ends are both in `ids`, in order."""
        return np.sort(self.edges_among(ids, types)[2])

    def hidden_neighbours(self, ids: Sequence[int], types: Iterable[str], viewer: Viewer) -> int:
        """How many distinct existing issues the viewer may not read are linked by live
        links of `types` to one of `ids`, either way: `export.hidden_neighbours`."""
        start = np.asarray(ids, dtype=np.int64)
        start = start[(start >= 0) & (start < len(self.project))]
        if not start.size:
            return 0
        mask = type_mask(types)
        ends = np.unique(
            np.concatenate([self.out.gather(start, mask)[0], self.into.gather(start, mask)[0]])
        )
        ends = ends[self.project[ends] > 0]
        return int((~self.visible(ends, viewer)).sum())

    def project_issues(self, project_id: int, viewer: Viewer, *, opened_only: bool) -> Ints:
        """Ids of the project's issues the viewer may read (open ones only, if asked)."""
        ids = np.flatnonzero(self.project == project_id).astype(np.int64)
        if opened_only:
            ids = ids[self.opened[ids]]
        return ids[self.visible(ids, viewer)]

    def ready_issues(self, project_id: int, viewer: Viewer) -> Ints:
        """The project's open issues the viewer reads that no open issue they read blocks,
        by iid: `graph.ready_issues_page`'s rule (`db/queries/graph.py`)."""
        candidates = self.project_issues(project_id, viewer, opened_only=True)
        blocker, _, blocked = self.into.gather(candidates, type_mask(["blocks"]))
        live = self.opened[blocker]
        blocker, blocked = blocker[live], blocked[live]
        stuck = np.unique(blocked[self.visible(blocker, viewer)])
        ready = candidates[~np.isin(candidates, stuck)]
        return ready[np.argsort(self.iid[ready], kind="stable")]

    def nbytes(self) -> int:
        issues = sum(
            a.nbytes for a in (self.project, self.opened, self.confidential, self.author, self.iid)
        )
        return issues + self.out.nbytes() + self.into.nbytes() + 200 * len(self.assignees)


def _top(issues: queries.IssueRows, links: queries.LinkRows) -> int:
    """The largest issue id the rows name (0 for none)."""
    return int(
        max(issues.id.max(initial=0), links.source.max(initial=0), links.target.max(initial=0))
    )


def _assignees(pairs: Iterable[tuple[int, int]]) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    for issue, user in pairs:
        found[issue].add(user)
    return {issue: frozenset(users) for issue, users in found.items()}
