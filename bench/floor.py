"""The floor: the representative queries of bench/queries.py hand-written, without GraphQL.

A separate aiohttp server (asyncpg, orjson, no Strawberry) with one endpoint per
representative query, in the service's HTTP shape: POST a JSON body whose `variables` are
the GraphQL query's, with the same `Authorization: Bearer` / `PRIVATE-TOKEN` header, and
get back the JSON body issuegraph answers, `{"data": ...}`, built by hand:

    POST /issue_page     {"variables": {"project": "group/project", "iid": 12}}
    POST /project_page   {"variables": {"project": "group/project"}}
    POST /nested_links   {"variables": {"project": "group/project"}}

It answers what the service answers for the same viewer: the same read rule (the SQL
function `issue_visible` of migration 0002, and GitLab's project rule for `project`),
the same orders and page sizes, global ids as Strawberry's relay makes them (base64 of
"TypeName:pk"), cursors as issuegraph.schema.pagination makes them, datetimes and dates
in ISO 8601 as Strawberry writes them, `webUrl` from ISSUEGRAPH_PUBLIC_URL, keys in the
query's field order. bench/http.py checks that before it times anything, and
tests/test_bench_http.py keeps it so.

It runs on uvloop, as `issuegraph serve` does (asyncio when uvloop is missing).

SQL statements per request (STATEMENTS below): one for the viewer (token digest -> user,
as issuegraph.domain.auth does; none for an anonymous request) and one for the page:
each page is a single statement, nested lists as correlated `array(select row(...))`
subqueries, which asyncpg decodes natively (timestamps stay timestamps). One pooled
connection per request.

    python -m bench.floor --port 8090     # DATABASE_URL, or the embedded server, as the service
    python -m bench.floor --port 8090 --workers 2   # two processes on the one port

With --workers N (N > 1) this process binds the port once and forks N workers that accept
on that one socket, each with its own event loop and pool of the usual size: the shape
`issuegraph serve --workers N` has under gunicorn's arbiter.
"""

# The SQL is composed from constant fragments (column names, page sizes); every value
# travels as a $n parameter.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import os
import signal
import socket
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from issuegraph.config import Settings
from issuegraph.db.database import open_database
from issuegraph.domain.access import parse_project_ref
from issuegraph.domain.auth import token_digest, token_from_headers
from issuegraph.domain.errors import UnauthenticatedError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import asyncpg

    from issuegraph.db.database import ConnectionHook

# Statements a signed-in request sends (an anonymous one sends one fewer).
STATEMENTS = {"issue_page": 2, "project_page": 2, "nested_links": 2}

ISSUE_LINKS_PAGE = 100  # links(first: 100)
PROJECT_ISSUES_PAGE = 50  # issues(first: 50)
PROJECT_LINKS_PAGE = 20  # links(first: 20), blockedBy(first: 20)
NESTED_PAGES = (20, 5, 5)  # links(first: 20) { links(first: 5) { links(first: 5) } }

# A stored link type read from its source / from its target.
LINK_TYPE = {
    ("relates", True): "RELATES_TO",
    ("relates", False): "RELATES_TO",
    ("blocks", True): "BLOCKS",
    ("blocks", False): "IS_BLOCKED_BY",
    ("duplicates", True): "DUPLICATES",
    ("duplicates", False): "IS_DUPLICATED_BY",
    ("parent", True): "PARENT_OF",
    ("parent", False): "CHILD_OF",
    ("clones", True): "CLONES",
    ("clones", False): "IS_CLONED_BY",
}

VIEWER = """
select u.id, u.is_admin
  from personal_access_tokens t join users u on u.id = t.user_id
 where t.token_digest = $1 and t.revoked_at is null
   and (t.expires_at is null or t.expires_at > now()) and u.state = 'active'
"""

# -- SQL, composed from constant fragments only; every value is a $n parameter ------------

# The project as `issue(project:)` / `project(fullPath:)` take it: a numeric id or a full
# path (case-insensitive); $1 is one or the other.
BY_PATH = "lower(p.full_path) = lower($1::text)"
BY_ID = "p.id = $1::bigint"
# GitLab's project rule ($2 viewer id or null, $3 admin), as Access.can_read_project.
PROJECT_READABLE = """
    (p.visibility = 'public' or $3::boolean
     or (p.visibility = 'internal' and $2::bigint is not null)
     or exists (select 1 from project_members m where m.project_id = p.id and m.user_id = $2))
"""


