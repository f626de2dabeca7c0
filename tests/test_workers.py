"""`issuegraph serve --workers 2` (docs/scaling.md, "Workers"): a worker killed under
load is replaced and loses no acknowledged write; SIGTERM lets a request in flight
finish; /metrics on any worker counts every worker's requests."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from prometheus_client.parser import text_string_to_metric_families

from issuegraph.demo import seed_demo
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope
from tests.helpers import Served, free_port, serve_process

CREATE = (
    "mutation($input: CreateIssueInput!) { createIssue(input: $input) "
    "{ errors { code } issue { iid title } } }"
)
READ = '{ project(fullPath: "acme/platform") { issues(first: 20) { nodes { iid title } } } }'


def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ISSUEGRAPH_DATA_DIR": str(tmp_path / "data"),
        "ISSUEGRAPH_LOG_LEVEL": "WARNING",
    }


def workers_of(served: Served) -> set[int]:
    assert served.process is not None
    return {child.pid for child in psutil.Process(served.process.pid).children()}


async def until_workers(served: Served, count: int, *, besides: set[int] = frozenset()) -> set[int]:
    for _ in range(300):
        found = workers_of(served)
        if len(found) == count and not (found & besides):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} workers, found {workers_of(served)}")


async def test_a_worker_killed_under_load_is_replaced_and_no_acknowledged_write_is_lost(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
):
    await seed_demo(pool)
    _, token = await create_token(pool, "alice", scopes=[TokenScope.API])
    async with serve_process(free_port(), environment(database_url, tmp_path)) as served:
        first = await until_workers(served, 2)
        acknowledged: list[str] = []
        refused: list[str] = []  # requests cut with the killed worker's connections
        failed: list[Any] = []  # anything else: an answer that is not a success
        stop = asyncio.Event()

        async def writer(n: int) -> None:
            # A connection per request: each is accepted by whichever worker is free.
            count = 0
            while not stop.is_set():
                count += 1
                title = f"load {n}-{count}"
                variables = {"input": {"project": "acme/platform", "title": title}}
                try:
                    async with (
                        aiohttp.ClientSession() as session,
                        session.post(
                            f"{served.base}/graphql",
                            json={"query": CREATE, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"},
                        ) as response,
                    ):
                        body = await response.json()
                        if response.status == 200 and body["data"]["createIssue"]["errors"] == []:
                            acknowledged.append(title)
                        else:
                            failed.append((response.status, body))
                except (aiohttp.ClientConnectionError, aiohttp.ServerDisconnectedError) as error:
                    refused.append(f"{title}: {error!r}")

        async def reader() -> None:
            while not stop.is_set():
                try:
                    async with (
                        aiohttp.ClientSession() as session,
                        session.post(f"{served.base}/graphql", json={"query": READ}) as response,
                    ):
                        if response.status != 200:
                            failed.append((response.status, await response.text()))
                except (aiohttp.ClientConnectionError, aiohttp.ServerDisconnectedError) as error:
                    refused.append(repr(error))

        clients = [asyncio.create_task(writer(n)) for n in range(6)]
        clients += [asyncio.create_task(reader()) for _ in range(2)]
        await asyncio.sleep(2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        replaced = await until_workers(served, 2, besides={victim})
        await asyncio.sleep(2)  # the new worker serves too
        stop.set()
        await asyncio.gather(*clients)

    assert failed == []
    # Only what was in flight on the killed worker was cut: at most one per client.
    assert len(refused) <= len(clients), refused
    assert len(replaced - first) == 1
    assert len(acknowledged) > 20
    stored = {r["title"] for r in await pool.fetch("select title from issues")}
    assert set(acknowledged) <= stored


async def test_sigterm_lets_a_request_in_flight_finish(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
):
    """A mutation waiting on a row lock when SIGTERM arrives still commits and answers."""
    await seed_demo(pool)
    _, token = await create_token(pool, "alice", scopes=[TokenScope.API])
    update = (
        "mutation($input: UpdateIssueInput!) { updateIssue(input: $input) "
        "{ errors { code } issue { title } } }"
    )
    variables = {"input": {"project": "acme/platform", "iid": 1, "title": "Finished in drain"}}
    async with serve_process(free_port(), environment(database_url, tmp_path)) as served:
        await until_workers(served, 2)
        async with pool.acquire() as locker, aiohttp.ClientSession() as session:
            holding = locker.transaction()
            await holding.start()
            await locker.execute(
                "select 1 from issues i join projects p on p.id = i.project_id "
                "where p.full_path = 'acme/platform' and i.iid = 1 for update of i"
            )
            request = asyncio.create_task(
                session.post(
                    f"{served.base}/graphql",
                    json={"query": update, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
            for _ in range(100):  # until the mutation waits on the lock
                waiting = await pool.fetchval(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                )
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting
            assert served.process is not None
            served.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            await holding.commit()
            response = await asyncio.wait_for(request, 20)
            answer = await response.json()
        code = await asyncio.wait_for(served.process.wait(), 30)
    assert response.status == 200
    assert answer["data"]["updateIssue"] == {"errors": [], "issue": {"title": "Finished in drain"}}
    assert code == 0
    stored = await pool.fetchval(
        "select title from issues i join projects p on p.id = i.project_id "
        "where p.full_path = 'acme/platform' and i.iid = 1"
    )
    assert stored == "Finished in drain"


async def test_metrics_on_any_worker_count_every_workers_requests(
    database_url: str, tmp_path: Path, pool
):
    await seed_demo(pool)
    async with serve_process(free_port(), environment(database_url, tmp_path)) as served:
        await until_workers(served, 2)
        for _ in range(40):  # a connection each: both workers take some
            async with aiohttp.ClientSession() as session:
                response = await session.post(
                    f"{served.base}/graphql", json={"query": READ, "operationName": None}
                )
                assert response.status == 200
        totals = set()
        for _ in range(6):
            async with aiohttp.ClientSession() as session:
                text = await (await session.get(f"{served.base}/metrics")).text()
            families = {f.name: f for f in text_string_to_metric_families(text)}
            totals.add(
                sum(
                    s.value
                    for s in families["issuegraph_requests"].samples
                    if s.name == "issuegraph_requests_total" and s.labels["kind"] == "graphql"
                )
            )
            pools = [
                s.value
                for s in families["issuegraph_db_pool_max_connections"].samples
                if s.labels.get("database") == "primary"
            ]
            assert pools == [20]  # two workers' pools of 10, summed
    assert totals == {40.0}
