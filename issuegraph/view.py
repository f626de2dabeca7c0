"""The GraphQL endpoint: Strawberry's aiohttp view under the GraphQL-over-HTTP rules.

Before anything runs, a request is checked in this order: the method (GET or POST, else
405), a media type the client accepts (`Accept`, else 406), a POST's `Content-Type`
(`application/json`, else 415) and size (over `max_body_bytes`, 413), then the
parameters (400). Only then does Strawberry build the context (authentication) and
execute, within `request_timeout_seconds`. How a result maps onto a status depends on
the negotiated media type (`IssuegraphView.process_result`); README.md has the table.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

import orjson
from aiohttp import web
from cross_web import HTTPException
from graphql import GraphQLError
from strawberry.aiohttp.views import GraphQLView
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from issuegraph.context import Context
from issuegraph.domain.access import Access
from issuegraph.domain.auth import authenticate
from issuegraph.domain.errors import ErrorCode, UnauthenticatedError
from issuegraph.loaders import Loaders
from issuegraph.playground import playground_page
from issuegraph.schema.errors import (
    DATABASE_UNAVAILABLE_MESSAGE,
    TIMEOUT_MESSAGE,
    error_body,
    format_error,
    operational_code,
)
from issuegraph.state import DATABASE, REQUEST_ID, SETTINGS

if TYPE_CHECKING:
    from cross_web import AiohttpHTTPRequestAdapter, AsyncHTTPRequestAdapter
    from strawberry.http import GraphQLHTTPResponse

log = logging.getLogger(__name__)

APPLICATION_JSON: Final = "application/json"
GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
# Seconds a client should wait before retrying while the database is unavailable.
RETRY_AFTER_SECONDS: Final = "5"
_UTF8 = frozenset({"utf-8", "utf8"})
_UNAUTHENTICATED_HEADERS: Final = {"WWW-Authenticate": 'Bearer realm="issuegraph"'}


def encode_json(data: object) -> bytes:
    """Compact UTF-8 JSON: orjson, or the standard library for what orjson refuses.

    The values are those json.dumps was given before (Strawberry has already turned
    dates, enums and ids into strings), so the decoded document is the same.
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # an integer past 64 bits (a JSON scalar's), a lone surrogate ...
        return json.dumps(data, separators=(",", ":")).encode()


def json_response(
    body: object,
    status: int,
    request_id: str,
    media_type: str = APPLICATION_JSON,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    response = web.Response(
        body=encode_json(body), status=status, content_type=media_type, charset="utf-8"
    )
    if headers:
        response.headers.update(headers)
    response.headers["X-Request-Id"] = request_id
    return response


@functools.lru_cache(maxsize=256)
def negotiate(accept: str) -> str | None:
    """The response media type for an `Accept` header ("" when absent), None for a 406.

    Each type takes the q of the most specific range that matches it (RFC 9110); the
    higher q wins, then the more specific range, then the one listed first. `*/*` (or no
    header) means application/json, for legacy clients, as the spec allows. Clients send
    the same header again and again: the answer is cached.
    """
    if not accept.strip():
        return APPLICATION_JSON
    # media type -> (specificity, q, position) of the most specific range matching it
    matches: dict[str, tuple[int, float, int]] = {}
    for position, item in enumerate(accept.split(",")):
        media_range, *parameters = item.split(";")
        quality = _quality(parameters)
        if quality is None:
            continue
        for media_type in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON):
            specificity = _specificity(media_range.strip().lower(), media_type)
            if specificity is not None and specificity > matches.get(media_type, (-1,))[0]:
                matches[media_type] = (specificity, quality, position)
    ranked = [
        (quality, specificity, -position, media_type == APPLICATION_JSON, media_type)
        for media_type, (specificity, quality, position) in matches.items()
        if quality > 0
    ]
    return max(ranked)[-1] if ranked else None


def _quality(parameters: list[str]) -> float | None:
    """A range's q (1 by default); None when the range is malformed or not in UTF-8."""
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').lower()
        if name == "q":
            try:
                quality = float(value)
            except ValueError:
                return None
            if not 0 <= quality <= 1:
                return None
        elif name == "charset" and value not in _UTF8:
            return None
    return quality


def _specificity(media_range: str, media_type: str) -> int | None:
    if media_range == media_type:
        return 2
    if media_range == "application/*":
        return 1
    if media_range == "*/*":
        return 0
    return None


