"""Subscriptions over WebSocket, fed by the change log: real servers, real PostgreSQL, real
WebSocket clients (gql's transports, and the websockets library for the raw protocol)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, Self

import aiohttp
import asyncpg
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.models import Project, Role, User, Visibility
from tests.helpers import Api, StatementLog, World, free_port, serve_process

LINK_EVENTS = """
subscription($project: ID, $issue: Int, $linkTypes: [LinkType!], $after: String) {
  issueLinkEvents(project: $project, issue: $issue, linkTypes: $linkTypes, after: $after) {
    cursor kind silent
    issue { iid title reference }
    link { linkType source { iid } target { iid } }
    changes { field before after }
    actor { username }
  }
}
"""

ISSUE_EVENTS = """
subscription($project: ID!, $issue: Int, $kinds: [ChangeEventKind!], $after: String) {
  issueEvents(project: $project, issue: $issue, kinds: $kinds, after: $after) {
    cursor kind issue { iid title current { title } }
  }
}
"""
TIMEOUT = 15


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


def api_ws_url(api: Api) -> str:
    return ws_url(str(api.client.make_url("")).rstrip("/"))


class Subscriber:
    """A gql client's subscription, its results gathered in a queue as they arrive."""

    def __init__(self, url: str, query: str, variables: dict[str, Any], **transport: Any) -> None:
        self.url = url
        self.request = GraphQLRequest(gql(query), variable_values=variables)
        self.transport = transport
        self.results: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        transport = WebsocketsTransport(url=self.url, **self.transport)
        try:
            async with Client(transport=transport) as session:
                self.ready.set()
                async for result in session.subscribe(self.request):
                    await self.results.put(result)
        except Exception as error:  # noqa: BLE001  (handed to the test)
            self.ready.set()
            await self.results.put(error)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), TIMEOUT)
        # The subscribe message is sent once the session is up: let the server start it.
        await asyncio.sleep(0.3)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def next(self) -> dict[str, Any]:
        result = await asyncio.wait_for(self.results.get(), TIMEOUT)
        if isinstance(result, BaseException):
            raise result
        return result

    async def error(self) -> TransportQueryError:
        result = await asyncio.wait_for(self.results.get(), TIMEOUT)
        assert isinstance(result, TransportQueryError), result
        return result

    async def nothing_more(self, wait: float = 0.5) -> None:
        await asyncio.sleep(wait)
        assert self.results.empty(), self.results.get_nowait()


def bearer(token: str) -> dict[str, Any]:
    return {"init_payload": {"Authorization": f"Bearer {token}"}}


async def link(api: Api, token: str, source: Any, target: Any, link_type: str = "BLOCKS") -> str:
    payload = await api.mutate(
        "createIssueLink",
        {
            "project": str(source.project_id),
            "iid": source.iid,
            "targetProject": str(target.project_id),
            "targetIssueIid": target.iid,
            "linkType": link_type,
        },
        "link { id }",
        token=token,
    )
    assert payload["errors"] == [], payload
    return str(payload["link"]["id"])


async def retitle(api: Api, token: str, issue: Any, title: str) -> None:
    payload = await api.mutate(
        "updateIssue",
        {"project": str(issue.project_id), "iid": issue.iid, "title": title},
        "issue { title }",
        token=token,
    )
    assert payload["errors"] == [], payload


def titles(results: list[dict[str, Any]], field: str = "issueEvents") -> list[str]:
    return [r[field]["issue"]["title"] for r in results]


@pytest.fixture
async def app_with(
    aiohttp_client: Any, settings: Settings
) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    """Makes the application with settings changed, served on a loopback port; each is
    closed before the test's database is dropped."""
    clients: list[Any] = []

    async def make(**changes: Any) -> Api:
        client = await aiohttp_client(create_app(replace(settings, **changes)))
        clients.append(client)
        return Api(client)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def alice(world: World) -> tuple[User, str]:
    return await world.user_with_token("alice")


