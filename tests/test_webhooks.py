"""Webhooks: registration, signed deliveries to a real receiver, retries, the delivery log,
redelivery, a killed server's deliveries, the address guard, access and hostile input.

The receiver is a real aiohttp server on loopback that verifies every request's signature
with the `standardwebhooks` package; the service under test is the real application."""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook as Verifier

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.db.queries import users as user_queries
from issuegraph.delivery import backoff_ms, retry_after
from issuegraph.domain.webhooks import address_allowed, new_secret
from issuegraph.models import Role, TokenScope, Visibility
from tests.helpers import Api, World, free_port, serve_process

HOOK_FIELDS = (
    "webhook { databaseId url kinds enabled disabledReason disabledAt consecutiveFailures }"
)
LOG_QUERY = """
query($path: ID!) { project(fullPath: $path) { webhooks {
  databaseId enabled disabledReason consecutiveFailures
  deliveries(first: 50) { pageInfo { hasNextPage endCursor } nodes {
    databaseId status attemptCount redelivery messageId nextAttemptAt finishedAt
    event { databaseId kind }
    attempts { responseStatus durationMs error attemptedAt }
  } }
} } }
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback receivers allowed; a quick worker and small backoffs."""
    return replace(
        settings,
        webhook_allow_private=True,
        webhook_poll_ms=50,
        webhook_timeout_ms=2000,
        webhook_backoff_ms=50,
        webhook_backoff_max_ms=5000,
        webhook_max_attempts=5,
        webhook_disable_after=20,
    )


@pytest.fixture
async def make_api(aiohttp_client: Any, database_url: str) -> AsyncIterator[Any]:
    """Apps of the test's own settings, closed before the test's database is dropped."""
    made: list[Any] = []

    async def make(settings: Settings) -> Api:
        client = await aiohttp_client(create_app(settings))
        made.append(client)
        return Api(client)

    yield make
    for client in made:
        await client.close()


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    message: dict[str, Any]


@dataclass
class Receiver:
    """Answers each POST with the next scripted (status, headers), then 200; verifies
    every request's signature (a request that fails verification fails the test)."""

    url: str = ""
    secret: str | None = None
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    hang_first: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        assert self.secret is not None
        try:
            message = Verifier(self.secret).verify(body, headers)
        except Exception as error:  # noqa: BLE001
            self.unverified.append(repr(error))
            return web.Response(status=400)
        self.received.append(Received(time.monotonic(), headers, body, message))
        if self.hang_first and len(self.received) == 1:
            await asyncio.sleep(60)
        status, extra = self.script.pop(0) if self.script else (200, {})
        return web.Response(status=status, headers=extra)

    def types(self) -> list[str]:
        return [r.message["type"] for r in self.received]


@pytest.fixture
async def receiver(aiohttp_server: Any) -> AsyncIterator[Receiver]:
    made = Receiver()
    app = web.Application()
    app.router.add_post("/hook", made.handle)
    server = await aiohttp_server(app)
    made.url = f"http://127.0.0.1:{server.port}/hook"
    yield made
    assert made.unverified == []


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met in {within} s: {result!r}")
        await asyncio.sleep(0.05)


@dataclass
class Setup:
    api: Api
    world: World
    token: str
    path: str
    project: Any
    owner: Any

    async def hook(self, url: str, kinds: list[str], **extra: Any) -> dict[str, Any]:
        payload = await self.api.mutate(
            "createWebhook",
            {"project": self.path, "url": url, "kinds": kinds, **extra},
            f"secret {HOOK_FIELDS}",
            token=self.token,
        )
        assert payload["errors"] == [], payload["errors"]
        return payload

    async def issue(
        self, title: str, *, project: str | None = None, token: str | None = None
    ) -> int:
        payload = await self.api.mutate(
            "createIssue",
            {"project": project or self.path, "title": title},
            "issue { iid }",
            token=token or self.token,
        )
        assert payload["errors"] == [], payload["errors"]
        return int(payload["issue"]["iid"])

    async def log(self, token: str | None = None) -> list[dict[str, Any]]:
        response = await self.api.gql(LOG_QUERY, {"path": self.path}, token=token or self.token)
        return response.data["project"]["webhooks"]  # type: ignore[no-any-return]


