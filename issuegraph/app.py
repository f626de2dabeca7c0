"""The aiohttp application: routes, the database's lifecycle, the GraphQL endpoint."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from issuegraph.api import schema
from issuegraph.db.database import open_database
from issuegraph.db.listener import Listener
from issuegraph.delivery import DeliveryWorker
from issuegraph.domain.graph_index import GraphIndex
from issuegraph.domain.live import Hub
from issuegraph.logs import REQUEST_ID as REQUEST_ID_VAR
from issuegraph.pages import setup_pages
from issuegraph.playground import setup_playground
from issuegraph.rest import setup_rest
from issuegraph.schema.errors import INTERNAL_MESSAGE, RequestErrorCode, error_body
from issuegraph.state import DATABASE, GRAPH, LIVE, REQUEST_ID, SETTINGS, WEBSOCKETS
from issuegraph.view import OPERATION_NAME, graphql_handler, json_response
from issuegraph.websocket import close_all, graphql_endpoint, reads_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp.typedefs import Handler

    from issuegraph.config import Settings
    from issuegraph.db.database import ConnectionHook

log = logging.getLogger(__name__)
access_log = logging.getLogger("issuegraph.access")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
READY_TIMEOUT_SECONDS = 2.0
# The process's webhook delivery worker, when it runs one (ISSUEGRAPH_WEBHOOK_POLL_MS > 0).
DELIVERIES = web.AppKey("deliveries", DeliveryWorker)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (the client's, if sane), echoed in X-Request-Id.

    The id is also the logging context of everything the request does, and the request
    ends with one access-log line.
    """
    started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    context = REQUEST_ID_VAR.set(request_id)
    status = 500
    try:
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as error:
            status = error.status
            error.headers["X-Request-Id"] = request_id
            raise
        except Exception:
            log.exception("unhandled error [request %s]", request_id)
            return json_response(
                error_body(RequestErrorCode.INTERNAL, INTERNAL_MESSAGE, request_id), 500, request_id
            )
        status = response.status
        if not response.prepared:  # a WebSocket has sent its headers (and its id) already
            response.headers["X-Request-Id"] = request_id
        return response
    finally:
        if access_log.isEnabledFor(logging.INFO):
            _log_access(request, status, started)
        REQUEST_ID_VAR.reset(context)


def _log_access(request: web.Request, status: int, started: float) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    operation = request.get(OPERATION_NAME)
    access_log.info(
        "%s %s %s %.1fms%s",
        request.method,
        request.path,
        status,
        duration_ms,
        f" {operation}" if operation else "",
        extra={
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
            "operation": operation,
        },
    )


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
    # Bodies are read at most this far (a larger one is a 413 from the view, never a buffer).
    app = web.Application(
        middlewares=[request_id_middleware], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_database(
            settings, on_connect=on_connect, statement_timeout_ms=settings.statement_timeout_ms
        ) as database:
            app[DATABASE] = database
            yield

    async def graph_ctx(app: web.Application) -> AsyncIterator[None]:
        if settings.graph_index == "memory":
            index = GraphIndex(
                app[DATABASE].pool,
                cached_issues=settings.graph_cached_issues,
                cached_links=settings.graph_cached_links,
                retention_seconds=settings.graph_changes_retention_seconds or None,
            )
            await index.build()
            app[GRAPH] = index
        yield

    async def deliveries_ctx(app: web.Application) -> AsyncIterator[None]:
        if settings.webhook_poll_ms == 0:
            yield
            return
        worker = DeliveryWorker(settings, app[DATABASE].dsn)
        await worker.start()
        app[DELIVERIES] = worker
        try:
            yield
        finally:
            await worker.stop()

    async def live_ctx(app: web.Application) -> AsyncIterator[None]:
        database = app[DATABASE]
        hub = Hub(
            database.pool,
            reads_for(database.pool),
            window=settings.live_window,
            tick_seconds=settings.live_tick_seconds,
        )
        worker = app.get(DELIVERIES)

        def wake() -> None:
            # One notification wakes both readers of the log in this process.
            hub.wake()
            if worker is not None:
                worker.wake()

        listener = Listener(database.dsn, wake)
        app[LIVE] = hub
        hub.start()
        listener.start()
        yield
        await listener.stop()
        await hub.stop()

    app[WEBSOCKETS] = set()
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(graph_ctx)
    app.cleanup_ctx.append(deliveries_ctx)
    app.cleanup_ctx.append(live_ctx)
    app.on_shutdown.append(close_all)
    _add_routes(app, settings)
    return app


def _add_routes(app: web.Application, settings: Settings) -> None:
    app.router.add_route(
        "*", "/graphql", graphql_endpoint(graphql_handler(schema), schema, settings)
    )
    setup_playground(app)
    setup_rest(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    setup_pages(app)  # last: its patterns would shadow the routes above
