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
        )