def wants_playground(method: str, query: Mapping[str, Any], accept: str) -> bool:
    """A browser opening /graphql: GET without a query, accepting HTML."""
    return (
        method == "GET"
        and query.get("query") is None
        and ("text/html" in accept or "*/*" in accept)
    )


class RequestError(Exception):
    """The request cannot run as sent: an HTTP status and one coded error."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = details


def bad_parameter(parameter: str, message: str) -> RequestError:
    return RequestError(400, ErrorCode.BAD_USER_INPUT, message, details={"parameter": parameter})


@dataclass(slots=True)
class Exchange:
    """What the view settles about a request before Strawberry runs it, and its answer."""

    media_type: str
    playground: bool = False
    params: GraphQLRequestData | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


EXCHANGE = web.RequestKey("graphql_exchange", Exchange)
_RESPONSE_EXCHANGE = web.ResponseKey("graphql_exchange", Exchange)
# The request's operationName, when it names one: for the access log.
OPERATION_NAME = web.RequestKey("graphql_operation_name", str)
# The request's GraphQL context, once built: its loaders are closed after the answer.
CONTEXT = web.RequestKey("graphql_context", Context)


def _json_object(parameter: str, value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise bad_parameter(parameter, f"`{parameter}` must be an object or null")


def request_data(params: Mapping[str, Any]) -> GraphQLRequestData:
    """The four parameters of a GraphQL-over-HTTP request, each of its type, else a 400."""
    query = params.get("query")
    if query is None or query == "":
        raise bad_parameter(
            "query", "The request has no query: send the GraphQL document as `query`"
        )
    if not isinstance(query, str):
        raise bad_parameter("query", "`query` must be a string")
    # An empty operationName is the same as none (the spec says so for GET).
    operation_name = params.get("operationName") or None
    if operation_name is not None and not isinstance(operation_name, str):
        raise bad_parameter("operationName", "`operationName` must be a string or null")
    return GraphQLRequestData(
        query=query,
        variables=_json_object("variables", params.get("variables")),
        operation_name=operation_name,
        extensions=_json_object("extensions", params.get("extensions")),
    )


def _url_parameter(query: Mapping[str, str], parameter: str) -> Any:
    """`variables` or `extensions` of a GET: JSON in the URL."""
    raw = query.get(parameter)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_parameter(parameter, f"`{parameter}` must be a JSON-encoded object") from None


async def _read_body(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """A POST's JSON object, read no further than `max_bytes`."""
    if request.content_type != APPLICATION_JSON or "Content-Type" not in request.headers:
        sent = request.headers.get("Content-Type", "none")
        raise RequestError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Unsupported content type {sent!r}: POST the request as JSON with "
            "Content-Type: application/json",
            details={"supported": [APPLICATION_JSON]},
        )
    if request.charset is not None and request.charset.lower() not in _UTF8:
        raise RequestError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Unsupported charset {request.charset!r}: send application/json in UTF-8",
            details={"supported": [APPLICATION_JSON]},
        )
    too_large = RequestError(
        413,
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"The request body is larger than the limit of {max_bytes} bytes",
        details={"maxBytes": max_bytes},
    )
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    try:
        # aiohttp stops reading past the application's client_max_size (= max_bytes).
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    try:
        # A byte order mark is not JSON, but json.loads let it pass: so do we.
        data = orjson.loads(body.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:  # not JSON, not UTF-8, or absurdly nested
        raise RequestError(
            400, ErrorCode.BAD_USER_INPUT, "Unable to parse the request body as JSON"
        ) from None
    if isinstance(data, list):
        raise RequestError(
            400,
            ErrorCode.BAD_USER_INPUT,
            "Batched requests are not supported: send one operation as a JSON object",
        )
    if not isinstance(data, dict):
        raise RequestError(400, ErrorCode.BAD_USER_INPUT, "Expected a JSON object")
    return data


class IssuegraphView(GraphQLView[Context, None]):
    async def __call__(self, request: web.Request) -> web.StreamResponse:
        request_id: str = request[REQUEST_ID]
        settings = request.app[SETTINGS]
        media_type = APPLICATION_JSON
        deadline = asyncio.timeout(settings.request_timeout_seconds)
        reading = False
        try:
            async with deadline:
                exchange = self._exchange(request)
                media_type = exchange.media_type
                request[EXCHANGE] = exchange
                if not exchange.playground:
                    reading = request.method == "POST"
                    exchange.params = await self._params(request, settings.max_body_bytes)
                    reading = False
                    if exchange.params.operation_name:
                        request[OPERATION_NAME] = exchange.params.operation_name
                try:
                    return await self.run(request=request)
                finally:
                    context = request.pop(CONTEXT, None)
                    if context is not None:
                        context.loaders.close()
        except RequestError as error:
            refusal = error
        except UnauthenticatedError as error:
            refusal = RequestError(401, error.code, error.message, headers=_UNAUTHENTICATED_HEADERS)
        except HTTPException as error:  # what Strawberry itself refuses
            refusal = RequestError(error.status_code, ErrorCode.BAD_USER_INPUT, error.reason)
        except Exception as error:  # noqa: BLE001  (a timeout or an outage; others re-raised)
            refusal = self._failure(
                error,
                expired=deadline.expired(),
                reading=reading,
                timeout_ms=round(settings.request_timeout_seconds * 1000),
            )
        return json_response(
            error_body(refusal.code, refusal.message, request_id, refusal.details),
            refusal.status,
            request_id,
            media_type,
            refusal.headers,
        )

    @staticmethod
    def _exchange(request: web.Request) -> Exchange:
        if request.method not in {"GET", "POST"}:
            raise RequestError(
                405,
                ErrorCode.METHOD_NOT_ALLOWED,
                f"{request.method} is not supported: use GET (queries) or POST",
                headers={"Allow": "GET, POST"},
            )
        accept = request.headers.get("Accept", "")
        if wants_playground(request.method, request.query, accept):
            return Exchange(media_type=APPLICATION_JSON, playground=True)
        media_type = negotiate(accept)
        if media_type is None:
            raise RequestError(
                406,
                ErrorCode.NOT_ACCEPTABLE,
                f"Cannot answer in any type {accept!r} accepts: accept "
                f"{GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
                details={"supported": [GRAPHQL_RESPONSE_JSON, APPLICATION_JSON]},
            )
        return Exchange(media_type=media_type)

    @staticmethod
    async def _params(request: web.Request, max_body_bytes: int) -> GraphQLRequestData:
        if request.method == "GET":
            query = request.query
            return request_data(
                {
                    "query": query.get("query"),
                    "operationName": query.get("operationName"),
                    "variables": _url_parameter(query, "variables"),
                    "extensions": _url_parameter(query, "extensions"),
                }
            )
        return request_data(await _read_body(request, max_body_bytes))

    @staticmethod
    def _failure(
        error: Exception, *, expired: bool, reading: bool, timeout_ms: int
    ) -> RequestError:
        """The answer to an exception outside execution: a timeout, an outage, else re-raised.

        The whole request ran out of time (504, or 408 while its body was still arriving):
        execution was cancelled, so a mutation's transaction rolled back.
        """
        if expired:
            details = {"timeoutMs": timeout_ms}
            if reading:
                log.warning("the request body did not arrive within %s ms", timeout_ms)
                message = "The request body did not arrive in time"
                return RequestError(408, ErrorCode.TIMEOUT, message, details=details)
            log.warning("the request took longer than %s ms and was cancelled", timeout_ms)
            return RequestError(504, ErrorCode.TIMEOUT, TIMEOUT_MESSAGE, details=details)
        code = operational_code(error)
        if code == ErrorCode.DATABASE_UNAVAILABLE:
            log.warning("database unavailable: %s: %s", type(error).__name__, error)
            return RequestError(
                503,
                code,
                DATABASE_UNAVAILABLE_MESSAGE,
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        if code == ErrorCode.TIMEOUT:
            log.warning("statement timeout: %s", error)
            return RequestError(504, code, TIMEOUT_MESSAGE)
        raise error

    def is_websocket_request(self, request: web.Request) -> bool:  # type: ignore[override]
        # Strawberry builds a WebSocketResponse to ask; a plain request has no Upgrade.
        return "Upgrade" in request.headers and super().is_websocket_request(request)

    def should_render_graphql_ide(self, request: Any) -> bool:
        return wants_playground(
            request.method, request.query_params, request.headers.get("accept", "")
        )

    async def render_graphql_ide(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        return await playground_page(request)

    async def get_sub_response(self, request: web.Request) -> web.Response:
        response = web.Response()
        response[_RESPONSE_EXCHANGE] = request[EXCHANGE]
        return response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """What `__call__` read and checked before authentication."""
        params = cast("AiohttpHTTPRequestAdapter", request).request[EXCHANGE].params
        assert params is not None  # noqa: S101  (set before `run` for every GraphQL request)
        return params

    def encode_json(self, data: object) -> bytes:
        return encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def get_context(self, request: web.Request, response: web.Response) -> Context:  # type: ignore[override]  # noqa: ARG002
        database = request.app[DATABASE]
        viewer = await authenticate(database.pool, request.headers)
        loaders = Loaders(database.pool, viewer)
        context = request[CONTEXT] = Context(
            request_id=request[REQUEST_ID],
            settings=request.app[SETTINGS],
            pool=database.pool,
            viewer=viewer,
            loaders=loaders,
            access=Access(viewer, loaders),
        )
        return context

    async def execute_single(  # noqa: PLR0917  (Strawberry's signature)
        self,
        request: web.Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: web.Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, InvalidOperationTypeError) and request.method == "GET":
                # GraphQL over HTTP: a mutation over GET is refused, and never runs.
                raise RequestError(
                    405,
                    ErrorCode.METHOD_NOT_ALLOWED,
                    "Mutations are not allowed over GET: use POST",
                    headers={"Allow": "POST"},
                ) from cause
            if isinstance(cause, CannotGetOperationTypeError):
                # A request error like a validation error: 200 or 400 by media type.
                return ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            _no_operation_message(request_data.operation_name),
                            extensions={"code": ErrorCode.BAD_USER_INPUT.value},
                        )
                    ],
                )
            raise

    async def process_result(
        self, request: web.Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """The response body; the status and headers go to the exchange.

        application/json: 200 for every GraphQL response (a request error has data null).
        application/graphql-response+json: a request error (parse, validation, query
        limits, variables: no data) is a 400 without a data entry. Both: UNAUTHENTICATED is
        a 401 and DATABASE_UNAVAILABLE a 503 with one error and Retry-After.
        """
        exchange = request[EXCHANGE]
        request_id: str = request[REQUEST_ID]
        errors = result.errors or []
        formatted = [format_error(error, request_id) for error in errors]
        codes = {error["extensions"]["code"] for error in formatted}
        if ErrorCode.TIMEOUT in codes or ErrorCode.DATABASE_UNAVAILABLE in codes:
            _log_operational(errors)
        if ErrorCode.DATABASE_UNAVAILABLE in codes:
            exchange.status = 503
            exchange.headers["Retry-After"] = RETRY_AFTER_SECONDS
            return cast(
                "GraphQLHTTPResponse",
                error_body(
                    ErrorCode.DATABASE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE, request_id
                ),
            )
        strict = exchange.media_type == GRAPHQL_RESPONSE_JSON
        if ErrorCode.UNAUTHENTICATED in codes:
            exchange.status = 401
            exchange.headers.update(_UNAUTHENTICATED_HEADERS)
        elif strict and errors and result.data is None and all(e.path is None for e in errors):
            exchange.status = 500 if ErrorCode.INTERNAL in codes else 400
        body: dict[str, Any] = {}
        if not strict or exchange.status == 200:  # noqa: PLR2004
            body["data"] = result.data
        if formatted:
            body["errors"] = formatted
        if result.extensions:
            body["extensions"] = result.extensions
        return cast("GraphQLHTTPResponse", body)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: web.Response,
    ) -> web.Response:
        exchange = sub_response[_RESPONSE_EXCHANGE]
        sub_response.set_status(exchange.status)
        sub_response.headers.update(exchange.headers)
        # The media type follows Accept: a cache must not serve one client's to another.
        sub_response.headers["Vary"] = "Accept"
        sub_response.body = encode_json(response_data)
        sub_response.content_type = exchange.media_type
        sub_response.charset = "utf-8"
        return sub_response


def _no_operation_message(operation_name: str | None) -> str:
    if operation_name is not None:
        return f"Unknown operation named {operation_name!r}"
    return "The document must hold one operation, or name the one to run as operationName"


def _log_operational(errors: list[GraphQLError]) -> None:
    """A timeout or an outage inside execution: what happened where, without a traceback."""
    for error in errors:
        original = error.original_error
        code = operational_code(original)
        if code is not None:
            log.warning(
                "%s at %s: %s: %s",
                code.value,
                ".".join(str(key) for key in error.path or ()) or "the operation",
                type(original).__name__,
                original,
            )
