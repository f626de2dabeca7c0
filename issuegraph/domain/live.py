"""Live change events: one reader of the change log per process, shared by its subscribers.

The hub reads the log once per wake-up for everyone (`db.queries.events.events_after` from
its own position, silent events left out, in pages until one comes back empty) and keeps a
bounded window of the most recent events in memory. It is woken by the listener
(`db/listener.py`: a NOTIFY, or a reconnection after which a notification may have been
lost) and by a slow periodic tick, a safety net.

A subscriber holds little more than its position (a cursor) and its filter. While the
window does not reach back to its position (it asked for `after:` an old cursor, or it fell
behind) it reads its own pages from the database; once the window covers its position it
follows the window: replay, then live, with no gap and no duplicate, because

- the window holds every non-silent event in (`floor`, `position`], in log order;
- a page of the subscriber's own, read after the hub reached `position`, sees everything
  below the horizon of its statement, which is past `position`: so once a page comes back
  short, every matching event up to the hub's `position` at that moment was in it.

Every event is checked against the viewer when it is delivered (`domain.events.visible`)
with reads made for the current batch: one set of loaders per viewer per batch, shared by
all of that viewer's subscriptions, so that the cost is per viewer and "may read now" holds.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from issuegraph.db.queries import events as event_queries
from issuegraph.domain.events import visible_events
from issuegraph.models import Event, EventKind, Position, StoredLinkType, Viewer

if TYPE_CHECKING:
    from issuegraph.domain.access import Access

log = logging.getLogger(__name__)

PAGE = 500  # events per statement, the hub's and a subscriber's
CHUNK = 100  # events of the window a subscriber checks in one go
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0


class Reads(Protocol):
    """What one viewer reads with during one batch: fresh loaders, and Access over them."""

    @property
    def access(self) -> Access: ...


R = TypeVar("R", bound=Reads)
# Per viewer and batch: for each event judged, the judgement that holds it (the ids of the
# events it found visible), shared by every subscription of the viewer that asks.
Verdicts = dict[int, "asyncio.Future[frozenset[int]]"]


async def _judge(access: Access, events: list[Event], verdicts: Verdicts) -> frozenset[int]:
    try:
        return frozenset(event.id for event in await visible_events(access, events))
    except BaseException:
        for event in events:  # judged again by whoever asks next
            verdicts.pop(event.id, None)
        raise


@dataclass(frozen=True, slots=True)
class Filter:
    """Which events a subscription wants."""

    kinds: frozenset[EventKind]
    project_id: int | None = None
    issue_id: int | None = None
    link_types: frozenset[StoredLinkType] | None = None

    def matches(self, event: Event) -> bool:
        return (
            event.kind in self.kinds
            and (self.project_id is None or self.project_id in event.project_ids)
            and (self.issue_id is None or any(i.id == self.issue_id for i in event.issues))
            and (
                self.link_types is None
                or (event.link_type is not None and event.link_type in self.link_types)
            )
        )


class Hub(Generic[R]):
    """The process's reader of the change log and its window of recent events."""

    def __init__(
        self,
        pool: Any,
        reads_for: Callable[[Viewer], R],
        *,
        window: int,
        tick_seconds: float,
        page: int = PAGE,
    ) -> None:
        self._pool = pool
        self._reads_for = reads_for
        self._max = window
        self._tick = tick_seconds
        self._page = page
        # The window is `_events[_head:]` (and `_positions[_head:]`), at most `window`
        # events; `_dropped` counts the events removed from the lists' front, so that
        # `_dropped + i` numbers `_events[i]` for good (a subscriber's place in the window).
        self._events: list[Event] = []
        self._positions: list[Position] = []
        self._head = 0
        self._dropped = 0
        # Every non-silent event in (floor, position] is in the window. None: not started.
        self._position: Position | None = None
        self._floor: Position | None = None
        self._wake = asyncio.Event()
        self._arrived = asyncio.Event()  # set, and replaced by a new one, at every batch
        # Per viewer, for the current batch: its reads, and the verdicts on events so far.
        self._reads: dict[tuple[int | None, bool], tuple[R, Verdicts]] = {}
        self._task: asyncio.Task[None] | None = None
        self._followers = 0  # subscribers iterating `follow`
        self.batches = 0

    # -- the reader ---------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="issuegraph-live-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """The log may hold new events (a notification, a reconnection)."""
        self._wake.set()

    @property
    def position(self) -> Position | None:
        """Where the reader is in the log (None while nobody subscribes)."""
        return self._position

    @property
    def window(self) -> int:
        """Events in the window now."""
        return len(self._events) - self._head

    async def _run(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                if not self._followers:
                    self._forget()  # nobody reads: no statement, until someone subscribes
                else:
                    if self._position is None:
                        self._position = self._floor = await event_queries.horizon(self._pool)
                        self._arrive()
                    await self._read()
                delay = RETRY_FIRST_SECONDS
            except Exception as error:
                if not is_operational(error):
                    raise
                log.warning(
                    "change log reader: %s: %s; reading again in %.1fs",
                    type(error).__name__,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick):
                    await self._wake.wait()

    def _forget(self) -> None:
        """No subscriber: the window goes, and the position (the next reads from the horizon)."""
        self._wake.clear()
        if self._position is not None:
            self._dropped += len(self._events)
            self._events, self._positions, self._head = [], [], 0
            self._position = self._floor = None
            self._reads = {}

    async def _read(self) -> None:
        self._wake.clear()
        while True:
            assert self._position is not None  # noqa: S101
            found = await event_queries.events_after(
                self._pool, self._position, limit=self._page, include_silent=False
            )
            if found:
                self._append(found)
            if len(found) < self._page:
                return

    def _append(self, events: list[Event]) -> None:
        self._events.extend(events)
        self._positions.extend(event.position for event in events)
        self._position = events[-1].position
        excess = len(self._events) - self._head - self._max
        if excess > 0:
            self._head += excess
            self._floor = self._positions[self._head - 1]
        if self._head >= self._max:  # compact: amortised O(1) per event
            del self._events[: self._head]
            del self._positions[: self._head]
            self._dropped += self._head
            self._head = 0
        self.batches += 1
        self._arrive()

    def _arrive(self) -> None:
        self._reads = {}
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    # -- subscribers --------------------------------------------------------------------

    def reads(self, viewer: Viewer) -> R:
        """The reads of `viewer` for the current batch, shared by its subscriptions."""
        return self._of(viewer)[0]

    def _of(self, viewer: Viewer) -> tuple[R, Verdicts]:
        key = (viewer.user_id, viewer.is_admin)
        found = self._reads.get(key)
        if found is None:
            found = self._reads[key] = (self._reads_for(viewer), {})
        return found

    async def horizon(self) -> Position:
        """Where a subscriber without a cursor starts: it misses nothing that commits later."""
        return await event_queries.horizon(self._pool)

    def _covers(self, cursor: Position) -> bool:
        return self._floor is not None and cursor >= self._floor

    async def follow(
        self, viewer: Viewer, wanted: Filter, after: Position
    ) -> AsyncGenerator[tuple[Event, R], None]:
        """The events past `after` that match `wanted` and that `viewer` sees, in log order,
        each with the reads it was checked with; for as long as it is iterated.

        A failure of the database (a check, a page) is waited out: the subscriber reads
        again from its cursor, so nothing is missed and nothing comes twice.
        """
        self._followers += 1
        if self._followers == 1:
            self.wake()
        deliveries = self._follow(viewer, wanted, after)
        try:
            async with contextlib.aclosing(deliveries):
                async for delivery in deliveries:
                    yield delivery
        finally:
            self._followers -= 1

    async def _follow(
        self, viewer: Viewer, wanted: Filter, after: Position
    ) -> AsyncGenerator[tuple[Event, R], None]:
        cursor = after
        delay = RETRY_FIRST_SECONDS
        while True:
            # From the window while it covers the cursor (until the subscriber falls
            # behind it), else a page from the database.
            source = (
                self._from_window(viewer, wanted, cursor)
                if self._covers(cursor)
                else self._from_database(viewer, wanted, cursor)
            )
            try:
                async with contextlib.aclosing(source):
                    async for event, reads, scanned in source:
                        cursor = scanned
                        if event is not None and reads is not None:
                            yield event, reads
                delay = RETRY_FIRST_SECONDS
            except Exception as error:
                if not is_operational(error):
                    raise
                log.info(  # once per subscriber: the reader's own warning says it all
                    "subscription: %s: %s; reading again in %.1fs",
                    type(error).__name__,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _next_batch(self, *, wait: float | None = None) -> None:
        arrived = self._arrived
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await arrived.wait()

    async def _from_database(
        self, viewer: Viewer, wanted: Filter, cursor: Position
    ) -> AsyncGenerator[tuple[Event | None, R | None, Position], None]:
        """(event, reads, position scanned) of one page of the subscriber's own; after a
        short page, the position the hub had read to when it began (see the module)."""
        # What the hub had read before this page's statement began: that statement's
        # horizon is past it, so a short page holds every matching event up to it.
        covered = self._position
        found = await event_queries.events_after(
            self._pool,
            cursor,
            limit=self._page,
            project_id=wanted.project_id,
            issue_id=wanted.issue_id,
            kinds=wanted.kinds,
            include_silent=False,
        )
        reads, shown = await self._shown(viewer, wanted, found)
        for event in shown:
            yield event, reads, event.position
        if found:
            cursor = found[-1].position
            yield None, None, cursor
        if len(found) < self._page:
            if covered is not None and covered > cursor:
                yield None, None, covered
            if self._floor is None:  # the hub has not read the log yet
                await self._next_batch(wait=self._tick)

    async def _from_window(
        self, viewer: Viewer, wanted: Filter, cursor: Position
    ) -> AsyncGenerator[tuple[Event | None, R | None, Position], None]:
        """(event, reads, position scanned) from the window, past `cursor`, until the
        window has moved on past the subscriber (it fell behind)."""
        seq = self._dropped + bisect.bisect_right(self._positions, cursor, lo=self._head)
        while True:
            if seq < self._dropped + self._head:
                return  # fell behind
            index = seq - self._dropped
            if index >= len(self._events):
                await self._next_batch()
                continue
            chunk = self._events[index : index + CHUNK]
            seq += len(chunk)
            reads, shown = await self._shown(viewer, wanted, chunk)
            for event in shown:
                yield event, reads, event.position
            yield None, None, chunk[-1].position

    async def _shown(
        self, viewer: Viewer, wanted: Filter, events: list[Event]
    ) -> tuple[R, list[Event]]:
        """The reads of the viewer for this batch, and those of `events` that match and that
        the viewer sees. A verdict is reached once per viewer and batch, for all of the
        viewer's subscriptions: the first to ask judges, the others await its answer."""
        reads, verdicts = self._of(viewer)
        matching = [event for event in events if wanted.matches(event)]
        unknown = [event for event in matching if event.id not in verdicts]
        if unknown:
            judging = asyncio.ensure_future(_judge(reads.access, unknown, verdicts))
            for event in unknown:
                verdicts[event.id] = judging
        return reads, [event for event in matching if event.id in await verdicts[event.id]]


def is_operational(error: BaseException) -> bool:
    """The database went away, or a statement was cancelled: wait, and read again."""
    return isinstance(error, (OSError, TimeoutError, ConnectionError)) or type(
        error
    ).__module__.startswith("asyncpg")
