"""Test helpers: a GraphQL client over real HTTP, a builder for test data, a statement log."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from asyncpg import introspection

from issuegraph.db.queries import projects as project_queries
from issuegraph.domain import issues as issue_service
from issuegraph.domain import projects as project_service
from issuegraph.domain.access import Access
from issuegraph.domain.auth import create_token
from issuegraph.domain.users import create_user
from issuegraph.loaders import Loaders
from issuegraph.models import Issue, Project, Role, TokenScope, User, Viewer, Visibility


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: Any

    @property
    def data(self) -> Any:
        assert not self.body.get("errors"), self.body["errors"]
        return self.body["data"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def codes(self) -> list[str]:
        return [e["extensions"]["code"] for e in self.errors]


class Api:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        resp = await self.client.post("/graphql", json=payload, headers=sent)
        return Response(resp.status, await resp.json(), resp.headers)

    async def mutate(
        self, name: str, input_: dict[str, Any], selection: str, *, token: str | None
    ) -> dict[str, Any]:
        """Run a mutation `name(input: $input) { errors {...} <selection> }`; return its payload."""
        query = (
            f"mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) "
            f"{{ clientMutationId errors {{ code message path details }} {selection} }} }}"
        )
        response = await self.gql(query, {"input": input_}, token=token)
        return response.data[name]  # type: ignore[no-any-return]


@dataclass
class World:
    """Builds test data through the same domain functions the mutations use."""

    pool: asyncpg.Pool

    async def user(self, username: str, *, admin: bool = False) -> User:
        return await create_user(self.pool, username, is_admin=admin)

    async def token(
        self, username: str, *, scopes: tuple[TokenScope, ...] = (TokenScope.API,)
    ) -> str:
        _, token = await create_token(self.pool, username, scopes=list(scopes))
        return token

    async def user_with_token(self, username: str, *, admin: bool = False) -> tuple[User, str]:
        user = await self.user(username, admin=admin)
        return user, await self.token(username)

    def access(self, user: User) -> Access:
        viewer = Viewer(user=user, scopes=frozenset({TokenScope.API}))
        return Access(viewer, Loaders(self.pool, viewer))

    async def project(
        self, owner: User, full_path: str, visibility: Visibility = Visibility.PRIVATE
    ) -> Project:
        return await project_service.create_project(
            self.access(owner), self.pool, full_path=full_path, name=None, visibility=visibility
        )

    async def member(self, project: Project, user: User, role: Role) -> None:
        await project_queries.insert_member(self.pool, project.id, user.id, role)

    async def issue(
        self, author: User, project: Project, title: str = "An issue", **kw: Any
    ) -> Issue:
        return await issue_service.create_issue(
            self.access(author), self.pool, project_ref=str(project.id), title=title, **kw
        )


INTROSPECTION = {introspection.INTRO_LOOKUP_TYPES, introspection.INTRO_LOOKUP_TYPES_13}


def introspecting(query: str) -> bool:
    """asyncpg's type introspection on a connection's first use of a type: the lookup, and
    switching JIT off and back around it."""
    return query in INTROSPECTION or "set_config('jit'" in query


class StatementLog:
    """Every statement the app's pooled connections send, but the pool's reset and the
    driver's one-time type introspection (a new pooled connection may do it at any time)."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self._reset_queries: set[str] = set()

    async def attach(self, conn: Any) -> None:
        self._reset_queries.add(conn.get_reset_query())
        conn.add_query_logger(self._log)

    def _log(self, record: Any) -> None:
        if record.query not in self._reset_queries and not introspecting(record.query):
            self.queries.append(record.query)

    async def count(self, action: Any) -> int:
        await asyncio.sleep(0.05)  # let loggers of earlier statements run
        self.queries.clear()
        await action
        await asyncio.sleep(0.05)  # loggers run via call_soon
        return len(self.queries)


ISSUEGRAPH = Path(sys.executable).with_name("issuegraph")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base: str
    stderr: bytes = b""  # everything the server wrote, once it has stopped
    process: asyncio.subprocess.Process | None = None  # to kill it, for fault tests


def serve_command(port: int, *more: str) -> list[str]:
    """`issuegraph serve` on the loopback address and `port`, with `more` arguments."""
    return [str(ISSUEGRAPH), "serve", "--host", "127.0.0.1", "--port", str(port), *more]


@contextlib.asynccontextmanager
async def serve_process(
    port: int, env: dict[str, str], *, workers: int = 2
) -> AsyncIterator[Served]:
    """`issuegraph serve` as a process of its own on a loopback port, ready (`/healthz`
    answers) when the block starts; stopped with SIGINT (killed after 15 s) when it ends.
    Two workers by default (docs/scaling.md): what the tests see through a served process
    holds across processes; `workers=1` is the single process with no supervisor."""
    proc = await asyncio.create_subprocess_exec(
        *serve_command(port, "--workers", str(workers)),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    served = Served(f"http://127.0.0.1:{port}", process=proc)
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(30):
            while True:
                if proc.returncode is not None:
                    stderr = await proc.stderr.read() if proc.stderr else b""
                    pytest.fail(f"issuegraph serve exited: {stderr.decode()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{served.base}/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
        yield served
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(15):
                _, served.stderr = await proc.communicate()
        except TimeoutError:
            proc.kill()
            _, served.stderr = await proc.communicate()


async def log_settled(pool: asyncpg.Pool) -> None:
    """Wait (10 s at most) until every committed event of the change log is below the
    horizon, where its readers read (docs/events.md): a transaction running meanwhile (the
    webhook worker's round, woken by the very writes a test made) holds it back a moment."""
    settled = (
        "select coalesce(max(xid) < pg_snapshot_xmin(pg_current_snapshot()), true) from events"
    )
    for _ in range(500):
        if await pool.fetchval(settled):
            return
        await asyncio.sleep(0.02)
    pytest.fail("the change log's horizon stayed behind its last event for 10 s")