@pytest.fixture
async def public(world: World, alice: tuple[User, str]) -> Project:
    return await world.project(alice[0], "acme/public", Visibility.PUBLIC)


@pytest.fixture
async def private(world: World, alice: tuple[User, str]) -> Project:
    return await world.project(alice[0], "acme/private", Visibility.PRIVATE)


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None] | Any:
    """Fails the test when the server logged an error (a traceback) for a client's mistake."""
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


# -- across processes ------------------------------------------------------------------------


async def test_events_of_another_process_arrive_in_order(
    database_url: str, tmp_path: Any, world: World, alice: tuple[User, str], public: Project
) -> None:
    """A subscriber of one `issuegraph serve` receives, in order, the changes made over
    HTTP to another one on the same database; SIGINT closes its connection with 1001."""
    user, token = alice
    one = await world.issue(user, public, "one")
    two = await world.issue(user, public, "two")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ISSUEGRAPH_DATA_DIR": str(tmp_path / "data"),
        "ISSUEGRAPH_LOG_FORMAT": "text",
    }
    async with (
        serve_process(free_port(), env) as reader,
        serve_process(free_port(), env) as writer,
    ):
        async with (
            Subscriber(
                ws_url(reader.base), LINK_EVENTS, {"project": "acme/public"}, **bearer(token)
            ) as links,
            Subscriber(
                ws_url(reader.base), ISSUE_EVENTS, {"project": "acme/public"}, **bearer(token)
            ) as issues,
            aiohttp.ClientSession(writer.base) as http,
        ):
            writes = Api(http)
            link_id = await link(writes, token, one, two)
            await retitle(writes, token, one, "one, renamed")
            update = await writes.mutate(
                "updateIssueLink",
                {
                    "project": "acme/public",
                    "iid": one.iid,
                    "linkId": link_id,
                    "linkType": "RELATES_TO",
                },
                "link { id }",
                token=token,
            )
            assert update["errors"] == []
            delete = await writes.mutate(
                "deleteIssueLink",
                {"project": "acme/public", "iid": one.iid, "linkId": link_id},
                "link { id }",
                token=token,
            )
            assert delete["errors"] == []
            await retitle(writes, token, two, "two, renamed")

            got = [(await links.next())["issueLinkEvents"] for _ in range(3)]
            assert [e["kind"] for e in got] == ["LINK_CREATED", "LINK_UPDATED", "LINK_DELETED"]
            assert got[0]["link"] == {
                "linkType": "BLOCKS",
                "source": {"iid": 1},
                "target": {"iid": 2},
            }
            assert got[0]["actor"] == {"username": "alice"}
            assert got[1]["changes"] == [
                {"field": "linkType", "before": "blocks", "after": "relates"}
            ]
            assert got[0]["issue"]["reference"] == "acme/public#1"
            changed = [await issues.next() for _ in range(2)]
            assert titles(changed) == ["one, renamed", "two, renamed"]
            cursors = [e["cursor"] for e in got]
            assert len(set(cursors)) == 3
            await links.nothing_more()
            await issues.nothing_more(0)

        # A connection open when the server stops (SIGINT, on leaving this block).
        ws = await connect(ws_url(reader.base), subprotocols=["graphql-transport-ws"])
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    assert ws.close_code == 1001
    for served in (reader, writer):
        assert b"Traceback" not in served.stderr, served.stderr.decode()


# -- resuming ----------------------------------------------------------------------------------


