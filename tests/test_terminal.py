"""What a person at a terminal sees: log lines by where stderr goes, and which embedded
PostgreSQL a command uses. Real `issuegraph` processes, a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import logging
import os
import pty
import re
import signal
from pathlib import Path

import aiohttp

from issuegraph.logs import JsonFormatter, TextFormatter, configure_logging
from tests.helpers import free_port, serve_command, serve_process
from tests.test_cli import cli_env, finish, postgres_processes, start

TEXT_LINE = re.compile(r"^(\d\d:\d\d:\d\d) (DEBUG|INFO|WARNING|ERROR|CRITICAL) +(\S+): (.*)$")
ACCESS_TEXT = re.compile(
    r"^\d\d:\d\d:\d\d INFO    access: GET /healthz 200 \d+\.\dms \[request [0-9a-f]{32}\]$"
)
# A fixed offset of UTC+05:45 as a POSIX TZ string: local time that is not UTC, with no
# time zone database needed.
NEPAL_TZ = "<+0545>-05:45"
NEPAL = dt.timezone(dt.timedelta(hours=5, minutes=45))


def _drain(master: int) -> bytes:
    """Everything written to a pseudo-terminal until its last writer closes it."""
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def serve_stderr(*, terminal: bool, **env_extra: str) -> list[str]:
    """Run `issuegraph serve` with stderr on a pseudo-terminal or a pipe, ask /healthz once
    it listens, stop it with SIGINT, and return its stderr's lines."""
    env = {k: v for k, v in os.environ.items() if k != "ISSUEGRAPH_LOG_FORMAT"}
    env |= {"ISSUEGRAPH_LOG_LEVEL": "INFO", **env_extra}
    port = free_port()
    master = slave = -1
    if terminal:
        master, slave = pty.openpty()
    # The log lines of one process (workers' are in tests/test_workers.py).
    proc = await asyncio.create_subprocess_exec(
        *serve_command(port, "--workers", "1"),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=slave if terminal else asyncio.subprocess.PIPE,
    )
    drained = None
    if terminal:
        os.close(slave)
        drained = asyncio.create_task(asyncio.to_thread(_drain, master))
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(30):
            while proc.returncode is None:
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            if drained is not None:
                await proc.wait()
                raw = await drained
                os.close(master)
            else:
                _, raw = await proc.communicate()
    assert proc.returncode == 0, raw.decode()
    return raw.decode().splitlines()


