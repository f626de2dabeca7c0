"""The aiohttp application: routes, the database's lifecycle, the GraphQL endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from issuegraph import metrics
from issuegraph.api import build_schema, schema
from issuegraph.db.database import open_database
from issuegraph.db.listener import Listener
from issuegraph.db.queries import ops as ops_queries
from issuegraph.delivery import DeliveryWorker
from issuegraph.domain.graph_index import GraphIndex
from issuegraph.domain.live import Hub
from issuegraph.logs import REQUEST_ID as REQUEST_ID_VAR
from issuegraph.pages import setup_pages
from issuegraph.playground import setup_playground
from issuegraph.rest import setup_rest
from issuegraph.routing import ROUTER, Router
from issuegraph.schema.errors import INTERNAL_MESSAGE, RequestErrorCode, error_body
from issuegraph.state import DATABASE, GRAPH, LIVE, REQUEST_ID, SETTINGS, WEBSOCKETS
from issuegraph.view import OPERATION_NAME, graphql_handler, json_response
from issuegraph.websocket import (
    WEBSOCKET,
    close_all,
    graphql_endpoint,
    reads_for,
    running_operations,
)

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
        kind = _kind(request)
        seconds = None if kind == "websocket" else time.perf_counter() - started
        metrics.observe(kind, metrics.operation_label(request.get(OPERATION_NAME)), status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            _log_access(request, status, started)
        REQUEST_ID_VAR.reset(context)


_REST_PREFIXES = ("/api/", "/rest/", "/repos/")
_OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _kind(request: web.Request) -> str:
    """The kind of request, for the metrics' `kind` label."""
    path = request.path
    if path == "/graphql":
        return "websocket" if request.get(WEBSOCKET) is not None else "graphql"
    if path.startswith("/graphql/"):
        return "playground"
    if path.startswith(_REST_PREFIXES) or path == "/rest":
        return "rest"
    if path in _OPS_PATHS:
        return "ops"
    return "page"


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


async def metrics_page(request: web.Request) -> web.Response:
    """/metrics: the database-wide gauges are sampled now, by the process scraped."""
    await _sample_database(request.app)
    body, content_type = metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


def _sample_process(app: web.Application) -> None:
    """Set the gauges of this process's own state: its pool and its WebSockets."""
    pool = app[DATABASE].pool
    metrics.POOL_CONNECTIONS.labels("primary", "open").set(pool.get_size())
    metrics.POOL_CONNECTIONS.labels("primary", "in_use").set(pool.get_size() - pool.get_idle_size())
    metrics.POOL_MAX.labels("primary").set(pool.get_max_size())
    metrics.WEBSOCKETS.set(len(app[WEBSOCKETS]))
    metrics.SUBSCRIPTIONS.set(running_operations())


async def _sample_database(app: web.Application) -> None:
    """Set the gauges read from the database: whether it answers, the log's backlogs."""
    _sample_process(app)
    live = app.get(LIVE)
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            found = await ops_queries.backlogs(
                app[DATABASE].pool, live.position if live is not None else None
            )
    except Exception as error:  # noqa: BLE001  (any failure: the database is not answering)
        log.warning("metrics: the database did not answer: %s", error)
        metrics.DATABASE_UP.labels("primary").set(0)
        return
    metrics.DATABASE_UP.labels("primary").set(1)
    metrics.CHANGE_LOG_BACKLOG.labels("webhooks").set(found.webhook_events)
    metrics.CHANGE_LOG_BACKLOG.labels("subscriptions").set(found.subscription_events)
    metrics.WEBHOOK_PENDING.set(found.webhook_deliveries)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the primary answers; the body says where each database stands."""
    router = request.app.get(ROUTER)
    replicas = router.states() if router is not None else {}
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await request.app[DATABASE].pool.fetchval("select 1")
    except Exception as error:  # noqa: BLE001  (any failure means not ready)
        databases = {"primary": f"down: {type(error).__name__}", **replicas}
        return web.json_response(
            {"status": "unavailable", "database": type(error).__name__, "databases": databases},
            status=503,
        )
    databases = {"primary": "up", **replicas}
    return web.json_response({"status": "ok", "database": "ok", "databases": databases})


async def _router_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    router = Router(
        app[DATABASE].pool,
        list(settings.replica_urls),
        max_lag_bytes=settings.replica_max_lag_bytes,
        poll_seconds=settings.replica_poll_seconds,
        pool_max_size=settings.pool_max_size,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    if router.replicas:
        await router.start()
    app[ROUTER] = router
    try:
        yield
    finally:
        await router.stop()


async def _graph_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
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


async def _deliveries_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
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


async def _live_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
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


async def _metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]

    async def sample_forever() -> None:
        while True:
            _sample_process(app)
            await asyncio.sleep(settings.metrics_interval_seconds)

    task = asyncio.create_task(sample_forever(), name="issuegraph-metrics")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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

    app[WEBSOCKETS] = set()
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(_router_ctx)
    app.cleanup_ctx.append(_graph_ctx)
    app.cleanup_ctx.append(_deliveries_ctx)
    app.cleanup_ctx.append(_live_ctx)
    app.cleanup_ctx.append(_metrics_ctx)
    app.on_shutdown.append(close_all)
    _add_routes(app, settings)
    return app


def _add_routes(app: web.Application, settings: Settings) -> None:
    served = build_schema(opentelemetry=True) if settings.opentelemetry else schema
    app.router.add_route(
        "*", "/graphql", graphql_endpoint(graphql_handler(served), served, settings)
    )
    setup_playground(app)
    setup_rest(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    setup_pages(app)  # last: its patterns would shadow the routes above
