"""The playground end to end: `issuegraph serve` on the demo data, driven in headless Chromium.

The browser is Debian's /usr/bin/chromium (`make chromium` installs it), driven by
playwright-core from the playground's own devDependencies: the node script
graphql_playground/e2e/playground-e2e.mjs clicks through the pages and reports what it saw;
this test asserts on it. Screenshots land in test-artifacts/.

Besides the queries and the graph view, the live part: a subscription in one browser tab
shows the link another tab creates, over a WebSocket to the page's own origin (every frame
recorded); a changed token reconnects; a refused one says so; a cut connection resumes.

Without Chromium, Node.js or the built playground the test is skipped, unless
ISSUEGRAPH_E2E=required (as `make test` sets), which makes that a failure.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope
from issuegraph.playground import CONTENT_SECURITY_POLICY
from tests.e2e import (
    ARTIFACTS,
    PLAYGROUND,
    demo_server,
    drive,
    require_browser,
)

SCRIPT = PLAYGROUND / "e2e" / "playground-e2e.mjs"

EXAMPLE_TABS = [
    "IssueLinks",
    "GetLink",
    "CreateLink",
    "UpdateLink",
    "DeleteLink",
    "BulkLinks",
    "WatchLinkEvents",
    "Dependencies",
    "ReadyIssues",
    "DependencyOrder",
    "Paths",
]


@pytest.fixture
async def server(database_url: str, pool: Any) -> AsyncIterator[str]:
    """`issuegraph serve` on a free port, on this test's database with the demo data."""
    require_browser("playground end-to-end test", "index.html")
    async with demo_server(database_url, pool) as base:
        yield base


DEPENDENCIES = """
query($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    reference
    state
    criticalPath { issues { reference } }
    dependencies(direction: BOTH, linkTypes: [BLOCKS, PARENT_OF, RELATES_TO, DUPLICATES, CLONES]) {
      nodes { issue { reference state } }
      edges { linkType }
    }
  }
}
"""


async def dependencies(base: str, iid: int, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/graphql",
            json={"query": DEPENDENCIES, "variables": {"project": "acme/platform", "iid": iid}},
            headers=headers,
        ) as response,
    ):
        body = await response.json()
    assert "errors" not in body, body
    issue: dict[str, Any] = body["data"]["issue"]
    return issue


CREATE_LINK = """
mutation($input: CreateIssueLinkInput!) {
  createIssueLink(input: $input) { errors { code } created }
}
"""


def create_link(project: str, iid: int, target: str, target_iid: int) -> dict[str, Any]:
    return {
        "query": CREATE_LINK,
        "variables": {
            "input": {
                "project": project,
                "iid": iid,
                "targetProject": target,
                "targetIssueIid": target_iid,
                "linkType": "RELATES_TO",
            }
        },
    }


# The link "Create a link", "Update a link" and "Delete a link" work on (examples.js).
EXAMPLE_PAIR = {
    "project": "acme/platform",
    "iid": 8,
    "targetProject": "acme/platform",
    "targetIssueIid": 6,
}
DELETE_EXAMPLE = """
mutation($project: ID!, $iid: Int!, $targetProject: ID!, $targetIssueIid: Int!) {
  ensure: createIssueLink(input: {
    project: $project, iid: $iid, targetProject: $targetProject, targetIssueIid: $targetIssueIid
    linkType: IS_BLOCKED_BY, onConflict: RETURN_EXISTING
  }) { errors { code message } }
  deleteIssueLink(input: {
    project: $project, iid: $iid, targetProject: $targetProject, targetIssueIid: $targetIssueIid
  }) { errors { code message } }
}
"""


def foreign_socket(base: str) -> str:
    """The same server under another origin: localhost instead of 127.0.0.1."""
    return base.replace("http://127.0.0.1", "ws://localhost", 1) + "/graphql"