@pytest.fixture
async def setup(api: Api, world: World) -> Setup:
    owner, token = await world.user_with_token("alice")
    project = await world.project(owner, "team/app")
    return Setup(api, world, token, "team/app", project, owner)


async def test_every_event_of_the_hooks_kinds_is_delivered_signed(
    setup: Setup, receiver: Receiver
) -> None:
    made = await setup.hook(receiver.url, ["ISSUE_CREATED", "ISSUE_CLOSED", "LINK_CREATED"])
    receiver.secret = made["secret"]
    assert made["secret"].startswith("whsec_")
    first = await setup.issue("First")
    second = await setup.issue("Second")
    await setup.api.mutate(
        "updateIssue",
        {"project": setup.path, "iid": first, "title": "Renamed"},
        "issue { iid }",
        token=setup.token,
    )
    await setup.api.mutate(
        "updateIssue",
        {"project": setup.path, "iid": first, "stateEvent": "CLOSE"},
        "issue { iid }",
        token=setup.token,
    )
    link = await setup.api.mutate(
        "createIssueLink",
        {
            "project": setup.path,
            "iid": first,
            "targetProject": setup.path,
            "targetIssueIid": second,
            "linkType": "BLOCKS",
        },
        "link { id }",
        token=setup.token,
    )
    assert link["errors"] == []
    # A silent link is in the log but never pushed.
    third = await setup.issue("Third")
    silent = await setup.api.mutate(
        "createIssueLink",
        {
            "project": setup.path,
            "iid": third,
            "targetProject": setup.path,
            "targetIssueIid": second,
            "silent": True,
        },
        "link { id }",
        token=setup.token,
    )
    assert silent["errors"] == []
    await setup.issue("Last")

    await eventually(lambda: _count(receiver, 6))
    await asyncio.sleep(0.3)  # nothing else arrives
    # Deliveries are concurrent: the order of arrival is not the log's.
    receiver.received.sort(key=lambda r: r.message["data"]["eventId"])
    assert receiver.types() == [
        "issue.created",
        "issue.created",
        "issue.closed",
        "issue_link.created",
        "issue.created",
        "issue.created",
    ]
    created = receiver.received[0]
    assert created.headers["X-Gitlab-Event"] == "Issue Hook"
    assert created.headers["webhook-id"].startswith("msg_")
    data = created.message["data"]
    assert data["issue"]["reference"] == f"team/app#{first}"
    assert data["issue"]["title"] == "First"
    assert data["actor"]["username"] == "alice"
    assert data["cursor"]
    closed = receiver.received[2].message["data"]
    assert {"field": "state", "before": "opened", "after": "closed"} in closed["changes"]
    linked = receiver.received[3]
    assert linked.headers["X-Gitlab-Event"] == "Issue Link Hook"
    assert linked.message["data"]["link"]["linkType"] == "BLOCKS"
    assert linked.message["data"]["link"]["source"]["iid"] == first
    assert linked.message["data"]["link"]["target"]["reference"] == f"team/app#{second}"
    uuids = {r.headers["X-Gitlab-Event-UUID"] for r in receiver.received}
    assert len(uuids) == 6
    (hook,) = await setup.log()
    assert all(d["status"] == "DELIVERED" for d in hook["deliveries"]["nodes"])
    assert len(hook["deliveries"]["nodes"]) == 6


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def test_retries_after_500_with_the_same_message_id(setup: Setup, receiver: Receiver) -> None:
    receiver.script = [(500, {}), (500, {})]
    receiver.secret = (await setup.hook(receiver.url, ["ISSUE_CREATED"]))["secret"]
    await setup.issue("Flaky")
    await eventually(lambda: _count(receiver, 3))
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    (hook,) = await eventually(lambda: _delivered(setup))
    (delivery,) = hook["deliveries"]["nodes"]
    assert delivery["attemptCount"] == 3
    assert [a["responseStatus"] for a in delivery["attempts"]] == [500, 500, 200]
    assert all(a["durationMs"] >= 0 and a["error"] is None for a in delivery["attempts"])
    assert delivery["event"]["kind"] == "ISSUE_CREATED"
    # (The hook and its deliveries are read by two statements: read the hook again.)
    (hook,) = await setup.log()
    assert hook["consecutiveFailures"] == 0
    assert hook["enabled"]


