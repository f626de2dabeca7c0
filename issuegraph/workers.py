"""`issuegraph serve --workers N`: N worker processes on one port (docs/scaling.md).

gunicorn's arbiter is the supervisor: it binds the listening socket once, forks the
workers (aiohttp's own gunicorn worker class, on uvloop), replaces any that exits or is
killed, and on SIGTERM or SIGINT stops them gracefully: each stops accepting, finishes
the requests in flight (up to ISSUEGRAPH_GRACEFUL_TIMEOUT_S), closes its WebSockets with
1001 and its pools. The database is opened here, once, before any fork: the embedded
server is started (or joined) and the migrations applied; workers only connect, and the
supervisor stops the embedded server last.

Metrics: `cli.cmd_serve` points prometheus-client's multiprocess mode at a directory
(PROMETHEUS_MULTIPROC_DIR, a fresh one unless set) before anything imports
prometheus-client, and this supervisor drops each dead worker's live gauges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Any

import asyncpg
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from issuegraph import metrics
from issuegraph.app import create_app, tune_gc
from issuegraph.db.database import EMBEDDED_DATABASE, create_database_if_missing
from issuegraph.db.embedded import EmbeddedServer, start_embedded
from issuegraph.db.migrate import migrate

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp import web

    from issuegraph.config import Settings

log = logging.getLogger(__name__)

# Seconds a worker may go without telling the arbiter it is alive before it is killed and
# replaced; start-up included (the graph index of a million issues builds in seconds).
WORKER_TIMEOUT_SECONDS = 120


class _Logs(Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's log lines through the service's handlers (JSON or text, as configured)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers.clear()
            logger.propagate = True


class _Arbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's arbiter, with Ctrl-C (SIGINT) as graceful as SIGTERM: gunicorn's own
    quick stop sends SIGQUIT, which a worker still starting up cannot act on until its
    event loop runs, so the arbiter would wait the whole graceful timeout for it."""

    def handle_int(self) -> None:
        self.handle_term()

    def stop(self, graceful: bool = True) -> None:
        # A worker that gets SIGTERM in the instant it finishes starting up may miss it
        # (its event loop takes over signal handling then): say it again each second.
        stopped = threading.Event()

        def again() -> None:
            while not stopped.wait(1.0):
                for pid in list(self.WORKERS):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)

        repeater = threading.Thread(target=again, name="issuegraph-stop", daemon=True)
        repeater.start()
        try:
            super().stop(graceful)
        finally:
            stopped.set()


class _Service(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def run(self) -> None:
        _Arbiter(self).run()

    def load(self) -> web.Application:
        # In each worker, after the fork: its own application, pools and background tasks.
        return create_app(self._settings)


def serve_workers(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    *,
    prepare: Callable[[Any], Awaitable[None]],
    when_listening: Callable[[], None],
) -> int:
    """Serve on `host:port` with `workers` processes until SIGTERM or SIGINT. `prepare`
    runs once with a pool of the open database before the workers start; `when_listening`
    once the socket listens."""
    embedded = asyncio.run(_open_database(settings, prepare))
    try:
        options = {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "worker_class": "aiohttp.worker.GunicornUVLoopWebWorker",
            "graceful_timeout": settings.graceful_timeout_seconds,
            "timeout": WORKER_TIMEOUT_SECONDS,
            "keepalive": 75,  # aiohttp's default
            "accesslog": None,  # the service writes its own access lines
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "logger_class": _Logs,
            "proc_name": "issuegraph",
            "control_socket_disable": True,
            "child_exit": lambda _arbiter, worker: metrics.worker_exited(worker.pid),
            "post_worker_init": lambda _worker: tune_gc(),
            "when_ready": lambda _arbiter: _listening(host, port, workers, when_listening),
        }
        _Service(settings, options).run()
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _listening(host: str, port: int, workers: int, then: Callable[[], None]) -> None:
    log.info("serving on http://%s:%s/graphql with %d workers", host, port, workers)
    then()


async def _open_database(
    settings: Settings, prepare: Callable[[Any], Awaitable[None]]
) -> EmbeddedServer | None:
    """Start (or join) the embedded server, migrate and prepare, once, before the fork."""
    embedded: EmbeddedServer | None = None
    dsn = settings.database_url
    if dsn is None:
        embedded = await asyncio.to_thread(start_embedded, settings.data_dir)
        await create_database_if_missing(embedded.admin_dsn, EMBEDDED_DATABASE)
        dsn = embedded.dsn(EMBEDDED_DATABASE)
    try:
        async with asyncpg.create_pool(dsn, min_size=1, max_size=2) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            await prepare(pool)
    except BaseException:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    return embedded
