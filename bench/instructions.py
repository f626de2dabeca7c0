"""Instructions per request of the representative queries, counted by valgrind's callgrind.

    .venv/bin/python -m bench.instructions                     # the three queries, 20 each
    .venv/bin/python -m bench.instructions --requests 10 issue_page

It needs valgrind (`apt-get install -y valgrind`). It starts an embedded PostgreSQL in a
temporary directory (with DATABASE_URL: that server, in a database of its own, dropped
after), loads a fixed small data set (`bench.generate`, seed 1: 5,000 issues and 15,000
links in 20 projects) and picks the targets as `bench.http` does for `bench-user`: the hub
issue for the issue page, the hub's project (or the one with most readable issues) for the
project page and the nested links.

Per query it runs this module twice under `valgrind --tool=callgrind` with
PYTHONHASHSEED=0: once making the warm-up requests only, once the warm-up requests and
then the counted ones. A request is `schema.execute` of the query in this one process, with
a context and loaders of its own (closed after it, as the view closes them), no HTTP; the
process runs as `issuegraph serve` does (uvloop's event loop, the collector tuned by
`app.tune_gc`). The
difference between the two runs' instruction counts divided by the counted requests is the
figure printed: start-up, imports and warm-up cancel out. Repeated runs agree to ~0.1%.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.queries import REPRESENTATIVE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

DATA = {"issues": 5_000, "links": 15_000, "users": 200, "projects": 20, "seed": 1}
VIEWER = "bench-user"
_TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[str]:
    """A DSN of an empty database of our own (on DATABASE_URL's server, else an embedded
    one in a temporary directory), dropped afterwards."""
    external = os.environ.get("DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if external:
            admin = external
        else:
            from issuegraph.db.embedded import start_embedded  # noqa: PLC0415

            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="instructions-"))
            server = await asyncio.to_thread(start_embedded, Path(data_dir), delete_on_stop=True)
            stack.callback(server.stop)
            admin = server.admin_dsn
        name = f"instructions_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'create database "{name}"')
        finally:
            await conn.close()
        try:
            yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
        finally:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(f'drop database if exists "{name}" with (force)')
            finally:
                await conn.close()


async def _prepare(dsn: str) -> tuple[str, dict[str, Any]]:
    """Load the data set; the viewer's token and the targets."""
    # Imported here: numpy's idle threads would add to the counts of the measured process.
    from bench.generate import Options, generate  # noqa: PLC0415
    from bench.http import pick_targets  # noqa: PLC0415

    report = await generate(Options(dsn=dsn, output=None, progress=False, **DATA))
    conn = await asyncpg.connect(dsn)
    try:
        viewer = await conn.fetchrow("select id, is_admin from users where username = $1", VIEWER)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        targets = await pick_targets(pool, report, viewer["id"], viewer["is_admin"])
    finally:
        await pool.close()
    return report["tokens"][VIEWER], targets


def _count(args: list[str], out: Path) -> int:
    """The instructions callgrind counts for `python -m bench.instructions <args>`."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.instructions",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    found = _TOTALS.search(out.read_text(encoding="utf-8", errors="replace"))
    if found is None:
        raise SystemExit(f"no totals in {out}")
    return int(found.group(1))


async def _measure(names: Sequence[str], warmup: int, requests: int) -> dict[str, float]:
    from bench.http import variables_for  # noqa: PLC0415  (see _prepare)

    figures: dict[str, float] = {}
    async with _database() as dsn:
        token, targets = await _prepare(dsn)
        with tempfile.TemporaryDirectory(prefix="callgrind-") as out:
            for rep in REPRESENTATIVE:
                if rep.name not in names:
                    continue
                variables = json.dumps(variables_for(rep, targets))
                common = ["--run", dsn, token, rep.name, variables]
                base = await asyncio.to_thread(
                    _count, [*common, str(warmup), "0"], Path(out, f"{rep.name}.warm")
                )
                full = await asyncio.to_thread(
                    _count, [*common, str(warmup), str(requests)], Path(out, f"{rep.name}.all")
                )
                figures[rep.name] = (full - base) / requests
                print(f"{rep.name:14} {figures[rep.name] / 1e6:9.2f}M instructions a request")
    return figures


async def _run(dsn: str, token: str, name: str, variables: dict[str, Any], n: int) -> None:
    """Make `n` requests of the query `name` (the measured process)."""
    from issuegraph.api import schema  # noqa: PLC0415
    from issuegraph.app import tune_gc  # noqa: PLC0415
    from issuegraph.config import Settings  # noqa: PLC0415  (not measured: imported either way)
    from issuegraph.context import Context  # noqa: PLC0415
    from issuegraph.db.database import open_database  # noqa: PLC0415
    from issuegraph.domain.access import Access  # noqa: PLC0415
    from issuegraph.domain.auth import authenticate  # noqa: PLC0415
    from issuegraph.loaders import Loaders  # noqa: PLC0415

    query = next(r.query for r in REPRESENTATIVE if r.name == name)
    settings = Settings(database_url=dsn, pool_min_size=1, pool_max_size=4)
    headers = {"Authorization": f"Bearer {token}"}
    async with open_database(settings, apply_migrations=False) as database:
        tune_gc()  # as `issuegraph serve` does
        for _ in range(n):
            viewer = await authenticate(database.pool, headers)
            loaders = Loaders(database.pool, viewer)
            context = Context(
                request_id="instructions",
                settings=settings,
                pool=database.pool,
                viewer=viewer,
                loaders=loaders,
                access=Access(viewer, loaders),
            )
            result = await schema.execute(query, variable_values=variables, context_value=context)
            loaders.close()
            if result.errors or not result.data:
                raise SystemExit(f"{name}: {result.errors}")


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--run"]:
        dsn, token, name, variables, warmup, requests = argv[1:]
        import uvloop  # noqa: PLC0415

        # The warm-up and the counted requests run alike: the counted ones only add to them.
        # On uvloop's event loop, as `issuegraph serve` runs.
        loop = uvloop.new_event_loop()
        try:
            loop.run_until_complete(
                _run(dsn, token, name, json.loads(variables), int(warmup) + int(requests))
            )
        finally:
            loop.close()
        return
    names = [r.name for r in REPRESENTATIVE]
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions",
        description="Instructions per request of the representative queries (callgrind).",
    )
    parser.add_argument("queries", nargs="*", metavar="query", help=", ".join(names))
    parser.add_argument("--warmup", type=int, default=5, help="requests not counted (5)")
    parser.add_argument("--requests", type=int, default=20, help="requests counted (20)")
    args = parser.parse_args(argv)
    unknown = set(args.queries) - set(names)
    if unknown:
        parser.error(f"unknown queries: {', '.join(sorted(unknown))}")
    asyncio.run(_measure(args.queries or names, args.warmup, args.requests))


if __name__ == "__main__":
    main()
