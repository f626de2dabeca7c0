"""GraphQL over WebSocket at /graphql: subscriptions (and queries, mutations) by
graphql-transport-ws, or the legacy graphql-ws protocol.

A GET to /graphql that asks for a WebSocket upgrade comes here, whatever its `Accept`
(`graphql_endpoint`); everything else goes to the HTTP handler (`view.py`). The request
timeout and the HTTP answers never touch an upgraded connection.

Strawberry runs the protocols (`strawberry.aiohttp.views.GraphQLView` and its two
handlers); this module adds what the service needs around them:

- authentication by the token of `connection_init`'s payload (`{"Authorization": "Bearer
  <token>"}`, `{"authorization": ...}` or `{"token": "<token>"}`), else of the upgrade
  request's own headers, by the HTTP rules (`domain/auth.py`); a bad token closes the
  connection with 4403; none is the anonymous viewer;
- every error coded as over HTTP (`schema.errors.format_error`), queries and mutations
  with loaders of their own, messages of the wrong shape closed with 4400;
- limits: subscriptions per connection (an error coded LIMIT_EXCEEDED), the
  `connection_init` timeout (4408), WebSocket pings, and a bound on how long one send may
  block: a client that does not read is closed with 4008 and told to resume with `after:`;
- on shutdown every connection is closed with 1001.

docs/events.md ("Subscriptions") has the whole contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import AsyncGenerator, Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from graphql import OperationType as GraphQLOperationType
from strawberry.aiohttp.views import AiohttpWebSocketAdapter, GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from issuegraph.context import Context, Reads
from issuegraph.domain.auth import authenticate
from issuegraph.domain.errors import ErrorCode, UnauthenticatedError
from issuegraph.models import ANONYMOUS, Viewer
from issuegraph.schema.errors import (
    DATABASE_UNAVAILABLE_MESSAGE,
    RequestErrorCode,
    error_body,
    format_error,
    operational_code,
)
from issuegraph.state import DATABASE, LIVE, REQUEST_ID, WEBSOCKETS
from issuegraph.view import json_response

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler
    from strawberry.schema.base import BaseSchema

    from issuegraph.config import Settings

log = logging.getLogger(__name__)

PROTOCOLS: Final = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL)
# Close codes of our own (the protocol's are 4400, 4403, 4406, 4408, 4409, 4429).
CLOSE_TOO_SLOW: Final = 4008
CLOSE_TRY_AGAIN: Final = 1013
CLOSE_GOING_AWAY: Final = 1001
TOO_SLOW_REASON: Final = (
    "Too slow: the client did not read its messages; resubscribe with after: the last "
    "cursor received"
)
SHUTDOWN_REASON: Final = "The server is shutting down"
# How long closing a connection may take before it is cut; a client too slow to read gets
# longer, to read what was sent before the close frame that tells it what to do.
CLOSE_TIMEOUT_SECONDS: Final = 1.0
SLOW_CLOSE_TIMEOUT_SECONDS: Final = 5.0


def is_websocket_upgrade(request: web.Request) -> bool:
    return request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"


def reads_for(pool: Any) -> Callable[[Viewer], Reads]:
    """How the hub makes the reads of a viewer: fresh loaders, Access over them."""
    return functools.partial(Reads.of, pool)


@dataclass(slots=True)
class LiveContext(Context):
    """A WebSocket connection's context: its viewer once `connection_init` is accepted."""

    connection_params: Any = None
    upgrade_headers: Mapping[str, str] | None = None

    def fresh(self) -> LiveContext:
        """The context of one operation: loaders of its own (a connection lives for hours)."""
        reads = Reads.of(self.pool, self.viewer)
        return replace(self, loaders=reads.loaders, access=reads.access)


def _token_headers(params: Any, upgrade: Mapping[str, str]) -> Mapping[str, str]:
    """The credentials to check, as headers: the payload's, else the upgrade request's."""
    if isinstance(params, dict):
        for key in ("Authorization", "authorization"):
            if key in params:
                value = params[key]
                if not isinstance(value, str):
                    raise UnauthenticatedError("Invalid Authorization: expected a string")
                return {"Authorization": value}
        if "token" in params:
            token = params["token"]
            if not isinstance(token, str) or not token.strip():
                raise UnauthenticatedError("Invalid token: expected a non-empty string")
            return {"Authorization": f"Bearer {token}"}
    return {name: upgrade[name] for name in ("Authorization", "PRIVATE-TOKEN") if name in upgrade}


# -- errors, coded as over HTTP -----------------------------------------------------------


