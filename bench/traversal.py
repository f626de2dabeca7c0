"""Time `dependencies` over HTTP on a generated graph, and the walk alone in SQL.

Reads the data set that `bench.generate` described in bench/results/dataset.json, starts
`issuegraph serve` as a separate process on the same database, and times the
`dependencies` query from the data set's deep root (an issue whose upstream `blocks`
closure holds about 10,000 issues, 50 levels deep) in each direction, as an admin and as
an ordinary user, plus the same walk as one SQL statement without GraphQL. Writes
bench/results/traversal.md and traversal.json.

    .venv/bin/python -m bench.traversal [--generate] [--large] [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from issuegraph.config import Settings
from issuegraph.db.database import open_database

RESULTS = Path(__file__).resolve().parent / "results"
QUERY = """
query($project: ID!, $iid: Int!, $direction: DependencyDirection!) {
  issue(project: $project, iid: $iid) {
    dependencies(direction: $direction, maxDepth: 50, first: 10000) {
      depthReached truncated
      nodes { distance issue { iid title state } }
      edges { databaseId }
    }
  }
}
"""
FARTHEST_BLOCKER = """
select i.id, i.iid, p.full_path
  from issue_graph_walk(array[$1::bigint], array['blocks']::link_type[], false, true, 100,
                        null, null, true) w
  join issues i on i.id = w.issue_id join projects p on p.id = i.project_id
 order by w.distance desc, i.id
 limit 1
"""
SQL_WALK = """
select count(*), max(w.distance) from issue_graph_walk(
    array[$1::bigint], array['blocks']::link_type[], $2, $3, 50, null, $4::bigint, $5)
    as w
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "runs": len(samples),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 1),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1),
    }


async def time_http(
    session: aiohttp.ClientSession, url: str, token: str, variables: dict[str, Any], runs: int
) -> tuple[dict[str, float], dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    body: dict[str, Any] = {}
    samples: list[float] = []
    for n in range(runs + 3):  # three warm-up requests
        started = time.perf_counter()
        async with session.post(
            url, json={"query": QUERY, "variables": variables}, headers=headers
        ) as response:
            body = await response.json()
        if n >= 3:
            samples.append(time.perf_counter() - started)
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    graph = body["data"]["issue"]["dependencies"]
    shape = {
        "nodes": len(graph["nodes"]),
        "edges": len(graph["edges"]),
        "depthReached": graph["depthReached"],
        "truncated": graph["truncated"],
        "response_bytes": len(json.dumps(body)),
    }
    return summary(samples), shape


async def time_sql(
    dsn: str, issue_id: int, *, down: bool, up: bool, viewer: int | None, admin: bool, runs: int
) -> tuple[dict[str, float], tuple[int, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        samples: list[float] = []
        row = None
        for n in range(runs + 3):
            started = time.perf_counter()
            row = await conn.fetchrow(SQL_WALK, issue_id, down, up, viewer, admin)
            if n >= 3:
                samples.append(time.perf_counter() - started)
        if row is None:
            raise RuntimeError("the walk returned no row")
        return summary(samples), (row[0], row[1] or 0)
    finally:
        await conn.close()


async def run(dataset: dict[str, Any], dsn: str, runs: int) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": dsn, "ISSUEGRAPH_LOG_LEVEL": "WARNING"}
    # The server is a process of its own; starting it blocks the loop for a moment, harmlessly.
    server = subprocess.Popen(  # noqa: S603, ASYNC220
        [sys.executable, "-m", "issuegraph", "serve", "--port", str(port)], env=env
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            for _ in range(300):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            deep = dataset["deep"]
            conn = await asyncpg.connect(dsn)
            try:
                user_id = await conn.fetchval(
                    "select id from users where username = $1", dataset["users"]["user"]
                )
                # Nothing waits on the deep root, so DOWNSTREAM starts at the far end of
                # its closure instead: an issue 50 levels up, whose downstream is large.
                source = await conn.fetchrow(FARTHEST_BLOCKER, deep["issue_id"])
            finally:
                await conn.close()
            starts = {
                "UPSTREAM": (deep["project"], deep["iid"], deep["issue_id"]),
                "BOTH": (deep["project"], deep["iid"], deep["issue_id"]),
                "DOWNSTREAM": (source["full_path"], source["iid"], source["id"]),
            }
            rows = []
            for who, token, viewer, admin in (
                ("admin", dataset["tokens"]["bench-admin"], None, True),
                ("user", dataset["tokens"]["bench-user"], user_id, False),
            ):
                for direction, down, up in (
                    ("UPSTREAM", False, True),
                    ("DOWNSTREAM", True, False),
                    ("BOTH", True, True),
                ):
                    path, iid, issue_id = starts[direction]
                    http, shape = await time_http(
                        session,
                        url,
                        token,
                        {"project": path, "iid": iid, "direction": direction},
                        runs,
                    )
                    sql, (count, depth) = await time_sql(
                        dsn,
                        issue_id,
                        down=down,
                        up=up,
                        viewer=viewer,
                        admin=admin,
                        runs=runs,
                    )
                    rows.append(
                        {
                            "viewer": who,
                            "direction": direction,
                            "start": f"{path}#{iid}",
                            **shape,
                            "http": http,
                            "sql_walk": {**sql, "issues": count, "depth": depth},
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
            return {"rows": rows}
    finally:
        server.terminate()
        server.wait(timeout=30)


async def with_database(dataset: dict[str, Any], runs: int) -> dict[str, Any]:
    """Find the database as the service does (starting the embedded server if it is ours)."""
    async with open_database(Settings.from_env()) as database:
        return await run(dataset, database.dsn, runs)


def markdown(report: dict[str, Any]) -> str:
    counts = report["dataset"]["counts"]
    deep = report["dataset"]["deep"]
    lines = [
        "# dependencies: latency on a generated graph",
        "",
        (
            f"Data: {counts['issues']:,} issues, {counts['issue_links']:,} links; start issue "
            f"{deep['project']}#{deep['iid']} (upstream closure {deep['closure_size']:,} issues, "
            f"depth {deep['depth']}). {report['runs']} timed runs per row, after 3 warm-ups; one "
            "client, one server process, loopback HTTP."
        ),
        "",
        (
            "| viewer | direction | from | nodes | edges | depth | HTTP p50 ms | HTTP p99 ms "
            "| SQL walk p50 ms | SQL walk p99 ms | response KB |"
        ),
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines.extend(
        f"| {row['viewer']} | {row['direction']} | {row['start']} "
        f"| {row['nodes']:,} | {row['edges']:,} "
        f"| {row['depthReached']} | {row['http']['p50_ms']} | {row['http']['p99_ms']} "
        f"| {row['sql_walk']['p50_ms']} | {row['sql_walk']['p99_ms']} "
        f"| {row['response_bytes'] // 1024:,} |"
        for row in report["rows"]
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.traversal", description=__doc__)
    parser.add_argument("--generate", action="store_true", help="run bench.generate --reset first")
    parser.add_argument("--large", action="store_true", help="with --generate: 1M issues/3M links")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per row (default 30)")
    args = parser.parse_args()
    if args.generate:
        command = [sys.executable, "-m", "bench.generate", "--reset"]
        if args.large:
            command.append("--large")
        subprocess.run(command, check=True)  # noqa: S603
    dataset = json.loads((RESULTS / "dataset.json").read_text())
    report = asyncio.run(with_database(dataset, args.runs))
    report.update(runs=args.runs, dataset=dataset)
    report["dataset"] = {k: dataset[k] for k in ("counts", "deep", "seed")}
    (RESULTS / "traversal.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "traversal.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
