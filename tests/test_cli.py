"""The `issuegraph` command, run as a real subprocess against the test's own database."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ISSUEGRAPH = Path(sys.executable).with_name("issuegraph")
TABLES = ("users", "personal_access_tokens", "projects", "project_members", "issues")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def cli_env(database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env["ISSUEGRAPH_LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


async def start(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(ISSUEGRAPH),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process) -> Run:
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def cli(database_url: str | None, *args: str, **extra_env: str) -> Run:
    return await finish(await start(cli_env(database_url, **extra_env), *args))


async def row_counts(pool: Any) -> dict[str, int]:
    return {t: await pool.fetchval(f"select count(*) from {t}") for t in TABLES}  # noqa: S608


# -- help --------------------------------------------------------------------------------------

COMMANDS = [
    [],
    ["serve"],
    ["migrate"],
    ["users"],
    ["users", "create"],
    ["tokens"],
    ["tokens", "create"],
    ["tokens", "revoke"],
    ["seed"],
    ["schema"],
]


async def test_every_command_has_help(database_url):
    runs = await asyncio.gather(*(cli(database_url, *cmd, "--help") for cmd in COMMANDS))
    for cmd, run in zip(COMMANDS, runs, strict=True):
        assert run.returncode == 0, (cmd, run)
        assert run.stdout.startswith(f"usage: {' '.join(['issuegraph', *cmd])}"), (cmd, run.stdout)
        assert "--help" in run.stdout
        assert run.stderr == ""
    by_command = {" ".join(cmd): run.stdout for cmd, run in zip(COMMANDS, runs, strict=True)}
    for name in ("serve", "migrate", "users", "tokens", "seed", "schema"):
        assert name in by_command[""]
    assert "--port" in by_command["serve"]
    assert "--demo" in by_command["serve"]
    assert "--admin" in by_command["users create"]
    assert "--scope" in by_command["tokens create"]
    assert "--expires-in-days" in by_command["tokens create"]
    assert "--demo" in by_command["seed"]


async def test_no_command_is_a_usage_error(database_url):
    run = await cli(database_url)
    assert run.returncode == 2
    assert "usage: issuegraph" in run.stderr


# -- users and tokens ----------------------------------------------------------------------------


async def test_users_create_then_tokens_create_prints_one_working_token(database_url, api, pool):
    created = await cli(database_url, "users", "create", "alice")
    assert created.returncode == 0, created
    assert "alice" in created.stdout
    assert await pool.fetchval("select count(*) from users where username = 'alice'") == 1

    run = await cli(database_url, "tokens", "create", "alice")
    assert run.returncode == 0, run
    lines = run.stdout.splitlines()
    assert len(lines) == 1, run.stdout
    assert run.stdout == lines[0] + "\n"
    token = lines[0]
    assert token.strip() == token
    assert len(token) >= 32

    # Stored as its SHA-256 digest, with the default `api` scope.
    row = await pool.fetchrow(
        "select t.scopes, u.username from personal_access_tokens t join users u on u.id = t.user_id "
        "where t.token_digest = $1",
        hashlib.sha256(token.encode()).digest(),
    )
    assert row is not None
    assert (row["username"], row["scopes"]) == ("alice", ["api"])

    # And it works: reads and writes as alice.
    viewer = await api.gql("{ viewer { username } }", token=token)
    assert viewer.data == {"viewer": {"username": "alice"}}
    payload = await api.mutate(
        "createProject", {"fullPath": "alice/cli"}, "project { fullPath }", token=token
    )
    assert payload["errors"] == []
    assert payload["project"] == {"fullPath": "alice/cli"}


async def test_tokens_create_with_read_api_scope_reads_but_cannot_write(database_url, api, pool):
    assert (await cli(database_url, "users", "create", "bob")).returncode == 0
    run = await cli(database_url, "tokens", "create", "bob", "--scope", "read_api")
    assert run.returncode == 0, run
    token = run.stdout.strip()
    assert run.stdout.count("\n") == 1

    scopes = await pool.fetchval(
        "select scopes from personal_access_tokens where token_digest = $1",
        hashlib.sha256(token.encode()).digest(),
    )
    assert scopes == ["read_api"]
    viewer = await api.gql("{ viewer { username } }", token=token)
    assert viewer.data == {"viewer": {"username": "bob"}}
    payload = await api.mutate(
        "createProject", {"fullPath": "bob/cli"}, "project { fullPath }", token=token
    )
    assert payload["project"] is None
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert await pool.fetchval("select count(*) from projects") == 0


async def test_tokens_create_for_unknown_user_fails_with_a_message(database_url, pool):
    run = await cli(database_url, "tokens", "create", "nosuchuser")
    assert run.returncode != 0
    assert run.stdout == ""
    assert "nosuchuser" in run.stderr
    assert "Traceback" not in run.stderr
    assert await pool.fetchval("select count(*) from personal_access_tokens") == 0


async def test_users_create_twice_fails_with_a_message(database_url, pool):
    assert (await cli(database_url, "users", "create", "carol")).returncode == 0
    again = await cli(database_url, "users", "create", "CAROL")
    assert again.returncode != 0
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    assert await pool.fetchval("select count(*) from users") == 1


# -- seed and schema -----------------------------------------------------------------------------


async def test_seed_demo_twice_creates_once_then_says_already_present(database_url, pool):
    before = await row_counts(pool)
    assert set(before.values()) == {0}

    first = await cli(database_url, "seed", "--demo")
    assert first.returncode == 0, first
    assert "created" in first.stdout
    seeded = await row_counts(pool)
    assert seeded["users"] > 0
    assert seeded["projects"] > 0
    assert seeded["issues"] > 0

    second = await cli(database_url, "seed", "--demo")
    assert second.returncode == 0, second
    assert "already present" in second.stdout
    assert await row_counts(pool) == seeded


async def test_seed_without_demo_flag_changes_nothing(database_url, pool):
    run = await cli(database_url, "seed")
    assert run.returncode != 0
    assert "--demo" in run.stderr
    assert set((await row_counts(pool)).values()) == {0}


async def test_schema_prints_the_sdl(database_url):
    run = await cli(database_url, "schema")
    assert run.returncode == 0, run
    assert "type Issue implements Node" in run.stdout
    assert "type Query {" in run.stdout
    assert "type Mutation {" in run.stdout
    assert "createIssue(input: CreateIssueInput!): IssuePayload!" in run.stdout


# -- the embedded server ---------------------------------------------------------------------------


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Processes of a server on `pgdata`: the postmaster names it, every backend runs in it."""
    target = str(pgdata.resolve())
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["cwd"] == target or any(target in arg for arg in cmdline):
            found.append(proc)
    return [p for p in found if p.pid != os.getpid()]


async def test_migrate_without_database_url_starts_migrates_and_stops_embedded_server(tmp_path):
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pgdata"
    env = cli_env(None, ISSUEGRAPH_DATA_DIR=str(data_dir))

    proc = await start(env, "migrate")
    seen_running = False
    while proc.returncode is None:
        if not seen_running and pgdata.exists() and postgres_processes(pgdata):
            seen_running = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.05)
    run = await finish(proc)

    assert run.returncode == 0, run
    assert run.stdout.startswith("applied: 0001_initial"), run
    assert seen_running, "no PostgreSQL process ran on the data directory"
    assert (pgdata / "PG_VERSION").exists()
    # Stopped cleanly: no postmaster.pid, no process left on the data directory.
    assert not (pgdata / "postmaster.pid").exists()
    assert postgres_processes(pgdata) == []

    # The data persisted: the next run finds the same database, already migrated.
    again = await cli(None, "migrate", ISSUEGRAPH_DATA_DIR=str(data_dir))
    assert again.returncode == 0, again
    assert again.stdout.strip() == "database is up to date"
    assert not (pgdata / "postmaster.pid").exists()
    assert postgres_processes(pgdata) == []
