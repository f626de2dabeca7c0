"""The GraphQL endpoint: a plain aiohttp handler under the GraphQL-over-HTTP rules.

`graphql_handler`'s handler reads top to bottom. Within `request_timeout_seconds`, it
checks the method (GET or POST, else 405), serves the playground to a browser, picks a
media type the client accepts (`Accept`, else 406), reads the parameters (a POST's
`Content-Type` must be `application/json`, else 415, and its body no larger than
`max_body_bytes`, else 413; a parameter of the wrong type is a 400), authenticates (401)
and builds the context, executes through `Schema.execute` (a mutation over GET is a 405
and never runs), and maps the result onto a status by the negotiated media type
(`graphql_response`). A timeout is a 504 (408 while the body was still arriving), a
database outage a 503. docs/api.md has the table.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web
from graphql import GraphQLError
from graphql import OperationType as GraphQLOperationType
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from issuegraph import routing
from issuegraph.context import Context, Reads
from issuegraph.domain.auth import authenticate
from issuegraph.domain.errors import UnauthenticatedError
from issuegraph.playground import playground_page
from issuegraph.schema.caches import operation_of
from issuegraph.schema.errors import (
    DATABASE_UNAVAILABLE_MESSAGE,
    TIMEOUT_MESSAGE,
    RequestErrorCode,
    error_body,
    format_error,
    operational_code,
)
from issuegraph.state import GRAPH, REQUEST_ID, SETTINGS

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler
    from strawberry.schema.base import BaseSchema

    from issuegraph.config import Settings

log = logging.getLogger(__name__)

APPLICATION_JSON: Final = "application/json"
GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
# Seconds a client should wait before retrying while the database is unavailable.
RETRY_AFTER_SECONDS: Final = "5"
_UTF8 = frozenset({"utf-8", "utf8"})
_UNAUTHENTICATED_HEADERS: Final = {"WWW-Authenticate": 'Bearer realm="issuegraph"'}
# What each method may run: GET no mutation (GraphQL over HTTP); subscriptions are served
# over WebSocket only (websocket.py).
ALLOWED_OPERATIONS: Final = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}
SUBSCRIPTION_OVER_HTTP: Final = (
    "Subscriptions are served over WebSocket: open ws://.../graphql with the "
    "graphql-transport-ws protocol"
)
# The request's operationName, when it names one: for the access log.
OPERATION_NAME = web.RequestKey("graphql_operation_name", str)


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
        code: RequestErrorCode,
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

    def response(self, request_id: str, media_type: str) -> web.Response:
        body = error_body(self.code, self.message, request_id, self.details)
        return json_response(body, self.status, request_id, media_type, self.headers)


def bad_parameter(parameter: str, message: str) -> RequestError:
    return RequestError(
        400, RequestErrorCode.BAD_USER_INPUT, message, details={"parameter": parameter}
    )


def database_unavailable() -> RequestError:
    return RequestError(
        503,
        RequestErrorCode.DATABASE_UNAVAILABLE,
        DATABASE_UNAVAILABLE_MESSAGE,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


# -- 1. negotiate ------------------------------------------------------------------------------


def check_method(method: str) -> None:
    if method not in ALLOWED_OPERATIONS:
        raise RequestError(
            405,
            RequestErrorCode.METHOD_NOT_ALLOWED,
            f"{method} is not supported: use GET (queries) or POST",
            headers={"Allow": "GET, POST"},
        )


def acceptable(accept: str) -> str:
    """The media type of the answer, or a 406."""
    media_type = negotiate(accept)
    if media_type is None:
        raise RequestError(
            406,
            RequestErrorCode.NOT_ACCEPTABLE,
            f"Cannot answer in any type {accept!r} accepts: accept "
            f"{GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
            details={"supported": [GRAPHQL_RESPONSE_JSON, APPLICATION_JSON]},
        )
    return media_type


# -- 2. the parameters -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Params:
    """The four parameters of a GraphQL-over-HTTP request."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _json_object(parameter: str, value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise bad_parameter(parameter, f"`{parameter}` must be an object or null")


