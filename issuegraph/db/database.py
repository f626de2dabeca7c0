"""Opening and closing the database: embedded or `DATABASE_URL`, migrated, pooled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from issuegraph.db.embedded import EmbeddedServer, start_embedded
from issuegraph.db.migrate import migrate

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from issuegraph.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "issuegraph"
# How long opening a connection may take: with the database down or unreachable a
# request fails fast instead of hanging on a pool that keeps reconnecting.
CONNECT_TIMEOUT_SECONDS = 5.0


@dataclass(slots=True)
class Database:
    pool: asyncpg.Pool
    dsn: str
    embedded: EmbeddedServer | None


async def create_database_if_missing(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            # Identifiers cannot be parameters; `name` is a constant of ours, quoted anyway.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool, so no round trip for it.

    asyncpg's default reset (unlock advisory locks, CLOSE ALL, UNLISTEN *, RESET ALL)
    costs one round trip per release. The service takes only transaction-scoped
    advisory locks, never LISTENs, SETs or opens cursors on a pooled connection, and
    asyncpg still rolls back a transaction left open before calling this.
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Fail fast rather than hold a pooled connection forever.
    await conn.execute("set idle_in_transaction_session_timeout = '60s'")


def _chain(hook: ConnectionHook) -> ConnectionHook:
    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        await hook(conn)

    return init


ConnectionHook = Callable[[asyncpg.Connection], Awaitable[None]]


@contextlib.asynccontextmanager
async def open_database(
    settings: Settings,
    *,
    apply_migrations: bool = True,
    on_connect: ConnectionHook | None = None,
    statement_timeout_ms: int = 0,
) -> AsyncIterator[Database]:
    """Yield a migrated, pooled database; stop the embedded server (if ours) on exit.

    `statement_timeout_ms` (0: none) is PostgreSQL's statement_timeout on every pooled
    connection; the HTTP service sets it, the command line and migrations do not.
    """
    embedded: EmbeddedServer | None = None
    dsn = settings.database_url
    if dsn is None:
        embedded = await asyncio.to_thread(start_embedded, settings.data_dir)
    try:
        if embedded is not None:
            await create_database_if_missing(embedded.admin_dsn, EMBEDDED_DATABASE)
            dsn = embedded.dsn(EMBEDDED_DATABASE)
        assert dsn is not None  # noqa: S101  (narrowing for the type checker)
        if apply_migrations:
            conn = await asyncpg.connect(dsn)
            try:
                await migrate(conn)
            finally:
                await conn.close()
        pool = await asyncpg.create_pool(
            dsn,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            init=_init_connection if on_connect is None else _chain(on_connect),
            reset=_keep_session,
            timeout=CONNECT_TIMEOUT_SECONDS,
            # Sent in the startup packet: no extra round trip, per connection or request.
            server_settings={"statement_timeout": str(statement_timeout_ms)},
        )
        try:
            yield Database(pool=pool, dsn=dsn, embedded=embedded)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


@contextlib.asynccontextmanager
async def transaction(executor: Any) -> AsyncIterator[Any]:
    """A transaction on a connection from `executor`.

    Given a pool, a connection is taken for the transaction; given a connection (a
    caller's own transaction), a savepoint nests inside it.
    """
    if isinstance(executor, asyncpg.Pool):
        async with executor.acquire() as conn, conn.transaction():
            yield conn
    else:
        async with executor.transaction():
            yield executor
