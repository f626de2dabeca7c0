"""The aiohttp application: routes, the database's lifecycle, the GraphQL view."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from issuegraph.db.database import open_database
from issuegraph.domain.errors import ErrorCode
from issuegraph.playground import setup_playground
from issuegraph.schema.errors import error_body
from issuegraph.schema.schema import schema
from issuegraph.state import DATABASE, REQUEST_ID, SETTINGS
from issuegraph.view import IssuegraphView, json_response

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp.typedefs import Handler

    from issuegraph.config import Settings
    from issuegraph.db.database import ConnectionHook

log = logging.getLogger(__name__)

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
READY_TIMEOUT_SECONDS = 2.0


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (the client's, if sane), echoed in X-Request-Id."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as error:
        error.headers["X-Request-Id"] = request_id
        raise
    except Exception:
        log.exception("unhandled error [request %s]", request_id)
        return json_response(
            error_body(ErrorCode.INTERNAL, "Internal server error", request_id), 500, request_id
        )
    response.headers["X-Request-Id"] = request_id
    return response


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await request.app[DATABASE].pool.fetchval("select 1")
    except Exception as error:  # noqa: BLE001  (any failure means not ready)
        return web.json_response(
            {"status": "unavailable", "database": type(error).__name__}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok"})


def create_app(settings: Settings, *, on_connect: ConnectionHook | None = None) -> web.Application:
    """The application; `on_connect` runs on each new pooled database connection."""
    app = web.Application(middlewares=[request_id_middleware])
    app[SETTINGS] = settings

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_database(settings, on_connect=on_connect) as database:
            app[DATABASE] = database
            yield

    app.cleanup_ctx.append(database_ctx)
    view = IssuegraphView(schema=schema, graphql_ide="graphiql")
    app.router.add_route("*", "/graphql", view)
    setup_playground(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
