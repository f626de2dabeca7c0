"""The REST facades: GitLab's, Jira's and SourceCraft's issue-link APIs over the same domain
services, access rules and change log as the GraphQL API (docs/architecture.md)."""

from __future__ import annotations

from aiohttp import web

from issuegraph.rest import gitlab, graph_export, jira, sourcecraft
from issuegraph.rest.reference import reference_page

# The reference of the endpoints below, linked from the playground.
REFERENCE_PATH = "/rest"


def setup_rest(app: web.Application) -> None:
    """Add the facades' routes, and their reference page."""
    app.router.add_get(REFERENCE_PATH, reference_page)
    app.router.add_route("*", gitlab.PREFIX + "/{tail:.*}", gitlab.handler())
    jira_handler = jira.handler()
    for prefix in jira.PREFIXES:
        app.router.add_route("*", prefix + "/{tail:.*}", jira_handler)
    app.router.add_route("*", sourcecraft.PREFIX + "/{tail:.*}", sourcecraft.handler())
    # The graph page's download: the text `issuegraph graph` prints.
    app.router.add_route("*", graph_export.PATH, graph_export.handler())
