"""GitLab's REST API v4, the part about issue links, under /api/v4.

`GET /projects/:id/issues/:issue_iid/links` (paged, GitLab's headers),
`GET|DELETE .../links/:issue_link_id`, `POST .../links` (`target_project_id`,
`target_issue_iid`, `link_type`: JSON, form or query parameters), and what a GitLab client
reads around them: `GET /projects/:id`, `GET /projects/:id/issues/:issue_iid`, `GET /user`.
`:id` is a numeric id or a URL-encoded path. Errors are `{"message": ...}` with GitLab's
statuses. Every read goes through `Access`, every write through `LinkService`
(docs/contract.md, "The REST APIs").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from aiohttp import web

from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.domain.link_types import LinkType, seen_from
from issuegraph.domain.links import LinkRequest, LinkResult
from issuegraph.models import Related
from issuegraph.rest.common import (
    Call,
    CallHandler,
    Dialect,
    RestError,
    bad_request,
    database_id,
    endpoint,
    iid,
    integer,
    json_response,
    method_not_allowed,
    read_object,
    segments,
    text,
    timestamp,
)

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from issuegraph.models import Issue, IssueLink, Project, User

PREFIX: Final = "/api/v4"
DEFAULT_PER_PAGE: Final = 20
MAX_PER_PAGE: Final = 100
# GitLab's three names; the other kinds are read under issuegraph's own (docs/contract.md).
LINK_TYPES: Final = {
    "relates_to": LinkType.RELATES_TO,
    "blocks": LinkType.BLOCKS,
    "is_blocked_by": LinkType.IS_BLOCKED_BY,
}
# What every issue of an answer shows: its project, author, closer and assignees.
RELATED: Final = Related(projects=True, user_columns=("author_id", "closed_by_id"), assignees=True)

_RULE_STATUS: Final = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.BAD_USER_INPUT: 422,
    ErrorCode.CYCLE: 422,
    ErrorCode.LIMIT_EXCEEDED: 422,
}
_REASONS: Final = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
}


def _body(error: RestError, _request_id: str) -> dict[str, Any]:
    message = error.message
    reason = _REASONS.get(error.status)
    if reason is not None and message.lower() == reason.lower():
        message = f"{error.status} {reason}"
    elif reason is not None and not message.startswith(str(error.status)):
        message = f"{error.status} {reason} - {message}"
    return {"message": message}


def _message(error: DomainError, _status: int) -> str:
    if error.code is ErrorCode.NOT_FOUND:
        # "Project not found" -> "404 Project Not Found", as GitLab says it.
        return f"404 {error.message.removesuffix(' not found')} Not Found"
    return error.message


DIALECT: Final = Dialect(
    name="gitlab",
    body=_body,
    status=lambda error: _RULE_STATUS.get(error.code, 422),
    message=_message,
)


# -- representations -----------------------------------------------------------------------


def _user(call: Call, user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "avatar_url": user.avatar_url,
        "web_url": f"{call.settings.public_url}/{user.username}",
    }


def project_json(call: Call, project: Project) -> dict[str, Any]:
    namespace, _, path = project.full_path.rpartition("/")
    group = namespace.rpartition("/")[2]
    return {
        "id": project.id,
        "description": project.description,
        "name": project.name,
        "name_with_namespace": " / ".join([*namespace.split("/"), project.name])
        if namespace
        else project.name,
        "path": path,
        "path_with_namespace": project.full_path,
        "created_at": timestamp(project.created_at),
        "last_activity_at": timestamp(project.updated_at),
        "visibility": project.visibility.value,
        "web_url": f"{call.settings.public_url}/{project.full_path}",
        "issues_enabled": True,
        "namespace": (
            {"name": group, "path": group, "full_path": namespace, "kind": "group"}
            if namespace
            else None
        ),
    }


async def issues_json(call: Call, issues: list[Issue]) -> list[dict[str, Any]]:
    """GitLab's issue entity of each issue: the loaders read what they show in a batch each."""
    loaders = call.loaders
    ids = [issue.id for issue in issues]
    counting = loaders.note_count_by_issue.load_many(ids)  # batched with what follows
    await loaders.prefetch_issue_relations(issues, RELATED)
    notes = await counting
    assigned = await loaders.assignee_ids_by_issue.load_many(ids)
    user_ids = {u for ids_ in assigned for u in ids_}
    user_ids |= {i.author_id for i in issues} | {i.closed_by_id for i in issues if i.closed_by_id}
    users = {u.id: u for u in await loaders.user_by_id.load_many(sorted(user_ids)) if u}
    projects = await loaders.project_by_id.load_many([i.project_id for i in issues])
    answers = []
    for issue, project, count, assignee_ids in zip(issues, projects, notes, assigned, strict=True):
        assert project is not None  # noqa: S101  (an issue never outlives its project)
        assignees = [_user(call, users.get(u)) for u in assignee_ids if u in users]
        answers.append(
            {
                "id": issue.id,
                "iid": issue.iid,
                "project_id": issue.project_id,
                "title": issue.title,
                "description": issue.description,
                "state": issue.state.value,
                "created_at": timestamp(issue.created_at),
                "updated_at": timestamp(issue.updated_at),
                "closed_at": timestamp(issue.closed_at),
                "closed_by": _user(call, users.get(issue.closed_by_id))
                if issue.closed_by_id
                else None,
                "labels": list(issue.labels),
                "milestone": {"title": issue.milestone} if issue.milestone else None,
                "assignees": assignees,
                "assignee": assignees[0] if assignees else None,
                "author": _user(call, users.get(issue.author_id)),
                "type": "ISSUE",
                "issue_type": "issue",
                "user_notes_count": count,
                "due_date": issue.due_date.isoformat() if issue.due_date else None,
                "confidential": issue.confidential,
                "weight": issue.weight,
                "web_url": f"{call.settings.public_url}/{project.full_path}/-/issues/{issue.iid}",
                "references": {
                    "short": f"#{issue.iid}",
                    "relative": f"#{issue.iid}",
                    "full": f"{project.full_path}#{issue.iid}",
                },
            }
        )
    return answers