class CodedError(GraphQLError):
    """An error as the service writes it (`format_error`): coded, unexpected ones masked."""

    def __init__(self, error: GraphQLError, request_id: str) -> None:
        super().__init__(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            error.original_error,
            error.extensions,
        )
        self.wire = format_error(error, request_id)

    @property
    def formatted(self) -> Any:
        return self.wire


def _coded(result: Any, request_id: str) -> Any:
    if isinstance(result, ExecutionResult) and result.errors:
        result.errors = [
            e if isinstance(e, CodedError) else CodedError(e, request_id) for e in result.errors
        ]
    return result


class CodedSchema:
    """The schema as the WebSocket handlers see it: each operation gets a context of its
    own, and its errors are coded. Identical subscriptions of one viewer (the same document,
    variables and operation, no `after:`) share one execution: `Broadcast`."""

    def __init__(self, schema: BaseSchema) -> None:
        self.schema = schema
        self._broadcasts: dict[Hashable, Broadcast] = {}

    async def stream(self, query: str | None, **kwargs: Any) -> AsyncGenerator[Any, None]:
        context = kwargs.pop("context_value")
        if isinstance(context, LiveContext):
            context = context.fresh()
        key = _broadcast_key(query, context, kwargs)
        if key is not None:
            broadcast = self._broadcasts.get(key)
            if broadcast is None or not broadcast.joinable:
                source = await self.schema.stream(query, context_value=context, **kwargs)
                broadcast = Broadcast(
                    key, self._broadcasts, self._mapped(source, context.request_id)
                )
            return broadcast.join()
        source = await self.schema.stream(query, context_value=context, **kwargs)
        return self._mapped(source, context.request_id)

    async def subscribe(self, query: str | None, **kwargs: Any) -> AsyncGenerator[Any, None]:
        return await self.stream(
            query, allowed_operation_types=(OperationType.SUBSCRIPTION,), **kwargs
        )

    @staticmethod
    async def _mapped(source: Any, request_id: str) -> AsyncGenerator[Any, None]:
        async with contextlib.aclosing(source):
            try:
                first = await anext(source)
            except StopAsyncIteration:
                return
            except GraphQLError as error:  # a syntax error, raised by the document cache
                yield PreExecutionError(data=None, errors=[CodedError(error, request_id)])
                return
            yield _coded(first, request_id)
            async for result in source:
                yield _coded(result, request_id)


