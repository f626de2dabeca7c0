"""The graph benchmark, at a tiny generated size, against a database of the test's own.

It runs `python -m bench.traversal` as a process, twice: once starting its own server,
once timing a server already running (`--url`) and comparing with the first run
(`--compare`). The report must hold every field for both viewers, with answers whose
shapes agree with the data set, and the same code on the same data must give the same
answers (equal digests).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from bench.generate import Options, generate
from tests.helpers import free_port, serve_process

if TYPE_CHECKING:
    from pathlib import Path

FIELDS = {
    "dependencies": {"UPSTREAM", "DOWNSTREAM", "BOTH"},
    "dependencies (walk)": {"UPSTREAM", "DOWNSTREAM", "BOTH"},
    "criticalPath": {"by count", "weighted"},
    "blockerRollup": {""},
    "openBlockers": {""},
    "dependencyOrder": {"first: 100"},
    "readyIssues": {"first: 100"},
    "path": {"directed", "undirected"},
}


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env |= {
        "DATABASE_URL": database_url,
        "ISSUEGRAPH_POOL_MIN_SIZE": "1",
        "ISSUEGRAPH_LOG_LEVEL": "WARNING",
    }
    return env


async def _bench(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.traversal",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(120):
        out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


def _check_shapes(report: dict[str, Any], dataset: dict[str, Any]) -> None:
    rows = {(r["field"], r["variant"], r["viewer"]): r for r in report["rows"]}
    expected = {(f, v, who) for f, vs in FIELDS.items() for v in vs for who in ("admin", "user")}
    assert set(rows) == expected
    deep = dataset["deep"]
    for row in report["rows"]:
        assert row["http"]["runs"] == 2
        assert 0 < row["http"]["min_ms"] <= row["http"]["p50_ms"] <= row["http"]["p99_ms"]
        assert row["response_bytes"] > 0
        assert len(row["digest"]) == 16
    admin_up = rows["dependencies", "UPSTREAM", "admin"]
    assert rows["blockerRollup", "", "admin"]["total"] == deep["closure_size"]
    assert admin_up["nodes"] == deep["closure_size"]
    assert admin_up["depthReached"] == deep["depth"]
    assert admin_up["edges"] >= admin_up["nodes"]
    assert admin_up["sql_walk"]["issues"] == deep["closure_size"]
    assert admin_up["sql_walk"]["depth"] == deep["depth"]
    for who in ("admin", "user"):
        full = rows["dependencies", "BOTH", who]
        walk = rows["dependencies (walk)", "BOTH", who]
        assert (walk["depthReached"], walk["truncated"]) == (
            full["depthReached"],
            full["truncated"],
        )
        assert walk["response_bytes"] < 200 < full["response_bytes"]
        assert "sql_walk" in full
        assert "sql_walk" not in walk
        user_sees = rows["dependencies", "UPSTREAM", "user"]["nodes"]
        assert user_sees <= admin_up["nodes"]
        rollup = rows["blockerRollup", "", who]
        assert rollup["total"] == rollup["open"] + rollup["completed"]
        # The rollup's walk has no depth bound; openBlockers walks through open issues only.
        assert rollup["total"] >= rows["dependencies", "UPSTREAM", who]["nodes"]
        assert 0 < rows["openBlockers", "", who]["nodes"] <= rollup["open"]
        for variant in ("by count", "weighted"):
            critical = rows["criticalPath", variant, who]
            assert 1 <= critical["issueCount"] == critical["nodes"] <= deep["depth"] + 1
        for name in ("dependencyOrder", "readyIssues"):
            page = rows[name, "first: 100", who]
            assert page["nodes"] == min(100, page["totalCount"])
            assert page["hasNextPage"] == (page["totalCount"] > 100)
        for variant in ("directed", "undirected"):
            path = rows["path", variant, who]
            if who == "admin":
                assert path["length"] == deep["depth"]
            if path["length"] is not None:
                assert path["nodes"] == path["length"] + 1
                assert path["length"] >= deep["depth"]
    assert report["plan"]["deep_root"] == f"{deep['project']}#{deep['iid']}"
    assert report["plan"]["project_blocker_links"] > 0


async def test_traversal_bench_reports_every_field_and_compares_builds(
    database_url: str, tmp_path: Path
) -> None:
    dataset_path = tmp_path / "dataset.json"
    dataset = await generate(
        Options(
            issues=2_000,
            links=6_000,
            seed=3,
            reset=True,
            dsn=database_url,
            output=dataset_path,
            progress=False,
        )
    )
    env = _env(database_url)
    common = ["--dataset", str(dataset_path), "--output-dir", str(tmp_path), "--runs", "2"]

    # Its own server, the default label.
    await _bench(env, *common, "--warmups", "1")
    report = json.loads((tmp_path / "traversal.json").read_text())
    markdown = (tmp_path / "traversal.md").read_text()
    assert report["label"] is None
    assert report["url"] is None
    assert report["runs"] == 2
    assert report["warmups"] == 1
    _check_shapes(report, dataset)
    assert "| admin | UPSTREAM |" in markdown
    assert "| dependencyOrder | first: 100 | user |" in markdown

    # A server already running; labelled, compared with the first run.
    async with serve_process(free_port(), env) as served:
        await _bench(
            env,
            *common,
            "--url",
            served.base,
            "--label",
            "again",
            "--compare",
            str(tmp_path / "traversal.json"),
        )
        again = json.loads((tmp_path / "traversal-again.json").read_text())
    assert again["url"] == served.base
    assert again["label"] == "again"
    _check_shapes(again, dataset)
    first = {(r["field"], r["variant"], r["viewer"]): r["digest"] for r in report["rows"]}
    assert {(r["field"], r["variant"], r["viewer"]): r["digest"] for r in again["rows"]} == first
    compared = (tmp_path / "traversal-again.md").read_text()
    assert "same answer" in compared
    assert "**no**" not in compared
    assert compared.count("| yes |") >= len(first)
