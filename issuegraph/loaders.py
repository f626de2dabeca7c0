"""Per-request DataLoaders: built in the view's context for one request, never shared.

Each loader batches the keys asked for in one tick of the event loop into a single
`= any($1::bigint[])` statement and caches the answer for the rest of the request.
One-to-one loaders answer `None` for a missing key, one-to-many loaders `[]`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from collections import defaultdict
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar, cast

from issuegraph.db.queries import graph as graph_queries
from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries import links as link_queries
from issuegraph.db.queries import projects as project_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.db.queries.graph import Reached, Walk
from issuegraph.db.queries.issues import Related, RelatedRows
from issuegraph.domain.access import ReadScope
from issuegraph.domain.link_types import LinkType, directions

# (issue id, the link types asked for or None for all, page size, cursor after, what the
# page brings along for its issues' fields)
LinksKey = tuple[int, frozenset[LinkType] | None, int, tuple[dt.datetime, int] | None, Related]
CountKey = tuple[int, frozenset[LinkType] | None]

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence

    from issuegraph.db.queries.links import LinkedIssue
    from issuegraph.domain.models import Issue, IssueLink, Project, Role, User, Viewer


K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


class Missing(enum.Enum):
    """The type of MISSING, so that `x is MISSING` narrows `x` for the type checker."""

    MISSING = "MISSING"


# What `Loader.peek` answers for a key whose value is not (yet) loaded.
MISSING: Final = Missing.MISSING
NotLoaded = Literal[Missing.MISSING]


class _Batch(Generic[K, V]):
    """Keys asked for in one tick of the event loop, loaded by one call of the batch function.

    Callers wait on a future of their own each (`wait`), so that one cancelled caller
    cancels nobody else; the batch's task is cancelled when every caller that asked for
    its keys has been.
    """

    __slots__ = (
        "abandoned",
        "dispatched",
        "error",
        "interest",
        "keys",
        "results",
        "task",
        "waiters",
    )

    def __init__(self) -> None:
        self.keys: dict[K, None] = {}  # in the order asked for, each once
        self.dispatched = False
        self.abandoned = False  # cancelled before it answered: nobody may join it
        self.results: dict[K, V | BaseException] | None = None
        self.error: BaseException | None = None
        self.interest = 0  # the answers (`_Answer`) that still mean to read it
        self.waiters: list[asyncio.Future[None]] = []
        self.task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        return self.results is not None or self.error is not None

    def outcome(self, key: K) -> V:
        if self.error is not None:
            raise self.error
        assert self.results is not None  # noqa: S101  (read only once finished)
        value = self.results[key]
        if isinstance(value, BaseException):
            raise value
        return value

    def wait(self) -> Generator[Any, None, None]:
        """Suspend the awaiting task until the batch has answered."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            yield from waiter
        except asyncio.CancelledError:
            self.interest -= 1
            if self.interest == 0 and not self.finished:
                self.abandoned = True
                if self.task is not None:
                    self.task.cancel()  # its statement too
            raise

    def wake(self) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.waiters.clear()


