"""`GET /graphql/graph/export`: a dependency graph as a file, the very text `issuegraph
graph` prints for the same arguments, read as the viewer of the request's token.

Parameters (query string): `project` (full path or id; required), `iid` (an issue: its
closure instead of the project's graph), `types` (comma-separated link kinds, the CLI's
`--link-types`; default blocks,parent), `label` (repeatable: every one of them), `state`
(opened or closed), `format` (dot, mermaid or json; default dot). Errors are GraphQL-shaped
(`{"errors": [{"message", "extensions": {"code", "requestId"}}]}`): a project or issue the
viewer may not read is a 404 NOT_FOUND exactly like one that does not exist, a bad
parameter a 400 BAD_USER_INPUT, a bad token a 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from issuegraph.domain import export as graph_export
from issuegraph.domain.errors import ErrorCode
from issuegraph.export import FORMATS, render
from issuegraph.models import IssueState
from issuegraph.rest.common import (
    MAX_IID,
    Call,
    CallHandler,
    Dialect,
    RestError,
    bad_request,
    endpoint,
    integer,
)
from issuegraph.schema.errors import RequestErrorCode, error_body

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler
    from multidict import MultiMapping

PATH: Final = "/graphql/graph/export"
# Per format: the media type, and the file name's extension.
MEDIA: Final = {
    "dot": ("text/vnd.graphviz", "dot"),
    "mermaid": ("text/plain", "mmd"),
    "json": ("application/json", "json"),
}
_SINGLE: Final = ("project", "iid", "types", "state", "format")
# Longer values name nothing (a project path is at most 255 characters).
MAX_PARAMETER: Final = 1000
_RULE_STATUS: Final = {ErrorCode.NOT_FOUND: 404, ErrorCode.FORBIDDEN: 403}


def _body(error: RestError, request_id: str) -> dict[str, Any]:
    return error_body(error.code, error.message, request_id, error.details or None)


DIALECT: Final = Dialect(
    name="graph export",
    body=_body,
    status=lambda error: _RULE_STATUS.get(error.code, 400),
)


def _single(query: MultiMapping[str], name: str) -> str | None:
    values = query.getall(name, [])
    if len(values) > 1:
        raise bad_request(f"{name} must be given at most once", parameter=name)
    if not values:
        return None
    value = values[0]
    if len(value) > MAX_PARAMETER:
        raise bad_request(f"{name} is too long", parameter=name)
    return value


@dataclass(frozen=True, slots=True)
class Asked:
    """The parameters of one export, checked."""

    project: str
    iid: int | None
    types: tuple[str, ...]
    only: graph_export.GraphFilter
    format: str


def _asked(query: MultiMapping[str]) -> Asked:
    """The request's parameters, or a 400 naming the first that is wrong."""
    given = {name: _single(query, name) for name in _SINGLE}
    project_ref = given["project"]
    if project_ref is None or not project_ref.strip():
        raise bad_request("project is required (a full path or an id)", parameter="project")
    fmt = given["format"] or "dot"
    if fmt not in FORMATS:
        raise bad_request(f"format must be one of {', '.join(FORMATS)}", parameter="format")
    types = graph_export.DEFAULT_TYPES
    if given["types"] is not None:
        try:
            types = graph_export.parse_link_types(given["types"])
        except ValueError as error:
            raise bad_request(f"types: {error}", parameter="types") from None
    labels = query.getall("label", [])
    if any(len(label) > MAX_PARAMETER for label in labels):
        raise bad_request("label is too long", parameter="label")
    state = given["state"]
    if state is not None and state not in {s.value for s in IssueState}:
        raise bad_request("state must be opened or closed", parameter="state")
    issue_iid = integer(given["iid"], "iid") if given["iid"] is not None else None
    if issue_iid is not None and (labels or state is not None):
        raise bad_request("label and state select a project's issues: not with iid")
    only = graph_export.graph_filter(labels, [IssueState(state)] if state else None)
    return Asked(project=project_ref, iid=issue_iid, types=types, only=only, format=fmt)


async def export(call: Call) -> web.StreamResponse:
    asked = _asked(call.request.query)
    maximum = call.settings.graph_export_max_issues
    project = await graph_export.readable_project(call.access, asked.project)
    if asked.iid is None:
        graph = await graph_export.project_graph(
            call.access,
            call.pool,
            call.loaders,
            project,
            asked.types,
            only=asked.only,
            first=maximum,
        )
        _within(graph.issue_count, maximum)
        name = project.full_path
    else:
        if not 0 < asked.iid <= MAX_IID:
            # No issue can have it: answered as for one that is hidden or missing.
            message = f"issue {project.full_path}#{asked.iid} not found"
            raise RestError(404, ErrorCode.NOT_FOUND.value, message)
        graph = await graph_export.issue_graph(
            call.access, call.loaders, str(project.id), asked.iid, asked.types
        )
        _within(len(graph.nodes), maximum)
        name = f"{project.full_path}-{asked.iid}"
    return _file(render(graph, asked.format), asked.format, name)


def _within(count: int, maximum: int) -> None:
    if count > maximum:
        raise bad_request(
            f"The graph has {count} issues, more than the export's limit of {maximum}: "
            "narrow it with label or state",
            issueCount=count,
            max=maximum,
        )


def _file(text: str, fmt: str, name: str) -> web.Response:
    media_type, extension = MEDIA[fmt]
    filename = name.replace("/", "-") + "." + extension
    return web.Response(
        text=text,
        content_type=media_type,
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _method_not_allowed(_call: Call) -> web.StreamResponse:
    raise RestError(
        405,
        RequestErrorCode.METHOD_NOT_ALLOWED.value,
        "Method not allowed: use GET",
        headers={"Allow": "GET, HEAD"},
    )


def _route(request: web.Request) -> CallHandler:
    return export if request.method in {"GET", "HEAD"} else _method_not_allowed


def handler() -> Handler:
    return endpoint(DIALECT, _route)
