"""What the `webUrl` fields point at: pages for issues, projects and users.

Every `webUrl` is ISSUEGRAPH_PUBLIC_URL followed by GitLab's path for the object
(`/<project path>/-/issues/<iid>`, `/<project path>`, `/<username>`), so a deployment that
mirrors a GitLab can point the setting at it. By default it points at issuegraph itself,
which answers those paths:

- an issue's path redirects to the graph page's view of that issue, a project's path to
  the graph page's view of the whole project. The redirect is the same whether or not the
  issue exists and whoever asks: the page reads through the API as its viewer, so what it
  shows follows the read rule, and the URL itself reveals nothing;
- a user's path is a small page with the username and display name of an active user
  (public, as GitLab's profiles are), and a 404 page for anyone else.

These routes are added last: /graphql, the REST facades and the health checks win over
them (a group or a user named `graphql`, `api`, `rest`, `repos`, `healthz` or `readyz`
has no page).
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from aiohttp import web

from issuegraph.domain.users import active_user
from issuegraph.playground import GRAPH_PATH, PLAYGROUND_PATH, secured
from issuegraph.state import DATABASE

# GitLab's path segments: letters, digits, `_`, `-`, `.` (never starting with `-` or `.`);
# the service's own first segments name no group or user here.
_RESERVED = r"(?!(?:graphql|api|rest|repos|healthz|readyz)(?:/|$))"
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
_PROJECT_PATH = rf"{_RESERVED}{_SEGMENT}(?:/{_SEGMENT})+"

_USER_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>{heading}</h1>
{body}
<p><a href="{playground}">GraphQL playground</a> · <a href="{graph}">Dependency graph</a></p>
</body>
</html>
"""


def setup_pages(app: web.Application) -> None:
    """Answer the paths `webUrl` fields name; call after every other route is added."""
    app.router.add_get(rf"/{{path:{_PROJECT_PATH}}}/-/issues/{{iid:[0-9]{{1,18}}}}", _issue)
    app.router.add_get(rf"/{{path:{_PROJECT_PATH}}}", _project)
    app.router.add_get(rf"/{{username:{_RESERVED}{_SEGMENT}}}", _user)


def _graph_view(**params: str) -> str:
    return f"{GRAPH_PATH}?{urlencode(params)}"


async def _issue(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    raise web.HTTPFound(_graph_view(project=info["path"], iid=str(int(info["iid"]))))


async def _project(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(_graph_view(project=request.match_info["path"]))


async def _user(request: web.Request) -> web.StreamResponse:
    username = request.match_info["username"]
    user = await active_user(request.app[DATABASE].pool, username)
    if user is None:
        page = _USER_PAGE.format(
            title="issuegraph: no such user",
            heading="No such user",
            body=f"<p>No active user is called <code>{html.escape(username)}</code>.</p>",
            playground=PLAYGROUND_PATH,
            graph=GRAPH_PATH,
        )
        return secured(web.Response(text=page, status=404, content_type="text/html"))
    page = _USER_PAGE.format(
        title=f"{html.escape(user.name)} (@{html.escape(user.username)}) · issuegraph",
        heading=f"{html.escape(user.name)} <small>@{html.escape(user.username)}</small>",
        body="<p>A user of this issuegraph. Their issues and links are in the API.</p>",
        playground=PLAYGROUND_PATH,
        graph=GRAPH_PATH,
    )
    return secured(web.Response(text=page, content_type="text/html"))
