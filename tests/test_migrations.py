"""Migrations against real, empty databases; the schema's own constraints, via plain SQL."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from issuegraph.db.migrate import (
    MigrationError,
    available_migrations,
    derived_functions,
    migrate,
)
from issuegraph.db.queries.visibility import ISSUE_VISIBLE_SIGNATURE, readable_issue

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ISSUEGRAPH = Path(sys.executable).with_name("issuegraph")
# Every migration the code ships, in order; 0001 is the first of them.
ALL_VERSIONS = [m.version for m in available_migrations()]
# What the first migrate applies: every migration, then every function derived from the code.
FIRST_RUN = ALL_VERSIONS + [f.name for f in derived_functions()]


def _dsn_for(admin_dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))


@pytest.fixture
async def empty_database_url(admin_dsn: str) -> AsyncIterator[str]:
    """A brand-new database with nothing in it: no tables, no schema_migrations."""
    name = f"issuegraph_empty_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    yield _dsn_for(admin_dsn, name)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


async def _migration_rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("select version, checksum from schema_migrations order by version")
    finally:
        await conn.close()


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "select table_name from information_schema.tables where table_schema = 'public'"
    )
    return {r["table_name"] for r in rows}


# -- applying migrations ------------------------------------------------------------------


async def test_migrate_on_empty_database_applies_0001_and_records_it(empty_database_url):
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await _tables(conn) == set()
        applied = await migrate(conn)
        tables = await _tables(conn)
    finally:
        await conn.close()

    assert applied[0] == "0001_initial"
    assert applied == FIRST_RUN
    assert {
        "schema_migrations",
        "users",
        "personal_access_tokens",
        "projects",
        "project_members",
        "issues",
        "issue_assignees",
        "notes",
        "issue_links",
    } <= tables
    rows = await _migration_rows(empty_database_url)
    expected = {m.version: m.checksum for m in available_migrations()}
    assert [(r["version"], r["checksum"]) for r in rows] == sorted(expected.items())


async def test_migrate_twice_is_a_no_op(empty_database_url):
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await migrate(conn) == FIRST_RUN
        before = await conn.fetch("select version, checksum, applied_at from schema_migrations")
        assert await migrate(conn) == []
        after = await conn.fetch("select version, checksum, applied_at from schema_migrations")
    finally:
        await conn.close()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


async def test_migrate_releases_its_advisory_lock(empty_database_url):
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn)
        held = await conn.fetchval(
            "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"
        )
    finally:
        await conn.close()
    assert held == 0


async def test_two_concurrent_migrate_processes_both_succeed_and_record_once(empty_database_url):
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "ISSUEGRAPH_LOG_LEVEL": "WARNING",
    }
    procs = [
        await asyncio.create_subprocess_exec(
            str(ISSUEGRAPH),
            "migrate",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    async with asyncio.timeout(60):
        results = [
            (out.decode(), err.decode())
            for out, err in await asyncio.gather(*(p.communicate() for p in procs))
        ]

    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, (out, err)
    outputs = sorted(out.strip() for out, _ in results)
    # Exactly one process applied the migration; the other found nothing to do.
    assert outputs == ["applied: " + ", ".join(FIRST_RUN), "database is up to date"]
    rows = await _migration_rows(empty_database_url)
    assert [r["version"] for r in rows] == ALL_VERSIONS


async def test_many_concurrent_connections_migrate_once(empty_database_url):
    conns = [await asyncpg.connect(empty_database_url) for _ in range(8)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns))

    assert sorted(results) == [[]] * 7 + [FIRST_RUN]
    rows = await _migration_rows(empty_database_url)
    assert [r["version"] for r in rows] == ALL_VERSIONS


async def test_changed_checksum_raises_migration_error(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "update schema_migrations set checksum = 'not-the-real-checksum' "
            "where version = '0001_initial'"
        )
        with pytest.raises(MigrationError, match="0001_initial"):
            await migrate(conn)
        # The failure leaves the lock free for the next caller.
        held = await conn.fetchval(
            "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"
        )
    finally:
        await conn.close()
    assert held == 0


# -- the read rule's SQL function, derived from readable_issue -----------------------------

# The attributes migration 0002 gave issue_visible, which its callers rely on: a stable
# (not immutable) SQL function, not strict (an anonymous viewer is a null p_viewer), over a
# whole `issues` row.
ISSUE_VISIBLE_ATTRIBUTES = {
    "language": "sql",
    "volatility": "s",
    "strict": False,
    "security_definer": False,
    "parallel": "u",
    "result": "boolean",
    "arguments": "p_issue issues, p_viewer bigint, p_admin boolean",
}


async def _issue_visible(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        select p.prosrc as body, obj_description(p.oid, 'pg_proc') as comment,
               l.lanname as language, p.provolatile::text as volatility, p.proisstrict as strict,
               p.prosecdef as security_definer, p.proparallel::text as parallel,
               p.prorettype::regtype::text as result,
               pg_get_function_arguments(p.oid) as arguments
          from pg_proc p join pg_language l on l.oid = p.prolang
         where p.oid = to_regprocedure($1)
        """,
        ISSUE_VISIBLE_SIGNATURE,
    )


