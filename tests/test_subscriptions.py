"""Subscriptions over WebSocket, fed by the change log: real servers, real clients."""

from __future__ import annotations

import asyncio
from typing import Any

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from issuegraph.models import Visibility
from tests.helpers import Api, World

LINK_EVENTS = gql(
    """
    subscription($project: ID, $after: String) {
      issueLinkEvents(project: $project, after: $after) {
        cursor kind silent
        issue { iid title }
        link { linkType source { iid } target { iid } }
        actor { username }
      }
    }
    """
)


def ws_url(api: Api) -> str:
    return str(api.client.make_url("/graphql")).replace("http://", "ws://")


async def test_smoke(api: Api, world: World) -> None:
    alice, token = await world.user_with_token("alice")
    project = await world.project(alice, "acme/p", Visibility.PUBLIC)
    one = await world.issue(alice, project, "one")
    two = await world.issue(alice, project, "two")
    transport = WebsocketsTransport(
        url=ws_url(api), init_payload={"Authorization": f"Bearer {token}"}
    )
    async with Client(transport=transport) as session:
        got: list[Any] = []

        async def consume() -> None:
            async for result in session.subscribe(
                LINK_EVENTS, variable_values={"project": "acme/p"}
            ):
                got.append(result)
                if len(got) == 1:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        payload = await api.mutate(
            "createIssueLink",
            {
                "project": "acme/p",
                "iid": one.iid,
                "targetProject": "acme/p",
                "targetIssueIid": two.iid,
                "linkType": "BLOCKS",
            },
            "link { id }",
            token=token,
        )
        assert payload["errors"] == []
        await asyncio.wait_for(task, 10)
        assert got[0]["issueLinkEvents"]["kind"] == "LINK_CREATED"
