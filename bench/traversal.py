"""Time the dependency-graph fields over HTTP on a generated graph, and the walk alone in SQL.

Reads the data set that `bench.generate` described (bench/results/dataset.json, or
`--dataset`), starts `issuegraph serve` as a separate process on the same database (or
times a server that is already running, `--url`), and times, as an admin and as an
ordinary user:

- `dependencies` from the data set's deep root (an issue whose upstream `blocks` closure
  holds about 10,000 issues, 50 levels deep) in each direction: the whole answer, the
  same walk asking only `depthReached truncated` (a tiny answer: the walk plus fixed
  overhead, whatever the implementation), and the same walk as one SQL statement
  (`issue_graph_walk`) without GraphQL;
- the deep root's `criticalPath` (by count and weighted), `blockerRollup` and
  `openBlockers`;
- `dependencyOrder` and `readyIssues` (first page and totalCount) of the project whose
  open issues have the most open blockers;
- `path` between the deep root and the farthest issue of its closure, directed and not.

Every row records the answer's size and a digest of its `data`, so that two builds can be
checked to give the same answers. Writes bench/results/traversal[-LABEL].md and .json.

    .venv/bin/python -m bench.traversal [--generate [--large]] [--runs 20]
    .venv/bin/python -m bench.traversal --url http://127.0.0.1:9000 --label after \\
        --compare before
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg

from issuegraph.config import Settings
from issuegraph.db.database import open_database

if TYPE_CHECKING:
    from collections.abc import Callable

RESULTS = Path(__file__).resolve().parent / "results"
DATASET = RESULTS / "dataset.json"
WARMUPS = 3
STARTUP_SECONDS = 120.0

DEPENDENCIES = """
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
# The same walk, with an answer of a few bytes: what the walk costs plus fixed overhead.
DEPENDENCIES_WALK = """
query($project: ID!, $iid: Int!, $direction: DependencyDirection!) {
  issue(project: $project, iid: $iid) {
    dependencies(direction: $direction, maxDepth: 50, first: 10000) { depthReached truncated }
  }
}
"""
CRITICAL_PATH = """
query($project: ID!, $iid: Int!, $weighted: Boolean!) {
  issue(project: $project, iid: $iid) {
    criticalPath(weighted: $weighted) { issueCount totalWeight issues { iid title state weight } }
  }
}
"""
BLOCKER_ROLLUP = """
query($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    blockerRollup { total open completed percentCompleted }
  }
}
"""
OPEN_BLOCKERS = """
query($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) { openBlockers { iid title state } }
}
"""
DEPENDENCY_ORDER = """
query($project: ID!) {
  project(fullPath: $project) {
    dependencyOrder(first: 100) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { iid title state }
    }
  }
}
"""
READY_ISSUES = """
query($project: ID!) {
  project(fullPath: $project) {
    readyIssues(first: 100) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { iid title state }
    }
  }
}
"""
PATH = """
query($from: IssueRef!, $to: IssueRef!, $directed: Boolean!) {
  path(from: $from, to: $to, directed: $directed) {
    length
    issues { iid title state }
    links { databaseId }
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
# The project whose open issues have the most open blockers (links from an open issue).
MOST_BLOCKED_PROJECT = """
select p.full_path, count(*) as blocker_links, count(distinct i.id) as blocked_issues
  from issues i
  join issue_links l on l.target_id = i.id and l.link_type = 'blocks'
  join issues b on b.id = l.source_id and b.state = 'opened'
  join projects p on p.id = i.project_id
 where i.state = 'opened'
 group by p.id
 order by blocker_links desc, p.id
 limit 1
"""
SQL_WALK = """
select count(*), max(w.distance) from issue_graph_walk(
    array[$1::bigint], array['blocks']::link_type[], $2, $3, 50, null, $4::bigint, $5)
    as w
