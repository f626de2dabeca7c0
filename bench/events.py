"""What the change log costs a write, and how fast its events reach many subscribers.

    .venv/bin/python -m bench.events mutations                      # this checkout only
    .venv/bin/python -m bench.events mutations --baseline /path/to/old/.venv/bin/issuegraph
    .venv/bin/python -m bench.events mutations --delete --link-type BLOCKS --label NAME
    .venv/bin/python -m bench.events fanout --subscriptions 1000

Both start their own PostgreSQL (the embedded server in ISSUEGRAPH_DATA_DIR, default
/tmp/issuegraph-bench-events; or DATABASE_URL) and `issuegraph serve` processes against it,
and talk to them over loopback HTTP and WebSocket, as clients do.

`mutations`: `createIssueLink` (RELATES_TO, each request a fresh pair of issues) at each
concurrency for a fixed duration, after a warm-up. With `--baseline`, the same load runs
against that executable too (an older checkout, built before the change log: it shares
the database, writes no events), alternating the two servers round after round, so that
drift in the machine's speed falls on both alike. With `--delete`, each create cell is
followed by `deleteIssueLink` of the links it made (through their source issue), timed
the same way. `--link-type` picks the links' type. Reports requests/s, p50 and p99 per
server and the ratios; writes bench/results/events-mutations[-LABEL].md and .json.

`fanout`: opens N subscriptions to `issueLinkEvents` of one project (spread over
WebSocket connections, graphql-transport-ws) on one server process, then creates links
over HTTP at a steady rate. For every delivery it takes the time from the writing
transaction's start (`occurredAt`, the database's clock on the same machine: an upper
bound of commit-to-delivery) to its arrival; it checks that every subscription got every
event once and in order, and measures the server's memory per subscription. Writes
bench/results/events-fanout.md and .json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.http import free_port, percentile
from issuegraph.config import Settings
from issuegraph.db.database import open_database
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope

if TYPE_CHECKING:
    from collections.abc import Sequence

    import asyncpg

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DEFAULT_DATA_DIR = Path("/tmp/issuegraph-bench-events")  # noqa: S108  (scratch data, by design)
PROJECT = "bench/events"
USERNAME = "bench-events"
STARTUP_SECONDS = 60.0

LINK = """mutation($input: CreateIssueLinkInput!) {
  createIssueLink(input: $input) { errors { code message } link { databaseId } } }"""
UNLINK = """mutation($input: DeleteIssueLinkInput!) {
  deleteIssueLink(input: $input) { errors { code message } link { databaseId } } }"""
SUBSCRIPTION = """subscription($project: ID) {
  issueLinkEvents(project: $project) { cursor occurredAt kind link { databaseId } } }"""


class BenchError(Exception):
    pass


# -- the database and the servers ----------------------------------------------------------


async def prepare(pool: asyncpg.Pool, issues: int) -> str:
    """A fresh project of `issues` issues and a token of an admin: returns the token."""
    await pool.execute(
        """
        insert into users (username, name, is_admin) values ($1, 'Bench events', true)
        on conflict do nothing
        """,
        USERNAME,
    )
    user_id = await pool.fetchval("select id from users where lower(username) = $1", USERNAME)
    project_id = await pool.fetchval("select id from projects where lower(full_path) = $1", PROJECT)
    if project_id is None:
        project_id = await pool.fetchval(
            "insert into projects (full_path, name, visibility) values ($1, 'Events', 'public')"
            " returning id",
            PROJECT,
        )
    await pool.execute(
        """
        with made as (
            update projects set last_issue_iid = last_issue_iid + $2 where id = $1
            returning last_issue_iid - $2 as base
        )
        insert into issues (project_id, iid, title, author_id)
        select $1, made.base + n, 'Issue ' || (made.base + n), $3
          from made, generate_series(1, $2) as n
        """,
        project_id,
        issues,
        user_id,
    )
    _, token = await create_token(pool, USERNAME, scopes=[TokenScope.API])
    return token


async def free_pairs(pool: asyncpg.Pool) -> list[tuple[int, int]]:
    """Pairs of neighbouring iids of the project with no link at either end."""
    rows = await pool.fetch(
        """
        select i.iid from issues i join projects p on p.id = i.project_id
         where lower(p.full_path) = $1
           and not exists (select 1 from issue_links l where l.source_id = i.id
                                                       or l.target_id = i.id)
         order by i.iid
        """,
        PROJECT,
    )
    iids = [r["iid"] for r in rows]
    return [(iids[n], iids[n + 1]) for n in range(0, len(iids) - 1, 2)]


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(dsn: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC"}
    }
    env.update(DATABASE_URL=dsn, ISSUEGRAPH_LOG_LEVEL="WARNING")
    return env


async def start_server(name: str, executable: str, dsn: str, extra: dict[str, str]) -> Server:
    port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = (RESULTS / f"events-{name}.log").open("wb")
    # Started and left running: nothing blocks on it here.
    process = subprocess.Popen(  # noqa: S603, ASYNC220  (our own entry point, or the one asked for)
        [executable, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**server_env(dsn), **extra},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(name, f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + STARTUP_SECONDS
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{name} exited ({process.returncode}): see {log.name}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{server.url}/readyz") as response:
                    if response.status == 200:
                        return server
            await asyncio.sleep(0.1)
    server.stop()
    raise BenchError(f"{name} was not ready after {STARTUP_SECONDS:.0f} s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            kilobytes = float(line.split()[1])
            return kilobytes / 1024
    raise BenchError(f"no VmRSS for process {pid}")


def link_input(pair: tuple[int, int], link_type: str = "RELATES_TO") -> dict[str, Any]:
    return {
        "project": PROJECT,
        "iid": pair[0],
        "targetProject": PROJECT,
        "targetIssueIid": pair[1],
        "linkType": link_type,
    }


async def _mutate(
    session: aiohttp.ClientSession, url: str, token: str, body: dict[str, Any], name: str
) -> dict[str, Any] | None:
    """The payload of mutation `name`, or None if it failed."""
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{url}/graphql", json=body, headers=headers) as response:
        answer = await response.json()
    if response.status != 200 or answer.get("errors"):
        return None
    payload: dict[str, Any] = answer["data"][name]
    return payload if payload["errors"] == [] else None


async def create_link(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    pair: tuple[int, int],
    link_type: str = "RELATES_TO",
) -> int | None:
    """The new link's databaseId, or None if the create failed."""
    body = {"query": LINK, "variables": {"input": link_input(pair, link_type)}}
    payload = await _mutate(session, url, token, body, "createIssueLink")
    return None if payload is None else int(payload["link"]["databaseId"])