def _edges(anchor: str) -> str:
    """Every link of the issue `anchor` (a column), from its side: the other issue and the
    direction. The union of two index scans, each in (created_at, id) order."""
    return f"""
        (select l.id as link_id, l.link_type::text as link_type, l.created_at,
                l.target_id as other, true as outward
           from issue_links l where l.source_id = {anchor}
         union all
         select l.id, l.link_type::text, l.created_at, l.source_id, false
           from issue_links l where l.target_id = {anchor})
    """


def _assignees(issue: str) -> str:
    return f"""
        array(select row(au.id, au.username, au.name, au.avatar_url)
                from issue_assignees ia join users au on au.id = ia.user_id
               where ia.issue_id = {issue} order by ia.user_id)
    """


# $1 project, $2 iid, $3 viewer, $4 admin. Row 0 is the issue, rows 1..101 its linked issues.
_ISSUE_PAGE = f"""
with anchor as (
    select i.id from projects p join issues i on i.project_id = p.id
     where {{project}} and i.iid = $2 and issue_visible(i, $3::bigint, $4::boolean)
),
page as (
    select e.link_id, e.link_type, e.outward, e.created_at, e.other
      from anchor a cross join lateral {_edges("a.id")} e
      join issues o on o.id = e.other
     where issue_visible(o, $3::bigint, $4::boolean)
     order by e.created_at, e.link_id
     limit {ISSUE_LINKS_PAGE + 1}
)
select k.n, k.link_id, k.link_type, k.outward, k.link_created_at,
       i.id, i.iid, i.project_id, i.title, i.description, i.state::text as state, i.labels,
       i.milestone, i.due_date, i.confidential, i.weight, i.created_at, i.updated_at,
       i.closed_at,
       u.id as author_id, u.username as author_username, u.name as author_name,
       u.avatar_url as author_avatar_url,
       pr.full_path as project_path, pr.name as project_name,
       {_assignees("i.id")} as assignees
  from (select 0::bigint as n, a.id as issue_id, null::bigint as link_id,
               null::text as link_type, null::boolean as outward,
               null::timestamptz as link_created_at
          from anchor a
        union all
        select row_number() over (order by p.created_at, p.link_id), p.other, p.link_id,
               p.link_type, p.outward, p.created_at
          from page p) k
  join issues i on i.id = k.issue_id
  join users u on u.id = i.author_id
  join projects pr on pr.id = i.project_id
 order by k.n
"""


def _nested(anchor: str, pages: tuple[int, ...], depth: int = 1) -> str:
    """The link tree below `anchor`: row(link_type, outward, id, iid, title, state[, tree])."""
    x = f"x{depth}"
    below = f", {_nested(f'{x}.id', pages[1:], depth + 1)}" if len(pages) > 1 else ""
    return f"""
        array(select row({x}.link_type, {x}.outward, {x}.id, {x}.iid, {x}.title, {x}.state
                         {below})
                from (select e.link_type, e.outward, e.created_at, e.link_id,
                             o.id, o.iid, o.title, o.state::text as state
                        from {_edges(anchor)} e join issues o on o.id = e.other
                       where issue_visible(o, $2::bigint, $3::boolean)
                       order by e.created_at, e.link_id limit {pages[0]}) {x}
               order by {x}.created_at, {x}.link_id)
    """


# $1 project, $2 viewer, $3 admin. One row per issue (51 fetched to know hasNextPage; the
# last one's lists are not built), or one row of nulls when the project has none readable.
_PROJECT_PAGE = f"""
select p.id as pid, p.full_path, p.name as project_name,
       i.n, i.id, i.iid, i.project_id, i.title, i.description, i.state::text as state,
       i.labels, i.milestone, i.due_date, i.confidential, i.weight, i.created_at,
       i.updated_at, i.closed_at,
       u.id as author_id, u.username as author_username, u.name as author_name,
       u.avatar_url as author_avatar_url,
       case when i.n <= {PROJECT_ISSUES_PAGE} then array(
           select row(x.link_type, x.outward, x.id, x.iid, x.title, x.state)
             from (select e.link_type, e.outward, e.created_at, e.link_id,
                          o.id, o.iid, o.title, o.state::text as state
                     from {_edges("i.id")} e join issues o on o.id = e.other
                    where issue_visible(o, $2::bigint, $3::boolean)
                    order by e.created_at, e.link_id limit {PROJECT_LINKS_PAGE}) x
            order by x.created_at, x.link_id) end as links,
       case when i.n <= {PROJECT_ISSUES_PAGE} then array(
           select row(x.id, x.iid, x.title, x.state)
             from (select l.created_at, l.id as link_id,
                          o.id, o.iid, o.title, o.state::text as state
                     from issue_links l join issues o on o.id = l.source_id
                    where l.target_id = i.id and l.link_type = 'blocks'
                      and issue_visible(o, $2::bigint, $3::boolean)
                    order by l.created_at, l.id limit {PROJECT_LINKS_PAGE}) x
            order by x.created_at, x.link_id) end as blocked_by
  from projects p
  left join lateral (
      select row_number() over (order by i.iid desc) as n, i.*
        from issues i
       where i.project_id = p.id and issue_visible(i, $2::bigint, $3::boolean)
       order by i.iid desc limit {PROJECT_ISSUES_PAGE + 1}) i on true
  left join users u on u.id = i.author_id
 where {{project}} and {PROJECT_READABLE}
 order by i.n
"""