async def _delivered(setup: Setup) -> Any:
    hooks = await setup.log()
    nodes = hooks[0]["deliveries"]["nodes"]
    return hooks if nodes and all(d["status"] == "DELIVERED" for d in nodes) else None


async def test_retry_after_is_honoured(setup: Setup, receiver: Receiver) -> None:
    receiver.script = [(503, {"Retry-After": "2"})]
    receiver.secret = (await setup.hook(receiver.url, ["ISSUE_CREATED"]))["secret"]
    await setup.issue("Later")
    await eventually(lambda: _count(receiver, 2))
    gap = receiver.received[1].at - receiver.received[0].at
    assert gap >= 1.9  # backoff alone would have been at most 50 ms


def test_retry_after_forms_and_backoff() -> None:
    now = time.time()
    assert retry_after("3", now=now, ceiling_ms=10_000) == 3000
    assert retry_after("999999", now=now, ceiling_ms=10_000) == 10_000
    date = email.utils.formatdate(now + 5, usegmt=True)
    assert 3000 <= (retry_after(date, now=now, ceiling_ms=60_000) or 0) <= 5000
    assert retry_after("yesterday", now=now, ceiling_ms=10_000) is None
    assert retry_after("-1", now=now, ceiling_ms=10_000) is None
    delays = [backoff_ms(n, base_ms=100, ceiling_ms=1000) for n in range(1, 8)]
    assert 50 <= delays[0] <= 100
    assert 200 <= delays[2] <= 400
    assert all(500 <= d <= 1000 for d in delays[4:])


async def test_410_disables_the_hook_at_once(setup: Setup, receiver: Receiver) -> None:
    receiver.script = [(410, {})]
    receiver.secret = (await setup.hook(receiver.url, ["ISSUE_CREATED"]))["secret"]
    await setup.issue("Gone")
    (hook,) = await eventually(lambda: _disabled(setup))
    assert "410" in hook["disabledReason"]
    assert hook["deliveries"]["nodes"][0]["status"] == "FAILED"
    await setup.issue("Not sent")
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 1


async def _disabled(setup: Setup) -> Any:
    hooks = await setup.log()
    return hooks if not hooks[0]["enabled"] else None


@pytest.fixture
def strict_settings(settings: Settings) -> Settings:
    return replace(settings, webhook_disable_after=3, webhook_max_attempts=10)


async def test_consecutive_failures_disable_and_reenabling_resets(
    make_api: Any, strict_settings: Settings, world: World, receiver: Receiver
) -> None:
    api = await make_api(strict_settings)
    owner, token = await world.user_with_token("alice")
    await world.project(owner, "team/app")
    setup = Setup(api, world, token, "team/app", None, owner)
    receiver.script = [(500, {})] * 3
    made = await setup.hook(receiver.url, ["ISSUE_CREATED"])
    receiver.secret = made["secret"]
    await setup.issue("Broken")
    (hook,) = await eventually(lambda: _disabled(setup))
    assert hook["consecutiveFailures"] == 3
    assert "3 consecutive" in hook["disabledReason"]
    (delivery,) = hook["deliveries"]["nodes"]
    assert delivery["status"] == "PENDING"
    assert delivery["attemptCount"] == 3
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 3  # nothing is sent while disabled
    enabled = await api.mutate(
        "updateWebhook",
        {"webhook": str(made["webhook"]["databaseId"]), "enabled": True},
        HOOK_FIELDS,
        token=token,
    )
    assert enabled["webhook"]["enabled"] is True
    assert enabled["webhook"]["consecutiveFailures"] == 0
    assert enabled["webhook"]["disabledReason"] is None
    await eventually(lambda: _delivered(setup))
    assert len(receiver.received) == 4


