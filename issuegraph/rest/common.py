"""What the REST facades share: each request's viewer, loaders and services (built as the
GraphQL endpoint builds them), its parameters and body, and one error path.

A facade is a `Dialect` (how its errors look, which status a rule's verdict gets) and
handlers that take a `Call`. `endpoint` runs a handler within the request's time limit,
answers every refusal in the dialect's shape, and closes the loaders once answered; no
refusal is a 5xx, and an unexpected failure is a masked 500 in the same shape.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from issuegraph import routing
from issuegraph.context import Reads
from issuegraph.domain.access import Access
from issuegraph.domain.auth import authenticate
from issuegraph.domain.errors import DomainError, RuleViolationsError, UnauthenticatedError
from issuegraph.domain.links import LinkService
from issuegraph.domain.validation import MAX_DATABASE_ID
from issuegraph.loaders import Loaders
from issuegraph.schema.errors import (
    DATABASE_UNAVAILABLE_MESSAGE,
    INTERNAL_MESSAGE,
    TIMEOUT_MESSAGE,
    RequestErrorCode,
    operational_code,
)
from issuegraph.state import GRAPH, REQUEST_ID, SETTINGS

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from issuegraph.config import Settings
    from issuegraph.models import Viewer

log = logging.getLogger(__name__)

APPLICATION_JSON: Final = "application/json"
FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# iids are PostgreSQL integers: a larger one names no issue.
MAX_IID: Final = 2**31 - 1
RETRY_AFTER_SECONDS: Final = "5"
UNAUTHENTICATED_HEADERS: Final = {"WWW-Authenticate": 'Bearer realm="issuegraph"'}


class RestError(Exception):
    """A refusal in a facade's own terms: a status, a code, a message, maybe details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = dict(headers or {})


def bad_request(message: str, **details: Any) -> RestError:
    return RestError(400, RequestErrorCode.BAD_USER_INPUT.value, message, details=details)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one facade answers a refusal.

    `body(error, request_id)` is its error document; `status(error)` the HTTP status of a
    rule's verdict (a `DomainError` from the domain layer), `message(error, status)` what
    the client reads for it.
    """

    name: str
    body: Callable[[RestError, str], object]
    status: Callable[[DomainError], int]
    message: Callable[[DomainError, int], str] = field(default=lambda error, _status: error.message)

    def refusal(self, error: DomainError) -> RestError:
        status = self.status(error)
        return RestError(
            status, error.code.value, self.message(error, status), details=error.details
        )


@dataclass(slots=True)
class Call:
    """One REST request: who asks, through the request's own loaders and access rules."""

    request: web.Request
    request_id: str
    settings: Settings
    pool: Any
    viewer: Viewer
    loaders: Loaders
    access: Access

    @property
    def links(self) -> LinkService:
        return LinkService(self.access, self.pool, max_links=self.settings.max_links_per_issue)

    @property
    def origin(self) -> str:
        """The scheme and host the client reached: the base of links it will follow."""
        return str(self.request.url.origin())


# -- answers -------------------------------------------------------------------------------


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        content_type=APPLICATION_JSON,
        charset="utf-8",
        headers=headers,
    )


def _answer(dialect: Dialect, error: RestError, request_id: str) -> web.Response:
    response = json_response(dialect.body(error, request_id), error.status, error.headers)
    response.headers["X-Request-Id"] = request_id
    return response


def timestamp(value: dt.datetime | None) -> str | None:
    """UTC, milliseconds, `Z`: GitLab's and SourceCraft's form."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- reading the request -------------------------------------------------------------------


def integer(value: Any, name: str) -> int:
    """A whole number given as a JSON number or as decimal text, else a 400."""
    if isinstance(value, bool):
        raise bad_request(f"{name} is invalid", parameter=name)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():  # JSON's 2**70 arrives as a float
        return int(value)
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        text = value.strip()
        if len(text) <= 40:  # noqa: PLR2004  (well past 64 bits; longer is nonsense)
            return int(text)
    raise bad_request(f"{name} is invalid", parameter=name)


def database_id(value: Any, name: str) -> int | None:
    """An id; None when no row can have it (past 64 bits, or zero): it names nothing."""
    number = integer(value, name)
    return number if 0 < number <= MAX_DATABASE_ID else None


def iid(value: Any, name: str) -> int | None:
    """An issue's iid; None when no issue can have it."""
    number = integer(value, name)
    return number if 0 < number <= MAX_IID else None


def text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{name} is invalid", parameter=name)
    return value


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "false", "0"}:
        return value.strip().lower() in {"true", "1"}
    raise bad_request(f"{name} is invalid", parameter=name)