def request_params(params: Mapping[str, Any]) -> Params:
    """The parameters, each of its type, else a 400."""
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
    return Params(
        query=query,
        variables=_json_object("variables", params.get("variables")),
        operation_name=operation_name,
        extensions=_json_object("extensions", params.get("extensions")),
    )


async def read_params(request: web.Request, max_body_bytes: int) -> Params:
    """A GET's parameters from its URL, a POST's from its body."""
    if request.method == "GET":
        query = request.query
        return request_params(
            {
                "query": query.get("query"),
                "operationName": query.get("operationName"),
                "variables": _url_parameter(query, "variables"),
                "extensions": _url_parameter(query, "extensions"),
            }
        )
    return request_params(await _read_body(request, max_body_bytes))


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
            RequestErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Unsupported content type {sent!r}: POST the request as JSON with "
            "Content-Type: application/json",
            details={"supported": [APPLICATION_JSON]},
        )
    if request.charset is not None and request.charset.lower() not in _UTF8:
        raise RequestError(
            415,
            RequestErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Unsupported charset {request.charset!r}: send application/json in UTF-8",
            details={"supported": [APPLICATION_JSON]},
        )
    too_large = RequestError(
        413,
        RequestErrorCode.PAYLOAD_TOO_LARGE,
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
            400, RequestErrorCode.BAD_USER_INPUT, "Unable to parse the request body as JSON"
        ) from None
    if isinstance(data, list):
        raise RequestError(
            400,
            RequestErrorCode.BAD_USER_INPUT,
            "Batched requests are not supported: send one operation as a JSON object",
        )
    if not isinstance(data, dict):
        raise RequestError(400, RequestErrorCode.BAD_USER_INPUT, "Expected a JSON object")
    return data


# -- 3. the context ----------------------------------------------------------------------------


async def build_context(request: web.Request, settings: Settings, pool: Any) -> Context:
    """The viewer of the request's credentials (else UnauthenticatedError), its loaders,
    reading from `pool` (the primary's, or a replica's for a read)."""
    viewer = await authenticate(pool, request.headers)
    reads = Reads.of(pool, viewer, request.app.get(GRAPH))
    return Context(
        request_id=request[REQUEST_ID],
        settings=settings,
        pool=pool,
        viewer=viewer,
        loaders=reads.loaders,
        access=reads.access,
    )


# -- 4. execute ----------------------------------------------------------------------------------


async def execute(
    schema: BaseSchema, params: Params, context: Context, method: str
) -> ExecutionResult:
    """The result of the operation the parameters name, run by the schema.

    The schema's extensions (query limits, document caches) and its executor run as for
    any execution, once. Strawberry raises before validation when the operation to run
    cannot be found or is not allowed for the method: a mutation over GET is refused and
    never runs; no operation (none in the document, or none of that name) is a request
    error like a validation error.
    """
    try:
        return await schema.execute(
            params.query,
            variable_values=params.variables,
            context_value=context,
            operation_name=params.operation_name,
            allowed_operation_types=ALLOWED_OPERATIONS[method],
            operation_extensions=params.extensions,
        )
    except InvalidOperationTypeError as error:
        if error.operation_type is OperationType.SUBSCRIPTION:
            over_http = GraphQLError(
                SUBSCRIPTION_OVER_HTTP, extensions={"code": RequestErrorCode.BAD_USER_INPUT.value}
            )
            return ExecutionResult(data=None, errors=[over_http])
        if error.operation_type is not OperationType.MUTATION:
            raise
        raise RequestError(
            405,
            RequestErrorCode.METHOD_NOT_ALLOWED,
            "Mutations are not allowed over GET: use POST",
            headers={"Allow": "POST"},
        ) from None
    except CannotGetOperationTypeError:
        no_operation = GraphQLError(
            _no_operation_message(params.operation_name),
            extensions={"code": RequestErrorCode.BAD_USER_INPUT.value},
        )
        return ExecutionResult(data=None, errors=[no_operation])


