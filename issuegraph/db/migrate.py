"""Ordered plain-SQL migrations, applied once each, safe when several processes start at once.

After them, the SQL functions whose text the code derives (`derived_functions`) are
brought up to date: each is recreated whenever the database's body differs from the
code's, like a repeatable migration, under the same lock.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources

import asyncpg

from issuegraph.db.queries import visibility

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same in every process of the service.
MIGRATION_LOCK_KEY = 0x1554E6_7A9
MIGRATIONS_PACKAGE = "issuegraph.db.migrations"


class MigrationError(RuntimeError):
    """The database's migration history does not match the code's migrations."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DerivedFunction:
    """A SQL function written from the code's own text rather than by a numbered migration.

    `signature` names it for `to_regprocedure`; `body` is its text as `pg_proc.prosrc`
    holds it; `definition` is the `create or replace function` statement that sets it.
    The function's comment names its origin and the checksum of `definition`, so that a
    change to its header (volatility, strictness) is applied as a change to its body is.
    """

    name: str
    source: str
    signature: str
    body: str
    definition: str

    @property
    def comment(self) -> str:
        digest = hashlib.sha256(self.definition.encode()).hexdigest()
        return f"derived from {self.source} by issuegraph.db.migrate; sha256 {digest}"


def derived_functions() -> list[DerivedFunction]:
    return [
        DerivedFunction(
            name="issue_visible",
            source="issuegraph.db.queries.visibility.readable_issue",
            signature=visibility.ISSUE_VISIBLE_SIGNATURE,
            body=visibility.ISSUE_VISIBLE_BODY,
            definition=visibility.ISSUE_VISIBLE_DEFINITION,
        )
    ]


def available_migrations() -> list[Migration]:
    files = resources.files(MIGRATIONS_PACKAGE)
    found = [
        Migration(version=entry.name.removesuffix(".sql"), sql=entry.read_text(encoding="utf-8"))
        for entry in files.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda m: m.version)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply every pending migration, each in its own transaction, then recreate each derived
    function whose body differs from the code's; return the versions and function names applied.

    A session-level advisory lock serialises concurrent callers: the second one
    waits, then finds nothing left to do.
    """
    await conn.execute("select pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """
            create table if not exists schema_migrations (
                version text primary key,
                checksum text not null,
                applied_at timestamptz not null default now()
            )
            """
        )
        applied = {
            row["version"]: row["checksum"]
            for row in await conn.fetch("select version, checksum from schema_migrations")
        }
        done: list[str] = []
        for migration in available_migrations():
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version} was changed after it was applied"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "insert into schema_migrations (version, checksum) values ($1, $2)",
                    migration.version,
                    migration.checksum,
                )
            log.info("applied migration %s", migration.version)
            done.append(migration.version)
        for function in derived_functions():
            current = await conn.fetchrow(
                "select prosrc, obj_description(oid, 'pg_proc') as comment from pg_proc"
                " where oid = to_regprocedure($1)",
                function.signature,
            )
            if current is not None and tuple(current) == (function.body, function.comment):
                continue
            async with conn.transaction():
                await conn.execute(function.definition)
                await conn.execute(
                    f"comment on function {function.signature} is '{function.comment}'"
                )
            log.info("recreated function %s from the code's text", function.name)
            done.append(function.name)
        return done
    finally:
        await conn.execute("select pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
