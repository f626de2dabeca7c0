"""The change log's wake-up: one dedicated connection per process LISTENs on its channel.

Every insert into `events` NOTIFYs `issuegraph_events` (an empty payload, sent when the
writing transaction commits). The connection is asyncpg's own, never a pooled one (a
LISTEN belongs to its session). When the database goes away the connection is opened
again with backoff; a notification sent meanwhile is lost, so `on_wake` is also called
after every (re)connection, and the reader catches up from the log itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from issuegraph.db.codecs import SESSION_SETTINGS
from issuegraph.db.queries.events import CHANNEL

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
# How often an idle connection is checked (a statement), so a lost one is noticed even
# when no termination message arrived (a dropped network path).
CHECK_INTERVAL_SECONDS = 10.0


class Listener:
    """Calls `on_wake()` on every notification on CHANNEL and after every (re)connection."""

    def __init__(
        self,
        dsn: str,
        on_wake: Callable[[], None],
        *,
        check_interval: float = CHECK_INTERVAL_SECONDS,
    ) -> None:
        self._dsn = dsn
        self._on_wake = on_wake
        self._check_interval = check_interval
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.connections = 0  # opened so far: 1 + the reconnections

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="issuegraph-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, *_args: Any) -> None:
        self._on_wake()

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=CONNECT_TIMEOUT_SECONDS, server_settings=SESSION_SETTINGS
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning(
                    "change log listener: cannot connect (%s: %s); retrying in %.1fs",
                    type(error).__name__,
                    error,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            try:
                await self._listen(conn)
                backoff = FIRST_BACKOFF_SECONDS
            finally:
                self.connected.clear()
                conn.terminate()

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("change log listener: LISTEN failed (%s: %s)", type(error).__name__, error)
            return
        self.connections += 1
        if self.connections > 1:
            log.info("change log listener: reconnected")
        self.connected.set()
        self._on_wake()  # whatever was missed while not listening
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_interval):
                    await lost.wait()
            if lost.is_set():
                break
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                    await conn.execute("select 1")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                break
        log.warning("change log listener: connection lost; reconnecting")
