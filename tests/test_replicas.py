"""Reads from a real streaming replica (docs/scaling.md, "Read replicas").

The replica is made in the test from the embedded server's own binaries (tests/replica.py:
`pg_basebackup -R`, a second data directory, a second port). Its replay is paused with
`pg_wal_replay_pause()` to hold it back; it is stopped and started like any server.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.db.database import create_database_if_missing
from issuegraph.db.migrate import migrate
from issuegraph.demo import seed_demo
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope
from issuegraph.routing import LSN_COOKIE, LSN_HEADER
from tests.replica import Replica, primary_with_replica

DATABASE = "issuegraph"
ISSUES = '{ project(fullPath: "acme/platform") { issues(first: 100) { nodes { title } } } }'
CREATE = (
    "mutation($input: CreateIssueInput!) { createIssue(input: $input) "
    "{ errors { code } issue { iid title } } }"
)


@dataclasses.dataclass
class Cluster:
    primary_dsn: str
    replica: Replica
    settings: Settings


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("cluster")
    with primary_with_replica(Path(directory)) as (primary, replica):
        dsn = primary.dsn(DATABASE)

        async def prepare() -> None:
            await create_database_if_missing(primary.admin_dsn, DATABASE)
            conn = await asyncpg.connect(dsn)
            try:
                await migrate(conn)
                await seed_demo(conn)
            finally:
                await conn.close()
            await replica.caught_up_with(dsn)

        asyncio.run(prepare())
        settings = Settings(
            database_url=dsn,
            data_dir=Path(directory) / "unused",
            replica_urls=(replica.dsn(DATABASE),),
            replica_poll_seconds=0.05,
            pool_min_size=1,
            pool_max_size=5,
            webhook_poll_ms=0,
        )
        yield Cluster(dsn, replica, settings)


@pytest.fixture
async def served(aiohttp_client: Any, cluster: Cluster) -> AsyncIterator[Any]:
    await cluster.replica.execute("select pg_wal_replay_resume()")
    client = await aiohttp_client(create_app(cluster.settings))
    await until_ready(client, "in rotation")
    yield client
    await client.close()
    await cluster.replica.execute("select pg_wal_replay_resume()")


async def until_ready(client: Any, replica_state: str) -> dict[str, Any]:
    for _ in range(400):
        body = await (await client.get("/readyz")).json()
        if list(body["databases"].values())[1:] == [replica_state]:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"the replica never became {replica_state!r}: {body}")


async def token_of(cluster: Cluster, username: str) -> str:
    conn = await asyncpg.connect(cluster.primary_dsn)
    try:
        _, token = await create_token(conn, username, scopes=[TokenScope.API])
    finally:
        await conn.close()
    return token


async def titles(client: Any, headers: dict[str, str] | None = None) -> set[str]:
    """The public project's titles, read by a client of its own (no cookie carried over)."""
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            client.make_url("/graphql"), json={"query": ISSUES}, headers=headers or {}
        )
        assert response.status == 200
        body = await response.json()
    assert "errors" not in body, body
    return {node["title"] for node in body["data"]["project"]["issues"]["nodes"]}


