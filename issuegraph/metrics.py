"""What operators scrape at /metrics: the service's Prometheus metrics (docs/scaling.md).

One process: the default registry. Several workers (`serve --workers N`): the supervisor
sets PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client, every worker
writes its samples to files there, and `exposition` on any worker sums them (gauges
by each one's `multiprocess_mode`).

Label values are bounded: the operation label is a GraphQL operation name only when it
is a plain name of at most 64 characters, and at most MAX_OPERATIONS distinct names per
process; anything else counts as "other".
"""

from __future__ import annotations

import os
import re
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATIONS: Final = 200
_OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_seen_operations: set[str] = set()

REQUESTS = Counter(
    "issuegraph_requests",
    "HTTP requests answered, by kind (graphql, rest, websocket, playground, page, ops), "
    "GraphQL operation name and outcome (ok, client_error, server_error).",
    ["kind", "operation", "outcome"],
)
LATENCY = Histogram(
    "issuegraph_request_duration_seconds",
    "Time from a request's arrival to its answer (WebSocket connections not included).",
    ["kind", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
POOL_CONNECTIONS = Gauge(
    "issuegraph_db_pool_connections",
    "Connections of the database pools (summed over workers): state open or in_use.",
    ["database", "state"],
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    "issuegraph_db_pool_max_connections",
    "The pools' maximum size (summed over workers).",
    ["database"],
    multiprocess_mode="livesum",
)
DATABASE_UP = Gauge(
    "issuegraph_database_up",
    "1 when the database answered the last check, 0 when it did not.",
    ["database"],
    multiprocess_mode="livemostrecent",
)
REPLICA_LAG = Gauge(
    "issuegraph_replica_lag_bytes",
    "How far a replica's replay is behind the primary's WAL, in bytes, at the last check.",
    ["database"],
    multiprocess_mode="livemostrecent",
)
REPLICA_IN_ROTATION = Gauge(
    "issuegraph_replica_in_rotation",
    "1 while a replica serves reads, 0 while it is out (down or lagging).",
    ["database"],
    multiprocess_mode="livemostrecent",
)
READS_ROUTED = Counter(
    "issuegraph_reads_routed",
    "Read-only requests by the database that served them (primary or a replica) and why.",
    ["database", "reason"],
)
CHANGE_LOG_BACKLOG = Gauge(
    "issuegraph_change_log_backlog_events",
    "Committed change events a reader of the log has not read yet (capped at 100,000): "
    "reader webhooks (the dispatcher, shared) or subscriptions (this worker's reader).",
    ["reader"],
    multiprocess_mode="livemax",
)
WEBHOOK_PENDING = Gauge(
    "issuegraph_webhook_deliveries_pending",
    "Webhook deliveries not yet sent or given up (shared by every worker).",
    multiprocess_mode="livemostrecent",
)
WEBSOCKETS = Gauge(
    "issuegraph_websocket_connections",
    "Open WebSocket connections (summed over workers).",
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS = Gauge(
    "issuegraph_subscriptions",
    "Operations running on WebSocket connections (summed over workers).",
    multiprocess_mode="livesum",
)


def operation_label(name: object) -> str:
    """A bounded label value for a client-chosen operation name ('' for none)."""
    if not name:
        return ""
    if not isinstance(name, str) or not _OPERATION.match(name):
        return "other"
    if name not in _seen_operations:
        if len(_seen_operations) >= MAX_OPERATIONS:
            return "other"
        _seen_operations.add(name)
    return name


def outcome(status: int) -> str:
    if status >= 500:  # noqa: PLR2004
        return "server_error"
    if status >= 400:  # noqa: PLR2004
        return "client_error"
    return "ok"


def observe(kind: str, operation: str, status: int, seconds: float | None) -> None:
    """Count one answered request; `seconds` None for a connection (WebSocket)."""
    REQUESTS.labels(kind, operation, outcome(status)).inc()
    if seconds is not None:
        LATENCY.labels(kind, operation).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (the supervisor calls it as a worker exits)."""
    if os.environ.get(MULTIPROCESS_ENV):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
