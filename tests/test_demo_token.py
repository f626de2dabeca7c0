"""`issuegraph serve --demo` (what `make serve` runs): the demo data, and once the server
listens a new token for alice on stdout, the previous one revoked. Real processes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.helpers import ISSUEGRAPH, World, free_port, serve_command

TOKEN_LINE = re.compile(r"^Demo token for alice \(api scope\): (igpat-[A-Za-z0-9_-]{43})$")
VIEWER = {"query": "{ viewer { username } }"}


@dataclass
class Demo:
    base: str
    port: int
    banner: list[str]
    token: str | None
    stdout: str = ""  # everything on stdout, once stopped
    stderr: str = ""
    process: Any = field(default=None, repr=False)


def _environment(database_url: str) -> dict[str, str]:
    """This process's environment without its ISSUEGRAPH_ settings, on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    return env | {"DATABASE_URL": database_url, "ISSUEGRAPH_LOG_LEVEL": "INFO"}


@contextlib.asynccontextmanager
async def serve_demo(database_url: str, *args: str) -> AsyncIterator[Demo]:
    """`issuegraph serve --demo` (or `serve *args`) on a loopback port; yields once the
    banner is on stdout (or, with no banner expected, once /healthz answers)."""
    env = _environment(database_url)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *serve_command(port, *args),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    stderr_task = asyncio.create_task(proc.stderr.read())
    banner: list[str] = []
    demo = Demo(f"http://127.0.0.1:{port}", port, banner, None, process=proc)
    try:
        async with asyncio.timeout(30):
            if "--demo" in args:
                # The banner ends with its blank line; the server listens before it is printed.
                while len(banner) < 2 or banner[-1] != "":
                    line = await proc.stdout.readline()
                    assert line, f"stdout closed: {banner}, {(await stderr_task).decode()}"
                    banner.append(line.decode().rstrip("\n"))
                match = TOKEN_LINE.match(banner[1])
                demo.token = match.group(1) if match else None
            else:
                await _until_healthy(demo.base, proc)
        yield demo
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            rest = await proc.stdout.read()
            await proc.wait()
            demo.stderr = (await stderr_task).decode()
        demo.stdout = "".join(f"{line}\n" for line in banner) + rest.decode()


async def _until_healthy(base: str, proc: Any) -> None:
    async with aiohttp.ClientSession() as session:
        while proc.returncode is None:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("issuegraph serve exited")


async def post(base: str, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/graphql", json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def active_demo_tokens(pool: Any) -> list[bytes]:
    rows = await pool.fetch(
        "select t.token_digest from personal_access_tokens t join users u on u.id = t.user_id "
        "where u.username = 'alice' and t.name = 'demo' and t.revoked_at is null"
    )
    return [bytes(row["token_digest"]) for row in rows]


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def test_serve_demo_prints_a_working_token_for_alice_once_listening(database_url, pool):
    async with serve_demo(database_url, "--demo") as demo:
        # Asked once, right away: the banner comes after the server listens.
        status, answer = await post(demo.base, VIEWER, demo.token)
        assert (status, answer) == (200, {"data": {"viewer": {"username": "alice"}}})
        token = demo.token
        assert token is not None, demo.banner
        # The api scope: alice writes to her demo projects.
        mutation = {
            "query": "mutation($input: CreateIssueInput!) { createIssue(input: $input) "
            "{ issue { title } errors { message } } }",
            "variables": {"input": {"project": "acme/security", "title": "From the banner"}},
        }
        status, answer = await post(demo.base, mutation, token)
        assert status == 200, answer
        assert answer["data"]["createIssue"] == {
            "issue": {"title": "From the banner"},
            "errors": [],
        }

        # The graph index, built before the demo data was loaded, walks its links: 4 and 6
        # block 5, 3 blocks 4, 7 blocks 6 (2 blocks 3, but is closed).
        blockers = {"query": '{ issue(project: "acme/platform", iid: 5) { openBlockers { iid } } }'}
        status, answer = await post(demo.base, blockers, token)
        assert status == 200, answer
        assert sorted(b["iid"] for b in answer["data"]["issue"]["openBlockers"]) == [3, 4, 6, 7]

        # The curl line works as printed.
        curl_line = demo.banner[3]
        assert curl_line.startswith("  curl:       curl ")
        if shutil.which("curl"):
            command = shlex.split(curl_line.removeprefix("  curl:       "))
            command[-1] = command[-1].replace("localhost", "127.0.0.1")
            printed = await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, timeout=30, check=False
            )
            assert json.loads(printed.stdout) == {"data": {"viewer": {"username": "alice"}}}

    url = f"http://localhost:{demo.port}/graphql"
    assert demo.banner == [
        "",
        f"Demo token for alice (api scope): {token}",
        f"  Playground: {url}  (sign in: paste the token)",
        (
            f'  curl:       curl -H "Authorization: Bearer {token}" '
            f"-H 'Content-Type: application/json' -d '{json.dumps(VIEWER)}' {url}"
        ),
        '  A new token each start; the previous "demo" token is revoked.',
        "",
    ]
    # stdout holds the banner and nothing else; the logs (stderr) never hold the token.
    assert demo.stdout == "\n".join(demo.banner) + "\n"
    assert token not in demo.stderr
    assert "demo data created" in [json.loads(line)["message"] for line in demo.stderr.splitlines()]
    assert await pool.fetchval("select count(*) from projects") == 3
    assert await active_demo_tokens(pool) == [digest(token)]