async def _link_json(call: Call, link: IssueLink, source: Issue, target: Issue) -> dict[str, Any]:
    source_json, target_json = await issues_json(call, [source, target])
    return {
        "source_issue": source_json,
        "target_issue": target_json,
        "link_type": seen_from(link.link_type, is_source=True).value,
    }


# -- finding what the path names --------------------------------------------------------------


async def _project(call: Call, ref: str) -> Project:
    project = await call.access.project(ref)
    if project is None:
        raise RestError(404, "NOT_FOUND", "404 Project Not Found")
    return project


async def _issue(call: Call, ref: str, iid_segment: str) -> tuple[Project, Issue]:
    project = await _project(call, ref)
    number = iid(iid_segment, "issue_iid")
    issue = await call.access.issue(project, number) if number is not None else None
    if issue is None:
        raise RestError(404, "NOT_FOUND", "404 Issue Not Found")
    return project, issue


def _link_id(segment: str) -> int | None:
    return database_id(segment, "issue_link_id")


# -- handlers ----------------------------------------------------------------------------------


async def _current_user(call: Call) -> web.Response:
    user = call.viewer.user
    if user is None:
        raise RestError(401, "UNAUTHENTICATED", "401 Unauthorized")
    body = _user(call, user) or {}
    body["created_at"] = timestamp(user.created_at)
    if user.is_admin:
        body["is_admin"] = True
    return json_response(body)


