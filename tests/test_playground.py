"""Serving the playground: the built pages and assets, the policy, the page for a missing build."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from issuegraph.app import create_app
from issuegraph.demo import seed_demo
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope
from issuegraph.playground import (
    CONTENT_SECURITY_POLICY,
    DEFAULT_PLAYGROUND_DIR,
    PLAYGROUND_DIR_ENV,
    playground_dir,
)

PLAYGROUND = Path(__file__).resolve().parent.parent / "graphql_playground"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CDN_HOSTS = ("jsdelivr", "unpkg", "esm.sh", "cdnjs", "googleapis", "gstatic", "skypack")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A stand-in for graphql_playground/dist."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>playground</title>")
    (dist / "graph.html").write_text("<!doctype html><title>graph</title>")
    (dist / "assets" / "main-AbC123.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("not served")
    return dist


async def client_for(aiohttp_client, settings, monkeypatch, directory: Path):
    monkeypatch.setenv(PLAYGROUND_DIR_ENV, str(directory))
    return await aiohttp_client(create_app(settings))


def test_the_build_is_found_in_the_repository_or_where_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.delenv(PLAYGROUND_DIR_ENV, raising=False)
    assert playground_dir() == DEFAULT_PLAYGROUND_DIR
    repository = Path(__file__).resolve().parent.parent
    assert repository / "graphql_playground" / "dist" == DEFAULT_PLAYGROUND_DIR
    monkeypatch.setenv(PLAYGROUND_DIR_ENV, str(tmp_path))
    assert playground_dir() == tmp_path


def test_the_policy_allows_this_origin_only():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["worker-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "http" not in CONTENT_SECURITY_POLICY
    assert "*" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


async def test_get_graphql_for_a_browser_answers_the_built_playground(
    aiohttp_client, settings, monkeypatch, built
):
    client = await client_for(aiohttp_client, settings, monkeypatch, built)
    response = await client.get("/graphql", headers=HTML)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert await response.text() == "<!doctype html><title>playground</title>"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"

    graph = await client.get("/graphql/graph", params={"project": "acme/platform", "iid": "5"})
    assert graph.status == 200
    assert await graph.text() == "<!doctype html><title>graph</title>"
    assert graph.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


async def test_assets_are_served_immutable_and_nothing_outside_them(
    aiohttp_client, settings, monkeypatch, built
):
    client = await client_for(aiohttp_client, settings, monkeypatch, built)
    asset = await client.get("/graphql/assets/main-AbC123.js")
    assert asset.status == 200
    assert await asset.text() == "console.log('hi')"
    assert "javascript" in asset.content_type
    assert "immutable" in asset.headers["Cache-Control"]
    assert asset.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY

    for path in (
        "/graphql/assets/missing.js",
        "/graphql/assets/../index.html",
        "/graphql/assets/%2e%2e/%2e%2e/secret.txt",
        "/graphql/assets/..%2f..%2fsecret.txt",
        "/graphql/assets/.hidden",
    ):
        response = await client.get(path)
        assert response.status == 404, path
        assert "not served" not in await response.text()


async def test_queries_keep_working_at_the_same_url(aiohttp_client, settings, monkeypatch, built):
    client = await client_for(aiohttp_client, settings, monkeypatch, built)
    posted = await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=HTML)
    assert posted.status == 200
    assert await posted.json() == {"data": {"viewer": None}}
    got = await client.get("/graphql", params={"query": "{ viewer { id } }"}, headers=HTML)
    assert got.status == 200
    assert await got.json() == {"data": {"viewer": None}}
    assert "Content-Security-Policy" not in got.headers


async def test_a_missing_build_says_how_to_build_it_and_loads_nothing(
    aiohttp_client, settings, monkeypatch, tmp_path
):
    client = await client_for(aiohttp_client, settings, monkeypatch, tmp_path / "nowhere")
    for path in ("/graphql", "/graphql/graph"):
        response = await client.get(path, headers=HTML)
        assert response.status == 503
        assert response.content_type == "text/html"
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        page = await response.text()
        assert "make playground" in page
        assert "npm ci &amp;&amp; npm run build" in page
        assert PLAYGROUND_DIR_ENV in page
        assert str(tmp_path / "nowhere") in page
        assert "<script" not in page
        assert "http" not in page


@pytest.mark.skipif(
    not (DEFAULT_PLAYGROUND_DIR / "index.html").is_file(), reason="playground not built"
)
def test_the_build_loads_nothing_from_another_origin():
    for page in ("index.html", "graph.html"):
        text = (DEFAULT_PLAYGROUND_DIR / page).read_text()
        urls = re.findall(r'(?:src|href)="([^"]*)"', text)
        assert urls, page
        for url in urls:
            same_origin = url.startswith("/") and not url.startswith("//")
            assert same_origin or url == "data:,", (page, url)
        assert any(url.startswith("/graphql/assets/") for url in urls), page
    for asset in (DEFAULT_PLAYGROUND_DIR / "assets").iterdir():
        if asset.suffix in {".js", ".css", ".html"}:
            text = asset.read_text(errors="replace")
            for host in CDN_HOSTS:
                assert host not in text, (asset.name, host)
            assert not re.search(r"@import\s+url\(\s*['\"]?https?:", text), asset.name


async def example_tabs() -> list[dict[str, Any]]:
    """The playground's prefilled tabs, as graphql_playground/src/examples.js defines them."""
    if shutil.which("node") is None:
        reason = "reading the example tabs needs node"
        if os.environ.get("ISSUEGRAPH_E2E") == "required":
            pytest.fail(reason)
        pytest.skip(reason)
    script = "const m = await import('./src/examples.js'); console.log(JSON.stringify(m.EXAMPLES));"
    proc = await asyncio.create_subprocess_exec(
        "node",
        "--input-type=module",
        "-e",
        script,
        cwd=PLAYGROUND,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    tabs: list[dict[str, Any]] = json.loads(out)
    return tabs


LAST_EVENT = """
query($after: String) {
  events(project: "acme/platform", first: 100, after: $after) {
    edges { cursor }
    pageInfo { hasNextPage }
  }
}
"""


async def last_cursor(api, token: str) -> str | None:
    """The cursor of the last acme/platform event alice sees."""
    cursor = None
    while True:
        response = await api.gql(LAST_EVENT, {"after": cursor}, token=token)
        page = response.data["events"]
        if page["edges"]:
            cursor = page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return cursor


async def watch(api, token: str, tab: dict[str, Any], after: str | None):
    """The subscription tab as the playground runs it: graphql-transport-ws on /graphql,
    the token in connection_init."""
    ws = await api.client.ws_connect("/graphql", protocols=("graphql-transport-ws",))
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await ws.receive_json(timeout=15))["type"] == "connection_ack"
    variables = json.loads(tab["variables"]) | {"after": after}
    await ws.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": tab["query"], "variables": variables}}
    )
    return ws


