"""The floor of the HTTP benchmark answers what issuegraph answers, on a small generated set.

bench/http.py times issuegraph against bench/floor.py, a hand-written server for the same
representative queries; the ratio means something only while the floor returns the same
JSON for the same viewer with the SQL statements it claims. Both run here in-process on a
data set from bench.generate (2,000 issues / 6,000 links) in the test's own database.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
import psutil  # type: ignore[import-untyped]
import pytest

from bench.floor import STATEMENTS, create_floor_app
from bench.generate import Options, generate
from bench.http import (
    SERVERS,
    BenchError,
    change_percent,
    compare,
    markdown,
    markdown_workers,
    median,
    parse_args,
    rotation,
    summaries,
    summarize,
)
from bench.queries import REPRESENTATIVE
from issuegraph.app import create_app
from tests.helpers import StatementLog

if TYPE_CHECKING:
    from pathlib import Path

    from issuegraph.config import Settings

ISSUES = 2_000
LINKS = 6_000


async def _targets(database_url: str, report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variables per case: the hub (issue and project), a project bench-user may not read,
    a missing issue, the hub by its project's numeric id."""
    conn = await asyncpg.connect(database_url)
    try:
        hidden = await conn.fetchval(
            """
            select p.full_path from projects p
             where p.visibility = 'private' and not exists (
                   select 1 from project_members m join users u on u.id = m.user_id
                    where m.project_id = p.id and u.username = 'bench-user')
             order by p.id limit 1
            """
        )
        project_id = await conn.fetchval(
            "select id from projects where full_path = $1", report["hub"]["project"]
        )
    finally:
        await conn.close()
    hub = report["hub"]
    return {
        "hub": {"project": hub["project"], "iid": hub["iid"]},
        "hidden": {"project": hidden, "iid": 1},
        "missing": {"project": hub["project"], "iid": 999_999},
        "by id": {"project": str(project_id), "iid": hub["iid"]},
    }