async def test_resume_after_the_last_cursor(
    api: Api, world: World, alice: tuple[User, str], public: Project
) -> None:
    """Reconnecting with `after:` the last cursor seen replays exactly what was missed, then
    goes on live, with no duplicate."""
    user, token = alice
    issue = await world.issue(user, public, "v0")
    variables = {"project": "acme/public", "issue": issue.iid}
    url = api_ws_url(api)
    async with Subscriber(url, ISSUE_EVENTS, variables, **bearer(token)) as first:
        await retitle(api, token, issue, "v1")
        seen = (await first.next())["issueEvents"]
        assert seen["issue"]["title"] == "v1"
    for title in ("v2", "v3", "v4"):  # while nobody listens
        await retitle(api, token, issue, title)
    resumed = {**variables, "after": seen["cursor"]}
    async with Subscriber(url, ISSUE_EVENTS, resumed, **bearer(token)) as again:
        replayed = [await again.next() for _ in range(3)]
        assert titles(replayed) == ["v2", "v3", "v4"]
        # `current` is the issue now, read with the loaders of this event's batch.
        assert replayed[0]["issueEvents"]["issue"]["current"] == {"title": "v4"}
        await retitle(api, token, issue, "v5")
        assert titles([await again.next()]) == ["v5"]
        await again.nothing_more()


async def test_a_subscriber_behind_the_window_catches_up_from_the_log(
    app_with: Any, world: World, alice: tuple[User, str], public: Project
) -> None:
    """With a window of 2 events, a replay of 6 reads the database, then follows the window."""
    api = await app_with(live_window=2)
    user, token = alice
    issue = await world.issue(user, public, "v0")
    variables = {"project": "acme/public", "issue": issue.iid}
    url = api_ws_url(api)
    async with Subscriber(url, ISSUE_EVENTS, variables, **bearer(token)) as first:
        await retitle(api, token, issue, "v1")
        start = (await first.next())["issueEvents"]["cursor"]
    for n in range(2, 8):
        await retitle(api, token, issue, f"v{n}")
    async with Subscriber(url, ISSUE_EVENTS, {**variables, "after": start}, **bearer(token)) as sub:
        assert titles([await sub.next() for _ in range(6)]) == [f"v{n}" for n in range(2, 8)]
        for n in range(8, 12):
            await retitle(api, token, issue, f"v{n}")
        assert titles([await sub.next() for _ in range(4)]) == [f"v{n}" for n in range(8, 12)]
        await sub.nothing_more()


# -- who sees what -----------------------------------------------------------------------------


async def test_a_link_with_a_hidden_end_is_never_pushed(
    api: Api, world: World, alice: tuple[User, str], public: Project, private: Project
) -> None:
    user, token = alice
    _, bob_token = await world.user_with_token("bob")
    shown = await world.issue(user, public, "shown")
    other = await world.issue(user, public, "other")
    hidden = await world.issue(user, private, "hidden")
    async with Subscriber(
        api_ws_url(api), LINK_EVENTS, {"project": "acme/public"}, **bearer(bob_token)
    ) as sub:
        await link(api, token, shown, hidden)  # bob cannot read one end
        await link(api, token, hidden, other, "RELATES_TO")
        await link(api, token, shown, other)  # the sentinel: after the hidden ones
        got = (await sub.next())["issueLinkEvents"]
        assert (got["link"]["source"]["iid"], got["link"]["target"]["iid"]) == (
            shown.iid,
            other.iid,
        )
        await sub.nothing_more()