"""

# Latency targets, p50 (and p99) in ms over HTTP; the walk-only query for the walk.
TARGET_P50_MS = 150.0
TARGET_P99_MS = 300.0
TARGET_WALK_P50_MS = 50.0


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
        "min_ms": round(min(samples) * 1000, 1),
    }


def digest(data: Any) -> str:
    """The answer's fingerprint: equal digests, equal answers (key order aside)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- what is asked, and how its answer is summed up -------------------------------------


def _dependencies_shape(data: dict[str, Any]) -> dict[str, Any]:
    graph = data["issue"]["dependencies"]
    shape: dict[str, Any] = {
        "depthReached": graph["depthReached"],
        "truncated": graph["truncated"],
    }
    if "nodes" in graph:
        shape.update(nodes=len(graph["nodes"]), edges=len(graph["edges"]))
    return shape


def _critical_path_shape(data: dict[str, Any]) -> dict[str, Any]:
    found = data["issue"]["criticalPath"]
    return {
        "nodes": len(found["issues"]),
        "issueCount": found["issueCount"],
        "totalWeight": found["totalWeight"],
    }


def _rollup_shape(data: dict[str, Any]) -> dict[str, Any]:
    rollup = data["issue"]["blockerRollup"]
    return {"nodes": 0, **rollup}