class _Failed:
    """A key whose load failed earlier in the request: the failure is answered again."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Answer(Generic[K, V]):
    """What `Loader.load` and `load_many` return: the keys are asked for at once, the
    answer is read when awaited. Not a coroutine, so one left unawaited (a sibling
    failed first) warns about nothing and holds nothing."""

    __slots__ = ("_batches", "_keys", "_many", "_slots")

    def __init__(
        self, keys: list[K], slots: list[Any], batches: list[_Batch[K, V]], many: bool
    ) -> None:
        self._keys = keys
        self._slots = slots  # per key: its value, a _Failed, or the _Batch loading it
        self._batches = batches
        self._many = many
        for batch in batches:
            batch.interest += 1

    def __await__(self) -> Generator[Any, None, Any]:
        for batch in self._batches:
            if not batch.finished:
                yield from batch.wait()
        if not self._batches and _Failed not in map(type, self._slots):
            answers = list(self._slots)  # every one a loaded value
        else:
            answers = [_read(key, slot) for key, slot in zip(self._keys, self._slots, strict=True)]
        return answers if self._many else answers[0]


def _read(key: Any, slot: Any) -> Any:
    if isinstance(slot, _Batch):
        return slot.outcome(key)
    if isinstance(slot, _Failed):
        raise slot.error
    return slot


class Loader(Generic[K, V]):
    """A per-request DataLoader: the keys asked for in one tick are loaded by one call of
    the batch function, and what it answered is kept for the rest of the request.

    A loaded value is kept as the value, not as a future per key: priming a hundred
    issues, or asking for a hundred users that are loaded already, makes no future and
    schedules no callback, and an answer to many keys waits for each of its batches
    once. A failed batch fails every key in it, and again whenever the key is asked for
    within the request (no second statement). Priming with `force` or clearing a key
    while its batch is on its way keeps that batch's answer out of the cache.

    It also keeps what the schema made of each value (`make`, `made`): fields that
    complete in place ask for the same few users and projects a hundred times a
    request, and get the one object made of a key's value instead of a new one per
    parent; the executor then also shares the answer of its selection. Priming over a
    key or clearing it drops what was made of it, so `made` never answers other than
    `load` would.
    """

    def __init__(
        self, load_fn: Callable[[list[K]], Awaitable[Sequence[V | BaseException]]]
    ) -> None:
        self._load_fn = load_fn
        self._values: dict[K, V] = {}
        self._failures: dict[K, _Failed] = {}
        # The batch loading each key on its way; its answer is kept only if still listed.
        self._pending: dict[K, _Batch[K, V]] = {}
        self._collecting: _Batch[K, V] | None = None  # the batch still taking keys
        self._made: dict[K, Any] = {}

    # -- reading ---------------------------------------------------------------------------

    def peek(self, key: K) -> V | NotLoaded:
        """The value of `key` if it is loaded already, else MISSING."""
        return self._values.get(key, MISSING)

    def load(self, key: K) -> Awaitable[V]:
        slot = self._slot(key)
        batches = [slot] if isinstance(slot, _Batch) else []
        return _Answer([key], [slot], batches, many=False)

    def load_many(self, keys: Iterable[K]) -> Awaitable[list[V]]:
        keys = list(keys)
        slots = [self._slot(key) for key in keys]
        batches = list(dict.fromkeys(slot for slot in slots if isinstance(slot, _Batch)))
        return _Answer(keys, slots, batches, many=True)

    def _slot(self, key: K) -> Any:
        """The value of `key`, its failure, or the batch that is loading it (asked now)."""
        value = self._values.get(key, MISSING)
        if value is not MISSING:
            return value
        failed = self._failures.get(key)
        if failed is not None:
            return failed
        batch = self._pending.get(key)
        if batch is None or batch.abandoned:
            batch = self._collecting
            if batch is None or batch.dispatched or batch.abandoned:
                batch = self._collecting = _Batch()
                # Dispatched two turns of the loop on, as Strawberry's DataLoader does: the
                # keys every resolver of this tick and the next asks for share the batch.
                asyncio.get_running_loop().call_soon(self._schedule, batch)
            batch.keys[key] = None
            self._pending[key] = batch
        return batch

    def _schedule(self, batch: _Batch[K, V]) -> None:
        batch.task = asyncio.get_running_loop().create_task(self._dispatch(batch))

    async def _dispatch(self, batch: _Batch[K, V]) -> None:
        batch.dispatched = True
        keys = list(batch.keys)
        try:
            if not batch.abandoned:  # else every caller was cancelled before it went
                batch.results = await self._results(batch, keys)
        except Exception as error:  # noqa: BLE001  (answered to every caller of the batch)
            batch.error = error
            failed = _Failed(error)
            for key in keys:
                if self._pending.get(key) is batch:
                    self._failures[key] = failed
        finally:
            for key in keys:
                if self._pending.get(key) is batch:
                    del self._pending[key]
            if not batch.finished:  # cancelled: whoever still waits is told so
                batch.abandoned = True
                batch.error = asyncio.CancelledError()
            batch.wake()

    async def _results(self, batch: _Batch[K, V], keys: list[K]) -> dict[K, V | BaseException]:
        """Every key's answer; the loaded ones kept, unless primed or cleared meanwhile."""
        # Keys primed since they were asked for are not asked for again.
        results: dict[K, V | BaseException] = {
            key: self._values[key] for key in keys if key in self._values
        }
        ask = [key for key in keys if key not in results]
        if not ask:
            return results
        values = list(await self._load_fn(ask))
        if len(values) != len(ask):
            answered = f"{len(values)} values for {len(ask)} keys"
            raise ValueError(f"the batch function answered {answered}")
        for key, value in zip(ask, values, strict=True):
            results[key] = value
            if self._pending.get(key) is not batch:
                continue
            if isinstance(value, BaseException):
                self._failures[key] = _Failed(value)
            elif key not in self._values:  # primed meanwhile: that value stays
                self._values[key] = value
        return results

    # -- what was made of values -------------------------------------------------------------

    def made(self, key: K) -> Any:
        """What `make` made of `key`'s value for this request, else MISSING."""
        return self._made.get(key, MISSING)

    def make(self, key: K, make: Callable[..., R], *args: Any) -> R | NotLoaded:
        """What `make(value, *args)` made of a loaded key's value, made on the first ask
        and kept for `made`; MISSING when the key is not loaded.

        Every caller of one loader makes the same of a value (the schema's object for it).
        """
        made: R | NotLoaded = self._made.get(key, MISSING)
        if made is MISSING:
            value = self._values.get(key, MISSING)
            if value is MISSING:
                return MISSING
            made = self._made[key] = make(value, *args)
        return made

    # -- priming and clearing ----------------------------------------------------------------

    def prime(self, key: K, value: V, *, force: bool = False) -> None:
        self.prime_many({key: value}, force=force)

    def prime_many(self, data: Mapping[K, V], *, force: bool = False) -> None:
        """Keep these values; a key loaded (or failed) already keeps its own unless `force`."""
        values = self._values
        if force:
            for key, value in data.items():
                values[key] = value
                self._forget_outcome(key)
        else:
            failures = self._failures
            for key, value in data.items():
                if key not in values and key not in failures:
                    values[key] = value

    def clear(self, key: K) -> None:
        """Forget `key`: the next `load` loads it again."""
        self._values.pop(key, None)
        self._forget_outcome(key)

    def clear_many(self, keys: Iterable[K]) -> None:
        for key in keys:
            self.clear(key)

    def clear_all(self) -> None:
        self._values.clear()
        self._failures.clear()
        self._pending.clear()
        self._made.clear()
        self._collecting = None

    def close(self) -> None:
        """Forget everything and let go of the batch function: loading is over."""
        self.clear_all()
        self._load_fn = _closed

    def _forget_outcome(self, key: K) -> None:
        self._failures.pop(key, None)
        self._made.pop(key, None)
        # A batch on its way with this key answers its callers, but is not kept.
        self._pending.pop(key, None)