async def test_anonymous_sees_public_projects_only(
    api: Api, world: World, alice: tuple[User, str], public: Project, private: Project
) -> None:
    user, token = alice
    secret = await world.issue(user, private, "s1")
    secret2 = await world.issue(user, private, "s2")
    one = await world.issue(user, public, "p1")
    two = await world.issue(user, public, "p2")
    async with Subscriber(api_ws_url(api), LINK_EVENTS, {}) as anonymous:
        await link(api, token, secret, secret2)
        await link(api, token, one, two)
        got = (await anonymous.next())["issueLinkEvents"]
        assert got["issue"]["title"] == "p1"
        await anonymous.nothing_more()
    async with Subscriber(api_ws_url(api), ISSUE_EVENTS, {"project": "acme/private"}) as refused:
        error = await refused.error()
        assert error.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_member_removed_stops_receiving(  # noqa: PLR0917  (fixtures)
    api: Api,
    world: World,
    pool: asyncpg.Pool,
    alice: tuple[User, str],
    public: Project,
    private: Project,
) -> None:
    user, token = alice
    carol, carol_token = await world.user_with_token("carol")
    await world.member(private, carol, Role.DEVELOPER)
    inside = await world.issue(user, private, "inside")
    outside = await world.issue(user, public, "outside")
    async with (
        Subscriber(
            api_ws_url(api), ISSUE_EVENTS, {"project": "acme/private"}, **bearer(carol_token)
        ) as private_events,
        Subscriber(
            api_ws_url(api), ISSUE_EVENTS, {"project": "acme/public"}, **bearer(carol_token)
        ) as public_events,
    ):
        await retitle(api, token, inside, "inside 1")
        assert titles([await private_events.next()]) == ["inside 1"]
        await pool.execute(
            "delete from project_members where project_id = $1 and user_id = $2",
            private.id,
            carol.id,
        )
        await retitle(api, token, inside, "inside 2")
        await retitle(api, token, outside, "outside 1")  # the sentinel
        assert titles([await public_events.next()]) == ["outside 1"]
        await private_events.nothing_more()


# -- the database going away -------------------------------------------------------------------

TERMINATE_OTHERS = """
select count(pg_terminate_backend(pid)) from pg_stat_activity
 where datname = current_database() and pid <> pg_backend_pid()
"""


async def test_events_during_and_after_a_database_outage_arrive_once(
    api: Api, database_url: str, world: World, alice: tuple[User, str], public: Project
) -> None:
    """Every backend of the server (its pool and its LISTEN connection) is terminated with
    pg_terminate_backend, again and again, while changes commit on a connection of the
    test's own: the subscriber gets each of them once, in order, then the later ones."""
    user, token = alice
    issue = await world.issue(user, public, "before")
    async with Subscriber(
        api_ws_url(api), ISSUE_EVENTS, {"project": "acme/public"}, **bearer(token)
    ) as sub:
        await retitle(api, token, issue, "before, renamed")
        assert titles([await sub.next()]) == ["before, renamed"]
        conn = await asyncpg.connect(database_url)
        try:
            own = World(conn)
            for n in range(3):
                assert await conn.fetchval(TERMINATE_OTHERS) >= 1
                await own.issue(user, public, f"during {n}")
                await asyncio.sleep(0.05)
            await conn.fetchval(TERMINATE_OTHERS)
            await asyncio.sleep(1)
            await own.issue(user, public, "after")
        finally:
            await conn.close()
        got = [await sub.next() for _ in range(4)]
        assert titles(got) == ["during 0", "during 1", "during 2", "after"]
        # And the server's own writes work again, and are pushed.
        await retitle(api, token, issue, "later")
        assert titles([await sub.next()]) == ["later"]
        await sub.nothing_more()


# -- the protocol and hostile input ------------------------------------------------------------


@contextlib.asynccontextmanager
async def raw(
    url: str, protocol: str = "graphql-transport-ws", **options: Any
) -> AsyncIterator[Any]:
    """A WebSocket client that sends no Accept header (the websockets library's)."""
    async with connect(url, subprotocols=[protocol], **options) as ws:  # type: ignore[list-item]
        yield ws


async def send(ws: Any, message: Any) -> None:
    await ws.send(message if isinstance(message, str | bytes) else json.dumps(message))


async def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return message


async def closed(ws: Any) -> tuple[int, str]:
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    return ws.close_code, ws.close_reason


async def init(ws: Any, payload: dict[str, Any] | None = None) -> None:
    await send(ws, {"type": "connection_init", **({"payload": payload} if payload else {})})
    assert (await receive(ws))["type"] == "connection_ack"


def subscribe(op: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "subscribe", "id": op, "payload": {"query": query, "variables": variables}}


