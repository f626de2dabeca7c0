"""Which database a request reads from, and read-your-writes (docs/scaling.md).

A request that only reads goes where `db.routing.Router.for_read` says, given the
position of the client's last write, which the client shows in one of three ways:

- the `X-Issuegraph-Lsn` header, which every answer to a write carries;
- the `issuegraph_lsn` cookie, which every answer to a write sets (browsers and cookie-
  keeping clients send it back unasked);
- its token: this process remembers the last write of each token it has served.

The largest of them counts; a value that is not an LSN is ignored. Without replicas every
request goes to the primary and nothing is added to any answer.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Final

from aiohttp import web

from issuegraph import metrics
from issuegraph.db.routing import ReadChoice, Router, format_lsn, parse_lsn

__all__ = ["ROUTER", "ReadChoice", "Router"]

ROUTER: Final = web.AppKey("router", Router)
LSN_HEADER: Final = "X-Issuegraph-Lsn"
LSN_COOKIE: Final = "issuegraph_lsn"
# Tokens whose last write this process remembers (least recently written forgotten first).
REMEMBERED_TOKENS: Final = 10_000
_written: OrderedDict[str, int] = OrderedDict()


def _token_key(request: web.Request) -> str | None:
    token = request.headers.get("Authorization") or request.headers.get("PRIVATE-TOKEN")
    if not token:
        return None
    return hashlib.sha256(token.encode()).hexdigest()


def client_position(request: web.Request) -> int | None:
    """The newest write the client has shown us, or None."""
    known = [
        parse_lsn(request.headers.get(LSN_HEADER, "")),
        parse_lsn(request.cookies.get(LSN_COOKIE, "")),
    ]
    key = _token_key(request)
    if key is not None:
        known.append(_written.get(key))
    found = [position for position in known if position is not None]
    return max(found) if found else None


def for_read(request: web.Request) -> ReadChoice:
    """The database a read-only request reads from."""
    router = request.app[ROUTER]
    if not router.replicas:
        return ReadChoice(router.primary, "primary", "no_replica")
    return router.for_read(client_position(request))


def for_write(request: web.Request) -> ReadChoice:
    return ReadChoice(request.app[ROUTER].primary, "primary", "write")


def fallback(request: web.Request) -> ReadChoice:
    """The primary, for a read a replica could not serve."""
    return ReadChoice(request.app[ROUTER].primary, "primary", "fallback")


def replica_lost(request: web.Request, choice: ReadChoice, error: BaseException | None) -> None:
    request.app[ROUTER].replica_failed(choice.pool, error)


def counted(choice: ReadChoice) -> ReadChoice:
    metrics.READS_ROUTED.labels(choice.database, choice.reason).inc()
    return choice


async def note_write(request: web.Request, response: web.StreamResponse) -> None:
    """After a write: its position in the answer (header, cookie) and in this process."""
    router = request.app[ROUTER]
    if not router.replicas:
        return
    position = await router.wal_position()
    text = format_lsn(position)
    response.headers[LSN_HEADER] = text
    response.set_cookie(LSN_COOKIE, text, path="/", httponly=True, samesite="Lax")
    key = _token_key(request)
    if key is not None:
        _written[key] = max(position, _written.get(key, 0))
        _written.move_to_end(key)
        while len(_written) > REMEMBERED_TOKENS:
            _written.popitem(last=False)
