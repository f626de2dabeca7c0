"""Log lines: one JSON object each, or a line for a person, stamped with the request's id.

The request-id middleware sets `REQUEST_ID` for the life of a request, so every record
logged while handling it (by us, Strawberry, asyncpg or aiohttp) carries the id the
client sees in `X-Request-Id` and in its errors' `extensions.requestId`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import IO, Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("issuegraph_request_id", default=None)

# Our own loggers' common prefix, left out of text lines: `issuegraph.access` shows as `access`.
_PACKAGE_PREFIX = "issuegraph."
# The attributes every LogRecord has; anything else on a record came through `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "request_id"}


def _request_id(record: logging.LogRecord) -> str | None:
    # An explicit `extra={"request_id": ...}` wins over the context (e.g. work logged later).
    explicit = record.__dict__.get("request_id")
    return explicit if isinstance(explicit, str) else REQUEST_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, extras, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id(record)
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
        )
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # an integer past 64 bits, say: the standard library copes
            return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A line for a person at a terminal: local time to the second, level, a short logger
    name, the message, and ` [request <id>]` while a request is handled.

        15:07:44 INFO    access: POST /graphql 200 3.2ms IssuePage [request 3f9c2a7e]
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        when = time.strftime("%H:%M:%S", time.localtime(record.created))
        name = record.name.removeprefix(_PACKAGE_PREFIX)
        line = f"{when} {record.levelname:<7} {name}: {record.message}"
        request_id = _request_id(record)
        return line if request_id is None else f"{line} [request {request_id}]"


def resolve_format(log_format: str, stream: IO[str]) -> str:
    """ "json" or "text": `auto` is text for a terminal, JSON for a pipe, a file or a collector."""
    if log_format != "auto":
        return log_format
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "json"


def configure_logging(
    level: str, log_format: str, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record to `stream` (stderr) in `log_format`: "json", "text" or "auto"."""
    target = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(target)
    text = resolve_format(log_format, target) == "text"
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