async def drive_browser(base: str, token: str) -> dict[str, Any]:
    config = {
        "baseUrl": base,
        "token": token,
        # While an anonymous viewer watches: a link to an internal issue, then a public one.
        "live": {
            "requests": [
                create_link("acme/tools", 3, "acme/platform", 2),
                create_link("acme/platform", 2, "acme/platform", 6),
            ],
            "expect": "acme/platform#6",
            "foreignSocket": foreign_socket(base),
        },
        # While the subscription tab runs in the examples part: the "Delete a link" example.
        "examples": {"trigger": {"query": DELETE_EXAMPLE, "variables": EXAMPLE_PAIR}},
        # One link before the connection drops, one while it is down.
        "reconnect": {
            "requests": [
                create_link("acme/platform", 3, "acme/platform", 8),
                create_link("acme/platform", 4, "acme/platform", 8),
            ],
            "expect": ["acme/platform#3", "acme/platform#4"],
        },
    }
    return await drive(SCRIPT, config)


def assert_stayed_on(server: str, seen: dict[str, Any]) -> None:
    """Every request stayed on the server's origin; nothing was refused or thrown."""
    assert seen["requests"], "no request was recorded"
    assert seen["foreign"] == []
    assert all(url.startswith(f"{server}/") for url in seen["requests"]), seen["requests"]
    assert seen["cspViolations"] == []
    assert seen["pageErrors"] == []
    assert seen["consoleErrors"] == []
    # The editor's workers are bundled and served from here too.
    assert any("/graphql/assets/" in url and ".worker" in url for url in seen["requests"])


async def test_playground_runs_a_prefilled_query_and_draws_the_dependency_graph(server, pool):
    _, token = await create_token(pool, "alice", scopes=[TokenScope.API])
    first_tab = await dependencies(server, 4)  # anonymous: nobody signed in yet
    (ARTIFACTS / "playground.png").unlink(missing_ok=True)

    report = await drive_browser(server, token)
    # The one refused connection is the live check's own WebSocket to another origin.
    foreign = foreign_socket(server)
    seen = report["seen"]
    refused = [e for e in seen["consoleErrors"] if foreign in e]
    seen["consoleErrors"] = [e for e in seen["consoleErrors"] if foreign not in e]
    assert_stayed_on(server, seen)

    # The playground: our build, under our policy, with a tab per capability; the first
    # tab's query, run with the run button, shows the demo data.
    playground = report["playground"]
    assert playground["status"] == 200
    assert playground["contentType"].startswith("text/html")
    assert playground["csp"] == CONTENT_SECURITY_POLICY
    assert playground["tabs"] == EXAMPLE_TABS
    result = playground["result"]
    assert '"reference": "acme/platform#4"' in result
    assert '"title": "Ready-work query for planners"' in result
    assert '"linkType": "CHILD_OF"' in result
    assert '"errors"' not in result
    # The graph plugin in its sidebar draws the first tab's issue, acme/platform#4 (anonymous:
    # nobody signed in yet).
    assert playground["pluginNodeCount"] == len(first_tab["dependencies"]["nodes"]) + 1

    for picture in ("playground.png", "playground-live.png"):
        assert (ARTIFACTS / picture).stat().st_size > 10_000, picture

    assert_live(server, token, report["live"], refused)
    assert_resumed(report["reconnect"])
    assert_signed_in(report["signIn"], token)
    plugin_graphs = {iid: await dependencies(server, iid, token) for iid in (2, 4, 5, 8)}
    assert_examples(report["examples"], plugin_graphs, token)


def compact(text: str) -> str:
    """Text without its whitespace: the response editor may wrap a long line anywhere."""
    return "".join(text.split())


def events_received(socket: dict[str, Any]) -> list[dict[str, Any]]:
    """The events a WebSocket delivered, as its `next` messages carried them."""
    return [
        m["payload"]["data"]["issueLinkEvents"] for m in socket["received"] if m["type"] == "next"
    ]


def shows(response_text: str, event: dict[str, Any]) -> bool:
    """The response editor shows the event, every field as the WebSocket delivered it."""
    return compact(response_text) == compact(
        json.dumps({"data": {"issueLinkEvents": event}}, indent=2)
    )


