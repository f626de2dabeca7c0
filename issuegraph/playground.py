"""The self-hosted GraphiQL playground: the static build of `graphql_playground/`.

GET /graphql with `Accept: text/html` answers the built `index.html` (the view calls
`playground_page`), /graphql/graph the dependency-graph page, /graphql/assets/<file> the
bundled scripts, styles, fonts and editor workers. Nothing is loaded from another origin,
and every response says so in its Content-Security-Policy.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from aiohttp import web

PLAYGROUND_DIR_ENV = "ISSUEGRAPH_PLAYGROUND_DIR"
# The package is installed editable: the repository holds the front end beside it.
DEFAULT_PLAYGROUND_DIR = Path(__file__).resolve().parent.parent / "graphql_playground" / "dist"
PLAYGROUND_DIR = web.AppKey("playground_dir", Path)
PLAYGROUND_PATH = "/graphql"
GRAPH_PATH = "/graphql/graph"

_CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    # Monaco and GraphiQL insert <style> elements at run time.
    "style-src 'self' 'unsafe-inline'",
    # GraphiQL's stylesheet embeds its fonts and a few images as data: URLs.
    "font-src 'self' data:",
    "img-src 'self' data:",
    # Requests to /graphql and the subscriptions' WebSocket to it: 'self' matches ws: and
    # wss: on the page's own host and port (CSP Level 3), and nothing else.
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CONTENT_SECURITY_POLICY = "; ".join(_CSP_DIRECTIVES)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Vite names every asset by its content's hash, so an asset never changes under its name.
_IMMUTABLE = "public, max-age=31536000, immutable"

_NOT_BUILT = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>issuegraph: the playground is not built</title></head>
<body>
<h1>The GraphiQL playground is not built</h1>
<p>issuegraph serves its playground from <code>{directory}</code>, which holds no
<code>{page}</code>. Build it once (Node.js 20 or newer and npm are needed):</p>
<pre>make playground</pre>
<p>or by hand:</p>
<pre>cd graphql_playground &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>then reload this page. To serve a build from elsewhere, set
<code>{env}</code> to its <code>dist</code> directory.</p>
<p>The GraphQL endpoint itself works without it: POST queries to <code>/graphql</code>.</p>
</body>
</html>
"""


def playground_dir() -> Path:
    """Where the built playground is: $ISSUEGRAPH_PLAYGROUND_DIR, else the repository's."""
    configured = os.environ.get(PLAYGROUND_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_PLAYGROUND_DIR


def setup_playground(app: web.Application, directory: Path | None = None) -> None:
    """Serve the graph page and the assets; the view serves the playground at /graphql."""
    app[PLAYGROUND_DIR] = directory if directory is not None else playground_dir()
    app.router.add_get(GRAPH_PATH, _graph_page)
    # Vite writes every asset flat into assets/: a plain file name, never a path.
    app.router.add_get(r"/graphql/assets/{name:[A-Za-z0-9][A-Za-z0-9._-]*}", _asset)


def secured(response: web.StreamResponse) -> web.StreamResponse:
    """The response with the playground's security headers (CSP, nosniff, no referrer)."""
    response.headers.update(_SECURITY_HEADERS)
    return response


async def playground_page(request: web.Request, page: str = "index.html") -> web.StreamResponse:
    """A page of the build, or one that says how to build it (never a CDN fallback)."""
    directory = request.app[PLAYGROUND_DIR]
    path = directory / page
    if not path.is_file():
        text = _NOT_BUILT.format(
            directory=html.escape(str(directory)), page=page, env=PLAYGROUND_DIR_ENV
        )
        return secured(web.Response(text=text, status=503, content_type="text/html"))
    headers = {"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8"}
    return secured(web.FileResponse(path, headers=headers))


async def _graph_page(request: web.Request) -> web.StreamResponse:
    return await playground_page(request, "graph.html")


async def _asset(request: web.Request) -> web.StreamResponse:
    path = request.app[PLAYGROUND_DIR] / "assets" / request.match_info["name"]
    if not path.is_file():
        raise web.HTTPNotFound(headers=_SECURITY_HEADERS)
    return secured(web.FileResponse(path, headers={"Cache-Control": _IMMUTABLE}))
