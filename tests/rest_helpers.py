"""Shared by the REST tests: a scene of users, projects and issues, a real `issuegraph serve`
for the real clients, and a plain HTTP client for the REST paths."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg

from issuegraph.models import Issue, Project, Role, TokenScope, User, Visibility
from tests.helpers import Served, World, free_port, serve_process


@dataclass
class Scene:
    """alice owns acme/web (public), acme/api (public) and alice/secret (private); bob is a
    signed-in outsider; carol is a guest of acme/web; reader has a read_api token."""

    world: World
    alice: User
    bob: User
    carol: User
    alice_token: str
    bob_token: str
    carol_token: str
    reader_token: str
    web: Project
    api: Project
    secret: Project
    web_issues: list[Issue]
    api_issues: list[Issue]
    secret_issues: list[Issue]


async def make_scene(world: World) -> Scene:
    alice, alice_token = await world.user_with_token("alice")
    bob, bob_token = await world.user_with_token("bob")
    carol, carol_token = await world.user_with_token("carol")
    await world.user("reader")
    reader_token = await world.token("reader", scopes=(TokenScope.READ_API,))
    web = await world.project(alice, "acme/web", Visibility.PUBLIC)
    api = await world.project(alice, "acme/api", Visibility.PUBLIC)
    secret = await world.project(alice, "alice/secret", Visibility.PRIVATE)
    await world.member(web, carol, Role.GUEST)
    web_issues = [
        await world.issue(alice, web, f"Web {n}", labels=["bug"] if n == 1 else [])
        for n in range(1, 6)
    ]
    api_issues = [await world.issue(alice, api, f"Api {n}") for n in range(1, 3)]
    secret_issues = [await world.issue(alice, secret, f"Secret plan {n}") for n in range(1, 3)]
    return Scene(
        world,
        alice,
        bob,
        carol,
        alice_token,
        bob_token,
        carol_token,
        reader_token,
        web,
        api,
        secret,
        web_issues,
        api_issues,
        secret_issues,
    )


class Http:
    """Plain HTTP against the app: the status, the headers and the decoded body."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        header: str = "PRIVATE-TOKEN",
        body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        params: Any = None,
    ) -> tuple[int, Any, Any]:
        sent = dict(headers or {})
        if token is not None:
            if header == "PRIVATE-TOKEN":
                sent[header] = token
            else:
                sent["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": sent}
        if body is not None:
            kwargs["json"] = body
        if data is not None:
            kwargs["data"] = data
        if params is not None:
            kwargs["params"] = params
        response = await self.client.request(method, path, **kwargs)
        raw = await response.read()
        return response.status, json.loads(raw) if raw else None, response.headers


async def link_events(pool: asyncpg.Pool) -> list[tuple[str, int | None, int | None]]:
    rows = await pool.fetch("select kind::text, actor_id, link_id from events order by xid, id")
    return [(r["kind"], r["actor_id"], r["link_id"]) for r in rows if r["kind"].startswith("link")]


@contextlib.asynccontextmanager
async def served(database_url: str) -> AsyncIterator[Served]:
    """`issuegraph serve` on a free port, its public URL the address the clients use."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env |= {
        "DATABASE_URL": database_url,
        "ISSUEGRAPH_POOL_MIN_SIZE": "1",
        "ISSUEGRAPH_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ISSUEGRAPH_LOG_LEVEL": "WARNING",
    }
    async with serve_process(port, env) as process:
        yield process
