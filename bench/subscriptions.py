"""Commit-to-delivery latency of subscriptions: many subscribers on one `issuegraph serve`.

    .venv/bin/python -m bench.subscriptions --subscriptions 1000 --per-connection 10

It starts `issuegraph serve` (its own embedded PostgreSQL in a temporary directory, or
DATABASE_URL), makes a user, a public project and an issue, opens the WebSocket
connections (graphql-transport-ws, `--per-connection` subscriptions each, every one to
`issueEvents` of the project), then changes the issue's title `--changes` times over HTTP,
one at a time. For each change and each subscription it measures the time from the
mutation's answer (its transaction has committed) to the event's arrival; "from the
request" adds the mutation's own time (an upper bound). Prints p50, p99 and max in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers import free_port, serve_process

SETUP = """
mutation($project: CreateProjectInput!) { createProject(input: $project) { errors { message } } }
"""
READERS: set[asyncio.Task[None]] = set()
QUERY = 'subscription { issueEvents(project: "bench/live") { issue { title } } }'


async def admin_token(env: dict[str, str]) -> str:
    """A user `bench-live` (admin) and its token, by the command line."""
    issuegraph = Path(sys.executable).with_name("issuegraph")
    create = await asyncio.create_subprocess_exec(
        str(issuegraph),
        "users",
        "create",
        "bench-live",
        "--admin",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await create.wait()
    token = await asyncio.create_subprocess_exec(
        str(issuegraph),
        "tokens",
        "create",
        "bench-live",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await token.communicate()
    return out.decode().strip().splitlines()[-1]


async def graphql(http: aiohttp.ClientSession, token: str, query: str, variables: dict) -> dict:
    async with http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        body = await response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def subscriber(
    url: str, token: str, count: int, arrivals: dict[str, list[float]]
) -> ClientConnection:
    ws = await connect(url, subprotocols=["graphql-transport-ws"], max_size=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    if json.loads(await ws.recv())["type"] != "connection_ack":
        raise RuntimeError("the connection was not acknowledged")
    for n in range(count):
        await ws.send(json.dumps({"type": "subscribe", "id": str(n), "payload": {"query": QUERY}}))

    async def read() -> None:
        async for message in ws:
            now = time.perf_counter()
            data = json.loads(message)
            if data["type"] == "next":
                title = data["payload"]["data"]["issueEvents"]["issue"]["title"]
                arrivals.setdefault(title, []).append(now)

    READERS.add(asyncio.get_running_loop().create_task(read()))
    return ws


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):7.1f}  p99 {p99:7.1f}  max {ordered[-1]:7.1f}"


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="issuegraph-bench-live-") as data_dir:
        env = {**os.environ, "ISSUEGRAPH_DATA_DIR": data_dir, "ISSUEGRAPH_LOG_LEVEL": "WARNING"}
        env["ISSUEGRAPH_WS_MAX_SUBSCRIPTIONS"] = str(args.per_connection)
        issuegraph = Path(sys.executable).with_name("issuegraph")
        migrate = await asyncio.create_subprocess_exec(
            str(issuegraph), "migrate", env=env, stdout=asyncio.subprocess.DEVNULL
        )
        await migrate.wait()
        token = await admin_token(env)
        async with (
            serve_process(free_port(), env) as served,
            aiohttp.ClientSession(served.base) as http,
        ):
            await graphql(
                http, token, SETUP, {"project": {"fullPath": "bench/live", "visibility": "PUBLIC"}}
            )
            created = await graphql(
                http,
                token,
                'mutation { createIssue(input: {project: "bench/live", title: "t"}) '
                "{ issue { iid } } }",
                {},
            )
            iid = created["createIssue"]["issue"]["iid"]
            arrivals: dict[str, list[float]] = {}
            url = served.base.replace("http://", "ws://") + "/graphql"
            connections = args.subscriptions // args.per_connection
            started = time.perf_counter()
            sockets = [
                await subscriber(url, token, args.per_connection, arrivals)
                for _ in range(connections)
            ]
            print(
                f"{connections * args.per_connection} subscriptions on {connections} "
                f"connections in {time.perf_counter() - started:.1f}s"
            )
            await asyncio.sleep(2)
            update = (
                'mutation($t: String!) { updateIssue(input: {project: "bench/live", '
                f"iid: {iid}, title: $t}}) {{ errors {{ message }} }} }}"
            )
            sent: dict[str, tuple[float, float]] = {}
            for n in range(args.changes):
                title = f"change {n}"
                before = time.perf_counter()
                await graphql(http, token, update, {"t": title})
                sent[title] = (before, time.perf_counter())
                await asyncio.sleep(args.pause)
            await asyncio.sleep(3)
            expected = connections * args.per_connection
            from_commit, from_request, missing = [], [], 0
            for title, (before, after) in sent.items():
                got = arrivals.get(title, [])
                missing += expected - len(got)
                from_commit += [(t - after) * 1000 for t in got]
                from_request += [(t - before) * 1000 for t in got]
            print(f"changes: {args.changes}, deliveries: {len(from_commit)}, missing: {missing}")
            print(f"from the commit (ms):  {percentiles(from_commit)}")
            print(f"from the request (ms): {percentiles(from_request)}")
            for ws in sockets:
                with contextlib.suppress(Exception):
                    await ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--per-connection", type=int, default=10)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between changes")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
