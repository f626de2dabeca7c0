"""The REST paths when the infrastructure fails: a write cut by the request's time limit is
a 504 that leaves nothing half-written; a stopped database is a 503 with Retry-After; each
in its API's own error shape."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from issuegraph.app import create_app
from issuegraph.config import Settings
from tests.helpers import World
from tests.rest_helpers import Http, make_scene
from tests.test_http_spec import own_server, table_locked

__all__ = ["own_server"]  # a fixture of this module's tests

SHAPES = {
    "gitlab": {"message"},
    "jira": {"errorMessages", "errors"},
    "sourcecraft": {"error_code", "message", "request_id", "details"},
}


def _creates(api_project: int, api_issue: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """acme/web#1 relates to acme/api#1, as each API asks for it."""
    return {
        "gitlab": (
            "/api/v4/projects/acme%2Fweb/issues/1/links",
            {"target_project_id": api_project, "target_issue_iid": 1},
        ),
        "jira": (
            "/rest/api/2/issueLink",
            {
                "type": {"name": "Relates"},
                "inwardIssue": {"key": "WEB-1"},
                "outwardIssue": {"key": "API-1"},
            },
        ),
        "sourcecraft": (
            "/repos/acme/web/issues/1/issue_links",
            {"target_issue_id": str(api_issue)},
        ),
    }


async def test_a_write_cut_by_the_time_limit_is_a_504_and_leaves_nothing(
    aiohttp_client: Any, settings: Settings, world: World, pool: Any
):
    scene = await make_scene(world)
    http = Http(
        await aiohttp_client(create_app(dataclasses.replace(settings, request_timeout_seconds=0.5)))
    )
    creates = _creates(scene.api.id, scene.api_issues[0].id)
    for api, (path, body) in creates.items():
        # The link row is inserted before its change event, whose table is locked: the
        # time limit strikes between the two writes.
        async with table_locked(pool, "events"):
            status, answer, headers = await http.call(
                "POST", path, token=scene.alice_token, body=body
            )
        assert status == 504, (api, answer)
        assert set(answer) == SHAPES[api]
        assert headers["X-Request-Id"]
        await asyncio.sleep(0.1)  # the cancelled transaction's rollback
        assert await pool.fetchval("select count(*) from issue_links") == 0, api
        assert await pool.fetchval("select count(*) from events where kind::text like 'link%'") == 0
    # Unobstructed, the same write is whole.
    path, body = creates["gitlab"]
    status, _, _ = await http.call("POST", path, token=scene.alice_token, body=body)
    assert status == 201
    assert await pool.fetchval("select count(*) from events where kind::text like 'link%'") == 1


async def test_a_stopped_database_is_a_503_in_each_apis_shape(
    aiohttp_client: Any, own_server: tuple[Path, list[Any]], tmp_path: Path
):
    _, servers = own_server
    settings = Settings(
        database_url=servers[0].admin_dsn,
        data_dir=tmp_path / "unused",
        pool_min_size=1,
        pool_max_size=2,
    )
    http = Http(await aiohttp_client(create_app(settings)))
    await asyncio.to_thread(servers[0].stop)
    for api, path in {
        "gitlab": "/api/v4/projects/acme%2Fweb/issues/1/links",
        "jira": "/rest/api/2/issueLink/1",
        "sourcecraft": "/repos/acme/web/issues/1/issue_links",
    }.items():
        status, answer, headers = await http.call("GET", path)
        assert status == 503, (api, answer)
        assert headers["Retry-After"] == "5"
        assert set(answer) == SHAPES[api]
        assert "The database is unavailable; try again shortly" in str(answer)
