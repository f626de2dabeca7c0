"""Jira's REST API v2, the part about issue links, under /rest/api/2 (and /rest/api/latest).

`POST /issueLink` (type by name or id, issues by key or id, an optional comment; 201 with no
body, a duplicate succeeds as Jira documents), `GET` and `DELETE /issueLink/{linkId}`,
`GET /issueLinkType[/{id}]`, and what a Jira client reads around them: `GET /serverInfo`
(clients call it first), `GET /myself`, `GET /issue/{issueIdOrKey}` with its `issuelinks`.
Issues are `KEY-<iid>`, KEY being the project's key. A link is stored from `inwardIssue` to
`outwardIssue`, as Jira does: `Blocks` with inward A and outward B means A blocks B. Errors
are `{"errorMessages": [...], "errors": {...}}` (docs/contract.md, "The REST APIs").
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

from aiohttp import web

from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.domain.link_types import KINDS, LinkKind, kind_of
from issuegraph.domain.links import LinkRequest, OnConflict
from issuegraph.models import IssueState, Related, StoredLinkType
from issuegraph.rest.common import (
    Call,
    CallHandler,
    Dialect,
    RestError,
    bad_request,
    database_id,
    endpoint,
    iid,
    json_response,
    method_not_allowed,
    read_object,
    segments,
)

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from issuegraph.models import Issue, IssueLink, Project

PREFIXES: Final = ("/rest/api/2", "/rest/api/latest")
# Jira's own ids of its default types, and one more for parent links.
TYPE_IDS: Final = {
    StoredLinkType.BLOCKS: "10000",
    StoredLinkType.CLONES: "10001",
    StoredLinkType.DUPLICATES: "10002",
    StoredLinkType.RELATES: "10003",
    StoredLinkType.PARENT: "10004",
}
_KIND_BY_ID: Final = {TYPE_IDS[kind.stored]: kind for kind in KINDS}
_KIND_BY_NAME: Final = {kind.name.lower(): kind for kind in KINDS}
# An issue's `issuelinks` lists at most this many (Jira's own per-issue limit), each with
# its project (for the issue key).
MAX_ISSUE_LINKS: Final = 2000
_RELATED: Final = Related(projects=True)
SERVER_VERSION: Final = (1001, 0, 0)


def _body(error: RestError, _request_id: str) -> dict[str, Any]:
    field = error.details.get("field") if error.details else None
    if isinstance(field, str):
        return {"errorMessages": [], "errors": {field: error.message}}
    return {"errorMessages": [error.message], "errors": {}}


def _status(error: DomainError) -> int:
    if error.code in {ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN}:
        return 404  # Jira: no permission to link reads as not found
    if error.code is ErrorCode.LIMIT_EXCEEDED and error.details and "limit" in error.details:
        return 413  # the per-issue limit
    return 400


DIALECT: Final = Dialect(name="jira", body=_body, status=_status)


# -- representations -------------------------------------------------------------------------


def jira_time(value: dt.datetime) -> str:
    """Jira's form: 2016-01-07T12:44:33.959+0000."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{value.microsecond // 1000:03d}+0000"
    )


def _type_json(call: Call, kind: LinkKind) -> dict[str, Any]:
    type_id = TYPE_IDS[kind.stored]
    return {
        "id": type_id,
        "name": kind.name,
        "inward": kind.inward_phrase,
        "outward": kind.outward_phrase,
        "self": f"{call.origin}/rest/api/2/issueLinkType/{type_id}",
    }


def _status_json(issue: Issue) -> dict[str, Any]:
    done = issue.state is IssueState.CLOSED
    return {
        "name": "Closed" if done else "Open",
        "statusCategory": {"key": "done" if done else "new", "name": "Done" if done else "To Do"},
    }


def issue_key(project: Project, issue: Issue) -> str:
    return f"{project.key}-{issue.iid}"


async def _issue_ref(call: Call, issue: Issue) -> dict[str, Any]:
    project = await call.loaders.project_by_id.load(issue.project_id)
    assert project is not None  # noqa: S101  (an issue never outlives its project)
    return {
        "id": str(issue.id),
        "key": issue_key(project, issue),
        "self": f"{call.origin}/rest/api/2/issue/{issue.id}",
        "fields": {"summary": issue.title, "status": _status_json(issue)},
    }


async def _link_json(call: Call, link: IssueLink, source: Issue, target: Issue) -> dict[str, Any]:
    return {
        "id": str(link.id),
        "self": f"{call.origin}/rest/api/2/issueLink/{link.id}",
        "type": _type_json(call, kind_of(link.link_type)),
        "inwardIssue": await _issue_ref(call, source),
        "outwardIssue": await _issue_ref(call, target),
    }