async def outcome(ws: Any, op: str) -> tuple[str, list[dict[str, Any]]]:
    """The first message of operation `op`: its type and errors."""
    message = await receive(ws)
    while message["type"] == "complete" and message["id"] != op:  # an earlier one's end
        message = await receive(ws)
    assert message["id"] == op, message
    payload = message.get("payload")
    if message["type"] == "error":
        return "error", payload
    return message["type"], (payload or {}).get("errors") or []


@pytest.mark.usefixtures("no_tracebacks")
async def test_the_upgrade_needs_no_accept_header_and_serves_queries(
    api: Api, alice: tuple[User, str]
) -> None:
    _, token = alice
    url = api_ws_url(api)
    viewer = "{ viewer { username } }"
    async with raw(url) as ws:
        assert ws.response.headers["X-Request-Id"]
        await init(ws, {"token": token})
        await send(ws, subscribe("q", viewer))
        assert await receive(ws) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"viewer": {"username": "alice"}}},
        }
        assert (await receive(ws))["type"] == "complete"
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"
    # The upgrade request's own Authorization header, for clients that can set one.
    async with raw(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await init(ws)
        await send(ws, subscribe("q", viewer))
        assert (await receive(ws))["payload"]["data"]["viewer"] == {"username": "alice"}
    async with raw(url) as ws:  # anonymous
        await init(ws, {})
        await send(ws, subscribe("q", viewer))
        assert (await receive(ws))["payload"]["data"]["viewer"] is None


@pytest.mark.usefixtures("no_tracebacks")
@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        ({"Authorization": "Bearer igpat-not-a-token"}, {}),
        ({"authorization": "Basic abc"}, {}),
        ({"token": "igpat-not-a-token"}, {}),
        ({"token": 12}, {}),
        ({}, {"Authorization": "Bearer igpat-not-a-token"}),
    ],
)
async def test_a_bad_token_closes_with_4403(
    api: Api, payload: dict[str, Any], headers: dict[str, str]
) -> None:
    async with raw(api_ws_url(api), additional_headers=headers) as ws:
        await send(ws, {"type": "connection_init", "payload": payload})
        assert await closed(ws) == (4403, "Forbidden")


@pytest.fixture
async def strict(app_with: Any) -> Api:
    """The application with short limits: init timeout, subscriptions, request timeout."""
    api: Api = await app_with(
        ws_init_timeout_seconds=0.3, ws_max_subscriptions=2, request_timeout_seconds=0.3
    )
    return api


@pytest.mark.usefixtures("no_tracebacks")
async def test_no_connection_init_in_time_closes_with_4408(strict: Api) -> None:
    async with raw(api_ws_url(strict)) as ws:
        assert await closed(ws) == (4408, "Connection initialisation timeout")


@pytest.mark.usefixtures("no_tracebacks")
async def test_too_many_subscriptions_on_one_connection(strict: Api, public: Project) -> None:
    query = 'subscription { issueEvents(project: "acme/public") { cursor } }'
    async with raw(api_ws_url(strict)) as ws:
        await init(ws)
        await send(ws, subscribe("1", query))
        await send(ws, subscribe("2", query))
        await send(ws, subscribe("3", query))
        kind, errors = await outcome(ws, "3")
        assert kind == "error"
        assert errors[0]["extensions"] == {
            "code": "LIMIT_EXCEEDED",
            "details": {"maxSubscriptions": 2},
        }
        await send(ws, {"type": "complete", "id": "1"})
        await asyncio.sleep(0.1)
        await send(ws, subscribe("4", query))
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"  # 4 was accepted: no error before it


@pytest.mark.usefixtures("no_tracebacks")
async def test_the_request_timeout_leaves_websockets_alone(
    strict: Api, world: World, alice: tuple[User, str], public: Project
) -> None:
    """The request timeout (0.3 s here) neither closes nor writes into a WebSocket."""
    user, token = alice
    issue = await world.issue(user, public, "v0")
    query = 'subscription { issueEvents(project: "acme/public") { issue { title } } }'
    async with raw(api_ws_url(strict)) as ws:
        await init(ws)
        await send(ws, subscribe("1", query))
        await asyncio.sleep(1.0)
        await retitle(strict, token, issue, "v1")
        message = await receive(ws)
        assert message["payload"]["data"]["issueEvents"]["issue"]["title"] == "v1"
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"