def _open_blockers_shape(data: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": len(data["issue"]["openBlockers"])}


def _connection_shape(name: str) -> Any:
    def shape(data: dict[str, Any]) -> dict[str, Any]:
        page = data["project"][name]
        return {
            "nodes": len(page["nodes"]),
            "totalCount": page["totalCount"],
            "hasNextPage": page["pageInfo"]["hasNextPage"],
        }

    return shape


def _path_shape(data: dict[str, Any]) -> dict[str, Any]:
    found = data["path"]
    if found is None:
        return {"nodes": 0, "length": None}
    return {"nodes": len(found["issues"]), "length": found["length"]}


@dataclass
class Case:
    field: str  # the field timed ("dependencies (walk)": the walk-only query)
    variant: str  # which arguments
    query: str
    variables: dict[str, Any]
    shape: Any  # data -> dict of the answer's size
    start: str = ""
    sql: dict[str, Any] | None = None  # the same walk in SQL: issue id and direction flags
    target_p50_ms: float = TARGET_P50_MS
    target_p99_ms: float | None = None


@dataclass
class Plan:
    """Where the cases start, found in the database once."""

    deep: tuple[str, int, int]  # project, iid, issue id
    farthest: tuple[str, int, int]  # the far end of the deep root's upstream closure
    project: str  # for dependencyOrder and readyIssues
    project_blocker_links: int
    project_blocked_issues: int
    user_id: int


def make_cases(plan: Plan, *, sql: bool) -> list[Case]:
    deep_path, deep_iid, deep_id = plan.deep
    far_path, far_iid, far_id = plan.farthest
    deep_ref = {"project": deep_path, "iid": deep_iid}
    far_ref = {"project": far_path, "iid": far_iid}
    cases: list[Case] = []
    # Nothing waits on the deep root, so DOWNSTREAM starts at the far end of its closure
    # instead: an issue 50 levels up, whose downstream is large.
    starts = {
        "UPSTREAM": (deep_path, deep_iid, deep_id, False, True),
        "DOWNSTREAM": (far_path, far_iid, far_id, True, False),
        "BOTH": (deep_path, deep_iid, deep_id, True, True),
    }
    for direction, (path, iid, issue_id, down, up) in starts.items():
        variables = {"project": path, "iid": iid, "direction": direction}
        walk = {"issue_id": issue_id, "down": down, "up": up}
        cases.append(
            Case(
                "dependencies",
                direction,
                DEPENDENCIES,
                variables,
                _dependencies_shape,
                start=f"{path}#{iid}",
                sql=walk if sql else None,
                target_p99_ms=TARGET_P99_MS,
            )
        )
        cases.append(
            Case(
                "dependencies (walk)",
                direction,
                DEPENDENCIES_WALK,
                variables,
                _dependencies_shape,
                start=f"{path}#{iid}",
                target_p50_ms=TARGET_WALK_P50_MS,
            )
        )
    deep_start = f"{deep_path}#{deep_iid}"
    cases.extend(
        Case(
            "criticalPath",
            "weighted" if weighted else "by count",
            CRITICAL_PATH,
            {**deep_ref, "weighted": weighted},
            _critical_path_shape,
            start=deep_start,
        )
        for weighted in (False, True)
    )
    cases.append(Case("blockerRollup", "", BLOCKER_ROLLUP, deep_ref, _rollup_shape, deep_start))
    cases.append(
        Case("openBlockers", "", OPEN_BLOCKERS, deep_ref, _open_blockers_shape, deep_start)
    )
    project = {"project": plan.project}
    cases.append(
        Case(
            "dependencyOrder",
            "first: 100",
            DEPENDENCY_ORDER,
            project,
            _connection_shape("dependencyOrder"),
            plan.project,
        )
    )
    cases.append(
        Case(
            "readyIssues",
            "first: 100",
            READY_ISSUES,
            project,
            _connection_shape("readyIssues"),
            plan.project,
        )
    )
    cases.append(
        Case(
            "path",
            "directed",
            PATH,
            {"from": far_ref, "to": deep_ref, "directed": True},
            _path_shape,
            f"{far_path}#{far_iid} -> {deep_start}",
        )
    )
    cases.append(
        Case(
            "path",
            "undirected",
            PATH,
            {"from": deep_ref, "to": far_ref, "directed": False},
            _path_shape,
            f"{deep_start} -> {far_path}#{far_iid}",
        )
    )
    return cases


# -- timing ----------------------------------------------------------------------------


async def time_http(
    session: aiohttp.ClientSession, url: str, token: str, case: Case, *, runs: int, warmups: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"query": case.query, "variables": case.variables}
    raw = b""
    samples: list[float] = []
    for n in range(runs + warmups):
        started = time.perf_counter()
        async with session.post(url, json=payload, headers=headers) as response:
            raw = await response.read()
        if n >= warmups:
            samples.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(
                f"{case.field} {case.variant}: HTTP {response.status}: {raw[:500]!r}"
            )
    body = json.loads(raw)
    if body.get("errors"):
        raise RuntimeError(f"{case.field} {case.variant}: {body['errors']}")
    return {
        "http": summary(samples),
        "response_bytes": len(raw),
        "digest": digest(body["data"]),
        **case.shape(body["data"]),
    }


async def time_sql(
    dsn: str, walk: dict[str, Any], *, viewer: int | None, admin: bool, runs: int, warmups: int
) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        samples: list[float] = []
        row = None
        for n in range(runs + warmups):
            started = time.perf_counter()
            row = await conn.fetchrow(
                SQL_WALK, walk["issue_id"], walk["down"], walk["up"], viewer, admin
            )
            if n >= warmups:
                samples.append(time.perf_counter() - started)
        if row is None:
            raise RuntimeError("the walk returned no row")
        return {**summary(samples), "issues": row[0], "depth": row[1] or 0}
    finally:
        await conn.close()


async def make_plan(dsn: str, dataset: dict[str, Any]) -> Plan:
    deep = dataset["deep"]
    conn = await asyncpg.connect(dsn)
    try:
        user_id = await conn.fetchval(
            "select id from users where username = $1", dataset["users"]["user"]
        )
        far = await conn.fetchrow(FARTHEST_BLOCKER, deep["issue_id"])
        busiest = await conn.fetchrow(MOST_BLOCKED_PROJECT)
    finally:
        await conn.close()
    if far is None or busiest is None or user_id is None:
        raise RuntimeError("the database does not hold the data set of the report")
    return Plan(
        deep=(deep["project"], deep["iid"], deep["issue_id"]),
        farthest=(far["full_path"], far["iid"], far["id"]),
        project=busiest["full_path"],
        project_blocker_links=busiest["blocker_links"],
        project_blocked_issues=busiest["blocked_issues"],
        user_id=user_id,
    )


@contextlib.asynccontextmanager
async def serving(dsn: str, url: str | None) -> Any:
    """The GraphQL URL: the one given, or that of a server started here (and stopped)."""
    if url is not None:
        yield url if url.rstrip("/").endswith("/graphql") else url.rstrip("/") + "/graphql"
        return
    port = free_port()
    env = {**os.environ, "DATABASE_URL": dsn, "ISSUEGRAPH_LOG_LEVEL": "WARNING"}
    # The server is a process of its own; starting it blocks the loop for a moment, harmlessly.
    server = subprocess.Popen(  # noqa: S603, ASYNC220
        [sys.executable, "-m", "issuegraph", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def wait_ready(session: aiohttp.ClientSession, graphql_url: str) -> None:
    ready = graphql_url.rsplit("/graphql", 1)[0] + "/readyz"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(ready) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{ready} did not answer 200 within {STARTUP_SECONDS:.0f} s")


async def run(dataset: dict[str, Any], dsn: str, options: argparse.Namespace) -> dict[str, Any]:
    plan = await make_plan(dsn, dataset)
    cases = make_cases(plan, sql=not options.no_sql)
    if options.only:
        cases = [c for c in cases if c.field.split(" ")[0] in options.only]
    rows: list[dict[str, Any]] = []
    async with serving(dsn, options.url) as url:
        timeout = aiohttp.ClientTimeout(total=300)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await wait_ready(session, url)
            for who, token, viewer, admin in (
                ("admin", dataset["tokens"]["bench-admin"], None, True),
                ("user", dataset["tokens"]["bench-user"], plan.user_id, False),
            ):
                for case in cases:
                    row: dict[str, Any] = {
                        "field": case.field,
                        "variant": case.variant,
                        "viewer": who,
                        "start": case.start,
                        "target_p50_ms": case.target_p50_ms,
                        "target_p99_ms": case.target_p99_ms,
                    }
                    row.update(
                        await time_http(
                            session, url, token, case, runs=options.runs, warmups=options.warmups
                        )
                    )
                    if case.sql is not None:
                        row["sql_walk"] = await time_sql(
                            dsn,
                            case.sql,
                            viewer=viewer,
                            admin=admin,
                            runs=options.runs,
                            warmups=options.warmups,
                        )
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return {
        "url": options.url,
        "plan": {
            "deep_root": f"{plan.deep[0]}#{plan.deep[1]}",
            "farthest_blocker": f"{plan.farthest[0]}#{plan.farthest[1]}",
            "project": plan.project,
            "project_blocker_links": plan.project_blocker_links,
            "project_blocked_issues": plan.project_blocked_issues,
        },
        "rows": rows,
    }


async def with_database(dataset: dict[str, Any], options: argparse.Namespace) -> dict[str, Any]:
    """Find the database as the service does (starting the embedded server if it is ours).

    Never migrates: a server of another build may be running on it, with its own functions.
    """
    async with open_database(Settings.from_env(), apply_migrations=False) as database:
        return await run(dataset, database.dsn, options)


# -- the report ----------------------------------------------------------------------------


def row_key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["field"], row["variant"], row["viewer"])


def meets(row: dict[str, Any]) -> str:
    ok = row["http"]["p50_ms"] <= row["target_p50_ms"]
    if row.get("target_p99_ms") is not None:
        ok = ok and row["http"]["p99_ms"] <= row["target_p99_ms"]
    return "yes" if ok else "no"


def _dependencies_text(row: dict[str, Any]) -> str:
    capped = " (truncated)" if row["truncated"] else ""
    if "edges" in row:
        return (
            f"{row['nodes']:,} nodes, {row['edges']:,} edges, depth {row['depthReached']}{capped}"
        )
    return f"depth {row['depthReached']}{capped}"


ANSWER_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    "dependencies": _dependencies_text,
    "dependencies (walk)": _dependencies_text,
    "criticalPath": lambda row: f"{row['issueCount']} issues, weight {row['totalWeight']}",
    "blockerRollup": lambda row: (
        f"total {row['total']:,}, open {row['open']:,}, completed {row['completed']:,}"
    ),
    "openBlockers": lambda row: f"{row['nodes']:,} issues",
    "dependencyOrder": lambda row: f"{row['nodes']} of totalCount {row['totalCount']:,}",
    "readyIssues": lambda row: f"{row['nodes']} of totalCount {row['totalCount']:,}",
    "path": lambda row: "null" if row["length"] is None else f"length {row['length']}",
}


def answer_text(row: dict[str, Any]) -> str:
    return ANSWER_TEXT[row["field"]](row)


def markdown(report: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    counts = report["dataset"]["counts"]
    deep = report["dataset"]["deep"]
    plan = report["plan"]
    where = f"the server at {report['url']}" if report.get("url") else "one server process"
    lines = [
        f"# The dependency graph over HTTP: {report.get('label') or 'latency'}",
        "",
        (
            f"{report['when']}, {report['machine']} ({report.get('load_end', '?')} at the "
            f"end). Data: {counts['issues']:,} issues, "
            f"{counts['issue_links']:,} links; deep root {plan['deep_root']} (upstream "
            f"closure {deep['closure_size']:,} issues, depth {deep['depth']}), the far end of "
            f"its closure {plan['farthest_blocker']}; dependencyOrder and readyIssues of "
            f"{plan['project']} (the project whose open issues have the most open blockers: "
            f"{plan['project_blocker_links']:,} links onto {plan['project_blocked_issues']:,} "
            f"of its issues). {report['runs']} timed runs per row after {report['warmups']} "
            f"warm-ups; one client, {where}, loopback HTTP."
        ),
        "",
    ]
    compare = {row_key(r): r for r in baseline["rows"]} if baseline else {}
    extra_head = ""
    extra_rule = ""
    if baseline is not None:
        name = baseline.get("label") or "baseline"
        extra_head = f" {name} p50 ms | same answer |"
        extra_rule = " ---: | --- |"

    def extra(row: dict[str, Any]) -> str:
        if baseline is None:
            return ""
        other = compare.get(row_key(row))
        if other is None:
            return " - | - |"
        same = "yes" if other["digest"] == row["digest"] else "**no**"
        return f" {other['http']['p50_ms']} | {same} |"

    deps = [r for r in report["rows"] if r["field"] == "dependencies"]
    walks = {
        (r["variant"], r["viewer"]): r for r in report["rows"] if r["field"].endswith("(walk)")
    }
    if deps:
        lines += [
            "## dependencies (maxDepth 50, first 10000)",
            "",
            (
                "| viewer | direction | from | answer | KB | HTTP p50 ms | HTTP p99 ms "
                "| HTTP min ms | walk-only HTTP p50 ms | walk-only p99 ms | walk-only min ms "
                "| SQL walk p50 ms | SQL walk p99 ms | meets target |" + extra_head
            ),
            "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
            "| ---: | --- |" + extra_rule,
        ]
        for row in deps:
            walk = walks.get((row["variant"], row["viewer"]))
            sql = row.get("sql_walk")
            ok = meets(row) == "yes" and (walk is None or meets(walk) == "yes")
            lines.append(
                f"| {row['viewer']} | {row['variant']} | {row['start']} | {answer_text(row)} "
                f"| {row['response_bytes'] // 1024:,} | {row['http']['p50_ms']} "
                f"| {row['http']['p99_ms']} | {row['http']['min_ms']} "
                f"| {walk['http']['p50_ms'] if walk else '-'} "
                f"| {walk['http']['p99_ms'] if walk else '-'} "
                f"| {walk['http']['min_ms'] if walk else '-'} "
                f"| {sql['p50_ms'] if sql else '-'} | {sql['p99_ms'] if sql else '-'} "
                f"| {'yes' if ok else 'no'} |" + extra(row)
            )
        lines += [
            "",
            (
                f"Targets: HTTP p50 <= {TARGET_P50_MS:.0f} ms and p99 <= {TARGET_P99_MS:.0f} "
                f"ms; the walk-only query p50 <= {TARGET_WALK_P50_MS:.0f} ms."
            ),
            "",
        ]
    others = [r for r in report["rows"] if not r["field"].startswith("dependencies")]
    if walks and baseline is not None:
        others = [*(r for r in report["rows"] if r["field"].endswith("(walk)")), *others]
    if others:
        lines += [
            "## Every field timed",
            "",
            "| field | arguments | viewer | answer | bytes | HTTP p50 ms | HTTP p99 ms "
            "| HTTP min ms | meets target |" + extra_head,
            "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |" + extra_rule,
        ]
        lines.extend(
            f"| {row['field']} | {row['variant']} | {row['viewer']} | {answer_text(row)} "
            f"| {row['response_bytes']:,} | {row['http']['p50_ms']} | {row['http']['p99_ms']} "
            f"| {row['http']['min_ms']} | {meets(row)} |" + extra(row)
            for row in others
        )
        lines += ["", f"Target: HTTP p50 <= {TARGET_P50_MS:.0f} ms."]
    return "\n".join(lines) + "\n"


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.node()}: {os.cpu_count()} cores, load average {load} at the start"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.traversal",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--generate", action="store_true", help="run bench.generate --reset first")
    parser.add_argument("--large", action="store_true", help="with --generate: 1M issues/3M links")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per row (default 20)")
    parser.add_argument("--warmups", type=int, default=WARMUPS, help="untimed runs first (3)")
    parser.add_argument(
        "--url",
        help="time the server running at this URL (its /graphql) instead of starting one; "
        "it must serve the database this command finds (DATABASE_URL or ISSUEGRAPH_DATA_DIR)",
    )
    parser.add_argument("--label", help="write traversal-LABEL.md/.json (default traversal.md)")
    parser.add_argument(
        "--compare",
        metavar="LABEL",
        help="set each row beside the same row of traversal-LABEL.json (or of this .json "
        "file): its p50, and whether the answers are equal (digests)",
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        default=DATASET,
        help=f"the generator's report (default {DATASET}); --generate writes it there",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="FIELD",
        help="time only these fields (dependencies, criticalPath, blockerRollup, "
        "openBlockers, dependencyOrder, readyIssues, path)",
    )
    parser.add_argument("--no-sql", action="store_true", help="skip the SQL-only walk")
    parser.add_argument(
        "--output-dir", type=Path, default=RESULTS, help=f"where results go (default {RESULTS})"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmups < 0:
        parser.error("--runs must be at least 1 and --warmups at least 0")
    return args


def result_name(label: str | None) -> str:
    return f"traversal-{label}" if label else "traversal"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.generate:
        command = [sys.executable, "-m", "bench.generate", "--reset", "--output", str(args.dataset)]
        if args.large:
            command.append("--large")
        subprocess.run(command, check=True)  # noqa: S603
    dataset = json.loads(args.dataset.read_text())
    baseline = None
    if args.compare:
        compare = Path(args.compare)
        if compare.suffix != ".json":
            compare = args.output_dir / f"{result_name(args.compare)}.json"
        baseline = json.loads(compare.read_text())
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    report = asyncio.run(with_database(dataset, args))
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    report.update(
        load_end=load_end,
        label=args.label,
        when=when,
        machine=host,
        runs=args.runs,
        warmups=args.warmups,
        dataset={k: dataset[k] for k in ("counts", "deep", "seed")},
    )
    text = markdown(report, baseline)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    name = result_name(args.label)
    (args.output_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{name}.md").write_text(text)
    print(text)
    return report


if __name__ == "__main__":
    main()
