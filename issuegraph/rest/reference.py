"""GET /rest: a short reference of the REST endpoints, linked from the playground."""

from __future__ import annotations

from typing import Final

from aiohttp import web

# The playground's own policy: nothing from another origin, no script at all here.
_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>issuegraph: REST issue-link APIs</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
code { font: 13px ui-monospace, monospace; background: #f3f4f6; padding: 0 .25em; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; vertical-align: top; padding: .3rem .6rem;
         border-bottom: 1px solid #e5e7eb; }
td:first-child { white-space: nowrap; }
</style>
</head>
<body>
<h1>REST issue-link APIs</h1>
<p>Existing GitLab, Jira and SourceCraft clients work unchanged against issuegraph: the same
rules, access checks and change log as the <a href="/graphql">GraphQL API</a>. Send a
personal access token as <code>PRIVATE-TOKEN: &lt;token&gt;</code> or
<code>Authorization: Bearer &lt;token&gt;</code>; reads of public projects need none.
What the viewer may not read answers as missing (404).</p>

<h2>GitLab v4 (python-gitlab)</h2>
<p><code>:id</code> is a project's numeric id or its URL-encoded path
(<code>acme%2Fweb</code>). Errors: <code>{"message": ...}</code>; 409 for a pair that is
linked already, 422 for a self-link, a cycle or the per-issue limit, 400 for bad
parameters. Lists are paged (<code>page</code>, <code>per_page</code> up to 100) with
GitLab's <code>X-Total</code>, <code>X-Next-Page</code> and <code>Link</code> headers.</p>
<table>
<tr><td><code>GET /api/v4/projects/:id/issues/:issue_iid/links</code></td>
<td>the issue's linked issues, each with <code>issue_link_id</code>, <code>link_type</code>,
<code>link_created_at</code>, <code>link_updated_at</code>, in link creation order</td></tr>
<tr><td><code>POST /api/v4/projects/:id/issues/:issue_iid/links</code></td>
<td><code>target_project_id</code>, <code>target_issue_iid</code>, <code>link_type</code>
(<code>relates_to</code>, <code>blocks</code>, <code>is_blocked_by</code>): 201
<code>{source_issue, target_issue, link_type}</code></td></tr>
<tr><td><code>GET /api/v4/projects/:id/issues/:issue_iid/links/:issue_link_id</code></td>
<td><code>{source_issue, target_issue, link_type}</code></td></tr>
<tr><td><code>DELETE /api/v4/projects/:id/issues/:issue_iid/links/:issue_link_id</code></td>
<td>the deleted link, as above</td></tr>
<tr><td><code>GET /api/v4/projects/:id</code>, <code>/projects/:id/issues/:issue_iid</code>,
<code>/user</code></td><td>what clients read around the links</td></tr>
</table>

<h2>Jira v2 (the <code>jira</code> package)</h2>
<p>Issues are <code>KEY-&lt;iid&gt;</code>, KEY being the project's key (GraphQL:
<code>Project.key</code>), or the issue's numeric id. A link is stored from
<code>inwardIssue</code> to <code>outwardIssue</code>: <code>Blocks</code> with inward A and
outward B means A blocks B. Errors: <code>{"errorMessages": [...], "errors": {...}}</code>;
404 for what the viewer may not see or link, 413 for the per-issue limit.</p>
<table>
<tr><td><code>POST /rest/api/2/issueLink</code></td>
<td><code>type</code> (<code>name</code> or <code>id</code>), <code>inwardIssue</code>,
<code>outwardIssue</code> (<code>key</code> or <code>id</code>), optional
<code>comment.body</code> (a note on the inward issue): 201, no body; the same link again
succeeds</td></tr>
<tr><td><code>GET /rest/api/2/issueLink/{linkId}</code></td>
<td><code>{id, type, inwardIssue, outwardIssue}</code></td></tr>
<tr><td><code>DELETE /rest/api/2/issueLink/{linkId}</code></td><td>204</td></tr>
<tr><td><code>GET /rest/api/2/issueLinkType</code>, <code>/issueLinkType/{id}</code></td>
<td>Relates, Blocks, Duplicate, Parent, Cloners with <code>name</code>, <code>inward</code>,
<code>outward</code>, <code>self</code></td></tr>
<tr><td><code>GET /rest/api/2/issue/{issueIdOrKey}</code></td>
<td>the issue with <code>fields.issuelinks</code> (where clients find link ids)</td></tr>
<tr><td><code>GET /rest/api/2/serverInfo</code>, <code>/myself</code></td>
<td>what clients read first</td></tr>
</table>

<h2>SourceCraft</h2>
<p>The repository <code>{org_slug}/{repo_slug}</code> is the project at that path; an
issue's slug is its iid. Links read from the issue of the path: <code>source</code> is it,
<code>link_type</code> as seen from it. Errors:
<code>{error_code, message, request_id, details}</code>.</p>
<table>
<tr><td><code>POST /repos/{org_slug}/{repo_slug}/issues/{issue_slug}/issue_links</code></td>
<td><code>target_issue_id</code> or <code>target_issue_slug</code>, <code>link_type</code>
(<code>related_to</code>, <code>parent_of</code>, <code>subissue_of</code>,
<code>blocks</code>, <code>blocked_by</code>, <code>duplicates</code>,
<code>duplicated_by</code>); <code>?silent=true</code> records the change without
notifying: 201, the link</td></tr>
<tr><td><code>GET /repos/{org_slug}/{repo_slug}/issues/{issue_slug}/issue_links</code></td>
<td><code>{issue_links, next_page_token}</code> (<code>page_size</code> up to 100,
<code>page_token</code>)</td></tr>
<tr><td><code>GET /repos/.../issue_links/{link_id}</code></td><td>the link</td></tr>
<tr><td><code>DELETE /repos/.../issue_links/{link_id}</code></td>
<td>204 (<code>?silent=true</code> as above)</td></tr>
</table>
<p>One link per pair of issues, whatever its type or direction; no cycle of
<code>blocks</code> links; the per-issue link limit on both ends. The full contract:
<code>docs/contract.md</code>.</p>
</body>
</html>
"""


async def reference_page(_request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", charset="utf-8", headers=_HEADERS)