async def test_the_floor_answers_what_issuegraph_answers_with_its_statement_count(
    aiohttp_client: Any, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    report = await generate(
        Options(
            issues=ISSUES,
            links=LINKS,
            seed=5,
            reset=True,
            dsn=database_url,
            output=tmp_path / "dataset.json",
            progress=False,
        )
    )
    targets = await _targets(database_url, report)
    log = StatementLog()
    service = await aiohttp_client(create_app(settings))
    floor = await aiohttp_client(create_floor_app(settings, on_connect=log.attach))
    try:
        answered = await _compare_every_case(service, floor, log, report["tokens"], targets)
    finally:
        # Close both apps (and their pools) before this test's database is dropped.
        await service.close()
        await floor.close()
    assert answered >= 6  # the hub's pages as user and admin at least, so not all nulls


async def _compare_every_case(
    service: Any,
    floor: Any,
    log: StatementLog,
    tokens: dict[str, str],
    targets: dict[str, dict[str, Any]],
) -> int:
    """Each query, as each viewer, on each target: the same JSON, the documented statement
    count; returns how many answers were not null."""
    viewers = {"user": tokens["bench-user"], "admin": tokens["bench-admin"], "anonymous": None}
    answered = 0
    for viewer, token in viewers.items():
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for rep in REPRESENTATIVE:
            for case, target in targets.items():
                if rep.target == "project" and case in {"missing", "by id"}:
                    continue  # the hub's project again
                if rep.name == "nested_links" and viewer == "anonymous" and case == "hub":
                    continue  # the slowest page; the user's and the admin's cover it
                variables = target if rep.target == "issue" else {"project": target["project"]}
                body = orjson.dumps({"query": rep.query, "variables": variables})
                got = await service.post("/graphql", data=body, headers=headers)
                expected = await got.read()
                assert got.status == 200, expected
                assert "errors" not in orjson.loads(expected), expected

                answers: list[bytes] = []

                async def ask(
                    path: str = f"/{rep.name}",
                    sent: bytes = body,
                    sending: dict[str, str] = headers,
                    into: list[bytes] = answers,
                ) -> None:
                    response = await floor.post(path, data=sent, headers=sending)
                    assert response.status == 200
                    into.append(await response.read())

                statements = await log.count(ask())
                where = f"{rep.name} as {viewer} on {case} {variables}"
                compare(expected, answers[0])  # BenchError unless the same JSON
                assert statements == STATEMENTS[rep.name] - (token is None), (where, log.queries)
                data = orjson.loads(answers[0])["data"]
                answered += any(data.values())
                if case == "hub" and viewer != "anonymous":
                    assert any(data.values()), where
    return answered


def test_compare_tells_whitespace_from_a_different_answer() -> None:
    assert compare(b'{"a": 1}', b'{"a": 1}') == "identical bytes"
    assert compare(b'{"a": [1, 2]}', b'{"a":[1,2]}') == "same JSON, whitespace differs"
    assert compare(b'{"a": 1, "b": 2}', b'{"b":2,"a":1}') == "same JSON, key order differs"
    with pytest.raises(BenchError, match=r"\$\.a\[1\]"):
        compare(b'{"a": [1, 2]}', b'{"a": [1, 3]}')


# -- rounds, medians and the change column (no servers) ------------------------------------


def _cell(round_: int, server: str, rps: float, p50: float, cpu: float) -> dict[str, Any]:
    return {
        "round": round_,
        "query": "issue_page",
        "concurrency": 8,
        "server": server,
        "requests": int(rps * 6),
        "errors": 0,
        "warmup_errors": 0,
        "seconds": 6.0,
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p50 * 3,
        "mean_ms": p50 * 1.2,
        "cpu_ms_per_request": cpu,
        "client_cpu_percent": 5.0,
        "peak_rss_mb": 100.0 + round_,
        "rss_mb": 90.0,
    }


# Three rounds in which the machine runs at 1x, 0.5x and 0.8x speed: every server's req/s
# moves with it, issuegraph/floor stays 0.45 and baseline/floor 0.5 (so -10%), and the
# p50 ratios stay 2.2 and 2.0 (+10%).
DRIFTING = [
    cell
    for r, speed in enumerate((1.0, 0.5, 0.8))
    for cell in (
        _cell(r, "issuegraph", 90 * speed, 11 / speed, 4.4),
        _cell(r, "baseline", 100 * speed, 10 / speed, 4.0),
        _cell(r, "floor", 200 * speed, 5 / speed, 1.0),
    )
]


def test_each_round_starts_with_the_next_server() -> None:
    orders = [rotation(SERVERS, r) for r in range(6)]
    assert orders[:3] == [
        ["issuegraph", "baseline", "floor"],
        ["baseline", "floor", "issuegraph"],
        ["floor", "issuegraph", "baseline"],
    ]
    assert orders[3:] == orders[:3]
    for position in range(3):  # each server in each position once in three rounds
        assert sorted(order[position] for order in orders[:3]) == sorted(SERVERS)
    # Without a baseline, round 0 is the order the bench always had.
    assert rotation(["issuegraph", "floor"], 0) == ["issuegraph", "floor"]
    assert rotation(["issuegraph", "floor"], 1) == ["floor", "issuegraph"]


def test_median_and_change_percent() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert median([None, None]) is None
    assert change_percent(105.0, 100.0) == pytest.approx(5.0)
    assert change_percent(0.45, 0.5) == pytest.approx(-10.0)
    assert change_percent(None, 1.0) is None
    assert change_percent(1.0, 0.0) is None


def test_the_change_column_sees_through_the_machine_drifting() -> None:
    summary = summarize(DRIFTING)
    assert (summary["query"], summary["concurrency"], summary["rounds"]) == ("issue_page", 8, 3)
    servers = summary["servers"]
    assert servers["floor"]["rps"] == 160.0  # median of 200, 100, 160
    assert servers["issuegraph"]["p50_ms"] == pytest.approx(13.75)  # of 11, 22, 13.75
    assert servers["baseline"]["cpu_ms_per_request"] == 4.0
    assert servers["issuegraph"]["peak_rss_mb"] == 102.0  # the highest, not a median
    assert servers["issuegraph"]["requests"] == sum(
        c["requests"] for c in DRIFTING if c["server"] == "issuegraph"
    )
    assert summary["ratios"] == {
        "issuegraph/floor": {"rps": 0.45, "p50_ms": 2.2},
        "baseline/floor": {"rps": 0.5, "p50_ms": 2.0},
    }
    assert summary["change_percent"] == {"rps": -10.0, "p50_ms": 10.0}
    assert summary["round_change_percent"] == {"rps": [-10.0] * 3, "p50_ms": [10.0] * 3}
    assert summary["cpu_change_percent"] == 10.0


def test_the_ratios_are_medians_of_each_rounds_ratio() -> None:
    # Round 1 is an outlier for issuegraph alone: the median ratio ignores it, where the
    # ratio of the medians would not (median req/s 90 and 160 give 0.5625).
    cells = [
        _cell(0, "issuegraph", 90, 10, 1),
        _cell(0, "floor", 200, 5, 1),
        _cell(1, "issuegraph", 150, 10, 1),
        _cell(1, "floor", 100, 5, 1),
        _cell(2, "issuegraph", 72, 10, 1),
        _cell(2, "floor", 160, 5, 1),
    ]
    summary = summarize(cells)
    assert summary["ratios"] == {"issuegraph/floor": {"rps": 0.45, "p50_ms": 2.0}}
    assert "change_percent" not in summary  # no baseline, no change


def test_summaries_group_the_cells_of_every_round_by_query_and_concurrency() -> None:
    other = [{**c, "concurrency": 1} for c in DRIFTING]
    # In the order of a run: round after round over every cell.
    cells = sorted(DRIFTING + other, key=lambda c: c["round"])
    rows = summaries(cells)
    assert [(row["query"], row["concurrency"]) for row in rows] == [
        ("issue_page", 8),
        ("issue_page", 1),
    ]
    assert all(row["change_percent"] == {"rps": -10.0, "p50_ms": 10.0} for row in rows)


def _report(cells: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    names = {c["server"] for c in cells}
    servers: dict[str, Any] = {
        name: {"url": f"http://127.0.0.1:9/{name}", "started_by_bench": False} for name in names
    }
    servers["floor"]["loop"] = "uvloop"
    query: dict[str, Any] = {
        "bytes": dict.fromkeys(names, 1234),
        "match": "same JSON, whitespace differs",
        "floor_statements": 2,
    }
    if "baseline" in names:
        query["baseline_match"] = "identical bytes"
    return {
        "label": "test",
        "date": "2025-01-01T00:00:00+00:00",
        "wall_seconds": 1.0,
        "machine": {"cpus": 2},
        "settings": {"duration_seconds": 6, "warmup_seconds": 2, "rounds": rounds},
        "dataset": {"counts": {"issues": 100, "issue_links": 300}},
        "viewer": {"username": "bench-user"},
        "targets": {
            "issue": {"project": "a/b", "iid": 1, "links": 100},
            "project": {
                "project": "a/b",
                "visibility": "public",
                "readable_issues": 90,
                "choice": "the hub's project",
            },
        },
        "servers": servers,
        "checkout": {"commit": "abc1234", "dirty": False},
        "queries": {"issue_page": query},
        "cells": cells,
    }


def test_the_report_with_a_baseline_shows_the_change_per_cell() -> None:
    text = markdown(_report(DRIFTING, rounds=3))
    assert "3 rounds of 2 s warm-up + 6 s measured per server" in text
    assert "| issue_page | 1,234 | 1,234 | identical bytes | 1,234 |" in text
    rps_row = "| issue_page | 8 | 72.0 | 80.0 | 160.0 | 0.45 | 0.50 | -10.0% | "
    assert rps_row + "-10.0%, -10.0%, -10.0% |" in text
    assert "| issue_page | 8 | 13.8 | 12.5 | 6.2 | 2.20 | 2.00 | +10.0% | " in text
    assert "| issue_page | 8 | 4.40 | 4.00 | 1.00 | +10.0% |" in text


def test_the_report_without_a_baseline_keeps_its_one_table() -> None:
    cells = [c for c in DRIFTING if c["round"] == 0 and c["server"] != "baseline"]
    text = markdown(_report(cells, rounds=1))
    assert "Per cell: 2 s warm-up, 6 s measured; one issuegraph process" in text
    assert "change" not in text
    assert "| issuegraph req/s | floor req/s | req/s ig/floor |" in text
    assert "| issue_page | 8 | 90.0 | 200.0 | 0.45 | 11.0 | 5.0 | 2.20 | 33.0 | 15.0 |" in text


def test_rounds_and_baseline_arguments() -> None:
    args = parse_args(["--baseline", "http://127.0.0.1:9000/graphql", "--rounds", "5"])
    assert (args.baseline, args.rounds) == ("http://127.0.0.1:9000/graphql", 5)
    assert (parse_args([]).baseline, parse_args([]).rounds) == (None, 1)
    for wrong in (
        ["--rounds", "0"],
        ["--url", "http://x/graphql", "--baseline", "http://x/graphql"],
    ):
        with pytest.raises(SystemExit):
            parse_args(wrong)


def test_worker_arguments() -> None:
    assert (parse_args([]).workers, parse_args([]).workers_compare) == (1, ())
    args = parse_args(["--workers-compare", "1,2", "--output-dir", "/tmp/x"])  # noqa: S108
    assert (args.workers_compare, str(args.output_dir)) == ((1, 2), "/tmp/x")  # noqa: S108
    assert parse_args(["--workers", "2"]).workers == 2
    for wrong in (
        ["--workers", "0"],
        ["--workers-compare", "2"],
        ["--workers-compare", "1,x"],
        ["--workers-compare", "0,2"],
        ["--workers", "2", "--url", "http://127.0.0.1:9/graphql"],
    ):
        with pytest.raises(SystemExit):
            parse_args(wrong)


def _run(workers: int, speed: float) -> dict[str, Any]:
    cells = [
        {
            **_cell(0, "issuegraph", 90 * speed, 11, 4),
            "concurrency": c,
            "p99_ms": 30 / speed,
            "busiest_worker_percent": 55.0 if workers > 1 else None,
        }
        for c in (8, 32)
    ] + [
        {
            **_cell(0, "floor", 200 * speed, 5, 1),
            "concurrency": c,
            "p99_ms": 10 / speed,
            "busiest_worker_percent": 100.0 if workers > 1 else None,
        }
        for c in (8, 32)
    ]
    report = _report(cells, rounds=1)
    report["servers"]["issuegraph"]["started_by_bench"] = True
    return {**report, "workers": workers, "summary": summaries(cells)}


def test_the_workers_report_sets_each_count_side_by_side() -> None:
    runs = [_run(1, 1.0), _run(2, 1.5)]
    report = {k: v for k, v in runs[0].items() if k not in {"cells", "summary", "workers"}}
    report["runs"] = runs
    text = markdown_workers(report)
    assert "# HTTP throughput by worker processes (1, 2)" in text
    assert "| ig req/s (1w) | ig p99 ms (1w) | floor req/s (1w) | floor p99 ms (1w) |" in text
    assert (
        "| ig req/s 2w/1w | floor req/s 2w/1w | busiest worker's CPU % (2w): ig / floor |" in text
    )
    row = (
        "| issue_page | 32 | 90.0 | 30.0 | 200.0 | 10.0 | 135.0 | 20.0 | 300.0 | 6.7 "
        "| 1.50 | 1.50 | 55 / 100 |"
    )
    assert row in text
    assert "## 1 worker process\n" in text
    assert "## 2 worker processes\n" in text
    assert "Workers: 2. " in text
    assert "issuegraph as 2 worker processes under gunicorn's arbiter" in text
    assert "the floor as 2 worker processes on one socket" in text


async def test_the_bench_runs_both_servers_with_two_workers(
    database_url: str, tmp_path: Path
) -> None:
    """The whole bench, --workers 2, for a moment: both servers run a supervisor and two
    workers, every worker answers, both answer the same JSON, and all of it stops."""
    data_dir, out = tmp_path / "data", tmp_path / "results"
    data_dir.mkdir()
    await generate(
        Options(
            issues=ISSUES,
            links=LINKS,
            seed=5,
            reset=True,
            dsn=database_url,
            output=data_dir / "dataset.json",
            progress=False,
        )
    )
    env = {**os.environ, "DATABASE_URL": database_url, "ISSUEGRAPH_DATA_DIR": str(data_dir)}
    command = [
        *(sys.executable, "-m", "bench.http", "--no-generate", "--no-progress"),
        *("--workers", "2", "--duration", "0.5", "--warmup", "0.2", "--concurrency", "4"),
        *("--queries", "issue_page,project_page", "--label", "w2", "--output-dir", str(out)),
    ]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "http-w2.json").read_text())
    assert (report["workers"], report["settings"]["workers"]) == (2, [2])
    pids = []
    for name in ("issuegraph", "floor"):
        server = report["servers"][name]
        assert (server["workers"], server["workers_answered"]) == (2, 2), server
        assert len(set(server["worker_pids"])) == 2
        assert server["pid"] not in server["worker_pids"]  # a supervisor and its workers
        pids += [server["pid"], *server["worker_pids"]]
    for name, query in report["queries"].items():
        assert not query["match"].startswith("MISMATCH"), (name, query)
        assert query["bytes"]["issuegraph"] > 1000
    assert len(report["cells"]) == 4  # 2 queries x 1 concurrency x 2 servers
    for c in report["cells"]:
        assert c["requests"] > 0
        assert (c["errors"], c["warmup_errors"]) == (0, 0), c
        assert c["processes"] == 3, c  # CPU summed over the supervisor and both workers
        assert 50 <= c["busiest_worker_percent"] <= 100, c
        assert c["cpu_ms_per_request"] is not None
        assert c["peak_rss_mb"] > 0
    text = (out / "http-w2.md").read_text()
    assert text.count("Workers: 2. ") == 1
    assert "issuegraph as 2 worker processes under gunicorn's arbiter" in text
    assert "the floor as 2 worker processes on one socket" in text
    assert not [pid for pid in pids if psutil.pid_exists(pid)]  # all stopped