@pytest.mark.usefixtures("no_tracebacks")
@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "WebSocket message must be valid JSON"),
        (b"\x00\x01", "WebSocket message type must be text"),
        ("[1, 2]", "A message must be a JSON object"),
        ({"type": 5}, "A message needs a string `type`"),
        ({"type": "nonsense"}, "Unknown message type: nonsense"),
        (
            {"type": "subscribe", "id": 1, "payload": {"query": "{a}"}},
            "A subscribe message needs a string `id`",
        ),
        (
            {"type": "subscribe", "id": "1", "payload": "x"},
            "A subscribe message needs a payload with a string `query`",
        ),
        (
            {"type": "subscribe", "id": "1", "payload": {"query": "{a}", "variables": [1]}},
            "`variables` must be an object or null",
        ),
        ({"type": "complete"}, "A complete message needs a string `id`"),
    ],
)
async def test_malformed_messages_close_with_4400(api: Api, message: Any, reason: str) -> None:
    async with raw(api_ws_url(api)) as ws:
        await init(ws)
        await send(ws, message)
        assert await closed(ws) == (4400, reason)


@pytest.mark.usefixtures("no_tracebacks")
async def test_bad_arguments_and_documents_are_coded_errors(
    api: Api, alice: tuple[User, str], public: Project
) -> None:
    async with raw(api_ws_url(api)) as ws:
        await send(ws, subscribe("early", "subscription { issueLinkEvents { cursor } }"))
        assert await closed(ws) == (4401, "Unauthorized")
    cases = {
        'subscription { issueLinkEvents(after: "bm9wZQ") { cursor } }': "BAD_USER_INPUT",
        'subscription { issueEvents(project: "acme/none") { cursor } }': "NOT_FOUND",
        'subscription { issueEvents(project: "acme/public", issue: 99) { cursor } }': "NOT_FOUND",
        "subscription { issueLinkEvents(issue: 1) { cursor } }": "BAD_USER_INPUT",
        "subscription { issueLinkEvents { nope } }": "GRAPHQL_VALIDATION_FAILED",
        "subscription { issueLinkEvents { cursor }": "GRAPHQL_PARSE_FAILED",
        "subscription($a: Int!) { issueLinkEvents(issue: $a) { cursor } }": "BAD_USER_INPUT",
    }
    async with raw(api_ws_url(api)) as ws:
        await init(ws)
        for n, (query, code) in enumerate(cases.items()):
            await send(ws, subscribe(str(n), query))
            _, errors = await outcome(ws, str(n))
            assert [e["extensions"]["code"] for e in errors] == [code], (query, errors)
            assert errors[0]["extensions"]["requestId"]
        await send(ws, {"type": "ping"})  # the connection lives on
        while (message := await receive(ws))["type"] == "complete":
            pass
        assert message["type"] == "pong"


@pytest.mark.usefixtures("no_tracebacks")
async def test_http_is_unchanged_beside_websockets(api: Api) -> None:
    """A plain GET or POST never reaches the WebSocket handling; a subscription over HTTP
    is a request error; a broken upgrade request is a coded 400."""
    response = await api.gql("{ __typename }")
    assert response.status == 200
    assert response.data == {"__typename": "Query"}
    over_http = await api.gql("subscription { issueLinkEvents { cursor } }")
    assert over_http.codes == ["BAD_USER_INPUT"]
    assert "WebSocket" in over_http.errors[0]["message"]
    broken = await api.client.get(
        "/graphql", headers={"Upgrade": "websocket", "Connection": "Upgrade"}
    )
    assert broken.status == 400
    assert (await broken.json())["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_legacy_graphql_ws_protocol(
    api: Api, world: World, alice: tuple[User, str], public: Project
) -> None:
    user, token = alice
    issue = await world.issue(user, public, "v0")
    async with Subscriber(
        api_ws_url(api),
        ISSUE_EVENTS,
        {"project": "acme/public"},
        subprotocols=[WebsocketsTransport.APOLLO_SUBPROTOCOL],
        **bearer(token),
    ) as sub:
        await retitle(api, token, issue, "v1")
        assert titles([await sub.next()]) == ["v1"]