def _no_operation_message(operation_name: str | None) -> str:
    if operation_name is not None:
        return f"Unknown operation named {operation_name!r}"
    return "The document must hold one operation, or name the one to run as operationName"


# -- 5. the answer -------------------------------------------------------------------------------


def graphql_response(result: ExecutionResult, request_id: str, media_type: str) -> web.Response:
    """The status and body of a GraphQL response, by its errors and the media type.

    application/json: 200 for every GraphQL response (a request error has data null).
    application/graphql-response+json: a request error (parse, validation, query limits,
    variables: no data) is a 400 without a data entry. Both: UNAUTHENTICATED is a 401 and
    DATABASE_UNAVAILABLE a 503 with one error and Retry-After.
    """
    errors = result.errors or []
    formatted = [format_error(error, request_id) for error in errors]
    codes = {error["extensions"]["code"] for error in formatted}
    if RequestErrorCode.TIMEOUT in codes or RequestErrorCode.DATABASE_UNAVAILABLE in codes:
        _log_operational(errors)
    if RequestErrorCode.DATABASE_UNAVAILABLE in codes:
        return database_unavailable().response(request_id, media_type)
    strict = media_type == GRAPHQL_RESPONSE_JSON
    status, headers = 200, {}
    if RequestErrorCode.UNAUTHENTICATED in codes:
        status, headers = 401, _UNAUTHENTICATED_HEADERS
    elif strict and errors and result.data is None and all(e.path is None for e in errors):
        status = 500 if RequestErrorCode.INTERNAL in codes else 400
    body: dict[str, Any] = {}
    if not strict or status == 200:  # noqa: PLR2004
        body["data"] = result.data
    if formatted:
        body["errors"] = formatted
    if result.extensions:
        body["extensions"] = result.extensions
    return json_response(body, status, request_id, media_type, headers)


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


def failure(error: Exception, *, expired: bool, reading: bool, timeout_ms: int) -> RequestError:
    """The answer to an exception outside execution: a timeout, an outage, else re-raised.

    The whole request ran out of time (504, or 408 while its body was still arriving):
    execution was cancelled, so a mutation's transaction rolled back.
    """
    if expired:
        details = {"timeoutMs": timeout_ms}
        if reading:
            log.warning("the request body did not arrive within %s ms", timeout_ms)
            message = "The request body did not arrive in time"
            return RequestError(408, RequestErrorCode.TIMEOUT, message, details=details)
        log.warning("the request took longer than %s ms and was cancelled", timeout_ms)
        return RequestError(504, RequestErrorCode.TIMEOUT, TIMEOUT_MESSAGE, details=details)
    code = operational_code(error)
    if code == RequestErrorCode.DATABASE_UNAVAILABLE:
        log.warning("database unavailable: %s: %s", type(error).__name__, error)
        return database_unavailable()
    if code == RequestErrorCode.TIMEOUT:
        log.warning("statement timeout: %s", error)
        return RequestError(504, code, TIMEOUT_MESSAGE)
    raise error


def _varies(response: web.StreamResponse) -> web.StreamResponse:
    # What /graphql answers follows Accept: a cache must not serve one client's to another.
    response.headers["Vary"] = "Accept"
    return response


async def _answer(
    request: web.Request, schema: BaseSchema, params: Params, media_type: str
) -> web.Response:
    """Run the request's operation where it belongs: a query on a replica when one is
    caught up with the client (issuegraph/routing.py), anything else on the primary."""
    settings = request.app[SETTINGS]
    operation = operation_of(params.query, params.operation_name, settings)
    if operation is GraphQLOperationType.QUERY:
        choice = routing.for_read(request)
    else:
        choice = routing.for_write(request)
    context, result = await _run(request, schema, params, choice)
    try:
        if context.operation_name is not None:
            request[OPERATION_NAME] = context.operation_name
        response = graphql_response(result, request[REQUEST_ID], media_type)
    finally:
        # The answer is made: what the request loaded is let go of.
        context.loaders.close()
    if operation is GraphQLOperationType.MUTATION:
        await routing.note_write(request, response)
    return response


