"""Typed keys for what the application and each request carry."""

from __future__ import annotations

from aiohttp import web

from issuegraph.config import Settings
from issuegraph.context import Reads
from issuegraph.db.database import Database
from issuegraph.domain.graph_index import GraphIndex
from issuegraph.domain.live import Hub

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
# Set by the request-id middleware on every request.
REQUEST_ID = web.RequestKey("request_id", str)
# The process's live change events (subscriptions), and its open WebSockets.
LIVE = web.AppKey("live", Hub[Reads])
WEBSOCKETS = web.AppKey("websockets", set[web.WebSocketResponse])
# The process's in-memory link graph (absent with ISSUEGRAPH_GRAPH_INDEX=sql).
GRAPH = web.AppKey("graph", GraphIndex)
