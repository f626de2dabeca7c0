"""Read replicas: which database serves a read (docs/scaling.md, "Read replicas").

A `Router` holds a pool per streaming replica of the primary and polls, every
`poll_seconds`, the primary's WAL position and each replica's replay position. A replica
is in rotation while it answers and lags the primary by at most `max_lag_bytes`.
`for_read(at_least)` gives a replica in rotation whose last known replay position has
reached `at_least` (a client's last write), taking turns among them, or the primary.
Positions are PostgreSQL's LSNs as integers (`parse_lsn`, `format_lsn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from issuegraph import metrics
from issuegraph.db.database import open_side_pool

if TYPE_CHECKING:
    from issuegraph.db.database import ServicePool

log = logging.getLogger(__name__)

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
POLL_TIMEOUT_SECONDS: Final = 2.0


def parse_lsn(text: str) -> int | None:
    """`16/B374D848` as an integer; None when it is not an LSN."""
    found = _LSN.match(text.strip())
    if found is None:
        return None
    return (int(found[1], 16) << 32) | int(found[2], 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def database_label(dsn: str, n: int) -> str:
    """A name for a replica in logs, metrics and /readyz: host and port, never credentials."""
    parts = urlsplit(dsn)
    host = parts.hostname or "local"
    return f"replica{n}:{host}:{parts.port or 5432}" if parts.hostname else f"replica{n}"


@dataclass
class Replica:
    name: str
    dsn: str
    pool: ServicePool | None = None
    replayed: int | None = None  # the replay position at the last poll
    lag_bytes: int | None = None
    up: bool = False
    in_rotation: bool = False

    @property
    def state(self) -> str:
        if not self.up:
            return "down"
        return "in rotation" if self.in_rotation else "lagging"


@dataclass(frozen=True, slots=True)
class ReadChoice:
    pool: Any
    database: str  # "primary" or a replica's name
    reason: str  # replica, no_replica, behind_client, fallback, write


class Router:
    def __init__(
        self,
        primary: Any,
        replica_dsns: list[str],
        *,
        max_lag_bytes: int,
        poll_seconds: float,
        pool_max_size: int,
        statement_timeout_ms: int,
    ) -> None:
        self.primary = primary
        self.replicas = [
            Replica(database_label(dsn, n), dsn) for n, dsn in enumerate(replica_dsns, 1)
        ]
        self._max_lag = max_lag_bytes
        self._poll_seconds = poll_seconds
        self._pool_max = pool_max_size
        self._timeout_ms = statement_timeout_ms
        self._turns = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.primary_position = 0

    async def start(self) -> None:
        for replica in self.replicas:
            # No connection is made yet (min_size 0): a replica that is down opens fine.
            replica.pool = await open_side_pool(
                replica.dsn, max_size=self._pool_max, statement_timeout_ms=self._timeout_ms
            )
        await self.poll()
        self._task = asyncio.create_task(self._poll_forever(), name="issuegraph-replicas")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            if replica.pool is not None:
                await replica.pool.close()

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.poll()
            except Exception:
                log.exception("polling the replicas failed")

    async def poll(self) -> None:
        """Read the primary's WAL position, then each replica's replay position."""
        try:
            async with asyncio.timeout(POLL_TIMEOUT_SECONDS):
                self.primary_position = await self.wal_position()
        except Exception as error:  # noqa: BLE001  (the primary's outage is reported elsewhere)
            log.debug("replicas: the primary's position: %s", error)
        await asyncio.gather(*(self._poll(replica) for replica in self.replicas))

    async def _poll(self, replica: Replica) -> None:
        assert replica.pool is not None  # noqa: S101
        try:
            async with asyncio.timeout(POLL_TIMEOUT_SECONDS):
                row = await replica.pool.fetchrow(
                    "select pg_is_in_recovery() as standby, pg_last_wal_replay_lsn()::text as lsn"
                )
        except Exception as error:  # noqa: BLE001  (down, starting, refusing: out of rotation)
            self.out_of_rotation(replica, f"{type(error).__name__}: {error}")
            return
        replayed = parse_lsn(row["lsn"] or "")
        if not row["standby"] or replayed is None:
            self.out_of_rotation(replica, "not a standby")
            return
        was = replica.state
        replica.up = True
        replica.replayed = replayed
        replica.lag_bytes = max(0, self.primary_position - replayed)
        replica.in_rotation = replica.lag_bytes <= self._max_lag
        if replica.state != was:
            log.info(
                "replica %s: %s (lag %d bytes)", replica.name, replica.state, replica.lag_bytes
            )
        metrics.REPLICA_LAG.labels(replica.name).set(replica.lag_bytes)
        metrics.REPLICA_IN_ROTATION.labels(replica.name).set(int(replica.in_rotation))
        metrics.DATABASE_UP.labels(replica.name).set(1)

    def out_of_rotation(self, replica: Replica, why: str) -> None:
        if replica.up:
            log.warning("replica %s: out of rotation: %s", replica.name, why)
        replica.up = replica.in_rotation = False
        metrics.REPLICA_IN_ROTATION.labels(replica.name).set(0)
        metrics.DATABASE_UP.labels(replica.name).set(0)

    async def wal_position(self) -> int:
        """The primary's WAL position now: what a write that has committed has reached."""
        text: str = await self.primary.fetchval("select pg_current_wal_lsn()::text")
        position = parse_lsn(text)
        assert position is not None  # noqa: S101
        return position

    def for_read(self, at_least: int | None) -> ReadChoice:
        """A replica in rotation that has replayed `at_least`, taking turns; else the primary."""
        ready = [r for r in self.replicas if r.in_rotation]
        if not ready:
            return ReadChoice(self.primary, "primary", "no_replica")
        caught_up = [
            r
            for r in ready
            if at_least is None or (r.replayed is not None and r.replayed >= at_least)
        ]
        if not caught_up:
            return ReadChoice(self.primary, "primary", "behind_client")
        chosen = caught_up[next(self._turns) % len(caught_up)]
        return ReadChoice(chosen.pool, chosen.name, "replica")

    def replica_failed(self, pool: Any, error: BaseException | None) -> None:
        """A read on this replica's pool lost its database: out of rotation until a poll."""
        for replica in self.replicas:
            if replica.pool is pool:
                self.out_of_rotation(replica, f"{type(error).__name__}: {error}")

    def states(self) -> dict[str, str]:
        return {replica.name: replica.state for replica in self.replicas}
