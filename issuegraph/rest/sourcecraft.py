"""SourceCraft's issue links, under /repos/{org_slug}/{repo_slug}/issues/{issue_slug}/issue_links.

`POST` creates a link (`target_issue_id` or `target_issue_slug`, one of the seven
`link_type` names, `?silent=true` to record it without notifying); `GET` lists the issue's
links (`page_size`, `page_token`), `GET .../{link_id}` reads one and `DELETE .../{link_id}`
removes it (`silent` too). The repository `org/repo` is the project at that path; an issue's
slug is its iid. Each link is shown from the issue of the path: `source` is that issue,
`target` the other one, `link_type` as read from it. Errors are SourceCraft's
`{error_code, message, request_id, details}` (docs/contract.md, "The REST APIs").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

from aiohttp import web

from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.domain.link_types import LinkType, seen_from
from issuegraph.domain.links import LinkRequest
from issuegraph.models import NOTHING_RELATED
from issuegraph.rest.common import (
    Call,
    CallHandler,
    Dialect,
    RestError,
    bad_request,
    boolean,
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

    from issuegraph.models import Issue, IssueLink, Project

PREFIX: Final = "/repos"
LINK_TYPES: Final = {
    "related_to": LinkType.RELATES_TO,
    "parent_of": LinkType.PARENT_OF,
    "subissue_of": LinkType.CHILD_OF,
    "blocks": LinkType.BLOCKS,
    "blocked_by": LinkType.IS_BLOCKED_BY,
    "duplicates": LinkType.DUPLICATES,
    "duplicated_by": LinkType.IS_DUPLICATED_BY,
}
# Clones have no SourceCraft name: they read as issuegraph's own.
NAMES: Final = {link_type: name for name, link_type in LINK_TYPES.items()} | {
    LinkType.CLONES: "clones",
    LinkType.IS_CLONED_BY: "cloned_by",
}
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 100

_RULE_STATUS: Final = {
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.CYCLE: 422,
    ErrorCode.LIMIT_EXCEEDED: 422,
}


def _body(error: RestError, request_id: str) -> dict[str, Any]:
    return {
        "error_code": error.code,
        "message": error.message,
        "request_id": request_id,
        "details": error.details,
    }


DIALECT: Final = Dialect(
    name="sourcecraft", body=_body, status=lambda error: _RULE_STATUS.get(error.code, 422)
)


def _not_found(what: str) -> RestError:
    return RestError(404, ErrorCode.NOT_FOUND.value, f"{what} not found")


# -- representations -------------------------------------------------------------------------


async def _link_json(call: Call, link: IssueLink, issue: Issue, other: Issue) -> dict[str, Any]:
    """The link as seen from `issue`: it is the source, `other` the target."""
    users = await call.loaders.user_by_id.load_many(
        [i for i in (link.author_id, link.updated_by_id) if i is not None]
    )
    by_id = {user.id: user for user in users if user is not None}

    def user(user_id: int | None) -> dict[str, str] | None:
        found = by_id.get(user_id) if user_id is not None else None
        return {"id": str(found.id), "slug": found.username} if found else None

    return {
        "id": str(link.id),
        "source": {"id": str(issue.id), "slug": str(issue.iid)},
        "target": {"id": str(other.id), "slug": str(other.iid)},
        "link_type": NAMES[seen_from(link.link_type, is_source=link.source_id == issue.id)],
        "author": user(link.author_id),
        "updated_by": user(link.updated_by_id),
        "created_at": timestamp(link.created_at),
        "updated_at": timestamp(link.updated_at),
    }


# -- what the path names ----------------------------------------------------------------------


def _repository(org: str, repo: str) -> str:
    org, repo = unquote(org), unquote(repo)
    if not org or not repo or "/" in org or "/" in repo:
        raise _not_found("Repository")
    return f"{org}/{repo}"


async def _issue(call: Call, org: str, repo: str, slug: str) -> tuple[Project, Issue]:
    project = await call.access.project(_repository(org, repo))
    if project is None:
        raise _not_found("Repository")
    number = iid(slug, "issue_slug") if slug.isdecimal() else None
    issue = await call.access.issue(project, number) if number is not None else None
    if issue is None:
        raise _not_found("Issue")
    return project, issue


def _silent(call: Call) -> bool:
    value = call.request.query.get("silent")
    return boolean(value, "silent") if value is not None else False


def _link_id(segment: str) -> int | None:
    if not segment.isdecimal():
        raise bad_request("link_id is invalid", parameter="link_id")
    return database_id(segment, "link_id")


def _page_token(after: tuple[dt.datetime, int]) -> str:
    raw = f"{after[0].isoformat()},{after[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(token: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, _, link_id = raw.rpartition(",")
        when = dt.datetime.fromisoformat(created)
        number = int(link_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("page_token is invalid", parameter="page_token") from None
    if when.tzinfo is None or not 0 < number < 2**63:
        raise bad_request("page_token is invalid", parameter="page_token")
    return when, number


# -- handlers -----------------------------------------------------------------------------------


def _create(org: str, repo: str, slug: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        silent = _silent(call)
        body = await read_object(call)
        name = body.get("link_type", "related_to")
        link_type = LINK_TYPES.get(text(name, "link_type"))
        if link_type is None:
            raise bad_request(
                f"link_type must be one of {', '.join(LINK_TYPES)}",
                parameter="link_type",
                allowed=list(LINK_TYPES),
            )
        target_id, target_slug = body.get("target_issue_id"), body.get("target_issue_slug")
        if (target_id is None) == (target_slug is None):
            raise bad_request(
                "Give one of target_issue_id and target_issue_slug", parameter="target_issue_id"
            )
        call.access.require_writer()
        project, issue = await _issue(call, org, repo, slug)
        if target_id is not None:
            number = database_id(target_id, "target_issue_id")
            target = await call.access.issue_by_id(number) if number is not None else None
        else:
            number = iid(target_slug, "target_issue_slug")
            target = await call.access.issue(project, number) if number is not None else None
        if target is None:
            raise _not_found("Target issue")
        (result,) = await call.links.create(
            [
                LinkRequest(
                    project_ref=str(project.id),
                    iid=issue.iid,
                    target_project_ref=str(target.project_id),
                    target_iid=target.iid,
                    link_type=link_type,
                    silent=silent,
                )
            ]
        )
        return json_response(await _link_json(call, result.link, issue, target), 201)

    return handler


def _list(org: str, repo: str, slug: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        query = call.request.query
        size = integer(query.get("page_size", str(DEFAULT_PAGE_SIZE)), "page_size")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise bad_request(
                f"page_size must be between 1 and {MAX_PAGE_SIZE}", parameter="page_size"
            )
        token = query.get("page_token") or None
        after = _after(token) if token else None
        _, issue = await _issue(call, org, repo, slug)
        rows = await call.loaders.linked_issues_by_issue.load(
            (issue.id, None, size + 1, after, NOTHING_RELATED)
        )
        shown = rows[:size]
        links = [await _link_json(call, row.link, issue, row.issue) for row in shown]
        following = ""
        if len(rows) > size:
            last = shown[-1].link
            following = _page_token((last.created_at, last.id))
        return json_response({"issue_links": links, "next_page_token": following})

    return handler


def _get(org: str, repo: str, slug: str, segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        link_id = _link_id(segment)
        _, issue = await _issue(call, org, repo, slug)
        link = await call.access.link(link_id) if link_id is not None else None
        if link is None or not link.touches(issue.id):
            raise _not_found("Issue link")
        other = await call.access.issue_by_id(link.other_end(issue.id))
        assert other is not None  # noqa: S101  (access.link read both ends)
        return json_response(await _link_json(call, link, issue, other))

    return handler


def _delete(org: str, repo: str, slug: str, segment: str) -> CallHandler:
    async def handler(call: Call) -> web.Response:
        silent = _silent(call)
        link_id = _link_id(segment)
        call.access.require_writer()
        project, issue = await _issue(call, org, repo, slug)
        if link_id is None:
            raise _not_found("Issue link")
        try:
            await call.links.delete(str(project.id), issue.iid, link_id, silent=silent)
        except DomainError as error:
            if error.code is ErrorCode.NOT_FOUND:
                raise _not_found("Issue link") from None
            raise
        return web.Response(status=204)

    return handler


def _route_of(request: web.Request) -> CallHandler:
    routes: dict[str, Callable[[], CallHandler]]
    match segments(request, PREFIX):
        case [org, repo, "issues", slug, "issue_links"]:
            routes = {
                "GET": lambda: _list(org, repo, slug),
                "POST": lambda: _create(org, repo, slug),
            }
        case [org, repo, "issues", slug, "issue_links", link]:
            routes = {
                "GET": lambda: _get(org, repo, slug, link),
                "DELETE": lambda: _delete(org, repo, slug, link),
            }
        case _:
            raise RestError(404, ErrorCode.NOT_FOUND.value, "Not found")
    method = "GET" if request.method == "HEAD" else request.method
    if method not in routes:
        raise method_not_allowed(", ".join(routes))
    return routes[method]()


def handler() -> Handler:
    return endpoint(DIALECT, _route_of)