# -- reading what a request names -----------------------------------------------------------------


def _not_found_issue(ref: str) -> RestError:
    return RestError(404, "NOT_FOUND", f"Issue Does Not Exist: {ref}")


async def find_issue(call: Call, ref: str) -> Issue:
    """An issue by key (KEY-123, any case) or id, if the viewer may read it, else a 404."""
    if ref.strip().isdecimal():
        number = database_id(ref, "issueIdOrKey")
        issue = await call.access.issue_by_id(number) if number is not None else None
    else:
        key, _, number_text = ref.strip().rpartition("-")
        project = await call.access.project_by_key(key) if key and number_text else None
        number = iid(number_text, "issueIdOrKey") if number_text.isdecimal() else None
        issue = await call.access.issue(project, number) if project and number else None
    if issue is None:
        raise _not_found_issue(ref[:100])
    return issue


def _named(body: dict[str, Any], field: str) -> str:
    """`{"key": ...}` or `{"id": ...}` of an issue in a link request."""
    value = body.get(field)
    if value is None:
        raise RestError(400, "BAD_USER_INPUT", f"{field} is required", details={"field": field})
    if not isinstance(value, dict):
        raise RestError(
            400, "BAD_USER_INPUT", f"{field} must be an object", details={"field": field}
        )
    ref = value.get("key", value.get("id"))
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref.strip():
        raise RestError(
            400, "BAD_USER_INPUT", f"{field} needs a key or an id", details={"field": field}
        )
    return ref


def _kind(body: dict[str, Any]) -> LinkKind:
    value = body.get("type")
    if not isinstance(value, dict):
        raise RestError(400, "BAD_USER_INPUT", "type must be an object", details={"field": "type"})
    name, type_id = value.get("name"), value.get("id")
    if isinstance(type_id, int) and not isinstance(type_id, bool):
        type_id = str(type_id)
    if name is not None and not isinstance(name, str):
        raise RestError(400, "BAD_USER_INPUT", "type.name is invalid", details={"field": "type"})
    if type_id is not None and not isinstance(type_id, str):
        raise RestError(400, "BAD_USER_INPUT", "type.id is invalid", details={"field": "type"})
    kind = _KIND_BY_ID.get(type_id) if type_id is not None else None
    if kind is None and name is not None:
        kind = _KIND_BY_NAME.get(name.strip().lower())
    if kind is None:
        shown = (name if name is not None else type_id or "")[:100]
        raise RestError(404, "NOT_FOUND", f"No issue link type with name or id '{shown}' found.")
    return kind


def _comment(body: dict[str, Any]) -> str | None:
    value = body.get("comment")
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("body"), str):
        raise RestError(
            400,
            "BAD_USER_INPUT",
            "comment must be an object with a body",
            details={"field": "comment"},
        )
    text: str = value["body"]
    return text


def _link_id(segment: str) -> int | None:
    if not segment.isdecimal():
        raise bad_request(f"The issue link id '{segment[:40]}' is invalid")
    return database_id(segment, "linkId")


def _no_link(segment: str) -> RestError:
    return RestError(404, "NOT_FOUND", f"No issue link with id '{segment[:40]}' exists.")


# -- handlers -------------------------------------------------------------------------------------


async def _server_info(call: Call) -> web.Response:
    return json_response(
        {
            "baseUrl": call.settings.public_url,
            "version": ".".join(str(n) for n in SERVER_VERSION),
            "versionNumbers": list(SERVER_VERSION),
            "deploymentType": "Cloud",
            "buildNumber": 100000,
            "serverTime": jira_time(dt.datetime.now(dt.UTC)),
            "scmInfo": "",
            "serverTitle": "issuegraph",
        }
    )


async def _myself(call: Call) -> web.Response:
    user = call.viewer.user
    if user is None:
        raise RestError(401, "UNAUTHENTICATED", "You are not authenticated.")
    return json_response(
        {
            "self": f"{call.origin}/rest/api/2/user?accountId={user.id}",
            "accountId": str(user.id),
            "name": user.username,
            "displayName": user.name,
            "active": user.state == "active",
            "avatarUrls": {},
        }
    )


async def _link_types(call: Call) -> web.Response:
    return json_response({"issueLinkTypes": [_type_json(call, kind) for kind in KINDS]})