async def create_issue(client: Any, token: str, title: str) -> Any:
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            client.make_url("/graphql"),
            json={
                "query": CREATE,
                "variables": {"input": {"project": "acme/platform", "title": title}},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        body = await response.json()
        assert body["data"]["createIssue"]["errors"] == []
        return response


async def test_a_writer_reads_its_write_while_other_readers_are_served_by_the_held_back_replica(
    cluster, served
):
    token, other = await token_of(cluster, "alice"), await token_of(cluster, "bob")
    await cluster.replica.caught_up_with(cluster.primary_dsn)
    await cluster.replica.execute("select pg_wal_replay_pause()")

    written = await create_issue(served, token, "Written while the replica waits")

    position = written.headers[LSN_HEADER]
    assert written.cookies[LSN_COOKIE].value == position
    # The writer, by its token (this process remembers it) or by the position it was given:
    assert "Written while the replica waits" in await titles(
        served, {"Authorization": f"Bearer {token}"}
    )
    assert "Written while the replica waits" in await titles(served, {LSN_HEADER: position})
    assert "Written while the replica waits" in await titles(
        served, {"Cookie": f"{LSN_COOKIE}={position}"}
    )
    # Everyone else reads from the replica, which has not replayed the write yet.
    assert "Written while the replica waits" not in await titles(served)
    assert "Written while the replica waits" not in await titles(
        served, {"Authorization": f"Bearer {other}"}
    )
    metrics = await (await served.get("/metrics")).text()
    assert 'issuegraph_reads_routed_total{database="primary",reason="behind_client"}' in metrics
    assert 'reason="replica"' in metrics

    await cluster.replica.execute("select pg_wal_replay_resume()")
    await cluster.replica.caught_up_with(cluster.primary_dsn)
    assert "Written while the replica waits" in await titles(served)


async def test_a_token_newer_than_the_replica_is_served_by_the_primary(cluster, served):
    await cluster.replica.execute("select pg_wal_replay_pause()")
    fresh = await token_of(cluster, "carol")  # on the primary only
    assert await titles(served, {"Authorization": f"Bearer {fresh}"})


async def test_stopping_the_replica_fails_no_request_and_restarting_it_brings_it_back(
    cluster, served
):
    await asyncio.gather(*(titles(served) for _ in range(10)))
    cluster.replica.stop()
    try:
        # Reads keep succeeding at once, before and after the router has seen it go.
        for _ in range(5):
            results = await asyncio.gather(*(titles(served) for _ in range(10)))
            assert all(results)
        body = await until_ready(served, "down")
        assert body["status"] == "ok"
        assert body["databases"]["primary"] == "up"
    finally:
        cluster.replica.start()
    await until_ready(served, "in rotation")
    before = await (await served.get("/metrics")).text()
    await asyncio.gather(*(titles(served) for _ in range(10)))
    after = await (await served.get("/metrics")).text()
    assert _routed(after, "replica") - _routed(before, "replica") == 10


def _routed(metrics: str, reason: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("issuegraph_reads_routed_total{") and f'reason="{reason}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_rest_reads_follow_the_same_rules(cluster, served):
    token = await token_of(cluster, "alice")
    await cluster.replica.caught_up_with(cluster.primary_dsn)
    await cluster.replica.execute("select pg_wal_replay_pause()")
    async with aiohttp.ClientSession() as session:
        created = await session.post(
            served.make_url("/api/v4/projects/acme%2Fplatform/issues/1/links"),
            json={"target_project_id": "acme/platform", "target_issue_iid": 9},
            headers={"PRIVATE-TOKEN": token},
        )
        assert created.status == 201, await created.text()
        position = created.headers[LSN_HEADER]
        url = served.make_url("/api/v4/projects/acme%2Fplatform/issues/1/links")
        mine = await (await session.get(url, headers={LSN_HEADER: position})).json()
        theirs = await (await session.get(url)).json()
    assert 9 in {link["iid"] for link in mine}
    assert 9 not in {link["iid"] for link in theirs}


async def test_a_replica_lagging_past_the_bound_leaves_the_rotation_and_comes_back(
    aiohttp_client, cluster
):
    # A bound of one byte: any write the replica has not replayed puts it past the bound.
    strict = dataclasses.replace(cluster.settings, replica_max_lag_bytes=1)
    await cluster.replica.execute("select pg_wal_replay_resume()")
    await cluster.replica.caught_up_with(cluster.primary_dsn)
    client = await aiohttp_client(create_app(strict))
    try:
        await until_ready(client, "in rotation")
        token = await token_of(cluster, "alice")
        await cluster.replica.caught_up_with(cluster.primary_dsn)
        await until_ready(client, "in rotation")
        await cluster.replica.execute("select pg_wal_replay_pause()")
        await create_issue(client, token, "Written past the bound")
        await until_ready(client, "lagging")
        # Out of rotation: even a reader that wrote nothing reads from the primary.
        assert "Written past the bound" in await titles(client)
        metrics = await (await client.get("/metrics")).text()
        assert 'issuegraph_replica_in_rotation{database="replica1"} 0.0' in metrics
        await cluster.replica.execute("select pg_wal_replay_resume()")
        await until_ready(client, "in rotation")
    finally:
        await cluster.replica.execute("select pg_wal_replay_resume()")
        await client.close()


EVENTS = """
query($after: String) {
  events(project: "acme/platform", first: 100, after: $after) {
    edges { cursor node { databaseId kind } }
  }
}
"""


async def events_page(
    client: Any, after: str | None, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """A page of the change log past `after`, read by a client of its own."""
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            client.make_url("/graphql"),
            json={"query": EVENTS, "variables": {"after": after}},
            headers=headers or {},
        )
        body = await response.json()
    assert "errors" not in body, body
    edges: list[dict[str, Any]] = body["data"]["events"]["edges"]
    return edges


async def test_a_reader_of_the_change_log_on_a_held_back_replica_misses_nothing(cluster, served):
    """Paging the log from a replica that is behind, then caught up, gives every event
    once, in order: the replica's horizon holds back what it has not replayed."""
    token = await token_of(cluster, "alice")
    await cluster.replica.caught_up_with(cluster.primary_dsn)
    seen: list[dict[str, Any]] = []
    while page := await events_page(served, seen[-1]["cursor"] if seen else None):
        seen += page
    cursor = seen[-1]["cursor"] if seen else None
    await cluster.replica.execute("select pg_wal_replay_pause()")
    for n in range(3):
        await create_issue(served, token, f"Logged while held back {n}")
    held = await events_page(served, cursor)
    assert held == []  # the replica has not replayed them: nothing yet, and no gap later
    await cluster.replica.execute("select pg_wal_replay_resume()")
    await cluster.replica.caught_up_with(cluster.primary_dsn)
    caught_up = await events_page(served, cursor)
    assert [e["node"]["kind"] for e in caught_up] == ["ISSUE_CREATED"] * 3
    # The primary's own answer (a position no replica has reached sends the read there).
    primary: list[dict[str, Any]] = []
    while page := await events_page(
        served, primary[-1]["cursor"] if primary else None, {LSN_HEADER: "FFFFFFFF/FFFFFFFF"}
    ):
        primary += page
    assert [e["node"]["databaseId"] for e in seen + caught_up] == [
        e["node"]["databaseId"] for e in primary
    ]
