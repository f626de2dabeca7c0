"""Opening and closing the database: embedded or `DATABASE_URL`, migrated, pooled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from issuegraph.db.codecs import SESSION_SETTINGS, set_timestamp_codec
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


# asyncpg's refusal to start a statement on a connection in the wrong state. Raised before
# anything is written, so the statement never reached the server.
_REFUSED_TO_START = re.compile(r"cannot switch to state \d+;")


def never_sent(error: BaseException) -> bool:
    """True when asyncpg refused to start a statement on a connection that had died idle.

    PostgreSQL announces the end of a session (a terminated backend, a server shutting
    down) with an error message, then closes the socket. asyncpg reads the message as
    a protocol error and refuses every statement until it reads the close; a pooled
    connection is handed out in that window because it does not look closed yet. The
    refusal aborts the connection, so the pool's next one is a new one.
    """
    return isinstance(error, asyncpg.InternalClientError) and bool(
        _REFUSED_TO_START.match(str(error))
    )


T = TypeVar("T")


class ServicePool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no types
    """asyncpg's pool, whose one-statement calls outlive a connection that died idle.

    A statement that asyncpg refused to start (see `never_sent`) runs again on another
    connection: it never reached the server, so running it again is safe, writes
    included. When the server ended every session at once, each pooled connection may
    refuse once before a new one is opened.
    """

    async def _until_started(self, run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        # Each refusal aborts its connection, so after as many refusals as the pool has
        # connections the next one is a new connection.
        for _ in range(self.get_max_size()):
            try:
                async with self.acquire() as conn:
                    return await run(conn)
            except asyncpg.InternalClientError as error:
                if not never_sent(error):
                    raise
        async with self.acquire() as conn:
            return await run(conn)

    async def execute(self, query: str, *args: Any, **options: Any) -> str:
        return await self._until_started(lambda conn: conn.execute(query, *args, **options))

    async def fetch(self, query: str, *args: Any, **options: Any) -> list[Any]:
        return await self._until_started(lambda conn: conn.fetch(query, *args, **options))

    async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
        return await self._until_started(lambda conn: conn.fetchrow(query, *args, **options))

    async def fetchval(self, query: str, *args: Any, **options: Any) -> Any:
        return await self._until_started(lambda conn: conn.fetchval(query, *args, **options))


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
    await set_timestamp_codec(conn)


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
        # `asyncpg.create_pool`'s own construction, with its defaults, of our subclass.
        pool = await ServicePool(
            dsn,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            max_queries=50_000,
            max_inactive_connection_lifetime=300.0,
            loop=None,
            connection_class=asyncpg.Connection,
            record_class=asyncpg.Record,
            init=_init_connection if on_connect is None else _chain(on_connect),
            reset=_keep_session,
            timeout=CONNECT_TIMEOUT_SECONDS,
            # Sent in the startup packet: no extra round trip, per connection or request.
            server_settings={**SESSION_SETTINGS, "statement_timeout": str(statement_timeout_ms)},
        )
        try:
            yield Database(pool=pool, dsn=dsn, embedded=embedded)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


async def open_side_pool(dsn: str, *, max_size: int, statement_timeout_ms: int) -> ServicePool:
    """A small pool of its own, for background work beside the requests' pool (the
    webhook deliveries): the same connection set-up, no connection kept when idle."""
    pool: ServicePool = await ServicePool(
        dsn,
        min_size=0,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=60.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        init=_init_connection,
        reset=_keep_session,
        timeout=CONNECT_TIMEOUT_SECONDS,
        server_settings={**SESSION_SETTINGS, "statement_timeout": str(statement_timeout_ms)},
    )
    return pool


@contextlib.asynccontextmanager
async def transaction(executor: Any) -> AsyncIterator[Any]:
    """A transaction on a connection from `executor`.

    Given a pool, a connection is taken for the transaction; given a connection (a
    caller's own transaction), a savepoint nests inside it. A BEGIN that asyncpg refused
    to start (`never_sent`) is tried again on another connection, as in `ServicePool`.
    """
    if isinstance(executor, asyncpg.Pool):
        tries = executor.get_max_size() + 1  # as in ServicePool
        for attempt in range(1, tries + 1):
            begun = False
            try:
                async with executor.acquire() as conn, conn.transaction():
                    begun = True
                    yield conn
            except asyncpg.InternalClientError as error:
                if begun or attempt == tries or not never_sent(error):
                    raise
            else:
                return
    else:
        async with executor.transaction():
            yield executor