async def test_serve_demo_again_revokes_only_the_previous_demo_token(database_url, pool):
    async with serve_demo(database_url, "--demo") as first:
        assert first.token is not None
    cli_token_run = await asyncio.create_subprocess_exec(
        str(ISSUEGRAPH),
        "tokens",
        "create",
        "alice",
        env={**os.environ, "DATABASE_URL": database_url, "ISSUEGRAPH_LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await cli_token_run.communicate()
    own_token = out.decode().strip()

    async with serve_demo(database_url, "--demo") as second:
        assert second.token is not None
        assert second.token != first.token
        status, answer = await post(second.base, VIEWER, first.token)
        assert status == 401
        assert answer["errors"][0]["message"] == "Invalid token: the token has been revoked"
        assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        for token in (second.token, own_token):  # alice's other tokens are hers to keep
            status, answer = await post(second.base, VIEWER, token)
            assert (status, answer) == (200, {"data": {"viewer": {"username": "alice"}}})

    assert await active_demo_tokens(pool) == [digest(second.token)]
    # The demo data was created once.
    said = [json.loads(line)["message"] for line in second.stderr.splitlines()]
    assert "demo data created" not in said
    assert await pool.fetchval("select count(*) from projects") == 3


async def test_serve_without_demo_prints_nothing_and_issues_no_token(database_url, pool):
    async with serve_demo(database_url) as plain:
        status, answer = await post(plain.base, VIEWER, None)
        assert (status, answer) == (200, {"data": {"viewer": None}})
    assert plain.stdout == ""
    assert await pool.fetchval("select count(*) from personal_access_tokens") == 0
    assert await pool.fetchval("select count(*) from projects") == 0


async def test_serve_demo_without_alice_warns_and_serves_all_the_same(database_url, pool):
    # The demo's marker project exists, so no demo data is loaded, and there is no alice.
    zed = await World(pool).user("zed")
    await World(pool).project(zed, "acme/platform")
    env = _environment(database_url)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *serve_command(port, "--demo"),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            await _until_healthy(f"http://127.0.0.1:{port}", proc)
        status, _ = await post(f"http://127.0.0.1:{port}", VIEWER, None)
        assert status == 200
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            out, err = await proc.communicate()
    assert proc.returncode == 0
    assert out == b""
    warnings = [
        entry for entry in map(json.loads, err.decode().splitlines()) if entry["level"] == "WARNING"
    ]
    assert [w["message"] for w in warnings] == ["no demo token for alice: User 'alice' not found"]
    assert await pool.fetchval("select count(*) from personal_access_tokens") == 0
