"""Settings read from the environment, once, at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("issuegraph", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    # With no URL the service runs an embedded PostgreSQL server in `data_dir`.
    database_url: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8080
    # Prefix of `webUrl` fields, e.g. https://issues.example.com.
    public_url: str = "http://localhost:8080"
    pool_min_size: int = 2
    pool_max_size: int = 10
    # Per-issue link limit, checked on both ends (GitLab 100, Jira 2000).
    max_links_per_issue: int = 1000
    log_level: str = "INFO"
    # Query limits (GitLab's defaults): text length, field depth, aliases.
    max_query_length: int = 10_000
    max_depth_anonymous: int = 15
    max_depth: int = 20
    max_aliases: int = 100
    # Estimated cost ceiling: a list field costs its page size times its children.
    max_query_cost: int = 250_000
    # Lexical tokens of the query text (a cheap guard before parsing).
    max_query_tokens: int = 10_000
    # Whether __schema / __type queries are answered.
    introspection: bool = True
    # Largest request body accepted; larger is refused with 413.
    max_body_bytes: int = 1_048_576
    # PostgreSQL's statement_timeout for the service's connections, in milliseconds.
    statement_timeout_ms: int = 10_000
    # A whole request's time limit, in seconds.
    request_timeout_seconds: float = 30.0
    # "json" (one JSON object a line), "text" (a line for a person to read), or "auto":
    # text when stderr is a terminal, JSON otherwise.
    log_format: str = "auto"
    # Webhooks (docs/events.md, "Webhooks"): how often the delivery worker looks for work
    # (0: no worker in this process), one request's time limit, the attempts a delivery
    # gets, the consecutive failures that disable a hook, the retry backoff (first delay
    # and ceiling, also the ceiling of a Retry-After), and whether loopback, private and
    # other non-public addresses may be delivered to.
    webhook_poll_ms: int = 1000
    webhook_timeout_ms: int = 10_000
    webhook_max_attempts: int = 8
    webhook_disable_after: int = 20
    webhook_backoff_ms: int = 10_000
    webhook_backoff_max_ms: int = 3_600_000
    webhook_allow_private: bool = False
    # Subscriptions over WebSocket (docs/events.md, "Subscriptions").
    ws_max_subscriptions: int = 100
    ws_init_timeout_seconds: float = 10.0
    ws_ping_interval_seconds: float = 20.0
    ws_send_timeout_seconds: float = 10.0
    # Recent events the process keeps in memory for its subscribers.
    live_window: int = 10_000
    # How often the change log is read even without a notification, in seconds.
    live_tick_seconds: float = 5.0
    # Where graph walks run (docs/graph-index.md): "memory", an index of the link graph
    # built at start-up and kept current from the change log; "sql", PostgreSQL alone.
    graph_index: str = "memory"
    # With the index: the issue and link models each process keeps of recently walked rows.
    graph_cached_issues: int = 200_000
    graph_cached_links: int = 400_000
    # How long graph_changes keeps a change, in seconds (0: never pruned by this process).
    graph_changes_retention_seconds: int = 3600
    # Streaming replicas of the primary for reads (docs/scaling.md, "Read replicas").
    replica_urls: tuple[str, ...] = ()
    # A replica further behind the primary's WAL than this leaves the rotation.
    replica_max_lag_bytes: int = 16 * 1024 * 1024
    # How often the replicas' replay positions are polled, in seconds.
    replica_poll_seconds: float = 1.0
    # How often each process samples the gauges of /metrics (pools, backlogs), in seconds.
    metrics_interval_seconds: float = 5.0
    # Strawberry's OpenTelemetry extension: spans for operations and resolvers.
    opentelemetry: bool = False
    # The most nodes GET /graphql/graph/export writes; a larger graph is refused (400).
    graph_export_max_issues: int = 10_000

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = os.environ.get("ISSUEGRAPH_DATA_DIR")
        port = _int("ISSUEGRAPH_PORT", 8080, minimum=1)
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(data_dir).expanduser() if data_dir else _default_data_dir(),
            host=os.environ.get("ISSUEGRAPH_HOST", "127.0.0.1"),
            port=port,
            public_url=os.environ.get("ISSUEGRAPH_PUBLIC_URL", f"http://localhost:{port}").rstrip(
                "/"
            ),
            pool_min_size=_int("ISSUEGRAPH_POOL_MIN_SIZE", 2, minimum=1),
            pool_max_size=_int("ISSUEGRAPH_POOL_MAX_SIZE", 10, minimum=1),
            max_links_per_issue=_int("ISSUEGRAPH_MAX_LINKS_PER_ISSUE", 1000, minimum=1),
            log_level=os.environ.get("ISSUEGRAPH_LOG_LEVEL", "INFO").upper(),
            max_query_length=_int("ISSUEGRAPH_MAX_QUERY_LENGTH", 10_000, minimum=1),
            max_depth_anonymous=_int("ISSUEGRAPH_MAX_DEPTH_ANONYMOUS", 15, minimum=1),
            max_depth=_int("ISSUEGRAPH_MAX_DEPTH", 20, minimum=1),
            max_aliases=_int("ISSUEGRAPH_MAX_ALIASES", 100, minimum=0),
            max_query_cost=_int("ISSUEGRAPH_MAX_QUERY_COST", 250_000, minimum=1),
            max_query_tokens=_int("ISSUEGRAPH_MAX_QUERY_TOKENS", 10_000, minimum=1),
            introspection=_bool("ISSUEGRAPH_INTROSPECTION", default=True),
            max_body_bytes=_int("ISSUEGRAPH_MAX_BODY_BYTES", 1_048_576, minimum=1024),
            statement_timeout_ms=_int("ISSUEGRAPH_STATEMENT_TIMEOUT_MS", 10_000, minimum=0),
            request_timeout_seconds=_int("ISSUEGRAPH_REQUEST_TIMEOUT_MS", 30_000, minimum=1) / 1000,
            log_format=_choice("ISSUEGRAPH_LOG_FORMAT", ("auto", "json", "text"), "auto"),
            webhook_poll_ms=_int("ISSUEGRAPH_WEBHOOK_POLL_MS", 1000, minimum=0),
            webhook_timeout_ms=_int("ISSUEGRAPH_WEBHOOK_TIMEOUT_MS", 10_000, minimum=1),
            webhook_max_attempts=_int("ISSUEGRAPH_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1),
            webhook_disable_after=_int("ISSUEGRAPH_WEBHOOK_DISABLE_AFTER", 20, minimum=1),
            webhook_backoff_ms=_int("ISSUEGRAPH_WEBHOOK_BACKOFF_MS", 10_000, minimum=0),
            webhook_backoff_max_ms=_int("ISSUEGRAPH_WEBHOOK_BACKOFF_MAX_MS", 3_600_000, minimum=0),
            webhook_allow_private=_bool("ISSUEGRAPH_WEBHOOK_ALLOW_PRIVATE", default=False),
            ws_max_subscriptions=_int("ISSUEGRAPH_WS_MAX_SUBSCRIPTIONS", 100, minimum=1),
            ws_init_timeout_seconds=_int("ISSUEGRAPH_WS_INIT_TIMEOUT_MS", 10_000, minimum=1) / 1000,
            ws_ping_interval_seconds=_int("ISSUEGRAPH_WS_PING_INTERVAL_MS", 20_000, minimum=100)
            / 1000,
            ws_send_timeout_seconds=_int("ISSUEGRAPH_WS_SEND_TIMEOUT_MS", 10_000, minimum=1) / 1000,
            live_window=_int("ISSUEGRAPH_LIVE_WINDOW", 10_000, minimum=1),
            live_tick_seconds=_int("ISSUEGRAPH_LIVE_TICK_MS", 5_000, minimum=10) / 1000,
            graph_index=_choice("ISSUEGRAPH_GRAPH_INDEX", ("memory", "sql"), "memory"),
            graph_cached_issues=_int("ISSUEGRAPH_GRAPH_CACHED_ISSUES", 200_000, minimum=0),
            graph_cached_links=_int("ISSUEGRAPH_GRAPH_CACHED_LINKS", 400_000, minimum=0),
            graph_changes_retention_seconds=_int(
                "ISSUEGRAPH_GRAPH_CHANGES_RETENTION_S", 3600, minimum=0
            ),
            replica_urls=tuple(
                url.strip()
                for url in os.environ.get("DATABASE_REPLICA_URLS", "").split(",")
                if url.strip()
            ),
            replica_max_lag_bytes=_int(
                "ISSUEGRAPH_REPLICA_MAX_LAG_BYTES", 16 * 1024 * 1024, minimum=0
            ),
            replica_poll_seconds=_int("ISSUEGRAPH_REPLICA_POLL_MS", 1000, minimum=10) / 1000,
            metrics_interval_seconds=_int("ISSUEGRAPH_METRICS_INTERVAL_MS", 5_000, minimum=100)
            / 1000,
            opentelemetry=_bool("ISSUEGRAPH_OPENTELEMETRY", default=False),
            graph_export_max_issues=_int("ISSUEGRAPH_GRAPH_EXPORT_MAX_ISSUES", 10_000, minimum=1),
        )
