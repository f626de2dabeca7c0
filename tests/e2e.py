"""What the browser tests share: their prerequisites, a served demo, the node driver.

Each browser test is a node script under graphql_playground/e2e/ (playwright-core from the
playground's devDependencies, driving Debian's /usr/bin/chromium, never a downloaded
browser) that clicks through pages of a real `issuegraph serve` and prints what it saw as
one JSON object; the pytest side asserts on it. Without Chromium, Node.js or the built
playground a browser test is skipped, unless ISSUEGRAPH_E2E=required (as `make test`
sets), which makes that a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from issuegraph.demo import seed_demo
from tests.helpers import free_port, serve_process

REPO = Path(__file__).resolve().parent.parent
PLAYGROUND = REPO / "graphql_playground"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

# The graph view's colours (graphql_playground/src/graph/graph.js), as Cytoscape reports them.
STATE_COLOURS = {"OPENED": "rgb(26,127,55)", "CLOSED": "rgb(130,80,223)"}
LINK_COLOURS = {
    "BLOCKS": "rgb(207,34,46)",
    "PARENT_OF": "rgb(9,105,218)",
    "RELATES_TO": "rgb(110,119,129)",
    "DUPLICATES": "rgb(188,76,0)",
    "CLONES": "rgb(27,124,131)",
}


def require_browser(what: str, page: str) -> None:
    """Skip (or, with ISSUEGRAPH_E2E=required, fail) when something the test needs is
    missing: Node.js, Chromium, the playground's modules or its built `page`."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (Node.js 20+)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (make chromium)")
    if not (PLAYGROUND / "node_modules" / "playwright-core").is_dir():
        missing.append("graphql_playground/node_modules (make playground)")
    if not (PLAYGROUND / "dist" / page).is_file():
        missing.append("graphql_playground/dist (make playground)")
    if not missing:
        return
    reason = f"{what} needs " + ", ".join(missing)
    if os.environ.get("ISSUEGRAPH_E2E") == "required":
        pytest.fail(reason)
    pytest.skip(reason)


@contextlib.asynccontextmanager
async def demo_server(database_url: str, pool: Any) -> AsyncIterator[str]:
    """`issuegraph serve` on a free port, on this test's database with the demo data; its
    base URL, which is also its public URL (webUrl)."""
    await seed_demo(pool)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ISSUEGRAPH_PLAYGROUND_DIR"}
    env |= {
        "DATABASE_URL": database_url,
        "ISSUEGRAPH_LOG_LEVEL": "WARNING",
        "ISSUEGRAPH_POOL_MIN_SIZE": "1",
        "ISSUEGRAPH_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    async with serve_process(port, env) as served:
        yield served.base


async def drive(script: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Run a browser script with its config; the report it printed, which must say no
    step failed."""
    config = {"artifacts": str(ARTIFACTS), "chromium": str(CHROMIUM), **config}
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        json.dumps(config),
        cwd=PLAYGROUND,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(180):
        out, err = await proc.communicate()
    assert out, f"the browser script printed nothing (exit {proc.returncode}): {err.decode()}"
    report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    assert report["failure"] is None, f"{report['failure']}\n{err.decode()}"
    assert proc.returncode == 0, err.decode()
    return report