def _broadcast_key(query: str | None, context: Any, kwargs: dict[str, Any]) -> Hashable | None:
    """What makes two subscriptions the same, or None for one that may not be shared: not a
    subscription of a live connection, or one that resumes (`after:`), whose past events
    are its own."""
    allowed = kwargs.get("allowed_operation_types")
    if (
        query is None
        or not isinstance(context, LiveContext)
        or (allowed is not None and OperationType.SUBSCRIPTION not in allowed)
        or not _shareable(query, kwargs.get("operation_name"))
    ):
        return None
    try:
        variables = orjson.dumps(kwargs.get("variable_values"), option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    viewer = context.viewer
    return (viewer.user_id, viewer.is_admin, query, variables, kwargs.get("operation_name"))


def _shareable(query: str, name: str | None) -> bool:
    """A subscription whose root fields are plain fields without an `after` argument."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (name is None or (d.name is not None and d.name.value == name))
    ]
    if len(operations) != 1 or operations[0].operation is not GraphQLOperationType.SUBSCRIPTION:
        return False
    return all(
        isinstance(selection, FieldNode)
        and not any(argument.name.value == "after" for argument in selection.arguments or ())
        for selection in operations[0].selection_set.selections
    )


class Broadcast:
    """One execution of a subscription whose results go to every subscription that joined
    it: the same results, in the same order, each from the moment it joined (an event
    committed after a subscription began is never before that moment in the log, so none
    is missed). A subscription that falls `BROADCAST_BACKLOG` results behind the others
    is ended with an error telling it to resume with `after:`; when the last one leaves,
    the execution stops. Its first result an error, it takes no one else."""

    def __init__(
        self, key: Hashable, registry: dict[Hashable, Broadcast], source: AsyncGenerator[Any, None]
    ) -> None:
        self.key = key
        self.registry = registry
        self.source = source
        self.queues: set[asyncio.Queue[Any]] = set()
        self.joinable = True
        self.task: asyncio.Task[None] | None = None
        registry[key] = self

    async def join(self) -> AsyncGenerator[Any, None]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.queues.add(queue)
        if self.task is None:
            self.task = asyncio.create_task(self._pump())
        try:
            while True:
                result = await queue.get()
                if result is _END:
                    return
                yield result
        finally:
            self.queues.discard(queue)
            if not self.queues and self.task is not None and not self.task.done():
                self._leave()
                self.task.cancel()

    def _leave(self) -> None:
        self.joinable = False
        if self.registry.get(self.key) is self:
            del self.registry[self.key]

    async def _pump(self) -> None:
        first = True
        try:
            async with contextlib.aclosing(self.source):
                async for result in self.source:
                    if first and (isinstance(result, PreExecutionError) or result.errors):
                        self._leave()
                    first = False
                    for queue in list(self.queues):
                        if queue.qsize() >= BROADCAST_BACKLOG:
                            self.queues.discard(queue)
                            queue.put_nowait(_too_far_behind())
                            queue.put_nowait(_END)
                        else:
                            queue.put_nowait(result)
        finally:
            self._leave()
            for queue in self.queues:
                queue.put_nowait(_END)


def _too_far_behind() -> ExecutionResult:
    error = GraphQLError(
        TOO_SLOW_REASON,
        extensions={
            "code": ErrorCode.LIMIT_EXCEEDED.value,
            "details": {"maxBacklog": BROADCAST_BACKLOG},
        },
    )
    return ExecutionResult(data=None, errors=[error])


_END: Final = object()
# Results a subscription sharing an execution may be behind the others.
BROADCAST_BACKLOG: Final = 10_000


def _limit_reached(limit: int) -> dict[str, Any]:
    return {
        "message": f"At most {limit} subscriptions may run on one connection",
        "extensions": {
            "code": ErrorCode.LIMIT_EXCEEDED.value,
            "details": {"maxSubscriptions": limit},
        },
    }


def _invalid_message(message: Any) -> str | None:  # noqa: PLR0911  (one reason per check)
    """Why a client message cannot be handled, or None when its shape is right."""
    if not isinstance(message, dict):
        return "A message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message needs a string `type`"
    if kind in {"subscribe", "start", "complete", "stop"} and not isinstance(
        message.get("id"), str
    ):
        return f"A {kind} message needs a string `id`"
    if kind in {"subscribe", "start"}:
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return f"A {kind} message needs a payload with a string `query`"
        if not isinstance(payload.get("variables"), dict | None):
            return "`variables` must be an object or null"
        if not isinstance(payload.get("operationName"), str | None):
            return "`operationName` must be a string or null"
        if not isinstance(payload.get("extensions"), dict | None):
            return "`extensions` must be an object or null"
    return None


# Every open connection's protocol handler, for the count of running operations.
_HANDLERS: weakref.WeakSet[TransportWSHandler | LegacyWSHandler] = weakref.WeakSet()


def running_operations() -> int:
    """Operations (subscriptions mostly) running on this process's WebSockets now."""
    return sum(
        len(h.operations) if isinstance(h, TransportWSHandler) else len(h.tasks)
        for h in list(_HANDLERS)
    )


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    """graphql-transport-ws, with messages checked and the limit's error coded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _HANDLERS.add(self)

    async def handle_message(self, message: Any) -> None:
        problem = _invalid_message(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except Exception as error:
            if operational_code(error) is None:
                raise
            log.warning("connection_init: database unavailable: %s", error)
            await self.websocket.close(CLOSE_TRY_AGAIN, DATABASE_UNAVAILABLE_MESSAGE)

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):  # the client left, or was too slow
            return
        await super().handle_task_exception(error)

    async def handle_subscribe(self, message: Any) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and limit is not None
            and len(self.operations) >= limit
        ):
            refusal: Any = {
                "id": message["id"],
                "type": "error",
                "payload": [_limit_reached(limit)],
            }
            await self.send_message(refusal)
            return
        await super().handle_subscribe(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Any, None]):
    """The legacy graphql-ws protocol (subscriptions-transport-ws), messages checked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _HANDLERS.add(self)

    async def handle_message(self, message: Any) -> None:
        problem = _invalid_message(message)
        if problem is not None:
            await self.websocket.close(code=4400, reason=problem)
            return
        try:
            await super().handle_message(message)
        except Exception as error:
            if operational_code(error) is None:
                raise
            log.warning("connection_init: database unavailable: %s", error)
            await self.websocket.close(CLOSE_TRY_AGAIN, DATABASE_UNAVAILABLE_MESSAGE)


class BoundedAdapter(AiohttpWebSocketAdapter):
    """Sends that block longer than the setting close the connection (4008)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        view: SubscriptionView = self.view  # type: ignore[assignment]
        try:
            async with asyncio.timeout(view.send_timeout):
                await super().send_json(message)
        except TimeoutError:
            log.info("closing a WebSocket whose client does not read (%s)", self.request.remote)
            await close_or_cut(
                self.ws, self.request, CLOSE_TOO_SLOW, TOO_SLOW_REASON, SLOW_CLOSE_TIMEOUT_SECONDS
            )
            raise WebSocketDisconnected from None

    async def close(self, code: int, reason: str) -> None:
        await close_or_cut(self.ws, self.request, code, reason)


async def close_or_cut(
    ws: web.WebSocketResponse,
    request: web.Request,
    code: int,
    reason: str,
    within: float = CLOSE_TIMEOUT_SECONDS,
) -> None:
    """Close with a close frame, or cut the connection when that does not go through."""
    with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
        async with asyncio.timeout(within):
            await ws.close(code=code, message=reason.encode()[:123])
            return
    transport = request.transport
    if transport is not None:
        transport.abort()


class SubscriptionView(GraphQLView):
    """Strawberry's aiohttp view, for WebSocket requests only (see the module)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = BoundedAdapter

    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        super().__init__(
            CodedSchema(schema),  # type: ignore[arg-type]
            graphql_ide=None,
            keep_alive=True,  # graphql-ws's "ka" messages
            keep_alive_interval=settings.ws_ping_interval_seconds,
            subscription_protocols=PROTOCOLS,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            # Credentials travel in connection_init, never in cookies: a page of any
            # origin gets only what its own token allows.
            allowed_origins=("*",),
        )
        self.settings = settings
        self.send_timeout = settings.ws_send_timeout_seconds

    def encode_json(self, data: object) -> str:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            heartbeat=self.settings.ws_ping_interval_seconds,
            max_msg_size=self.settings.max_body_bytes,
        )
        ws.headers["X-Request-Id"] = request[REQUEST_ID]
        request[WEBSOCKET] = ws
        await ws.prepare(request)
        request.app[WEBSOCKETS].add(ws)
        return ws

    async def get_context(  # type: ignore[override]
        self,
        request: web.Request,
        response: Any,  # noqa: ARG002  (Strawberry's signature)
    ) -> LiveContext:
        pool = request.app[DATABASE].pool
        reads = Reads.of(pool, ANONYMOUS)
        return LiveContext(
            request_id=request[REQUEST_ID],
            settings=self.settings,
            pool=pool,
            viewer=ANONYMOUS,
            loaders=reads.loaders,
            access=reads.access,
            live=request.app[LIVE],
            upgrade_headers=request.headers,
        )

    async def on_ws_connect(self, context: Any) -> Any:
        """Authenticate the connection by its token (module docstring); 4403 when bad."""
        assert isinstance(context, LiveContext)  # noqa: S101
        try:
            headers = _token_headers(context.connection_params, context.upgrade_headers or {})
            viewer = await authenticate(context.pool, headers)
        except UnauthenticatedError as error:
            log.info("WebSocket connection refused: %s", error.message)
            raise ConnectionRejectionError({"message": error.message}) from None
        reads = Reads.of(context.pool, viewer)
        context.viewer, context.loaders, context.access = viewer, reads.loaders, reads.access
        context.upgrade_headers = None
        return await super().on_ws_connect(context)  # type: ignore[arg-type]