def _as_in_0002() -> str:
    """Migration 0002's own `create function issue_visible` statement, as `or replace`."""
    sql = next(m.sql for m in available_migrations() if m.version == "0002_link_rules")
    start = sql.index("create function issue_visible(")
    end = sql.index("$$;", start) + len("$$;")
    return sql[start:end].replace("create function", "create or replace function", 1)


async def test_migrate_derives_issue_visible_from_readable_issue(empty_database_url):
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn)
        function = await _issue_visible(conn)
    finally:
        await conn.close()

    (derived,) = [f for f in derived_functions() if f.name == "issue_visible"]
    assert function["body"].strip() == "select " + readable_issue("p_issue", "p_viewer", "p_admin")
    assert function["body"] == derived.body
    assert function["comment"] == derived.comment
    assert "readable_issue" in function["comment"]
    assert {k: function[k] for k in ISSUE_VISIBLE_ATTRIBUTES} == ISSUE_VISIBLE_ATTRIBUTES


@pytest.mark.parametrize(
    "earlier",
    [
        pytest.param(_as_in_0002(), id="as-migration-0002-left-it"),
        pytest.param(
            "create or replace function issue_visible("
            "p_issue issues, p_viewer bigint, p_admin boolean)"
            " returns boolean language sql stable as $$ select true $$",
            id="edited-by-hand",
        ),
    ],
)
async def test_migrate_brings_an_earlier_issue_visible_to_the_derived_one(conn, earlier):
    """A database migrated before the function was derived (or changed by hand since) gets
    the derived body on its next migrate, once."""
    derived = await _issue_visible(conn)
    await conn.execute(earlier)
    await conn.execute(f"comment on function {ISSUE_VISIBLE_SIGNATURE} is null")
    before = await _issue_visible(conn)
    assert before["body"] != derived["body"]
    # The derived function keeps what 0002 declared.
    assert {k: before[k] for k in ISSUE_VISIBLE_ATTRIBUTES} == ISSUE_VISIBLE_ATTRIBUTES

    assert await migrate(conn) == ["issue_visible"]
    assert await _issue_visible(conn) == derived
    assert await migrate(conn) == []


# -- constraints that hold without the application ------------------------------------------


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def _issues(conn: asyncpg.Connection, count: int) -> tuple[int, list[int]]:
    """A user, a project and `count` issues, inserted directly; returns (project, issue ids)."""
    user_id = await conn.fetchval(
        "insert into users (username, name) values ('u_' || $1, 'U') returning id",
        uuid.uuid4().hex[:8],
    )
    project_id = await conn.fetchval(
        "insert into projects (full_path, name) values ('g/p' || $1, 'P') returning id",
        uuid.uuid4().hex[:8],
    )
    ids = [
        await conn.fetchval(
            "insert into issues (project_id, iid, title, author_id) "
            "values ($1, $2, 'T', $3) returning id",
            project_id,
            n,
            user_id,
        )
        for n in range(1, count + 1)
    ]
    return project_id, ids


async def _link(conn: asyncpg.Connection, source: int, target: int, kind: str = "relates") -> None:
    await conn.execute(
        "insert into issue_links (source_id, target_id, link_type) values ($1, $2, $3::link_type)",
        source,
        target,
        kind,
    )


async def test_database_rejects_a_self_link(conn):
    _, (a,) = await _issues(conn, 1)
    with pytest.raises(asyncpg.CheckViolationError, match="issue_links_not_self"):
        await _link(conn, a, a)
    assert await conn.fetchval("select count(*) from issue_links") == 0


async def test_database_allows_one_link_per_unordered_pair(conn):
    _, (a, b, c) = await _issues(conn, 3)
    await _link(conn, a, b, "blocks")
    # Same pair, either direction, any type.
    for source, target, kind in [(a, b, "blocks"), (b, a, "blocks"), (b, a, "relates")]:
        with pytest.raises(asyncpg.UniqueViolationError, match="issue_links_one_per_pair"):
            await _link(conn, source, target, kind)
    await _link(conn, a, c, "relates")  # another pair is fine
    assert await conn.fetchval("select count(*) from issue_links") == 2


async def test_database_allows_one_parent_per_issue(conn):
    _, (parent1, parent2, child, other) = await _issues(conn, 4)
    await _link(conn, parent1, child, "parent")
    with pytest.raises(asyncpg.UniqueViolationError, match="issue_links_one_parent"):
        await _link(conn, parent2, child, "parent")
    # A parent may have several children, and a child may have non-parent links.
    await _link(conn, parent1, other, "parent")
    await _link(conn, parent2, child, "blocks")
    assert await conn.fetchval("select count(*) from issue_links where link_type = 'parent'") == 2


async def test_database_keeps_iid_unique_per_project(conn):
    project_a, _ = await _issues(conn, 1)
    project_b, _ = await _issues(conn, 1)
    author = await conn.fetchval("select min(id) from users")
    with pytest.raises(asyncpg.UniqueViolationError, match="issues_iid_per_project"):
        await conn.execute(
            "insert into issues (project_id, iid, title, author_id) values ($1, 1, 'Dup', $2)",
            project_a,
            author,
        )
    # The same iid in another project is fine: both projects hold an issue #1.
    rows = await conn.fetch("select project_id from issues where iid = 1 order by project_id")
    assert [r["project_id"] for r in rows] == sorted([project_a, project_b])