class _ReplicaCannotServe(Exception):  # noqa: N818  (internal, never escapes this module)
    pass


async def _run(
    request: web.Request, schema: BaseSchema, params: Params, choice: routing.ReadChoice
) -> tuple[Context, ExecutionResult]:
    """Execute on the chosen database. A read that a replica cannot serve (the token is
    newer than the replica, or the replica is lost under it) runs again on the primary:
    a replica never fails a request."""
    if choice.database == "primary":
        return await _run_on(request, schema, params, choice)
    try:
        return await _run_on(request, schema, params, choice)
    except _ReplicaCannotServe:
        pass
    except Exception as error:
        if operational_code(error) is not RequestErrorCode.DATABASE_UNAVAILABLE:
            raise
        routing.replica_lost(request, choice, error)
    return await _run_on(request, schema, params, routing.fallback(request))


async def _run_on(
    request: web.Request, schema: BaseSchema, params: Params, choice: routing.ReadChoice
) -> tuple[Context, ExecutionResult]:
    replica = choice.database != "primary"
    try:
        context = await build_context(request, request.app[SETTINGS], choice.pool)
    except UnauthenticatedError:
        if replica:  # perhaps a token newer than the replica
            raise _ReplicaCannotServe from None
        raise
    try:
        result = await execute(schema, params, context, request.method)
    except BaseException:
        context.loaders.close()
        raise
    if replica and (lost := _lost_database(result)) is not None:
        context.loaders.close()
        routing.replica_lost(request, choice, lost)
        raise _ReplicaCannotServe
    routing.counted(choice)
    return context, result


def _lost_database(result: ExecutionResult) -> BaseException | None:
    """The error of a field that lost its database, if one did."""
    for error in result.errors or ():
        if operational_code(error.original_error) is RequestErrorCode.DATABASE_UNAVAILABLE:
            return error.original_error
    return None


def graphql_handler(schema: BaseSchema) -> Handler:
    """The aiohttp handler of /graphql for `schema` (the module's docstring has the steps)."""

    async def graphql(request: web.Request) -> web.StreamResponse:
        request_id = request[REQUEST_ID]
        settings = request.app[SETTINGS]
        media_type: str = APPLICATION_JSON  # until negotiated
        reading = False  # while a POST's body arrives
        deadline = asyncio.timeout(settings.request_timeout_seconds)
        try:
            async with deadline:
                check_method(request.method)
                accept = request.headers.get("Accept", "")
                if wants_playground(request.method, request.query, accept):
                    return _varies(await playground_page(request))
                media_type = acceptable(accept)

                reading = request.method == "POST"
                params = await read_params(request, settings.max_body_bytes)
                reading = False
                if params.operation_name is not None:
                    request[OPERATION_NAME] = params.operation_name

                return _varies(await _answer(request, schema, params, media_type))
        # Each refusal is answered in its except block: no exception outlives it (none is
        # left in a reference cycle with this frame through its traceback).
        except RequestError as error:
            answer = error.response(request_id, media_type)
        except UnauthenticatedError as error:
            refusal = RequestError(
                401,
                RequestErrorCode.UNAUTHENTICATED,
                error.message,
                headers=_UNAUTHENTICATED_HEADERS,
            )
            answer = refusal.response(request_id, media_type)
        except Exception as error:  # noqa: BLE001  (a timeout or an outage; others re-raised)
            timeout_ms = round(settings.request_timeout_seconds * 1000)
            refusal = failure(
                error, expired=deadline.expired(), reading=reading, timeout_ms=timeout_ms
            )
            answer = refusal.response(request_id, media_type)
        return _varies(answer)

    return graphql