_NESTED_LINKS = f"""
select i.id, i.iid, i.title, i.state::text as state, {_nested("i.id", NESTED_PAGES)} as links
  from projects p
  left join lateral (
      select i.* from issues i
       where i.project_id = p.id and issue_visible(i, $2::bigint, $3::boolean)
       order by i.iid desc limit {PROJECT_ISSUES_PAGE}) i on true
 where {{project}} and {PROJECT_READABLE}
 order by i.iid desc
"""


def _by_ref(sql: str) -> dict[type, str]:
    """The statement for a project given by id and for one given by path."""
    return {int: sql.replace("{project}", BY_ID), str: sql.replace("{project}", BY_PATH)}


ISSUE_PAGE_SQL = _by_ref(_ISSUE_PAGE)
PROJECT_PAGE_SQL = _by_ref(_PROJECT_PAGE)
NESTED_LINKS_SQL = _by_ref(_NESTED_LINKS)


# -- encoding, as the service does --------------------------------------------------------


def global_id(type_name: str, pk: int) -> str:
    """Strawberry relay's GlobalID: base64 of "TypeName:pk"."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _cursor(key: list[Any]) -> str:
    """issuegraph.schema.pagination.encode_cursor: unpadded urlsafe base64 of compact JSON."""
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def issue_cursor(iid: int) -> str:
    return _cursor(["issue", iid])


def link_cursor(created_at: dt.datetime, link_id: int) -> str:
    return _cursor(["link", [created_at.isoformat(), link_id]])


class BadRequestError(Exception):
    """A body or variables the endpoint cannot use: 400."""


# Who reads: (user id or None, admin).
Viewer = tuple[int | None, bool]
# An endpoint's work: (connection, variables, viewer) -> the `data` object.
Page = Callable[[Any, Mapping[str, Any], Viewer], Awaitable[dict[str, Any]]]


class Floor:
    """The three endpoints over one pool; `public_url` prefixes every `webUrl`."""

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url
        self._pool: asyncpg.Pool | None = None  # set while the application runs

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the floor's database is not open")
        return self._pool

    # -- the pieces every page shares

    def user(
        self, user_id: int, username: str, name: str, avatar_url: str | None
    ) -> dict[str, Any]:
        return {
            "id": global_id("User", user_id),
            "username": username,
            "name": name,
            "avatarUrl": avatar_url,
            "webUrl": f"{self.public_url}/{username}",
        }

    @staticmethod
    def issue_fields(r: Mapping[str, Any]) -> dict[str, Any]:
        """`id databaseId iid projectId title ... closedAt` of an issue row."""
        return {
            "id": global_id("Issue", r["id"]),
            "databaseId": r["id"],
            "iid": r["iid"],
            "projectId": r["project_id"],
            "title": r["title"],
            "description": r["description"],
            "state": r["state"].upper(),
            "labels": r["labels"],
            "milestone": r["milestone"],
            "dueDate": r["due_date"],
            "confidential": r["confidential"],
            "weight": r["weight"],
            "createdAt": r["created_at"],
            "updatedAt": r["updated_at"],
            "closedAt": r["closed_at"],
        }

    def author(self, r: Mapping[str, Any]) -> dict[str, Any]:
        return self.user(
            r["author_id"], r["author_username"], r["author_name"], r["author_avatar_url"]
        )

    @staticmethod
    def brief(pk: int, iid: int, title: str, state: str) -> dict[str, Any]:
        """`id iid title state`."""
        return {"id": global_id("Issue", pk), "iid": iid, "title": title, "state": state.upper()}

    # -- the pages

    async def viewer(self, conn: asyncpg.Connection, token: str | None) -> Viewer:
        """(user id, admin) of the token's user; (None, False) when anonymous."""
        if token is None:
            return None, False
        row = await conn.fetchrow(VIEWER, token_digest(token))
        if row is None:
            raise UnauthenticatedError("Invalid token")
        return row["id"], row["is_admin"]

    async def issue_page(
        self, conn: asyncpg.Connection, variables: Mapping[str, Any], viewer: Viewer
    ) -> dict[str, Any]:
        project = _project_ref(variables)
        iid = variables.get("iid")
        if type(iid) is not int:
            raise BadRequestError("variables.iid must be an integer")
        rows = await conn.fetch(ISSUE_PAGE_SQL[type(project)], project, iid, *viewer)
        if not rows:
            return {"issue": None}
        issue = self.issue_node(rows[0])
        linked = rows[1 : ISSUE_LINKS_PAGE + 1]
        edges = [
            {
                "linkType": LINK_TYPE[r["link_type"], r["outward"]],
                "link": {"id": global_id("IssueLink", r["link_id"]), "databaseId": r["link_id"]},
                "node": self.issue_node(r),
            }
            for r in linked
        ]
        issue["links"] = {
            "pageInfo": {
                "hasNextPage": len(rows) - 1 > ISSUE_LINKS_PAGE,
                "endCursor": (
                    link_cursor(linked[-1]["link_created_at"], linked[-1]["link_id"])
                    if linked
                    else None
                ),
            },
            "edges": edges,
        }
        return {"issue": issue}

    def issue_node(self, r: Mapping[str, Any]) -> dict[str, Any]:
        """The issue fields, author, assignees and project."""
        node = self.issue_fields(r)
        node["author"] = self.author(r)
        node["assignees"] = [self.user(*a) for a in r["assignees"]]
        node["project"] = {
            "id": global_id("Project", r["project_id"]),
            "fullPath": r["project_path"],
            "name": r["project_name"],
        }
        return node

    async def project_page(
        self, conn: asyncpg.Connection, variables: Mapping[str, Any], viewer: Viewer
    ) -> dict[str, Any]:
        project = _project_ref(variables)
        rows = await conn.fetch(PROJECT_PAGE_SQL[type(project)], project, *viewer)
        if not rows:
            return {"project": None}
        first = rows[0]
        issues = [r for r in rows if r["id"] is not None][:PROJECT_ISSUES_PAGE]
        edges = []
        for r in issues:
            node = self.issue_fields(r)
            node["author"] = self.author(r)
            node["links"] = {
                "edges": [
                    {"linkType": LINK_TYPE[t, outward], "node": self.brief(*other)}
                    for t, outward, *other in r["links"]
                ]
            }
            node["blockedBy"] = {"edges": [{"node": self.brief(*b)} for b in r["blocked_by"]]}
            edges.append({"node": node})
        return {
            "project": {
                "id": global_id("Project", first["pid"]),
                "fullPath": first["full_path"],
                "name": first["project_name"],
                "issues": {
                    "pageInfo": {
                        "hasNextPage": len(rows) > PROJECT_ISSUES_PAGE,
                        "endCursor": issue_cursor(issues[-1]["iid"]) if issues else None,
                    },
                    "edges": edges,
                },
            }
        }

    async def nested_links(
        self, conn: asyncpg.Connection, variables: Mapping[str, Any], viewer: Viewer
    ) -> dict[str, Any]:
        project = _project_ref(variables)
        rows = await conn.fetch(NESTED_LINKS_SQL[type(project)], project, *viewer)
        if not rows:
            return {"project": None}
        edges = [
            {"node": {**self.brief(r["id"], r["iid"], r["title"], r["state"]), **_tree(r["links"])}}
            for r in rows
            if r["id"] is not None
        ]
        return {"project": {"issues": {"edges": edges}}}

    # -- HTTP

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/issue_page", self.endpoint(self.issue_page)),
            web.post("/project_page", self.endpoint(self.project_page)),
            web.post("/nested_links", self.endpoint(self.nested_links)),
            web.get("/readyz", self.readyz),
        ]

    def endpoint(self, page: Page) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                variables = _variables(await request.read())
                token = token_from_headers(request.headers)
                async with self.pool.acquire() as conn:
                    data = await page(conn, variables, await self.viewer(conn, token))
            except UnauthenticatedError as error:
                return _error(401, "UNAUTHENTICATED", error.message)
            except (BadRequestError, orjson.JSONDecodeError) as error:
                return _error(400, "BAD_USER_INPUT", str(error))
            return web.Response(body=orjson.dumps({"data": data}), content_type="application/json")

        return handle

    async def readyz(self, _request: web.Request) -> web.Response:
        await self.pool.fetchval("select 1")
        loop = type(asyncio.get_running_loop())
        return web.json_response({"status": "ok", "loop": f"{loop.__module__}.{loop.__name__}"})