class SlowReader:
    """A WebSocket client over asyncio streams, whose reading really stops while it does
    not read (stream backpressure, a small receive buffer): the websockets library reads
    on regardless."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> SlowReader:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)  # noqa: FBT003
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        mask = os.urandom(4)
        assert len(data) < 65536
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(bytes([0x81, 0x80 | 126]) + len(data).to_bytes(2) + mask + masked)

    async def frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await self.reader.readexactly(2))
        elif length == 127:
            length = int.from_bytes(await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


@pytest.mark.usefixtures("no_tracebacks")
async def test_a_client_that_does_not_read_is_closed_with_4008(
    app_with: Any, world: World, alice: tuple[User, str], public: Project
) -> None:
    """Its sends block past ISSUEGRAPH_WS_SEND_TIMEOUT_MS: the server stops sending and
    closes with 4008 and a reason that says to resume with `after:`; the client reads what
    was sent before, then the close."""
    api = await app_with(ws_send_timeout_seconds=0.3)
    client = api.client
    user, token = alice
    issue = await world.issue(user, public, "v0", description="x" * 500_000)
    big = " ".join(f"d{n}: current {{ description }}" for n in range(10))  # 5 MB an event
    query = f'subscription {{ issueEvents(project: "acme/public") {{ cursor issue {{ {big} }} }} }}'
    slow = await SlowReader.open(client.host, client.port)
    try:
        slow.send({"type": "connection_init"})
        assert await slow.frame() == (1, b'{"type":"connection_ack"}')
        slow.send(subscribe("1", query))
        await asyncio.sleep(0.3)
        for n in range(1, 6):
            await retitle(api, token, issue, f"v{n}")
        await asyncio.sleep(1.5)  # not reading
        delivered = 0
        while (frame := await asyncio.wait_for(slow.frame(), TIMEOUT))[0] == 1:
            assert json.loads(frame[1])["type"] == "next"
            delivered += 1
        opcode, payload = frame
        assert opcode == 8  # close
        assert int.from_bytes(payload[:2]) == 4008
        assert b"after" in payload[2:]
        assert delivered < 5
    finally:
        slow.close()


async def test_statements_per_event_do_not_grow_with_the_subscribers(
    aiohttp_client: Any, settings: Settings, world: World, alice: tuple[User, str], private: Project
) -> None:
    """One event to 1 or to 20 subscriptions of one viewer: the same statements (the
    hub's read, the viewer's checks for the batch), never one per subscriber."""
    log = StatementLog()
    client = await aiohttp_client(create_app(settings, on_connect=log.attach))
    api = Api(client)
    user, token = alice
    issue = await world.issue(user, private, "v0")
    query = 'subscription { issueEvents(project: "acme/private") { issue { title current { title } } actor { username } } }'
    counts = []
    try:
        for subscribers in (1, 20):
            async with raw(api_ws_url(api)) as ws:
                await init(ws, {"token": token})
                for n in range(subscribers):
                    await send(ws, subscribe(str(n), query))
                await asyncio.sleep(0.5)
                log.queries.clear()
                await retitle(api, token, issue, f"for {subscribers}")
                for _ in range(subscribers):
                    message = await receive(ws)
                    assert (
                        message["payload"]["data"]["issueEvents"]["issue"]["title"]
                        == f"for {subscribers}"
                    )
                await asyncio.sleep(0.1)
                counts.append(len(log.queries))
    finally:
        await client.close()
    assert counts[1] == counts[0], counts


async def test_link_types_and_kinds_filter(
    api: Api, world: World, alice: tuple[User, str], public: Project
) -> None:
    """`linkTypes: [IS_BLOCKED_BY]` means blocks links, either way round; `issueEvents`
    with `kinds` may take link kinds, and an issue's events only."""
    user, token = alice
    one, two, three = [await world.issue(user, public, t) for t in ("one", "two", "three")]
    url = api_ws_url(api)
    blocks = {"project": "acme/public", "linkTypes": ["IS_BLOCKED_BY"]}
    kinds = {
        "project": "acme/public",
        "issue": three.iid,
        "kinds": ["LINK_CREATED", "ISSUE_UPDATED"],
    }
    async with (
        Subscriber(url, LINK_EVENTS, blocks, **bearer(token)) as blocking,
        Subscriber(url, ISSUE_EVENTS, kinds, **bearer(token)) as of_three,
    ):
        await link(api, token, one, two, "RELATES_TO")
        await link(api, token, two, three, "IS_BLOCKED_BY")  # stored: three blocks two
        await retitle(api, token, one, "one, renamed")
        await retitle(api, token, three, "three, renamed")
        got = (await blocking.next())["issueLinkEvents"]
        assert got["link"] == {
            "linkType": "BLOCKS",
            "source": {"iid": three.iid},
            "target": {"iid": two.iid},
        }
        await blocking.nothing_more()
        events = [(await of_three.next())["issueEvents"] for _ in range(2)]
        assert [e["kind"] for e in events] == ["LINK_CREATED", "ISSUE_UPDATED"]
        assert events[1]["issue"]["title"] == "three, renamed"
        await of_three.nothing_more(0)