def assert_live(server: str, token: str, live: dict[str, Any], refused: list[str]) -> None:
    """The tab "Watch link events" in one browser tab shows the link that "Create a link"
    makes in another; a changed token reconnects; nothing hidden reaches an anonymous
    watcher."""
    assert '"created":true' in compact(live["created"]), live["created"]
    assert '"errors":[]' in compact(live["created"]), live["created"]

    # The watching tab shows the event, to alice who made it.
    sockets = live["sockets"]
    assert len(sockets) == 3, sockets
    first, second, third = sockets
    [event] = events_received(first)
    assert event["kind"] == "LINK_CREATED"
    assert event["actor"] == {"username": "alice"}
    assert event["link"] == {
        "linkType": "BLOCKS",
        "source": {"reference": "acme/platform#6"},
        "target": {"reference": "acme/platform#8"},
    }
    assert event["cursor"]
    assert shows(live["watched"], event), live["watched"]

    # Over graphql-transport-ws to the page's own origin, the tab's token in connection_init;
    # with the header changed, the next run connected again with the new one (none).
    ws_url = server.replace("http://", "ws://", 1) + "/graphql"
    assert [s["url"] for s in sockets] == [ws_url] * 3
    assert first["sent"][0] == {
        "type": "connection_init",
        "payload": {"Authorization": f"Bearer {token}"},
    }
    assert first["received"][0]["type"] == "connection_ack"
    assert first["closed"] is True
    assert second["sent"][0]["type"] == "connection_init"
    assert not second["sent"][0].get("payload")
    subscribes = [m for s in sockets for m in s["sent"] if m["type"] == "subscribe"]
    assert [m["payload"]["operationName"] for m in subscribes] == ["WatchLinkEvents"] * 2
    assert second["closed"] is True
    assert [m["payload"]["variables"] for m in subscribes] == [
        {"after": None},
        {"after": event["cursor"]},
    ]

    # Resumed after that event, anonymous: the link to an internal issue stays hidden, the
    # public one arrives, and nothing else.
    for answer in live["requests"]:
        assert answer["data"]["createIssueLink"]["created"] is True, answer
    [public] = events_received(second)
    assert public["kind"] == "LINK_CREATED"
    assert public["link"] == {
        "linkType": "RELATES_TO",
        "source": {"reference": "acme/platform#2"},
        "target": {"reference": "acme/platform#6"},
    }
    assert "acme/tools" not in json.dumps(second["received"])
    assert shows(live["anonymous"], public), live["anonymous"]

    # A token the server refuses: one connection, closed with 4403, and the tab says why.
    assert third["sent"] == [
        {"type": "connection_init", "payload": {"Authorization": "Bearer not-a-token"}}
    ]
    assert third["closed"] is True
    assert live["socketsWhenRefused"] == 3
    refusal = (
        "The server refused the token of the Authorization header (WebSocket closed with 4403)"
    )
    assert compact(refusal) in compact(live["refused"]), live["refused"]
    assert all("401 (Unauthorized)" in e for e in live["refusedConsole"]), live["refusedConsole"]

    # connect-src lets the page reach its own origin's WebSocket and no other.
    foreign = foreign_socket(server)
    assert live["foreignSocket"]["violation"] == f"connect-src {foreign}"
    assert live["foreignSocket"]["socket"] != "open"
    assert refused, "the refused WebSocket left no console error"
    assert all("Content Security Policy" in e for e in refused), refused


def assert_resumed(reconnect: dict[str, Any]) -> None:
    """A dropped connection: the tab connects again, subscribes after the last event it
    showed, and the link made while it was down arrives, once."""
    for answer in reconnect["answers"]:
        assert answer["data"]["createIssueLink"]["created"] is True, answer
    # The link was made after the first connection closed, before the second opened.
    assert reconnect["timeline"] == ["open 1", "closed 1", "created while closed", "open 2"]
    first, second = reconnect["connections"]
    assert len(events_received(first)) == 1, first
    assert len(events_received(second)) == 1, second
    [before] = events_received(first)
    [meanwhile] = events_received(second)
    assert before["link"]["source"] == {"reference": "acme/platform#3"}
    assert meanwhile["link"]["source"] == {"reference": "acme/platform#4"}
    subscribes = [
        m["payload"]["variables"]
        for c in (first, second)
        for m in c["sent"]
        if m["type"] == "subscribe"
    ]
    assert subscribes == [{"after": None}, {"after": before["cursor"]}]
    assert second["sent"][0]["payload"] == first["sent"][0]["payload"]
    assert shows(reconnect["shown"], meanwhile), reconnect["shown"]