def _tree(links: list[Any] | None) -> dict[str, Any]:
    """`links { edges { linkType node { id iid title state [links ...] } } }`."""
    if links is None:
        return {}
    edges = []
    for t, outward, pk, iid, title, state, *below in links:
        node = {"id": global_id("Issue", pk), "iid": iid, "title": title, "state": state.upper()}
        if below:
            node.update(_tree(below[0]))
        edges.append({"linkType": LINK_TYPE[t, outward], "node": node})
    return {"links": {"edges": edges}}


def _variables(body: bytes) -> Mapping[str, Any]:
    decoded = orjson.loads(body)
    variables = (decoded.get("variables") or {}) if isinstance(decoded, dict) else None
    if not isinstance(variables, dict):
        raise BadRequestError("expected a JSON object with an object `variables`")
    return variables


def _project_ref(variables: Mapping[str, Any]) -> int | str:
    project = variables.get("project")
    if not isinstance(project, str | int) or isinstance(project, bool):
        raise BadRequestError("variables.project must be a project id or full path")
    return parse_project_ref(str(project))


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def create_floor_app(
    settings: Settings, *, on_connect: ConnectionHook | None = None
) -> web.Application:
    """The floor over the service's database, found as the service finds it; the schema is
    the service's (no migrations run here)."""
    app = web.Application()
    floor = Floor(settings.public_url)
    app.router.add_routes(floor.routes())

    async def database_ctx(_app: web.Application) -> AsyncIterator[None]:
        async with open_database(
            settings, apply_migrations=False, on_connect=on_connect
        ) as database:
            floor._pool = database.pool  # noqa: SLF001  (the factory owns the floor)
            yield
            floor._pool = None  # noqa: SLF001

    app.cleanup_ctx.append(database_ctx)
    return app