WEBSOCKET = web.RequestKey("websocket", web.WebSocketResponse)


def graphql_endpoint(http: Handler, schema: BaseSchema, settings: Settings) -> Handler:
    """/graphql: WebSocket upgrades to the subscription view, all else to `http`."""
    view = SubscriptionView(schema, settings)

    async def endpoint(request: web.Request) -> web.StreamResponse:
        if not is_websocket_upgrade(request):
            return await http(request)
        if not web.WebSocketResponse(protocols=PROTOCOLS).can_prepare(request).ok:
            return json_response(
                error_body(
                    RequestErrorCode.BAD_USER_INPUT,
                    "Invalid WebSocket upgrade request",
                    request[REQUEST_ID],
                ),
                400,
                request[REQUEST_ID],
            )
        try:
            response: web.StreamResponse = await view.run(request)
        except Exception:
            opened: web.WebSocketResponse | None = request.get(WEBSOCKET)
            if opened is None:
                raise
            log.exception("WebSocket connection failed [request %s]", request[REQUEST_ID])
            await close_or_cut(opened, request, 1011, "Internal server error")
            response = opened
        finally:
            ws = request.get(WEBSOCKET)
            if ws is not None:
                request.app[WEBSOCKETS].discard(ws)
        return response

    return endpoint


async def close_all(app: web.Application) -> None:
    """On shutdown: every WebSocket closed with 1001."""
    websockets: set[web.WebSocketResponse] = app[WEBSOCKETS]
    for ws in list(websockets):
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await ws.close(code=CLOSE_GOING_AWAY, message=SHUTDOWN_REASON.encode())