async def _closed(keys: list[Any]) -> list[Any]:
    raise RuntimeError(f"the request's loaders are closed (asked for {len(keys)} keys)")


def now_or_later(loader: Loader[K, V], key: K, then: Callable[[V], R]) -> R:
    """`then(value)` at once when the loader holds `key`'s value, else an awaitable of it.

    graphql-core awaits a resolver's result only when it is awaitable, so a field whose
    value is loaded already (see `Loaders.prefetch_issue_relations`) completes in place:
    no coroutine, task or gather for it. The declared type is the value's, as the schema
    shows it; the awaitable is what a resolver may always return instead.
    """
    value = loader.peek(key)
    if value is not MISSING:
        return then(value)

    async def later() -> R:
        return then(await loader.load(key))

    return cast("R", later())


class Loaders:
    """Implements `domain.access.AccessData` on top of the loaders."""

    def __init__(self, pool: Any, viewer: Viewer) -> None:
        self._pool = pool
        self._scope = ReadScope(viewer_id=viewer.user_id, admin=viewer.is_admin)
        # What each selection of a list of issues reads (schema.types.prefetch_plan).
        self.prefetch_plans: dict[tuple[int, tuple[str, ...]], tuple[object, Related]] = {}

    # Each loader is made when the request first asks for it: most requests use a few.

    @cached_property
    def user_by_id(self) -> Loader[int, User | None]:
        # Fields of issues that complete in place make objects of these users and projects.
        return Loader(self._users_by_id)

    @cached_property
    def project_by_id_loader(self) -> Loader[int, Project | None]:
        return Loader(self._projects_by_id)

    @cached_property
    def project_by_path_loader(self) -> Loader[str, Project | None]:
        return Loader(self._projects_by_path)

    @cached_property
    def issue_by_id_loader(self) -> Loader[int, Issue | None]:
        return Loader(self._issues_by_id)

    @cached_property
    def issue_by_iid_loader(self) -> Loader[tuple[int, int], Issue | None]:
        return Loader(self._issues_by_iid)

    @cached_property
    def issue_by_path_iid(self) -> Loader[tuple[str, int, Related], Issue | None]:
        # (lowercased project path, iid, what the issue's fields read): fills the four
        # loaders above, the assignees' and the users'.
        return Loader(self._issues_by_path_iid)

    @cached_property
    def assignee_ids_by_issue(self) -> Loader[int, list[int]]:
        return Loader(self._assignee_ids)

    @cached_property
    def note_count_by_issue(self) -> Loader[int, int]:
        return Loader(self._note_counts)

    @cached_property
    def viewer_role_by_project(self) -> Loader[int, Role | None]:
        return Loader(self._viewer_roles)

    @cached_property
    def link_by_id_loader(self) -> Loader[int, IssueLink | None]:
        return Loader(self._links_by_id)

    @cached_property
    def linked_issues(self) -> Loader[LinksKey, list[LinkedIssue]]:
        return Loader(self._linked_issues)

    @cached_property
    def linked_issue_count(self) -> Loader[CountKey, int]:
        return Loader(self._linked_issue_counts)

    @cached_property
    def blocked_by_open_issue(self) -> Loader[int, bool]:
        return Loader(self._blocked_flags)

    @cached_property
    def walks(self) -> Loader[tuple[int, Walk], list[Reached]]:
        return Loader(self._walks)

    @cached_property
    def rollups(self) -> Loader[tuple[int, Walk], tuple[int, int]]:
        return Loader(self._rollups)

    @cached_property
    def links_among_loader(self) -> Loader[tuple[frozenset[int], tuple[str, ...]], list[IssueLink]]:
        return Loader(self._links_among)

    def close(self) -> None:
        """Drop everything loaded, once the request is answered.

        Each loader calls back into this object (its batch function is a method of it),
        so the two are a reference cycle that only the cyclic collector frees: closed, the
        loaders let go of their batch functions, and the request's models, users and
        links, and these objects, are freed by reference counting.
        """
        self.prefetch_plans.clear()
        for loader in vars(self).values():
            if isinstance(loader, Loader):
                loader.close()

    # -- batch functions -----------------------------------------------------------------

    async def _users_by_id(self, ids: Sequence[int]) -> list[User | None]:
        found = {u.id: u for u in await user_queries.users_by_ids(self._pool, list(ids))}
        return [found.get(i) for i in ids]

    async def _projects_by_id(self, ids: Sequence[int]) -> list[Project | None]:
        found = {p.id: p for p in await project_queries.projects_by_ids(self._pool, list(ids))}
        for project in found.values():
            self.project_by_path_loader.prime(project.full_path.lower(), project)
        return [found.get(i) for i in ids]

    async def _projects_by_path(self, paths: Sequence[str]) -> list[Project | None]:
        rows = await project_queries.projects_by_paths(self._pool, list(paths))
        found = {p.full_path.lower(): p for p in rows}
        for project in rows:
            self.project_by_id_loader.prime(project.id, project)
        return [found.get(p) for p in paths]

    async def _issues_by_id(self, ids: Sequence[int]) -> list[Issue | None]:
        found = {i.id: i for i in await issue_queries.issues_by_ids(self._pool, list(ids))}
        for issue in found.values():
            self.issue_by_iid_loader.prime((issue.project_id, issue.iid), issue)
        return [found.get(i) for i in ids]

    async def _issues_by_iid(self, keys: Sequence[tuple[int, int]]) -> list[Issue | None]:
        rows = await issue_queries.issues_by_project_iids(
            self._pool, [k[0] for k in keys], [k[1] for k in keys]
        )
        found = {(i.project_id, i.iid): i for i in rows}
        for issue in rows:
            self.issue_by_id_loader.prime(issue.id, issue)
        return [found.get(k) for k in keys]

    async def _issues_by_path_iid(
        self, keys: Sequence[tuple[str, int, Related]]
    ) -> list[Issue | None]:
        """One statement per distinct `Related`: the issue's fields read the same."""
        groups: dict[Related, list[tuple[str, int]]] = defaultdict(list)
        for path, iid, related in keys:
            groups[related].append((path, iid))
        issues: dict[tuple[str, int, Related], Issue | None] = {}
        for related, asked in groups.items():
            found = await issue_queries.issues_by_paths_and_iids(
                self._pool, [path for path, _ in asked], [iid for _, iid in asked], related
            )
            for one in found:
                project, issue = one.project, one.issue
                path = project.full_path.lower()
                self.project_by_path_loader.prime(path, project)
                self.project_by_id_loader.prime(project.id, project)
                self.issue_by_iid_loader.prime((project.id, one.iid), issue)
                if issue is not None:
                    self.issue_by_id_loader.prime(issue.id, issue)
                    self.assignee_ids_by_issue.prime(issue.id, one.assignee_ids)
                self.user_by_id.prime_many({user.id: user for user in one.users})
                issues[(path, one.iid, related)] = issue
            found_paths = {path for path, _, _ in issues}
            for path, _ in asked:
                if path not in found_paths:  # no such project
                    self.project_by_path_loader.prime(path, None)
        return [issues.get(key) for key in keys]

    async def _assignee_ids(self, issue_ids: Sequence[int]) -> list[list[int]]:
        found = await issue_queries.assignee_ids_by_issue_ids(self._pool, list(issue_ids))
        return [found.get(i, []) for i in issue_ids]

    async def _note_counts(self, issue_ids: Sequence[int]) -> list[int]:
        found = await issue_queries.note_counts_by_issue_ids(self._pool, list(issue_ids))
        return [found.get(i, 0) for i in issue_ids]

    async def _viewer_roles(self, project_ids: Sequence[int]) -> list[Role | None]:
        viewer_id = self._scope.viewer_id
        if viewer_id is None:
            return [None] * len(project_ids)
        found = await project_queries.member_roles(self._pool, viewer_id, list(project_ids))
        return [found.get(p) for p in project_ids]

    async def _links_by_id(self, ids: Sequence[int]) -> list[IssueLink | None]:
        found = {link.id: link for link in await link_queries.links_by_ids(self._pool, list(ids))}
        return [found.get(i) for i in ids]

    async def _linked_issues(self, keys: Sequence[LinksKey]) -> list[list[LinkedIssue]]:
        """One statement per distinct (types, page size, cursor, related); paging per
        issue in SQL."""
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for key in keys:
            groups[key[1:]].append(key[0])
        pages: dict[LinksKey, list[LinkedIssue]] = {}
        for (types, limit, after, related), anchors in groups.items():
            outward, inward = directions(types)
            found = await link_queries.linked_issues_page(
                self._pool,
                anchors=sorted(set(anchors)),
                outward=outward,
                inward=inward,
                viewer_id=self._scope.viewer_id,
                admin=self._scope.admin,
                after=after,
                limit=limit,
                related=related,
            )
            rows = found.rows
            for anchor in anchors:
                pages[(anchor, types, limit, after, related)] = []
            for row in rows:
                pages[(row.anchor_id, types, limit, after, related)].append(row)
            self.prime_issues([row.issue for row in rows], force=False)
            self.link_by_id_loader.prime_many({row.link.id: row.link for row in rows})
            if related.assignees:
                self.assignee_ids_by_issue.prime_many(
                    {r.issue.id: r.assignee_ids for r in rows if r.assignee_ids is not None}
                )
            self.prime_related(found.related)
        return [pages[key] for key in keys]

    async def _linked_issue_counts(self, keys: Sequence[CountKey]) -> list[int]:
        groups: dict[frozenset[LinkType] | None, list[int]] = defaultdict(list)
        for issue_id, types in keys:
            groups[types].append(issue_id)
        counts: dict[CountKey, int] = {}
        for types, anchors in groups.items():
            outward, inward = directions(types)
            found = await link_queries.linked_issue_counts(
                self._pool,
                anchors=sorted(set(anchors)),
                outward=outward,
                inward=inward,
                viewer_id=self._scope.viewer_id,
                admin=self._scope.admin,
            )
            for anchor in anchors:
                counts[(anchor, types)] = found.get(anchor, 0)
        return [counts[key] for key in keys]

    async def _blocked_flags(self, issue_ids: Sequence[int]) -> list[bool]:
        blocked = await link_queries.open_blocker_flags(
            self._pool,
            anchors=list(issue_ids),
            viewer_id=self._scope.viewer_id,
            admin=self._scope.admin,
        )
        return [i in blocked for i in issue_ids]

    async def _walks(self, keys: Sequence[tuple[int, Walk]]) -> list[list[Reached]]:
        """One statement per distinct walk, for every issue that asked for it."""
        found: dict[tuple[int, Walk], list[Reached]] = {key: [] for key in keys}
        for walk, anchors in _group(keys).items():
            reached = await graph_queries.walk_from(self._pool, anchors, walk, self._scope)
            for one in reached:
                found[(one.anchor_id, walk)].append(one)
            self.prime_issues([one.issue for one in reached], force=False)
        return [found[key] for key in keys]

    async def _rollups(self, keys: Sequence[tuple[int, Walk]]) -> list[tuple[int, int]]:
        found: dict[tuple[int, Walk], tuple[int, int]] = {}
        for walk, anchors in _group(keys).items():
            counts = await graph_queries.rollups(self._pool, anchors, walk, self._scope)
            for anchor in anchors:
                found[(anchor, walk)] = counts.get(anchor, (0, 0))
        return [found[key] for key in keys]

    async def _links_among(
        self, keys: Sequence[tuple[frozenset[int], tuple[str, ...]]]
    ) -> list[list[IssueLink]]:
        """Links inside each set: one statement per link-type set, over the union."""
        by_types: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for ids, types in keys:
            by_types[types] |= ids
        links = {
            types: await graph_queries.links_among(self._pool, sorted(ids), types)
            for types, ids in by_types.items()
        }
        return [
            [link for link in links[types] if link.source_id in ids and link.target_id in ids]
            for ids, types in keys
        ]

    # -- domain.graph.GraphReads -----------------------------------------------------------

    async def walk(self, issue_id: int, walk: Walk) -> list[Reached]:
        return await self.walks.load((issue_id, walk))

    async def links_among(
        self, issue_ids: frozenset[int], types: tuple[str, ...]
    ) -> list[IssueLink]:
        return await self.links_among_loader.load((issue_ids, types))

    # -- loading ahead ---------------------------------------------------------------------

    async def prefetch_issue_relations(
        self,
        issues: Sequence[Issue],
        related: Related,
    ) -> None:
        """Load what `related` says fields of these issues will read (its `user_columns`:
        the user-id attributes to follow), so that they complete in place.

        The batches are the ones the fields would make one by one: projects and assignee
        ids at once, then every user; projects and users at once where the assignee ids
        are loaded already (a page of links brings them).
        """
        user_ids = {getattr(i, name) for i in issues for name in related.user_columns} - {None}
        project_ids = {i.project_id for i in issues} if related.projects else set()
        asked: list[Awaitable[Any]] = []
        if project_ids:
            asked.append(self.project_by_id_loader.load_many(project_ids))
        if related.assignees:
            # Asked for with the projects (one tick, the two statements together); answered
            # without waiting where a page of links brought them, and the users then go
            # with the projects.
            assigned = await self.assignee_ids_by_issue.load_many([i.id for i in issues])
            user_ids.update(u for ids in assigned for u in ids)
        if user_ids:
            asked.append(self.user_by_id.load_many(sorted(user_ids)))
        for answer in asked:
            await answer

    # -- priming after reads and writes --------------------------------------------------

    def prime_issues(self, issues: Sequence[Issue], *, force: bool = True) -> None:
        """Remember issues just read or written (replacing what was cached, if `force`)."""
        self.issue_by_id_loader.prime_many({i.id: i for i in issues}, force=force)
        self.issue_by_iid_loader.prime_many({(i.project_id, i.iid): i for i in issues}, force=force)

    def prime_related(self, related: RelatedRows) -> None:
        """Keep the users and projects a read brought along (not over what is loaded)."""
        if related.users:
            self.user_by_id.prime_many({user.id: user for user in related.users})
        for project in related.projects:
            self.project_by_id_loader.prime(project.id, project)
            self.project_by_path_loader.prime(project.full_path.lower(), project)

    def forget_issue(self, issue: Issue) -> None:
        self.issue_by_id_loader.clear(issue.id)
        self.issue_by_iid_loader.clear((issue.project_id, issue.iid))

    def forget_assignees(self, issue_id: int) -> None:
        self.assignee_ids_by_issue.clear(issue_id)

    def prime_link(self, link: IssueLink) -> None:
        self.link_by_id_loader.prime(link.id, link, force=True)

    def forget_link(self, link_id: int) -> None:
        self.link_by_id_loader.clear(link_id)

    def forget_links(self) -> None:
        """After a link write: drop every cached link list, count and blocked flag."""
        self.linked_issues.clear_all()
        self.linked_issue_count.clear_all()
        self.blocked_by_open_issue.clear_all()
        self.walks.clear_all()
        self.rollups.clear_all()
        self.links_among_loader.clear_all()

    def prime_project(self, project: Project) -> None:
        self.project_by_id_loader.prime(project.id, project, force=True)
        self.project_by_path_loader.prime(project.full_path.lower(), project, force=True)

    # -- domain.access.AccessData ----------------------------------------------------------

    async def role(self, project_id: int) -> Role | None:
        return await self.viewer_role_by_project.load(project_id)

    async def assignee_ids(self, issue_id: int) -> Sequence[int]:
        return await self.assignee_ids_by_issue.load(issue_id)

    async def project_by_id(self, project_id: int) -> Project | None:
        return await self.project_by_id_loader.load(project_id)

    async def project_by_path(self, full_path: str) -> Project | None:
        return await self.project_by_path_loader.load(full_path.lower())

    async def issue_by_id(self, issue_id: int) -> Issue | None:
        return await self.issue_by_id_loader.load(issue_id)

    async def issue_by_iid(self, project_id: int, iid: int) -> Issue | None:
        return await self.issue_by_iid_loader.load((project_id, iid))

    async def link_by_id(self, link_id: int) -> IssueLink | None:
        return await self.link_by_id_loader.load(link_id)


def _group(keys: Sequence[tuple[int, Walk]]) -> dict[Walk, list[int]]:
    groups: dict[Walk, list[int]] = defaultdict(list)
    for issue_id, walk in keys:
        if issue_id not in groups[walk]:
            groups[walk].append(issue_id)
    return groups
