"""The DataLoader every per-request loader is: the keys asked for in one tick of the
event loop are loaded by one call of the batch function, and what it answered is kept for
the rest of the request."""

from __future__ import annotations

import asyncio
import enum
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence

    from issuegraph.db.queries.issues import RelatedRows
    from issuegraph.models import Issue, IssueLink, Project, ReadScope, User


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
    """A DataLoader: the keys asked for in one tick are loaded by one call of
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


def by_shape(keys: Iterable[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[Any]]:
    """Keys of the form (id, *shape) grouped by their shape, each group's ids in the order
    asked for, once each: a batch makes one statement per shape, for all its ids."""
    groups: dict[tuple[Any, ...], dict[Any, None]] = {}
    for key in keys:
        groups.setdefault(key[1:], {})[key[0]] = None
    return {shape: list(ids) for shape, ids in groups.items()}


class Primer(Protocol):
    """What a batch hands on of the rows it read, so that the request's other loaders know
    them too (an issue read by id is known by its iid as well). `Loaders` implements it:
    which loader learns what from which rows is decided there, in one place."""

    pool: Any
    scope: ReadScope

    def prime_users(self, users: Iterable[User]) -> None: ...
    def prime_projects(self, projects: Iterable[Project]) -> None: ...
    def prime_missing_project_paths(self, paths: Iterable[str]) -> None: ...
    def prime_issues(self, issues: Sequence[Issue], *, force: bool = True) -> None: ...
    def prime_missing_issues(self, project_iids: Iterable[tuple[int, int]]) -> None: ...
    def prime_assignee_ids(self, ids: Mapping[int, list[int]]) -> None: ...
    def prime_links(self, links: Iterable[IssueLink]) -> None: ...
    def prime_related(self, related: RelatedRows) -> None: ...


class RequestLoader(Loader[K, V]):
    """A loader of one request's: its batch function is the method `batch`, which reads
    the pool as the request's viewer (`scope`) and hands what its statement brought along
    to the `primer`.

    Subclasses are named for what they load and by what (`<Target>By<Key>Loader`); the
    request's `Loaders` makes each one when it is first asked for.
    """

    def __init__(self, primer: Primer) -> None:
        super().__init__(self.batch)
        self.primer = primer
        self.pool: Any = primer.pool
        self.scope: ReadScope = primer.scope

    async def batch(self, keys: list[K]) -> Sequence[V | BaseException]:
        raise NotImplementedError

    def close(self) -> None:
        """As `Loader.close`, and let go of the primer (the request's loaders: a cycle)."""
        super().close()
        del self.primer