def _local_seconds(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> set[str]:
    seconds = set()
    moment = start - dt.timedelta(seconds=1)
    while moment <= end + dt.timedelta(seconds=1):
        seconds.add(moment.astimezone(zone).strftime("%H:%M:%S"))
        moment += dt.timedelta(seconds=1)
    return seconds


def assert_text(lines: list[str]) -> None:
    assert lines, "no log lines"
    for line in lines:
        assert TEXT_LINE.match(line), line
    serving = re.compile(
        r"^\d\d:\d\d:\d\d INFO    cli: serving on http://127\.0\.0\.1:\d+/graphql$"
    )
    assert any(serving.match(line) for line in lines), lines
    assert any(ACCESS_TEXT.match(line) for line in lines), lines


def assert_json(lines: list[str]) -> None:
    assert lines, "no log lines"
    entries = [json.loads(line) for line in lines]
    serving = next(e for e in entries if e["message"].startswith("serving on "))
    assert list(serving) == ["time", "level", "logger", "message"]
    assert serving["logger"] == "issuegraph.cli"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", serving["time"])
    access = next(e for e in entries if e["logger"] == "issuegraph.access")
    assert list(access) == [
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "operation",
    ]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/healthz", 200)


# -- where the logs go -------------------------------------------------------------------------


async def test_a_terminal_gets_text_lines_in_local_time_and_a_pipe_gets_json(database_url):
    began = dt.datetime.now(dt.UTC)
    on_terminal, on_pipe = await asyncio.gather(
        serve_stderr(terminal=True, DATABASE_URL=database_url, TZ=NEPAL_TZ),
        serve_stderr(terminal=False, DATABASE_URL=database_url, TZ=NEPAL_TZ),
    )
    ended = dt.datetime.now(dt.UTC)

    assert_text(on_terminal)
    # Local time (here UTC+05:45), to the second; the logger without `issuegraph.`.
    first = TEXT_LINE.match(on_terminal[0])
    assert first is not None
    assert first.group(1) in _local_seconds(began, ended, NEPAL)
    assert first.group(1) not in _local_seconds(began, ended, dt.UTC)
    assert {TEXT_LINE.match(line).group(3) for line in on_terminal} >= {"cli", "access"}  # type: ignore[union-attr]

    assert_json(on_pipe)


async def test_log_format_json_and_text_override_the_terminal_check(database_url):
    json_on_terminal, text_on_pipe = await asyncio.gather(
        serve_stderr(terminal=True, DATABASE_URL=database_url, ISSUEGRAPH_LOG_FORMAT="json"),
        serve_stderr(terminal=False, DATABASE_URL=database_url, ISSUEGRAPH_LOG_FORMAT="text"),
    )
    assert_json(json_on_terminal)
    assert_text(text_on_pipe)


async def test_an_unknown_log_format_is_refused_with_the_choices(database_url):
    run = await finish(await start(cli_env(database_url, ISSUEGRAPH_LOG_FORMAT="fancy"), "migrate"))
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == (
        "issuegraph: ISSUEGRAPH_LOG_FORMAT must be one of auto, json, text, got 'fancy'\n"
    )


class _Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def test_auto_is_json_for_any_stream_that_is_not_a_terminal():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for stream in (io.StringIO(), _Closed()):
            handler = configure_logging("INFO", "auto", stream)
            assert isinstance(handler.formatter, JsonFormatter)
        handler = configure_logging("INFO", "text", io.StringIO())
        assert isinstance(handler.formatter, TextFormatter)
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


# -- the embedded server: started, or joined --------------------------------------------------


def messages(stderr: str) -> list[str]:
    return [json.loads(line)["message"] for line in stderr.splitlines()]


async def test_commands_beside_serve_join_its_embedded_server_and_say_so(tmp_path):
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pgdata"
    env = cli_env(
        None,
        ISSUEGRAPH_DATA_DIR=str(data_dir),
        ISSUEGRAPH_LOG_LEVEL="INFO",
        ISSUEGRAPH_LOG_FORMAT="json",
    )
    async with serve_process(free_port(), env, workers=1) as served:
        postmaster = (pgdata / "postmaster.pid").read_text().splitlines()
        server_pid, server_port = int(postmaster[0]), int(postmaster[3])
        created = await finish(await start(env, "users", "create", "alice"))
        token = await finish(await start(env, "tokens", "create", "alice"))
        # The commands let go of the server without stopping it: serve still uses it.
        assert int((pgdata / "postmaster.pid").read_text().split()[0]) == server_pid
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{served.base}/readyz") as response,
        ):
            assert response.status == 200
    # serve was the last to hold the server: it stopped it.
    assert postgres_processes(pgdata) == []

    joined = (
        f"using the embedded PostgreSQL already running on port {server_port} "
        f"(data directory {data_dir.resolve()})"
    )
    for run in (created, token):
        assert run.returncode == 0, run
        said = messages(run.stderr)
        assert joined in said, said
        assert not any(m.startswith("starting embedded PostgreSQL") for m in said), said
    # tokens create's stdout is the bare token, whatever the log level.
    assert re.fullmatch(r"igpat-[A-Za-z0-9_-]{43}\n", token.stdout), token.stdout

    said = messages(served.stderr.decode())
    assert f"starting embedded PostgreSQL in {pgdata.resolve()}" in said
    assert not any(m.startswith("using the embedded PostgreSQL") for m in said), said


async def test_a_command_alone_starts_the_embedded_server_and_says_so(tmp_path):
    data_dir = tmp_path / "data"
    env = cli_env(
        None,
        ISSUEGRAPH_DATA_DIR=str(data_dir),
        ISSUEGRAPH_LOG_LEVEL="INFO",
        ISSUEGRAPH_LOG_FORMAT="json",
    )
    for _ in range(2):  # a fresh data directory, then one whose server is stopped
        run = await finish(await start(env, "migrate"))
        assert run.returncode == 0, run
        said = messages(run.stderr)
        assert f"starting embedded PostgreSQL in {(data_dir / 'pgdata').resolve()}" in said
        assert not any(m.startswith("using the embedded PostgreSQL") for m in said), said
    assert postgres_processes(Path(data_dir / "pgdata")) == []