async def test_a_delivery_gives_up_after_max_attempts(
    make_api: Any, settings: Settings, world: World, receiver: Receiver
) -> None:
    api = await make_api(replace(settings, webhook_max_attempts=2))
    owner, token = await world.user_with_token("alice")
    await world.project(owner, "team/app")
    setup = Setup(api, world, token, "team/app", None, owner)
    receiver.script = [(500, {})] * 5
    receiver.secret = (await setup.hook(receiver.url, ["ISSUE_CREATED"]))["secret"]
    await setup.issue("Never")

    async def failed() -> Any:
        nodes = (await setup.log())[0]["deliveries"]["nodes"]
        return nodes if nodes and nodes[0]["status"] == "FAILED" else None

    (delivery,) = await eventually(failed)
    assert delivery["attemptCount"] == 2
    assert delivery["finishedAt"] is not None
    assert delivery["nextAttemptAt"] is None
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 2


async def test_redelivery_and_the_log_pages(setup: Setup, receiver: Receiver, world: World) -> None:
    made = await setup.hook(receiver.url, ["ISSUE_CREATED"])
    receiver.secret = made["secret"]
    hook_id = str(made["webhook"]["databaseId"])
    for n in range(3):
        await setup.issue(f"Issue {n}")
    (hook,) = await eventually(lambda: _delivered_n(setup, 3))
    event_id = hook["deliveries"]["nodes"][-1]["event"]["databaseId"]
    redone = await setup.api.mutate(
        "redeliverWebhookEvent",
        {"webhook": hook_id, "eventId": str(event_id)},
        "delivery { databaseId status redelivery messageId }",
        token=setup.token,
    )
    assert redone["errors"] == []
    assert redone["delivery"]["redelivery"] is True
    await eventually(lambda: _count(receiver, 4))
    original, again = [r for r in receiver.received if r.message["data"]["eventId"] == event_id]
    assert again.headers["webhook-id"] == original.headers["webhook-id"]
    assert again.body == original.body
    assert again.headers["webhook-id"] == redone["delivery"]["messageId"]
    # Pages, newest first.
    query = """query($path: ID!, $after: String) { project(fullPath: $path) { webhooks {
      deliveries(first: 2, after: $after) { pageInfo { hasNextPage endCursor }
        nodes { databaseId redelivery } } } } }"""
    first = (await setup.api.gql(query, {"path": setup.path}, token=setup.token)).data
    page = first["project"]["webhooks"][0]["deliveries"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["nodes"][0]["redelivery"] is True
    after = page["pageInfo"]["endCursor"]
    second = (
        await setup.api.gql(query, {"path": setup.path, "after": after}, token=setup.token)
    ).data
    rest = second["project"]["webhooks"][0]["deliveries"]
    assert rest["pageInfo"]["hasNextPage"] is False
    ids = [n["databaseId"] for n in page["nodes"] + rest["nodes"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 4
    # An event of another project, and ids that name nothing, are NOT_FOUND.
    other_owner, other_token = await world.user_with_token("carol")
    await world.project(other_owner, "other/place", Visibility.PUBLIC)
    await setup.issue("Elsewhere", project="other/place", token=other_token)
    events = await setup.api.gql(
        '{ events(project: "other/place") { nodes { databaseId } } }', token=setup.token
    )
    foreign = events.data["events"]["nodes"][0]["databaseId"]
    for bad in (str(foreign), "0", "999999999", "-4", "x" * 5000, "99999999999999999999999"):
        refused = await setup.api.mutate(
            "redeliverWebhookEvent",
            {"webhook": hook_id, "eventId": bad},
            "delivery { databaseId }",
            token=setup.token,
        )
        assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"], bad


async def _delivered_n(setup: Setup, n: int) -> Any:
    hooks = await _delivered(setup)
    return hooks if hooks and len(hooks[0]["deliveries"]["nodes"]) >= n else None


async def test_a_link_to_an_issue_the_creator_cannot_read_is_never_delivered(
    setup: Setup, receiver: Receiver, world: World
) -> None:
    bob, bob_token = await world.user_with_token("bob")
    await world.member(setup.project, bob, Role.DEVELOPER)
    secret_project = await world.project(bob, "bob/secret")
    hidden = await world.issue(bob, secret_project, "Hidden")
    receiver.secret = (await setup.hook(receiver.url, ["LINK_CREATED", "ISSUE_CREATED"]))["secret"]
    mine = await setup.issue("Mine")
    linked = await setup.api.mutate(
        "createIssueLink",
        {
            "project": setup.path,
            "iid": mine,
            "targetProject": "bob/secret",
            "targetIssueIid": hidden.iid,
        },
        "link { id }",
        token=bob_token,
    )
    assert linked["errors"] == []
    await setup.issue("After the link")
    await eventually(lambda: _count(receiver, 2))
    await asyncio.sleep(0.5)
    assert receiver.types() == ["issue.created", "issue.created"]
    assert b"Hidden" not in b"".join(r.body for r in receiver.received)
    (hook,) = await setup.log()
    assert len(hook["deliveries"]["nodes"]) == 2


async def test_access_to_managing_and_listing_hooks(
    setup: Setup, receiver: Receiver, world: World
) -> None:
    made = await setup.hook(receiver.url, ["ISSUE_CREATED"])
    hook_id = str(made["webhook"]["databaseId"])
    secret = made["secret"]
    roles = {}
    for name, role in (("dev", Role.DEVELOPER), ("rep", Role.REPORTER), ("boss", Role.MAINTAINER)):
        user, token = await world.user_with_token(name)
        await world.member(setup.project, user, role)
        roles[name] = token
    _, stranger = await world.user_with_token("stranger")
    _, admin = await world.user_with_token("root", admin=True)
    read_only = await world.token("boss", scopes=(TokenScope.READ_API,))

    for token in (roles["dev"], roles["rep"]):
        listed = await setup.api.gql(LOG_QUERY, {"path": setup.path}, token=token)
        assert listed.body["data"]["project"]["webhooks"] is None
        assert listed.codes == ["FORBIDDEN"]
        created = await setup.api.mutate(
            "createWebhook",
            {"project": setup.path, "url": receiver.url, "kinds": ["ISSUE_CREATED"]},
            "secret webhook { databaseId }",
            token=token,
        )
        assert [e["code"] for e in created["errors"]] == ["FORBIDDEN"]
        assert created["secret"] is None
        for name, extra in (("updateWebhook", {"enabled": False}), ("deleteWebhook", {})):
            refused = await setup.api.mutate(
                name, {"webhook": hook_id, **extra}, "clientMutationId", token=token
            )
            assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    # A private project the viewer does not read: NOT_FOUND, never FORBIDDEN.
    for name, input_ in (
        ("createWebhook", {"project": setup.path, "url": receiver.url, "kinds": ["ISSUE_CREATED"]}),
        ("updateWebhook", {"webhook": hook_id, "enabled": False}),
        ("deleteWebhook", {"webhook": hook_id}),
        ("redeliverWebhookEvent", {"webhook": hook_id, "eventId": "1"}),
    ):
        refused = await setup.api.mutate(name, input_, "clientMutationId", token=stranger)
        assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"], name
    # A read-only token manages nothing.
    response = await setup.api.gql(
        "mutation($i: DeleteWebhookInput!) { deleteWebhook(input: $i) { errors { code } } }",
        {"i": {"webhook": hook_id}},
        token=read_only,
    )
    assert response.data["deleteWebhook"]["errors"] == [{"code": "FORBIDDEN"}]
    # Anonymous: 401.
    anonymous = await setup.api.gql(
        "mutation($i: DeleteWebhookInput!) { deleteWebhook(input: $i) { errors { code } } }",
        {"i": {"webhook": hook_id}},
    )
    assert anonymous.status == 401
    # Maintainers and admins see it; the secret is never shown again.
    for token in (roles["boss"], admin, setup.token):
        listed = await setup.api.gql(LOG_QUERY, {"path": setup.path}, token=token)
        assert [h["databaseId"] for h in listed.data["project"]["webhooks"]] == [int(hook_id)]
        assert secret not in json.dumps(listed.body)
    updated = await setup.api.mutate(
        "updateWebhook",
        {"webhook": hook_id, "url": receiver.url + "?v=2"},
        HOOK_FIELDS,
        token=roles["boss"],
    )
    assert updated["webhook"]["url"].endswith("?v=2")
    assert secret not in json.dumps(updated)
    introspection = await setup.api.gql('{ __type(name: "Webhook") { fields { name } } }')
    assert "secret" not in {f["name"] for f in introspection.data["__type"]["fields"]}
    deleted = await setup.api.mutate(
        "deleteWebhook", {"webhook": hook_id}, "deletedWebhookId", token=roles["boss"]
    )
    assert deleted["deletedWebhookId"] == int(hook_id)
    assert (await setup.log())[0:] == []


async def test_a_given_secret_is_used_and_bad_ones_refused(
    setup: Setup, receiver: Receiver
) -> None:
    secret = new_secret()
    made = await setup.hook(receiver.url, ["ISSUE_CREATED"], secret=secret)
    assert made["secret"] == secret
    receiver.secret = secret
    await setup.issue("Signed")
    await eventually(lambda: _count(receiver, 1))
    for bad in ("", "whsec_", "whsec_short", "secret", "whsec_" + "A" * 400, "whsec_!!!!"):
        refused = await setup.api.mutate(
            "createWebhook",
            {"project": setup.path, "url": receiver.url, "kinds": ["ISSUE_CREATED"], "secret": bad},
            "secret",
            token=setup.token,
        )
        assert [e["code"] for e in refused["errors"]] == ["BAD_USER_INPUT"], bad
        assert refused["errors"][0]["path"] == ["input", "secret"]


BAD_URLS = [
    "ftp://example.com/hook",
    "example.com/hook",
    "http://user:pw@example.com/hook",
    "http://user@example.com/hook",
    "http:///nohost",
    "http://exa mple.com/",
    "http://example.com/\x00",
    "https://example.com:99999/",
    "javascript:alert(1)",
    "http://example.com/" + "a" * 3000,
    "",
    "http://[::1",
    "http://bücher.example/",
]
PRIVATE_URLS = [
    "http://127.0.0.1/hook",
    "http://10.1.2.3/",
    "http://192.168.0.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fc00::1]/",
]


async def test_hostile_input_gets_coded_errors_and_no_5xx(
    make_api: Any, settings: Settings, world: World
) -> None:
    api = await make_api(replace(settings, webhook_allow_private=False))
    owner, token = await world.user_with_token("alice")
    await world.project(owner, "team/app")
    for url in BAD_URLS:
        refused = await api.mutate(
            "createWebhook",
            {"project": "team/app", "url": url, "kinds": ["ISSUE_CREATED"]},
            "secret webhook { databaseId }",
            token=token,
        )
        assert [e["code"] for e in refused["errors"]] == ["BAD_USER_INPUT"], url
        assert refused["errors"][0]["path"] == ["input", "url"]
        assert refused["webhook"] is None
    for url in PRIVATE_URLS:
        refused = await api.mutate(
            "createWebhook",
            {"project": "team/app", "url": url, "kinds": ["ISSUE_CREATED"]},
            "webhook { databaseId }",
            token=token,
        )
        assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"], url
    empty = await api.mutate(
        "createWebhook",
        {"project": "team/app", "url": "https://example.com/", "kinds": []},
        "webhook { databaseId }",
        token=token,
    )
    assert [e["code"] for e in empty["errors"]] == ["BAD_USER_INPUT"]
    for project in ("nope/none", "0", "99999999999999999999999", "\x00", "a" * 10_000):
        missing = await api.mutate(
            "createWebhook",
            {"project": project, "url": "https://example.com/", "kinds": ["ISSUE_CREATED"]},
            "webhook { databaseId }",
            token=token,
        )
        assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"], project
    for hook in (
        "0",
        "-1",
        "abc",
        "1e9",
        "\uff11",
        "99999999999999999999999",
        "\x00",
        "9" * 5000,
        "",
    ):
        for name, extra in (("updateWebhook", {"enabled": True}), ("deleteWebhook", {})):
            missing = await api.mutate(
                name, {"webhook": hook, **extra}, "clientMutationId", token=token
            )
            assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"], (name, hook)
    made = await api.mutate(
        "createWebhook",
        {"project": "team/app", "url": "https://example.com/hook", "kinds": ["ISSUE_CREATED"]},
        "webhook { databaseId }",
        token=token,
    )
    hook_id = str(made["webhook"]["databaseId"])
    for bad in ("http://127.0.0.1/", "ftp://x/"):
        refused = await api.mutate(
            "updateWebhook", {"webhook": hook_id, "url": bad}, "clientMutationId", token=token
        )
        assert refused["errors"][0]["code"] in {"FORBIDDEN", "BAD_USER_INPUT"}
    query = """query($p: ID!, $first: Int, $after: String) { project(fullPath: $p) {
      webhooks { deliveries(first: $first, after: $after) { nodes { databaseId } } } } }"""
    for variables in (
        {"first": 0},
        {"first": 10_000},
        {"first": -1},
        {"after": "garbage"},
        {"after": "W1wiZXZlbnRcIiwxXQ"},
    ):
        response = await api.gql(query, {"p": "team/app", **variables}, token=token)
        assert response.status < 500
        assert response.codes == ["BAD_USER_INPUT"], variables
    wrong = await api.gql(
        'mutation { createWebhook(input: {project: "team/app", url: "https://e.com/", '
        "kinds: [NOT_A_KIND]}) { secret } }",
        token=token,
    )
    assert wrong.status < 500
    assert wrong.errors


def test_the_address_guard() -> None:
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "::1",
        "169.254.1.1",
        "0.0.0.0",  # noqa: S104
        "fe80::1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "100.64.0.1",
        "not an ip",
    ):
        assert not address_allowed(address, allow_private=False), address
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        assert address_allowed(address, allow_private=False), address
    assert address_allowed("127.0.0.1", allow_private=True)


async def test_a_host_resolving_to_loopback_is_refused_when_delivering(
    make_api: Any, settings: Settings, world: World, receiver: Receiver
) -> None:
    api = await make_api(replace(settings, webhook_allow_private=False))
    owner, token = await world.user_with_token("alice")
    await world.project(owner, "team/app")
    setup = Setup(api, world, token, "team/app", None, owner)
    url = receiver.url.replace("127.0.0.1", "localhost")
    receiver.secret = (await setup.hook(url, ["ISSUE_CREATED"]))["secret"]
    await setup.issue("Rebound")

    async def attempted() -> Any:
        nodes = (await setup.log())[0]["deliveries"]["nodes"]
        return nodes if nodes and nodes[0]["attempts"] else None

    (delivery,) = await eventually(attempted)
    attempt = delivery["attempts"][0]
    assert attempt["responseStatus"] is None
    assert "refused address" in attempt["error"]
    assert receiver.received == []


async def test_a_delivery_pending_when_the_server_is_killed_is_sent_by_the_next(
    database_url: str, world: World, receiver: Receiver, tmp_path: Any
) -> None:
    owner, token = await world.user_with_token("alice")
    await world.project(owner, "team/app")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ISSUEGRAPH_DATA_DIR": str(tmp_path),
        "ISSUEGRAPH_WEBHOOK_ALLOW_PRIVATE": "true",
        "ISSUEGRAPH_WEBHOOK_POLL_MS": "50",
        "ISSUEGRAPH_WEBHOOK_TIMEOUT_MS": "1000",
        "ISSUEGRAPH_LOG_LEVEL": "WARNING",
    }
    receiver.hang_first = True  # the first request is in flight when the server dies
    port = free_port()
    # One process, killed whole (with workers, tests/test_workers.py kills one of them).
    async with (
        serve_process(port, env, workers=1) as served,
        aiohttp.ClientSession(served.base) as client,
    ):
        api = Api(client)
        setup = Setup(api, world, token, "team/app", None, owner)
        receiver.secret = (await setup.hook(receiver.url, ["ISSUE_CREATED"]))["secret"]
        await setup.issue("Survives")
        await eventually(lambda: _count(receiver, 1))
        assert served.process is not None
        served.process.send_signal(signal.SIGKILL)
        await served.process.wait()
    port = free_port()
    async with serve_process(port, env) as served, aiohttp.ClientSession(served.base) as client:
        setup.api = Api(client)
        await eventually(lambda: _count(receiver, 2), within=30)
        (hook,) = await eventually(lambda: _delivered(setup))
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert again.message["data"]["issue"]["title"] == "Survives"
    (delivery,) = hook["deliveries"]["nodes"]
    assert delivery["attemptCount"] == 1  # the killed attempt was never recorded


async def test_two_processes_deliver_each_event_once(
    make_api: Any, settings: Settings, world: World, receiver: Receiver
) -> None:
    first = await make_api(settings)
    second = await make_api(settings)
    owner, token = await world.user_with_token("alice")
    await world.project(owner, "team/app")
    setup = Setup(first, world, token, "team/app", None, owner)
    receiver.secret = (await setup.hook(receiver.url, ["ISSUE_CREATED"]))["secret"]
    for n in range(12):
        setup.api = (first, second)[n % 2]
        await setup.issue(f"Issue {n}")
    await eventually(lambda: _count(receiver, 12))
    await asyncio.sleep(0.5)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 12
    assert len(set(ids)) == 12


async def test_a_blocked_creators_hook_delivers_nothing(
    setup: Setup, receiver: Receiver, pool: Any
) -> None:
    receiver.secret = (await setup.hook(receiver.url, ["ISSUE_CREATED"]))["secret"]
    await setup.issue("Before")
    await eventually(lambda: _count(receiver, 1))
    _, other_token = await setup.world.user_with_token("bob")
    await setup.world.member(setup.project, await _user(pool, "bob"), Role.DEVELOPER)
    await user_queries.set_user_state(pool, setup.owner.id, "blocked")
    await setup.issue("While blocked", token=other_token)
    await asyncio.sleep(1.0)
    assert len(receiver.received) == 1
    await user_queries.set_user_state(pool, setup.owner.id, "active")
    await setup.issue("After", token=other_token)
    await eventually(lambda: _count(receiver, 2))
    assert receiver.received[1].message["data"]["issue"]["title"] == "After"


async def _user(pool: Any, username: str) -> Any:
    (user,) = await user_queries.users_by_usernames(pool, [username])
    return user