async def read_body(call: Call, *, forms: bool = False) -> Any:
    """A POST's JSON document (or, with `forms`, its form fields as a dict), within the
    size limit. No body at all is an empty object."""
    request = call.request
    limit = call.settings.max_body_bytes
    too_large = RestError(
        413,
        RequestErrorCode.PAYLOAD_TOO_LARGE.value,
        f"The request body is larger than the limit of {limit} bytes",
        details={"maxBytes": limit},
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    try:
        if forms and request.content_type in FORM_TYPES:
            return dict((await request.post()).items())
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except (ValueError, HttpProcessingError):  # a form that does not parse
        raise bad_request("Unable to parse the request body as a form") from None
    if not body.strip():
        return {}
    if request.content_type != APPLICATION_JSON:
        supported = [APPLICATION_JSON, *sorted(FORM_TYPES)] if forms else [APPLICATION_JSON]
        raise RestError(
            415,
            RequestErrorCode.UNSUPPORTED_MEDIA_TYPE.value,
            f"Unsupported content type {request.content_type!r}: send {' or '.join(supported)}",
            details={"supported": supported},
        )
    try:
        return orjson.loads(body.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        raise bad_request("Unable to parse the request body as JSON") from None


async def read_object(call: Call, *, forms: bool = False) -> dict[str, Any]:
    body = await read_body(call, forms=forms)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


# -- running a handler -----------------------------------------------------------------------


CallHandler = Callable[[Call], Awaitable[web.StreamResponse]]


async def _call(request: web.Request, pool: Any) -> Call:
    settings = request.app[SETTINGS]
    viewer = await authenticate(pool, request.headers)
    reads = Reads.of(pool, viewer, request.app.get(GRAPH))
    return Call(
        request=request,
        request_id=request[REQUEST_ID],
        settings=settings,
        pool=pool,
        viewer=viewer,
        loaders=reads.loaders,
        access=reads.access,
    )


def endpoint(dialect: Dialect, route: Callable[[web.Request], CallHandler]) -> Handler:
    """The aiohttp handler of a facade: `route` picks the handler of a request (or raises
    a RestError: 404, 405), which runs with the request's `Call`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        request_id = request[REQUEST_ID]
        settings = request.app[SETTINGS]
        calls: list[Call] = []  # at most two: a replica's that could not serve, the primary's
        deadline = asyncio.timeout(settings.request_timeout_seconds)
        try:
            async with deadline:
                return await _routed(request, route(request), calls)
        # Each refusal is answered in its except block (no exception outlives it).
        except RestError as error:
            answer = _answer(dialect, error, request_id)
        except DomainError as error:
            answer = _answer(dialect, dialect.refusal(error), request_id)
        except RuleViolationsError as errors:
            answer = _answer(dialect, dialect.refusal(errors.errors[0]), request_id)
        except UnauthenticatedError as error:
            refusal = RestError(
                401,
                RequestErrorCode.UNAUTHENTICATED.value,
                error.message,
                headers=UNAUTHENTICATED_HEADERS,
            )
            answer = _answer(dialect, refusal, request_id)
        except Exception as error:  # noqa: BLE001  (answered in the facade's shape, logged)
            answer = _answer(dialect, _failure(error, expired=deadline.expired()), request_id)
        finally:
            for call in calls:
                call.loaders.close()
        return answer

    return handle


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _routed(
    request: web.Request, handler: CallHandler, calls: list[Call]
) -> web.StreamResponse:
    """Run the handler where it belongs (issuegraph/routing.py): a GET on a replica caught
    up with the client, anything else on the primary; a write's answer carries its
    position. A replica that cannot serve (a token newer than it, or lost under the
    request) leaves the read to the primary: it never fails a request."""
    reads_only = request.method in _READS
    choice = routing.for_read(request) if reads_only else routing.for_write(request)
    if choice.database != "primary":
        try:
            return await _served(request, handler, choice, calls)
        except Exception as error:
            if not _replica_cannot_serve(error):
                raise
            if not isinstance(error, UnauthenticatedError):
                routing.replica_lost(request, choice, error)
            choice = routing.fallback(request)
    response = await _served(request, handler, choice, calls)
    if not reads_only and response.status < 400:  # noqa: PLR2004
        await routing.note_write(request, response)
    return response


async def _served(
    request: web.Request, handler: CallHandler, choice: routing.ReadChoice, calls: list[Call]
) -> web.StreamResponse:
    call = await _call(request, choice.pool)
    calls.append(call)
    response = await handler(call)
    routing.counted(choice)
    return response


def _replica_cannot_serve(error: Exception) -> bool:
    """A token newer than the replica, or the replica lost: the primary answers instead."""
    if isinstance(error, UnauthenticatedError):
        return True
    return operational_code(error) is RequestErrorCode.DATABASE_UNAVAILABLE


def _failure(error: Exception, *, expired: bool) -> RestError:
    """A timeout, an outage, or a bug (masked, logged with its traceback)."""
    code = RequestErrorCode.TIMEOUT if expired else operational_code(error)
    if code == RequestErrorCode.TIMEOUT:
        log.warning("REST request timed out: %s: %s", type(error).__name__, error)
        return RestError(504, code.value, TIMEOUT_MESSAGE)
    if code == RequestErrorCode.DATABASE_UNAVAILABLE:
        log.warning("database unavailable: %s: %s", type(error).__name__, error)
        return RestError(
            503,
            code.value,
            DATABASE_UNAVAILABLE_MESSAGE,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    log.error("unhandled error in a REST request", exc_info=error)
    return RestError(500, RequestErrorCode.INTERNAL.value, INTERNAL_MESSAGE)


def not_found(dialect_message: str) -> RestError:
    return RestError(404, "NOT_FOUND", dialect_message)


def method_not_allowed(allowed: str) -> RestError:
    return RestError(
        405,
        RequestErrorCode.METHOD_NOT_ALLOWED.value,
        "Method not allowed",
        headers={"Allow": allowed},
    )


def segments(request: web.Request, prefix: str) -> list[str]:
    """The path after `prefix`, split at '/', each segment still URL-encoded (a project's
    path travels as one encoded segment, e.g. `group%2Fproject`)."""
    raw = request.rel_url.raw_path.removeprefix(prefix).strip("/")
    return raw.split("/") if raw else []
