"""Typed keys for what the application and each request carry."""

from __future__ import annotations

from aiohttp import web

from issuegraph.config import Settings
from issuegraph.db.database import Database

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
# Set by the request-id middleware on every request.
REQUEST_ID = web.RequestKey("request_id", str)
