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
import logging
from typing import TYPE_CHECKING, Any

import asyncpg
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from issuegraph import metrics
from issuegraph.app import create_app
from issuegraph.db.database import EMBEDDED_DATABASE, create_database_if_missing
from issuegraph.db.embedded import EmbeddedServer, start_embedded
from issuegraph.db.migrate import migrate

if TYPE_CHECKING:
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


class _Service(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> web.Application:
        # In each worker, after the fork: its own application, pools and background tasks.
        return create_app(self._settings)


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> int:
    """Serve on `host:port` with `workers` processes until SIGTERM or SIGINT."""
    embedded = asyncio.run(_open_database(settings))
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
            "child_exit": lambda _arbiter, worker: metrics.worker_exited(worker.pid),
            "when_ready": lambda _arbiter: log.info(
                "serving on http://%s:%s/graphql with %d workers", host, port, workers
            ),
        }
        _Service(settings, options).run()
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _open_database(settings: Settings) -> EmbeddedServer | None:
    """Start (or join) the embedded server and migrate, once, before the workers fork."""
    embedded: EmbeddedServer | None = None
    dsn = settings.database_url
    if dsn is None:
        embedded = await asyncio.to_thread(start_embedded, settings.data_dir)
        await create_database_if_missing(embedded.admin_dsn, EMBEDDED_DATABASE)
        dsn = embedded.dsn(EMBEDDED_DATABASE)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return embedded