async def delete_link(
    session: aiohttp.ClientSession, url: str, token: str, link: tuple[int, int]
) -> bool:
    """Delete link `link[1]` through its issue of iid `link[0]`."""
    variables = {"input": {"project": PROJECT, "iid": link[0], "linkId": str(link[1])}}
    body = {"query": UNLINK, "variables": variables}
    return await _mutate(session, url, token, body, "deleteIssueLink") is not None


# -- mutations ------------------------------------------------------------------------------


async def drive_links(
    url: str,
    token: str,
    pairs: list[tuple[int, int]],
    concurrency: int,
    seconds: float,
    *,
    link_type: str = "RELATES_TO",
    made: list[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """`concurrency` clients creating links from `pairs` (consumed) for `seconds`; the
    links made go to `made` as (iid of the source, databaseId)."""
    samples: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                if not pairs:
                    raise BenchError("out of issue pairs: raise --issues")
                pair = pairs.pop()
                sent = time.perf_counter()
                link_id = await create_link(session, url, token, pair, link_type)
                samples.append(time.perf_counter() - sent)
                errors += link_id is None
                if link_id is not None and made is not None:
                    made.append((pair[0], link_id))

        await asyncio.gather(*(client() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return _cell(samples, errors, wall)


async def drive_deletes(
    url: str, token: str, links: list[tuple[int, int]], concurrency: int, seconds: float
) -> dict[str, Any]:
    """`concurrency` clients deleting `links` (consumed) for `seconds`, or until none is
    left."""
    samples: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def client() -> None:
            nonlocal errors
            while links and time.perf_counter() < deadline:
                link = links.pop()
                sent = time.perf_counter()
                ok = await delete_link(session, url, token, link)
                samples.append(time.perf_counter() - sent)
                errors += not ok

        await asyncio.gather(*(client() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    if not samples:
        raise BenchError("no link to delete: the creates before failed")
    return _cell(samples, errors, wall)


def _cell(samples: list[float], errors: int, wall: float) -> dict[str, Any]:
    return {
        "requests": len(samples),
        "errors": errors,
        "rps": round((len(samples) - errors) / wall, 1),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(samples) * 1000, 2),
    }


def median_of(cells: list[dict[str, Any]], key: str) -> float:
    values: list[float] = [c[key] for c in cells]
    return round(statistics.median(values), 2)


async def mutations(args: argparse.Namespace, dsn: str, pool: asyncpg.Pool) -> dict[str, Any]:
    token = await prepare(pool, args.issues)
    pairs = await free_pairs(pool)
    executables = {"current": str(Path(sys.executable).with_name("issuegraph"))}
    if args.baseline:
        executables["baseline"] = args.baseline
    servers = {name: await start_server(name, exe, dsn, {}) for name, exe in executables.items()}
    kinds = ["create", "delete"] if args.delete else ["create"]
    cells: dict[str, dict[tuple[str, int], list[dict[str, Any]]]] = {
        name: {(k, c): [] for k in kinds for c in args.concurrency} for name in servers
    }
    try:
        for round_ in range(args.rounds):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for concurrency in args.concurrency:
                for name in order:
                    url = servers[name].url
                    warm: list[tuple[int, int]] = []
                    made: list[tuple[int, int]] = []
                    await drive_links(
                        url,
                        token,
                        pairs,
                        concurrency,
                        args.warmup,
                        link_type=args.link_type,
                        made=warm,
                    )
                    found = await drive_links(
                        url,
                        token,
                        pairs,
                        concurrency,
                        args.seconds,
                        link_type=args.link_type,
                        made=made,
                    )
                    cells[name]["create", concurrency].append(found)
                    print(f"round {round_ + 1} {name} create c={concurrency}: {found}", flush=True)
                    if args.delete:
                        await drive_deletes(url, token, warm, concurrency, args.warmup)
                        found = await drive_deletes(url, token, made, concurrency, args.seconds)
                        cells[name]["delete", concurrency].append(found)
                        print(
                            f"round {round_ + 1} {name} delete c={concurrency}: {found}",
                            flush=True,
                        )
    finally:
        for server in servers.values():
            server.stop()
    table = []
    for kind in kinds:
        for concurrency in args.concurrency:
            row: dict[str, Any] = {"mutation": kind, "concurrency": concurrency}
            for name in servers:
                runs = cells[name][kind, concurrency]
                row[name] = {
                    "rps": median_of(runs, "rps"),
                    "p50_ms": median_of(runs, "p50_ms"),
                    "p99_ms": median_of(runs, "p99_ms"),
                    "errors": sum(r["errors"] for r in runs),
                    "runs": runs,
                }
            table.append(row)
    return {
        "kind": "mutations",
        "label": args.label,
        "link_type": args.link_type,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "rows": table,
    }


def mutations_markdown(report: dict[str, Any]) -> str:
    names = [n for n in ("current", "baseline") if n in report["rows"][0]]
    lines = [
        f"# Link mutations ({report.get('link_type', 'RELATES_TO')}): "
        + (report.get("label") or "current and baseline"),
        "",
        (
            f"{report['when']}; {report['rounds']} rounds of {report['seconds']} s per cell, "
            "servers alternating; medians of the rounds. A delete removes the links the "
            "create before it made, through their source issue."
        ),
        "",
        "| mutation | concurrency | "
        + " | ".join(f"{n} req/s | {n} p50 ms | {n} p99 ms" for n in names)
        + (" | p50 ratio | req/s ratio |" if len(names) == 2 else " |"),
        "| --- | ---: | "
        + " | ".join("---: | ---: | ---:" for _ in names)
        + (" | ---: | ---: |" if len(names) == 2 else " |"),
    ]
    for row in report["rows"]:
        cells = " | ".join(
            f"{row[n]['rps']} | {row[n]['p50_ms']} | {row[n]['p99_ms']}" for n in names
        )
        ratios = ""
        if len(names) == 2:
            current, baseline = row["current"], row["baseline"]
            ratios = (
                f" | {current['p50_ms'] / baseline['p50_ms']:.3f}"
                f" | {current['rps'] / baseline['rps']:.3f} |"
            )
        mutation = {"create": "createIssueLink", "delete": "deleteIssueLink"}[
            row.get("mutation", "create")
        ]
        lines.append(f"| {mutation} | {row['concurrency']} | {cells}{ratios or ' |'}")
    return "\n".join(lines) + "\n"


# -- fan-out -------------------------------------------------------------------------------


@dataclass
class Subscriber:
    """One WebSocket connection carrying some subscriptions; what each received, when."""

    ids: list[str]
    received: dict[str, list[tuple[int, float, str]]]  # id -> [(link id, arrival, occurredAt)]


async def open_connection(
    session: aiohttp.ClientSession, url: str, token: str, ids: list[str]
) -> tuple[aiohttp.ClientWebSocketResponse, Subscriber]:
    ws = await session.ws_connect(
        f"{url.replace('http', 'ws', 1)}/graphql", protocols=("graphql-transport-ws",)
    )
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    ack = await ws.receive_json(timeout=30)
    if ack.get("type") != "connection_ack":
        raise BenchError(f"no connection_ack: {ack}")
    for sub_id in ids:
        await ws.send_json(
            {
                "id": sub_id,
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"project": PROJECT}},
            }
        )
    return ws, Subscriber(ids, {sub_id: [] for sub_id in ids})


async def read_connection(ws: aiohttp.ClientWebSocketResponse, subscriber: Subscriber) -> None:
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            break
        arrived = time.time()
        data = json.loads(message.data)
        if data.get("type") == "next":
            event = data["payload"]["data"]["issueLinkEvents"]
            subscriber.received[data["id"]].append(
                (event["link"]["databaseId"], arrived, event["occurredAt"])
            )
        elif data.get("type") == "ping":
            await ws.send_json({"type": "pong"})
        elif data.get("type") in {"error", "complete"}:
            raise BenchError(f"subscription ended: {data}")


async def subscribe_all(
    session: aiohttp.ClientSession, url: str, token: str, total: int, connections: int
) -> list[tuple[aiohttp.ClientWebSocketResponse, Subscriber]]:
    per_connection = -(-total // connections)
    opened = []
    made = 0
    for c in range(connections):
        ids = [f"s{c}-{n}" for n in range(min(per_connection, total - made))]
        made += len(ids)
        if ids:
            opened.append(await open_connection(session, url, token, ids))
    return opened


async def until_received(subscribers: list[Subscriber], count: int, seconds: float) -> bool:
    """Wait until every subscription holds `count` events; False at the deadline."""
    deadline = time.monotonic() + seconds
    while any(len(r) < count for s in subscribers for r in s.received.values()):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def deliveries(subscribers: list[Subscriber], expected: int) -> dict[str, Any]:
    latencies: list[float] = []
    complete = in_order = 0
    for s in subscribers:
        for got in s.received.values():
            ids = [link_id for link_id, _, _ in got]
            complete += len(got) == expected and len(set(ids)) == expected
            in_order += ids == sorted(ids)
            latencies += [
                arrived - dt.datetime.fromisoformat(occurred).timestamp()
                for _, arrived, occurred in got
            ]
    return {
        "deliveries": len(latencies),
        "subscriptions_complete": complete,
        "subscriptions_in_order": in_order,
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
    }


async def fanout(args: argparse.Namespace, dsn: str, pool: asyncpg.Pool) -> dict[str, Any]:
    token = await prepare(pool, 2 * (args.events + 1))
    pairs = await free_pairs(pool)
    per_connection = -(-args.subscriptions // args.connections)
    server = await start_server(
        "fanout",
        str(Path(sys.executable).with_name("issuegraph")),
        dsn,
        {"ISSUEGRAPH_WS_MAX_SUBSCRIPTIONS": str(max(per_connection, 100))},
    )
    readers: list[asyncio.Task[None]] = []
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.sleep(1)
            rss_before = rss_mb(server.pid)
            connections = await subscribe_all(
                session, server.url, token, args.subscriptions, args.connections
            )
            readers = [asyncio.create_task(read_connection(ws, sub)) for ws, sub in connections]
            subscribers = [sub for _, sub in connections]
            # Every subscription is live once a probe event has reached all of them.
            if await create_link(session, server.url, token, pairs.pop()) is None:
                raise BenchError("the probe link was refused")
            if not await until_received(subscribers, 1, 60):
                raise BenchError("the probe event did not reach every subscription")
            rss_after = rss_mb(server.pid)
            for s in subscribers:
                for r in s.received.values():
                    r.clear()
            client_cpu = time.process_time()
            started = time.perf_counter()
            for n in range(args.events):
                if await create_link(session, server.url, token, pairs.pop()) is None:
                    raise BenchError("a link was refused")
                await asyncio.sleep(max(0.0, started + (n + 1) / args.rate - time.perf_counter()))
            await until_received(subscribers, args.events, 60)
            client_cpu = time.process_time() - client_cpu
            for ws, _ in connections:
                await ws.close()
    finally:
        for task in readers:
            task.cancel()
        server.stop()
    return {
        "kind": "fanout",
        "subscriptions": args.subscriptions,
        "connections": len(subscribers),
        "events": args.events,
        "rate_per_second": args.rate,
        **deliveries(subscribers, args.events),
        "rss_before_mb": round(rss_before, 1),
        "rss_subscribed_mb": round(rss_after, 1),
        "kb_per_subscription": round((rss_after - rss_before) * 1024 / args.subscriptions, 1),
        "client_cpu_seconds": round(client_cpu, 1),
    }


def fanout_markdown(report: dict[str, Any]) -> str:
    r = report
    head = (
        f"{r['when']}; one server process; {r['subscriptions']} subscriptions to "
        f"`issueLinkEvents` over {r['connections']} WebSocket connections; {r['events']} "
        f"links created over HTTP at {r['rate_per_second']}/s."
    )
    row = " | ".join(
        str(v)
        for v in (
            r["deliveries"],
            r["subscriptions_complete"],
            r["subscriptions_in_order"],
            r["p50_ms"],
            r["p99_ms"],
            r["max_ms"],
            f"{r['rss_before_mb']} / {r['rss_subscribed_mb']}",
            r["kb_per_subscription"],
        )
    )
    return (
        "\n".join(
            [
                "# Change events fanned out to subscriptions",
                "",
                head,
                "",
                (
                    "| deliveries | complete and once | in order | p50 ms | p99 ms | max ms"
                    " | server RSS before / subscribed MB | KB per subscription |"
                ),
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                f"| {row} |",
                "",
                (
                    "Latency: from the writing transaction's start (`occurredAt`) to the delivery's"
                    " arrival at the client, both on this machine's clock: an upper bound of"
                    " commit-to-delivery."
                ),
            ]
        )
        + "\n"
    )


# -- command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    muts = sub.add_parser(
        "mutations", help="createIssueLink latency (and deleteIssueLink with --delete)"
    )
    muts.add_argument("--baseline", help="an issuegraph executable to compare against")
    muts.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    muts.add_argument("--seconds", type=float, default=15.0)
    muts.add_argument("--warmup", type=float, default=3.0)
    muts.add_argument("--rounds", type=int, default=3)
    muts.add_argument("--issues", type=int, default=60_000)
    muts.add_argument(
        "--delete",
        action="store_true",
        help="after each create cell, time deleteIssueLink on the links it made",
    )
    muts.add_argument(
        "--link-type", default="RELATES_TO", help="the links' type (default RELATES_TO)"
    )
    muts.add_argument("--label", help="write events-mutations-LABEL.md/.json")
    fan = sub.add_parser("fanout", help="commit-to-delivery for many subscriptions")
    fan.add_argument("--subscriptions", type=int, default=1000)
    fan.add_argument("--connections", type=int, default=50)
    fan.add_argument("--events", type=int, default=200)
    fan.add_argument("--rate", type=float, default=20.0, help="links created per second")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.from_env()
    if settings.database_url is None and "ISSUEGRAPH_DATA_DIR" not in os.environ:
        settings = dataclasses.replace(settings, data_dir=DEFAULT_DATA_DIR)
    async with open_database(settings) as database:
        pool = database.pool
        if args.command == "mutations":
            report = await mutations(args, database.dsn, pool)
        else:
            report = await fanout(args, database.dsn, pool)
    report["when"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return report


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    name = f"events-{report['kind']}"
    if report.get("label"):
        name += f"-{report['label']}"
    text = mutations_markdown(report) if report["kind"] == "mutations" else fanout_markdown(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