def assert_signed_in(signed: dict[str, Any], token: str) -> None:
    """One sign-in serves every tab, a reload and another page; a refused token is not kept;
    a sign-out in one page makes the next request of another anonymous."""
    assert signed["before"]["state"] == "signed-out"
    assert signed["otherBefore"]["state"] == "signed-out"
    # The empty state says how to get a token.
    assert "issuegraph tokens create alice" in signed["before"]["bar"], signed["before"]
    assert signed["anonymousRead"]["authorization"] is None
    assert signed["anonymousRead"]["errors"] == []

    unsendable = signed["unsendable"]
    assert unsendable["stored"] is None, unsendable
    assert unsendable["message"].startswith("Token refused: a token is printable ASCII"), unsendable
    refused = signed["refused"]
    assert refused["state"] == "signed-out"
    assert refused["stored"] is None
    assert "refused" in refused["message"].lower(), refused

    for state in ("signedIn", "afterReload", "otherPage"):
        assert signed[state]["state"] == "signed-in", signed[state]
        assert "signed in as alice" in signed[state]["text"].lower(), signed[state]
    # The other page, open since before the sign-in, heard of it (and of the sign-out below).
    # Two tabs, one after a reload, one in another page: every mutation went through with
    # the token, though no tab's Headers editor names it.
    runs = signed["runs"]
    assert [r["operation"] for r in runs] == ["CreateLink", "BulkLinks", "UpdateLink", "DeleteLink"]
    for run in runs:
        assert run["status"] == 200, run
        assert (run["authorization"] or "").startswith("Bearer "), run
        assert run["errors"] == [], run
    assert {r["authorization"] for r in runs} == {f"Bearer {token}"}
    # A tab whose Headers editor names its own Authorization header sends that one.
    own = signed["ownHeader"]
    assert own["authorization"] == "Bearer not-a-token", own
    assert own["status"] == 401, own

    # Signed out in the first page: the second hears it, and its mutation goes anonymous.
    assert signed["signedOut"]["state"] == "signed-out"
    assert signed["storedAfterSignOut"] is None
    anonymous = signed["anonymousWrite"]
    assert anonymous["authorization"] is None, anonymous
    assert anonymous["errors"], anonymous
    # The refused token's check and the tab's own refused header, answered 401, are the
    # console errors of this part.
    assert signed["console"], "the refused token left no trace"
    assert all("401" in e for e in signed["console"]), signed["console"]


def assert_examples(
    examples: dict[str, Any], graphs: dict[int, dict[str, Any]], token: str
) -> None:
    """Every example tab, signed in as alice, runs twice in a row with no error; the explorer
    opens on every tab (console errors are checked with the rest); the graph plugin draws the
    issue of the active tab."""
    runs = examples["runs"]
    assert [r["operation"] for r in runs] == [t for t in EXAMPLE_TABS for _ in (1, 2)]
    for run in runs:
        assert run["errors"] == [], run
        if run["operation"] == "WatchLinkEvents":
            assert run["trigger"] == [], run
            assert run["events"][-1] == "LINK_DELETED", run
            # The signed-in token went in connection_init.
            assert run["init"] == {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {token}"},
            }, run
        else:
            assert run["status"] == 200, run
            assert run["authorization"] is not None, run
    assert examples["visited"] == EXAMPLE_TABS
    wrapped = examples["wrapped"]
    assert 0 < wrapped["widest"] <= wrapped["width"], wrapped

    drawn = {p["operation"]: p for p in examples["plugin"]}
    for operation, iid in (("IssueLinks", 4), ("Dependencies", 5), ("Paths", 2), ("CreateLink", 8)):
        plugin = drawn[operation]
        issue = graphs[iid]
        assert plugin["state"] == "ready", plugin
        assert plugin["start"] == f"acme/platform#{iid}", plugin
        assert plugin["references"] == sorted(
            [issue["reference"], *(n["issue"]["reference"] for n in issue["dependencies"]["nodes"])]
        ), plugin
    none = drawn["ReadyIssues"]
    assert none["state"] == "none", none
    assert "No issue in this tab" in none["none"], none
    assert (ARTIFACTS / "playground-graph-plugin.png").stat().st_size > 10_000
