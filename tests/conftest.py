"""Fixtures: a real PostgreSQL for the whole run, a fresh database for every test.

Without DATABASE_URL the tests start the same embedded server the service uses
(in a temporary data directory, deleted afterwards). With DATABASE_URL they use
that server, which must allow CREATE DATABASE. Each test gets its own database,
cloned from a migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.db.embedded import start_embedded
from issuegraph.db.migrate import migrate
from tests.helpers import Api, World


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="issuegraph-test-") as data_dir:
        server = start_embedded(Path(data_dir), delete_on_stop=True)
        try:
            yield server.admin_dsn
        finally:
            server.stop()


@pytest.fixture(scope="session")
async def template_db(admin_dsn: str) -> AsyncIterator[str]:
    name = f"issuegraph_template_{os.getpid()}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'drop database if exists "{name}"')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    migrated = await asyncpg.connect(with_database(admin_dsn, name))
    try:
        await migrate(migrated)
    finally:
        await migrated.close()
    yield name
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


@pytest.fixture
async def database_url(admin_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own."""
    name = f"issuegraph_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'create database "{name}" template "{template_db}"')
    finally:
        await conn.close()
    yield with_database(admin_dsn, name)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        public_url="http://issuegraph.test",
        pool_min_size=1,
        pool_max_size=10,
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of the test's own, for arranging data and checking rows directly."""
    async with asyncpg.create_pool(database_url, min_size=1, max_size=4) as created:
        yield created


@pytest.fixture
async def api(aiohttp_client: Any, settings: Settings) -> AsyncIterator[Api]:
    """The real application, served over HTTP on a loopback port."""
    client = await aiohttp_client(create_app(settings))
    yield Api(client)
    # Close the app (and its pool) before this test's database is dropped.
    await client.close()


@pytest.fixture
async def world(pool: asyncpg.Pool) -> World:
    """A builder for users, tokens, projects and issues, through the domain's own paths."""
    return World(pool)
