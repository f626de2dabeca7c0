"""The REST endpoints' reference page, and the playground's link to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from issuegraph.app import create_app
from issuegraph.rest import REFERENCE_PATH

PLAYGROUND_PAGE = Path(__file__).resolve().parent.parent / "graphql_playground" / "index.html"


async def test_the_reference_page_names_every_endpoint_and_loads_nothing(
    aiohttp_client: Any, settings: Any
):
    client = await aiohttp_client(create_app(settings))
    response = await client.get(REFERENCE_PATH)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = await response.text()
    for endpoint in (
        "GET /api/v4/projects/:id/issues/:issue_iid/links",
        "POST /api/v4/projects/:id/issues/:issue_iid/links",
        "DELETE /api/v4/projects/:id/issues/:issue_iid/links/:issue_link_id",
        "POST /rest/api/2/issueLink",
        "DELETE /rest/api/2/issueLink/{linkId}",
        "GET /rest/api/2/issueLinkType",
        "GET /rest/api/2/serverInfo",
        "POST /repos/{org_slug}/{repo_slug}/issues/{issue_slug}/issue_links",
        "DELETE /repos/.../issue_links/{link_id}",
    ):
        assert endpoint in page, endpoint
    assert "<script" not in page


def test_the_playground_page_links_to_the_reference():
    assert f'href="{REFERENCE_PATH}"' in PLAYGROUND_PAGE.read_text()