def _event_loop() -> asyncio.AbstractEventLoop | None:
    """uvloop's loop, as `issuegraph serve` runs on; None (asyncio's) without uvloop."""
    try:
        import uvloop  # noqa: PLC0415  (optional: a dependency of issuegraph, not of the floor)
    except ImportError:  # pragma: no cover
        return None
    return uvloop.new_event_loop()


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> int:
    """The floor as `workers` processes on one port: this process binds the listening
    socket once and forks the workers, each with its own loop and pool, accepting on it
    (as gunicorn's arbiter does for `issuegraph serve --workers N`). SIGTERM or SIGINT is
    passed on to every worker, which stops as `web.run_app` does; a worker that exits on
    its own stops the others. Returns the first non-zero exit code, else 0."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=1024)
    listener.set_inheritable(True)
    stopping = False
    children: list[int] = []

    def stop(_signum: int = 0, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: the default signal handling until run_app installs its own
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                _run(settings, sock=listener)
            except BaseException:  # noqa: BLE001  (reported, then the worker's exit code)
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    listener.close()
    exit_code = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.remove(pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and not stopping:
            exit_code = exit_code or (code if code > 0 else 1)
        if not stopping:  # a worker went away on its own: stop the rest
            stop()
    return exit_code


def _run(settings: Settings, **listen: Any) -> None:
    web.run_app(
        create_floor_app(settings),
        print=None,
        access_log=None,
        # The loop `issuegraph serve` runs on, so the two differ only above it.
        loop=_event_loop(),
        **listen,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--host", help="address to bind (default ISSUEGRAPH_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes on the one port, each with its own pool (default 1: no supervisor)",
    )
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers takes a positive count")
    settings = Settings.from_env()
    host = args.host or settings.host
    if args.workers == 1:
        _run(settings, host=host, port=args.port)
        return
    raise SystemExit(serve_workers(settings, host, args.port, args.workers))


if __name__ == "__main__":
    main()
