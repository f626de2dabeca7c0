"""Every `webUrl` the API returns answers (issuegraph/pages.py): followed as a browser
would, from the API's own answer, on a server whose ISSUEGRAPH_PUBLIC_URL is itself."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from issuegraph.app import create_app
from issuegraph.demo import seed_demo
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope
from issuegraph.playground import CONTENT_SECURITY_POLICY, PLAYGROUND_DIR_ENV
from tests.helpers import free_port

WEB_URLS = """
{ viewer { username webUrl }
  project(fullPath: "acme/security") { webUrl
    issues(first: 3) { nodes { iid webUrl author { webUrl } } } } }
"""


@pytest.fixture
async def served(aiohttp_client, settings, pool, monkeypatch, tmp_path: Path) -> Any:
    """The app on a known port, its public URL pointing at itself, on the demo data."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "graph.html").write_text("<!doctype html><title>graph</title>")
    monkeypatch.setenv(PLAYGROUND_DIR_ENV, str(dist))
    await seed_demo(pool)
    port = free_port()
    own = dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}")
    client = await aiohttp_client(create_app(own), server_kwargs={"port": port})
    _, token = await create_token(pool, "alice", scopes=[TokenScope.API], name="pages")
    yield client, token
    await client.close()


async def test_every_web_url_of_an_answer_leads_to_a_page(served):
    client, token = served
    response = await client.post(
        "/graphql", json={"query": WEB_URLS}, headers={"Authorization": f"Bearer {token}"}
    )
    data = (await response.json())["data"]
    issues = data["project"]["issues"]["nodes"]
    urls = [
        data["viewer"]["webUrl"],
        data["project"]["webUrl"],
        *(issue["webUrl"] for issue in issues),
        *(issue["author"]["webUrl"] for issue in issues),
    ]
    assert len(issues) == 2  # acme/security has two issues in the demo data
    base = f"http://127.0.0.1:{client.port}"
    assert all(url.startswith(base + "/") for url in urls), urls

    # A real client, as a browser: it follows the redirects to wherever they lead.
    async with aiohttp.ClientSession() as browser:
        for url in urls:
            async with browser.get(url, headers={"Accept": "text/html"}) as page:
                assert page.status == 200, url
                assert page.content_type == "text/html"
                assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY

        # An issue's URL opens the graph page's view of that issue, a project's the
        # project's view.
        async with browser.get(issues[0]["webUrl"]) as page:
            assert page.url.path == "/graphql/graph"
            assert parse_qs(page.url.query_string) == {
                "project": ["acme/security"],
                "iid": [str(issues[0]["iid"])],
            }
        async with browser.get(data["project"]["webUrl"]) as page:
            assert parse_qs(urlsplit(str(page.url)).query) == {"project": ["acme/security"]}
        async with browser.get(data["viewer"]["webUrl"]) as page:
            assert "@alice" in await page.text()


async def test_the_redirect_is_the_same_for_a_hidden_a_missing_and_a_readable_issue(served):
    client, _ = served
    answers = []
    for path in (
        "/acme/security/-/issues/1",  # private: anonymous may not read it
        "/acme/security/-/issues/999",  # no such issue
        "/nobody/nothing/-/issues/1",  # no such project
        "/acme/platform/-/issues/1",  # public
    ):
        response = await client.get(path, allow_redirects=False)
        project, iid = path.removeprefix("/").split("/-/issues/")
        location = urlsplit(response.headers["Location"])
        answers.append((response.status, location.path, sorted(response.headers)))
        assert parse_qs(location.query) == {"project": [project], "iid": [iid]}
    assert {(status, path) for status, path, _ in answers} == {(302, "/graphql/graph")}
    assert len({tuple(headers) for *_, headers in answers}) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/nobody",
        "/al%3Cscript%3Eice",
        "/" + "a" * 5000,
        "/acme/platform/-/issues/99999999999999999999",
        "/acme/platform/-/issues/-1",
        "/acme/platform/-/issues/1x",
        "/-/issues/1",
        "/.hidden",
    ],
)
async def test_unknown_or_hostile_paths_are_a_4xx_that_echoes_nothing_unescaped(served, path):
    client, _ = served
    response = await client.get(path, allow_redirects=False)
    assert 400 <= response.status < 500, (path, response.status)
    assert "<script" not in await response.text()


async def test_a_blocked_user_has_no_page(served, pool):
    client, _ = served
    await pool.execute("update users set state = 'blocked' where username = 'bob'")
    assert (await client.get("/bob")).status == 404
    assert (await client.get("/alice")).status == 200


async def test_the_other_routes_win_over_the_pages(served):
    client, _ = served
    assert (await client.get("/healthz")).status == 200
    rest = await client.get("/api/v4/projects/acme%2Fplatform/issues/1/links")
    assert rest.status == 200
    assert rest.content_type == "application/json"