def assert_tab_answer(title: str, data: dict[str, Any], *, mutation: bool) -> None:
    """No root field null, no mutation error; the link tabs do what their comments say."""
    for field, value in data.items():
        assert value is not None, (title, field)
        if mutation:
            assert value["errors"] == [], (title, value["errors"])
    if title == "Get a link":
        assert data["issueLink"]["sourceIssue"]["reference"] == "acme/platform#3"
    if title == "Create a link":
        # Made on the first round, found on the second: deleted in between.
        assert data["createIssueLink"]["created"] is True
    if title == "Update a link":
        assert data["ensure"]["created"] is False
        # The payload's linkType is the stored one: #6 BLOCKS #8 again.
        assert [data["relates"]["linkType"], data["blocked"]["linkType"]] == [
            "RELATES_TO",
            "BLOCKS",
        ]
    if title == "Delete a link":
        assert data["ensure"]["created"] is False
        assert data["deleteIssueLink"]["linkType"] == "BLOCKS"


async def test_every_example_tab_runs_on_the_demo_data(api, pool):
    """Pressing run on each tab, in order, twice over, shows real results: no errors, no
    nulls. The subscription tab, running meanwhile, shows each link the other tabs change."""
    await seed_demo(pool)
    _, token = await create_token(pool, "alice", scopes=[TokenScope.API])
    tabs = await example_tabs()
    [watching] = [t for t in tabs if t["title"] == "Watch link events"]
    # As written the tab starts from now (after: null); here from the last event before
    # the other tabs run, which holds however soon they write.
    assert json.loads(watching["variables"]) == {"after": None}
    ws = await watch(api, token, watching, await last_cursor(api, token))
    assert [t["title"] for t in tabs] == [
        "Issue links",
        "Get a link",
        "Create a link",
        "Update a link",
        "Delete a link",
        "Bulk create links",
        "Watch link events",
        "Dependencies",
        "Ready issues",
        "Dependency order",
        "Path",
    ]
    for _ in range(2):
        for tab in tabs:
            if tab is watching:
                continue
            variables = json.loads(tab["variables"]) if tab.get("variables") else None
            mutation = re.search(r"^mutation\b", tab["query"], re.MULTILINE) is not None
            # Queries run without a token, as the tabs say; mutations with alice's.
            response = await api.gql(tab["query"], variables, token=token if mutation else None)
            assert response.status == 200, (tab["title"], response.body)
            data = response.data
            assert data, tab["title"]
            assert_tab_answer(tab["title"], data, mutation=mutation)

    # Each round: the link #6 blocks #8 created, turned RELATES_TO and back, deleted; the
    # two bulk links on the first round only (RETURN_EXISTING returns them on the second).
    events = []
    for _ in range(10):
        message = await ws.receive_json(timeout=15)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        events.append(message["payload"]["data"]["issueLinkEvents"])
    await ws.close()
    one_link = ["LINK_CREATED", "LINK_UPDATED", "LINK_UPDATED", "LINK_DELETED"]
    assert [e["kind"] for e in events] == one_link + ["LINK_CREATED"] * 2 + one_link
    assert {e["actor"]["username"] for e in events} == {"alice"}
    pairs = [(e["link"]["source"]["reference"], e["link"]["target"]["reference"]) for e in events]
    blocks = ("acme/platform#6", "acme/platform#8")
    relates = ("acme/platform#8", "acme/platform#6")
    round_pairs = [blocks, relates, blocks, blocks]
    assert pairs == [
        *round_pairs,
        ("acme/tools#1", "acme/platform#5"),
        ("acme/platform#3", "acme/tools#2"),
        *round_pairs,
    ]
    assert [e["link"]["linkType"] for e in events[:4]] == [
        "BLOCKS",
        "RELATES_TO",
        "BLOCKS",
        "BLOCKS",
    ]
    assert events[1]["changes"][0]["field"] == "linkType"
