"""The GraphQL endpoint: Strawberry's aiohttp view with our context and error shapes."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web
from cross_web import HTTPException
from strawberry.aiohttp.views import GraphQLView

from issuegraph.context import Context
from issuegraph.domain.access import Access
from issuegraph.domain.auth import authenticate
from issuegraph.domain.errors import ErrorCode, UnauthenticatedError
from issuegraph.loaders import Loaders
from issuegraph.playground import playground_page
from issuegraph.schema.errors import error_body, format_error
from issuegraph.state import DATABASE, REQUEST_ID, SETTINGS

if TYPE_CHECKING:
    from strawberry.http import GraphQLHTTPResponse
    from strawberry.types import ExecutionResult


def json_response(body: dict[str, Any], status: int, request_id: str) -> web.Response:
    response = web.json_response(body, status=status)
    response.headers["X-Request-Id"] = request_id
    return response


class IssuegraphView(GraphQLView[Context, None]):
    async def __call__(self, request: web.Request) -> web.StreamResponse:
        request_id: str = request[REQUEST_ID]
        try:
            return await self.run(request=request)
        except UnauthenticatedError as error:
            response = json_response(
                error_body(ErrorCode.UNAUTHENTICATED, error.message, request_id), 401, request_id
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="issuegraph"'
            return response
        except HTTPException as error:
            code = (
                "METHOD_NOT_ALLOWED"
                if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED
                else ErrorCode.BAD_USER_INPUT
            )
            return json_response(
                error_body(code, error.reason, request_id), error.status_code, request_id
            )

    async def render_graphql_ide(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        return await playground_page(request)

    def parse_json(self, data: str | bytes) -> Any:
        """A JSON object (or a batch list), else a 400: never a 500 for a client's bad body."""
        try:
            decoded = json.loads(data)
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(decoded, (dict, list)):
            raise HTTPException(400, "Expected a JSON object")
        return decoded

    async def get_context(self, request: web.Request, response: web.Response) -> Context:  # type: ignore[override]
        database = request.app[DATABASE]
        viewer = await authenticate(database.pool, request.headers)
        loaders = Loaders(database.pool, viewer)
        return Context(
            request=request,
            response=response,
            request_id=request[REQUEST_ID],
            settings=request.app[SETTINGS],
            pool=database.pool,
            viewer=viewer,
            loaders=loaders,
            access=Access(viewer, loaders),
        )

    async def process_result(
        self, request: web.Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [format_error(e, request[REQUEST_ID]) for e in result.errors]
        if result.extensions:
            body["extensions"] = result.extensions
        return body  # type: ignore[return-value]

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: web.Response,
    ) -> web.Response:
        bodies = response_data if isinstance(response_data, list) else [response_data]
        codes = {
            error.get("extensions", {}).get("code")
            for body in bodies
            for error in cast("list[dict[str, Any]]", body.get("errors") or [])
        }
        if ErrorCode.UNAUTHENTICATED.value in codes:
            sub_response.set_status(401)
            sub_response.headers["WWW-Authenticate"] = 'Bearer realm="issuegraph"'
        sub_response.text = json.dumps(response_data)
        sub_response.content_type = "application/json"
        return sub_response