def _get_project(ref: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        return json_response(project_json(call, await _project(call, ref)))

    return handler


def _get_issue(ref: str, iid_segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        _, issue = await _issue(call, ref, iid_segment)
        (body,) = await issues_json(call, [issue])
        return json_response(body)

    return handler


def _page_parameters(call: Call) -> tuple[int, int]:
    query = call.request.query
    page = integer(query.get("page", "1") or "1", "page")
    per_page = integer(query.get("per_page", str(DEFAULT_PER_PAGE)) or "0", "per_page")
    if page < 1 or page > 2**31 - 1:
        raise bad_request("page is invalid", parameter="page")
    if per_page < 1:
        raise bad_request("per_page is invalid", parameter="per_page")
    return page, min(per_page, MAX_PER_PAGE)


def _page_headers(call: Call, page: int, per_page: int, total: int) -> dict[str, str]:
    """GitLab's offset pagination headers, with `Link` to the first, previous, next and
    last pages at the address the client used."""
    pages = max(1, math.ceil(total / per_page))
    following = page + 1 if page < pages else None
    previous = page - 1 if 1 < page <= pages + 1 else None
    url = f"{call.origin}{call.request.rel_url.path}"
    others = {k: v for k, v in call.request.query.items() if k not in {"page", "per_page"}}

    def link(number: int, rel: str) -> str:
        query = urlencode({**others, "page": number, "per_page": per_page})
        return f'<{url}?{query}>; rel="{rel}"'

    links = [link(n, rel) for n, rel in ((previous, "prev"), (following, "next")) if n is not None]
    links += [link(1, "first"), link(pages, "last")]
    return {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(following or ""),
        "X-Prev-Page": str(previous or ""),
        "X-Total": str(total),
        "X-Total-Pages": str(pages),
        "Link": ", ".join(links),
    }


def _list_links(ref: str, iid_segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        page, per_page = _page_parameters(call)
        _, issue = await _issue(call, ref, iid_segment)
        offset = (page - 1) * per_page
        # One more row than the page: fewer means the list ended, and its length is the total.
        asked = offset + per_page + 1
        rows = await call.loaders.linked_issues_by_issue.load(
            (issue.id, None, asked, None, RELATED)
        )
        if len(rows) < asked:
            total = len(rows)
        else:
            total = await call.loaders.link_count_by_issue.load((issue.id, None))
        shown = rows[offset : offset + per_page]
        bodies = await issues_json(call, [row.issue for row in shown])
        for body, row in zip(bodies, shown, strict=True):
            body["issue_link_id"] = row.link.id
            body["link_type"] = seen_from(
                row.link.link_type, is_source=row.link.source_id == issue.id
            ).value
            body["link_created_at"] = timestamp(row.link.created_at)
            body["link_updated_at"] = timestamp(row.link.updated_at)
        return json_response(bodies, headers=_page_headers(call, page, per_page, total))

    return handler


def _get_link(ref: str, iid_segment: str, link_segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        _, issue = await _issue(call, ref, iid_segment)
        link_id = _link_id(link_segment)
        link = await call.access.link(link_id) if link_id is not None else None
        if link is None or not link.touches(issue.id):
            raise RestError(404, "NOT_FOUND", "404 Not found")
        source = await call.access.issue_by_id(link.source_id)
        target = await call.access.issue_by_id(link.target_id)
        assert source is not None  # noqa: S101  (access.link read both ends)
        assert target is not None  # noqa: S101
        return json_response(await _link_json(call, link, source, target))

    return handler


def _parameter(params: dict[str, Any], query: Any, name: str) -> Any:
    return params[name] if name in params else query.get(name)


def _create_link(ref: str, iid_segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        params = await read_object(call, forms=True)
        query = call.request.query
        target_project = _parameter(params, query, "target_project_id")
        target_iid = _parameter(params, query, "target_issue_iid")
        name = _parameter(params, query, "link_type")
        if target_project is None:
            raise bad_request("target_project_id is missing", parameter="target_project_id")
        if target_iid is None:
            raise bad_request("target_issue_iid is missing", parameter="target_issue_iid")
        if isinstance(target_project, int | float) and not isinstance(target_project, bool):
            target_project = str(integer(target_project, "target_project_id"))
        target_project = text(target_project, "target_project_id")
        target_number = iid(target_iid, "target_issue_iid")
        source_number = iid(iid_segment, "issue_iid")
        link_type = LINK_TYPES.get(text(name, "link_type")) if name is not None else None
        if name is not None and link_type is None:
            raise bad_request(
                "link_type does not have a valid value",
                parameter="link_type",
                allowed=list(LINK_TYPES),
            )
        call.access.require_writer()  # before anything is looked up
        if source_number is None:
            raise RestError(404, "NOT_FOUND", "404 Issue Not Found")
        if target_number is None:
            raise RestError(404, "NOT_FOUND", "404 Issue Not Found")
        (result,) = await call.links.create(
            [
                LinkRequest(
                    project_ref=ref,
                    iid=source_number,
                    target_project_ref=target_project,
                    target_iid=target_number,
                    link_type=link_type or LinkType.RELATES_TO,
                )
            ]
        )
        return json_response(await _result_json(call, result), 201)

    return handler


async def _result_json(call: Call, result: LinkResult) -> dict[str, Any]:
    return await _link_json(call, result.link, result.source, result.target)


def _delete_link(ref: str, iid_segment: str, link_segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        number = iid(iid_segment, "issue_iid")
        link_id = _link_id(link_segment)
        call.access.require_writer()  # before anything is looked up
        if number is None:
            raise RestError(404, "NOT_FOUND", "404 Issue Not Found")
        if link_id is None:
            raise RestError(404, "NOT_FOUND", "404 Not found")
        result = await call.links.delete(ref, number, link_id)
        return json_response(await _result_json(call, result))

    return handler


def route(request: web.Request) -> CallHandler:
    """The handler of a GitLab path, else a 404 or 405 in GitLab's shape."""
    parts = segments(request, PREFIX)
    method = request.method
    routes: dict[str, Callable[[], CallHandler]]
    match parts:
        case ["user"]:
            routes = {"GET": lambda: _current_user}
        case ["projects", ref]:
            routes = {"GET": lambda: _get_project(ref)}
        case ["projects", ref, "issues", number]:
            routes = {"GET": lambda: _get_issue(ref, number)}
        case ["projects", ref, "issues", number, "links"]:
            routes = {
                "GET": lambda: _list_links(ref, number),
                "POST": lambda: _create_link(ref, number),
            }
        case ["projects", ref, "issues", number, "links", link]:
            routes = {
                "GET": lambda: _get_link(ref, number, link),
                "DELETE": lambda: _delete_link(ref, number, link),
            }
        case _:
            raise RestError(404, "NOT_FOUND", "404 Not Found")
    if method == "HEAD" and "GET" in routes:
        method = "GET"
    if method not in routes:
        raise method_not_allowed(", ".join(routes))
    return routes[method]()


def handler() -> Handler:
    return endpoint(DIALECT, route)