def _link_type(segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        kind = _KIND_BY_ID.get(segment)
        if kind is None:
            raise RestError(404, "NOT_FOUND", f"No issue link type with id '{segment[:40]}' found.")
        return json_response(_type_json(call, kind))

    return handler


async def _create_link(call: Call) -> web.Response:
    body = await read_object(call)
    kind = _kind(body)
    comment = _comment(body)
    inward_ref, outward_ref = _named(body, "inwardIssue"), _named(body, "outwardIssue")
    call.access.require_writer()
    found = await asyncio.gather(
        find_issue(call, inward_ref), find_issue(call, outward_ref), return_exceptions=True
    )
    for outcome in found:
        if isinstance(outcome, BaseException):
            raise outcome
    inward, outward = (outcome for outcome in found if not isinstance(outcome, BaseException))
    await call.links.create(
        [
            LinkRequest(
                project_ref=str(inward.project_id),
                iid=inward.iid,
                target_project_ref=str(outward.project_id),
                target_iid=outward.iid,
                link_type=kind.outward,
                on_conflict=OnConflict.RETURN_EXISTING,
                comment=comment,
            )
        ]
    )
    return web.Response(status=201)


def _get_link(segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        link_id = _link_id(segment)
        link = await call.access.link(link_id) if link_id is not None else None
        if link is None:
            raise _no_link(segment)
        source = await call.access.issue_by_id(link.source_id)
        target = await call.access.issue_by_id(link.target_id)
        assert source is not None  # noqa: S101  (access.link read both ends)
        assert target is not None  # noqa: S101
        return json_response(await _link_json(call, link, source, target))

    return handler


def _delete_link(segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        link_id = _link_id(segment)
        call.access.require_writer()
        link = await call.access.link(link_id) if link_id is not None else None
        if link is None:
            raise _no_link(segment)
        # Through either end whose project lets the viewer link (Jira: "at least one").
        ends = [await call.access.issue_by_id(i) for i in (link.source_id, link.target_id)]
        for position, end in enumerate(ends):
            assert end is not None  # noqa: S101  (access.link read both ends)
            try:
                await call.links.delete(str(end.project_id), end.iid, link.id)
            except DomainError as error:
                if error.code is ErrorCode.FORBIDDEN and position == 0:
                    continue
                raise
            break
        return web.Response(status=204)

    return handler


def _get_issue(ref: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        issue = await find_issue(call, ref)
        project = await call.loaders.project_by_id.load(issue.project_id)
        assert project is not None  # noqa: S101
        rows = await call.loaders.linked_issues_by_issue.load(
            (issue.id, None, MAX_ISSUE_LINKS, None, _RELATED)
        )
        links = []
        for row in rows:
            entry = {
                "id": str(row.link.id),
                "self": f"{call.origin}/rest/api/2/issueLink/{row.link.id}",
                "type": _type_json(call, kind_of(row.link.link_type)),
            }
            # From the source, the other end is the outward issue; from the target, inward.
            side = "outwardIssue" if row.link.source_id == issue.id else "inwardIssue"
            entry[side] = await _issue_ref(call, row.issue)
            links.append(entry)
        return json_response(
            {
                "id": str(issue.id),
                "key": issue_key(project, issue),
                "self": f"{call.origin}/rest/api/2/issue/{issue.id}",
                "fields": {
                    "summary": issue.title,
                    "description": issue.description,
                    "status": _status_json(issue),
                    "labels": list(issue.labels),
                    "created": jira_time(issue.created_at),
                    "updated": jira_time(issue.updated_at),
                    "project": {"id": str(project.id), "key": project.key, "name": project.name},
                    "issuelinks": links,
                },
            }
        )

    return handler


def _route_of(request: web.Request) -> CallHandler:
    prefix = next(p for p in PREFIXES if request.rel_url.raw_path.startswith(p + "/"))
    parts = segments(request, prefix)
    routes: dict[str, Callable[[], CallHandler]]
    match parts:
        case ["serverInfo"]:
            routes = {"GET": lambda: _server_info}
        case ["myself"]:
            routes = {"GET": lambda: _myself}
        case ["issueLinkType"]:
            routes = {"GET": lambda: _link_types}
        case ["issueLinkType", type_id]:
            routes = {"GET": lambda: _link_type(type_id)}
        case ["issueLink"]:
            routes = {"POST": lambda: _create_link}
        case ["issueLink", link]:
            routes = {"GET": lambda: _get_link(link), "DELETE": lambda: _delete_link(link)}
        case ["issue", ref]:
            routes = {"GET": lambda: _get_issue(unquote(ref))}
        case _:
            raise RestError(404, "NOT_FOUND", "Null for uri: " + request.rel_url.path[:200])
    method = "GET" if request.method == "HEAD" else request.method
    if method not in routes:
        raise method_not_allowed(", ".join(routes))
    return routes[method]()


def handler() -> Handler:
    return endpoint(DIALECT, _route_of)