async def test_identical_subscriptions_share_an_execution_and_each_gets_every_event(
    api: Api, world: World, alice: tuple[User, str], public: Project
) -> None:
    """Subscriptions of one viewer with the same document and variables (and no `after:`)
    share one execution: each still gets every event from the moment it joined, one that
    leaves does not end the others, and a resuming one (`after:`) runs on its own."""
    user, token = alice
    issue = await world.issue(user, public, "v0")
    query = 'subscription { issueEvents(project: "acme/public") { cursor issue { title } } }'
    async with raw(api_ws_url(api)) as first, raw(api_ws_url(api)) as second:
        await init(first, {"token": token})
        await init(second, {"token": token})
        await send(first, subscribe("a", query))
        await send(second, subscribe("b", query))
        await asyncio.sleep(0.5)
        await retitle(api, token, issue, "v1")
        got_a = await receive(first)
        got_b = await receive(second)
        assert got_a["payload"] == got_b["payload"]
        assert got_a["payload"]["data"]["issueEvents"]["issue"]["title"] == "v1"
        cursor = got_a["payload"]["data"]["issueEvents"]["cursor"]

        # One leaves; the other goes on.
        await send(first, {"type": "complete", "id": "a"})
        await asyncio.sleep(0.2)
        await retitle(api, token, issue, "v2")
        assert (await receive(second))["payload"]["data"]["issueEvents"]["issue"]["title"] == "v2"

        # A late joiner gets what comes after it joined; one resuming gets its own past.
        resume = (
            'subscription($after: String) { issueEvents(project: "acme/public", after: $after)'
            " { cursor issue { title } } }"
        )
        await send(first, subscribe("c", query))
        await send(first, subscribe("d", resume, {"after": cursor}))
        resumed = await receive(first)
        assert resumed["id"] == "d"
        assert resumed["payload"]["data"]["issueEvents"]["issue"]["title"] == "v2"
        await asyncio.sleep(0.3)
        await retitle(api, token, issue, "v3")
        late = {(await receive(first))["id"] for _ in range(2)}
        assert late == {"c", "d"}
        assert (await receive(second))["payload"]["data"]["issueEvents"]["issue"]["title"] == "v3"
