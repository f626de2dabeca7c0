"""The `issuegraph` command: serve, migrate, seed, users, tokens, graph, schema."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from issuegraph.config import ConfigError, Settings
from issuegraph.domain.errors import DomainError
from issuegraph.export import FORMATS
from issuegraph.logs import configure_logging
from issuegraph.models import IssueState, TokenScope

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from aiohttp import web

    from issuegraph.db.database import Database


def _with_database(settings: Settings, action: Callable[[Database], Awaitable[int]]) -> int:
    from issuegraph.db.database import open_database  # noqa: PLC0415  (keeps `schema` fast)

    async def run() -> int:
        async with open_database(settings) as database:
            return await action(database)

    return asyncio.run(run())


# The cyclic collector's first generation runs once this many more container objects
# were made than freed. A request's objects go by reference counting when it ends (the
# loaders and the executor drop what they cached, which their reference cycles would
# otherwise keep for the collector: 1,400 objects a request on the issue page), so the
# count barely grows from one request to the next; within one, it is the request's live
# result tree. At 10,000 the collector scanned a nested-links response's 60,000 live objects
# 5 times a request (13% of its time); at 100,000 it never runs within one such request, and
# the issue page's few hundred cyclic leftovers are collected every few hundred requests.
GC_THRESHOLDS = (100_000, 10, 10)


def tune_gc() -> None:
    """Keep what start-up made out of the collector's way, and collect less often."""
    gc.collect()
    gc.freeze()  # modules, the schema, settings: never garbage, never traversed again
    gc.set_threshold(*GC_THRESHOLDS)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvloop  # noqa: PLC0415
    from aiohttp import web  # noqa: PLC0415

    from issuegraph.app import create_app  # noqa: PLC0415

    host = args.host or settings.host
    port = args.port or settings.port
    logging.getLogger(__name__).info("serving on http://%s:%s/graphql", host, port)
    app = create_app(settings)
    demo_tokens: list[str] = []
    if args.demo:
        # After the application's own start-up (the database is open), before listening.
        app.on_startup.append(functools.partial(_prepare_demo, tokens=demo_tokens))
    tune_gc()
    web.run_app(
        app,
        host=host,
        port=port,
        # Called once the server listens: the token is the last thing on the screen.
        print=(lambda _banner: _print_demo_token(demo_tokens, host, port)) if args.demo else None,
        access_log=None,
        # uvloop's event loop and transports cut the per-request overhead of the loop.
        loop=uvloop.new_event_loop(),
    )
    return 0


async def _prepare_demo(app: web.Application, *, tokens: list[str]) -> None:
    """The demo data (when missing) and a new demo token, kept in `tokens` for the banner."""
    from issuegraph.demo import DEMO_TOKEN_USER, issue_demo_token, seed_demo  # noqa: PLC0415
    from issuegraph.state import DATABASE  # noqa: PLC0415

    log = logging.getLogger(__name__)
    pool = app[DATABASE].pool
    if await seed_demo(pool):
        log.info("demo data created")
    try:
        tokens.append(await issue_demo_token(pool))
    except DomainError as error:  # the demo's users were removed from this database
        log.warning("no demo token for %s: %s", DEMO_TOKEN_USER, error.message)


def _browser_url(host: str, port: int) -> str:
    if host in {"", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost"}:  # noqa: S104  (a name)
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/graphql"


def _print_demo_token(tokens: list[str], host: str, port: int) -> None:
    """The demo's ready-made token and how to use it, on stdout (the logs are on stderr)."""
    from issuegraph.demo import DEMO_TOKEN_NAME, DEMO_TOKEN_SCOPE, DEMO_TOKEN_USER  # noqa: PLC0415

    if not tokens:
        return
    token, url = tokens[-1], _browser_url(host, port)
    query = """'{"query": "{ viewer { username } }"}'"""
    print(
        "",
        f"Demo token for {DEMO_TOKEN_USER} ({DEMO_TOKEN_SCOPE.value} scope): {token}",
        f"  Playground: {url}  (sign in: paste the token)",
        f'  curl:       curl -H "Authorization: Bearer {token}" '
        f"-H 'Content-Type: application/json' -d {query} {url}",
        f'  A new token each start; the previous "{DEMO_TOKEN_NAME}" token is revoked.',
        "",
        sep="\n",
        flush=True,
    )


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from issuegraph.db.database import open_database  # noqa: PLC0415
    from issuegraph.db.migrate import migrate  # noqa: PLC0415

    async def run() -> int:
        async with (
            open_database(settings, apply_migrations=False) as database,
            database.pool.acquire() as conn,
        ):
            applied = await migrate(conn)
        print("applied: " + ", ".join(applied) if applied else "database is up to date")
        return 0

    return asyncio.run(run())


def cmd_users_create(settings: Settings, args: argparse.Namespace) -> int:
    from issuegraph.domain.users import create_user  # noqa: PLC0415

    async def action(database: Database) -> int:
        user = await create_user(database.pool, args.username, name=args.name, is_admin=args.admin)
        print(f"created user {user.username} (id {user.id}{', admin' if user.is_admin else ''})")
        return 0

    return _with_database(settings, action)


def cmd_tokens_create(settings: Settings, args: argparse.Namespace) -> int:
    from issuegraph.domain.auth import create_token  # noqa: PLC0415

    expires_at = None
    if args.expires_in_days is not None:
        expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=args.expires_in_days)

    async def action(database: Database) -> int:
        _, token = await create_token(
            database.pool,
            args.username,
            scopes=[TokenScope(s) for s in args.scope or ["api"]],
            name=args.name,
            expires_at=expires_at,
        )
        print(token)
        return 0

    return _with_database(settings, action)


def cmd_tokens_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from issuegraph.db.queries.tokens import revoke_token  # noqa: PLC0415

    async def action(database: Database) -> int:
        if not await revoke_token(database.pool, args.token_id):
            print(f"no active token with id {args.token_id}", file=sys.stderr)
            return 1
        print(f"revoked token {args.token_id}")
        return 0

    return _with_database(settings, action)


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from issuegraph.demo import seed_demo  # noqa: PLC0415

    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2

    async def action(database: Database) -> int:
        created = await seed_demo(database.pool)
        print("demo data created" if created else "demo data already present")
        return 0

    return _with_database(settings, action)


def _link_types(text: str) -> tuple[str, ...]:
    from issuegraph.domain.export import parse_link_types  # noqa: PLC0415

    try:
        return parse_link_types(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def cmd_graph(settings: Settings, args: argparse.Namespace) -> int:
    from issuegraph.domain import export as graph_export  # noqa: PLC0415
    from issuegraph.domain.access import Access  # noqa: PLC0415
    from issuegraph.export import render  # noqa: PLC0415
    from issuegraph.loaders import Loaders  # noqa: PLC0415

    types: tuple[str, ...] = args.link_types or graph_export.DEFAULT_TYPES
    if args.issue is not None and (args.label or args.state):
        print(
            "issuegraph: --label and --state select a project's issues: not with --issue",
            file=sys.stderr,
        )
        return 2
    only = graph_export.graph_filter(
        args.label, [IssueState(args.state)] if args.state is not None else None
    )
    rendered: list[str] = []

    async def action(database: Database) -> int:
        viewer = await graph_export.viewer_for(database.pool, args.as_user)
        loaders = Loaders(database.pool, viewer)
        access = Access(viewer, loaders)
        if args.issue is None:
            project = await graph_export.readable_project(access, args.project)
            graph = await graph_export.project_graph(
                access, database.pool, loaders, project, types, only=only
            )
        else:
            graph = await graph_export.issue_graph(access, loaders, args.project, args.issue, types)
        rendered.append(render(graph, args.format))
        return 0

    _with_database(settings, action)
    text = rendered[0]
    if args.output in (None, "-"):
        sys.stdout.buffer.write(text.encode())
        sys.stdout.buffer.flush()
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"issuegraph: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


def cmd_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    from issuegraph.api import schema  # noqa: PLC0415

    print(schema.as_str())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="issuegraph",
        description="A GraphQL service over issues and the links between them. Without "
        "DATABASE_URL every command uses the embedded PostgreSQL in ISSUEGRAPH_DATA_DIR.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP server (GraphQL at /graphql)")
    serve.add_argument("--host", help="address to bind (default ISSUEGRAPH_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default ISSUEGRAPH_PORT or 8080)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="load the demo data when missing, and once listening print a new token for "
        "alice (named 'demo', the previous one revoked) with how to use it",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="manage users").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    users_create = users.add_parser("create", help="create a user")
    users_create.add_argument("username")
    users_create.add_argument("--name", help="display name (default: the username)")
    users_create.add_argument("--admin", action="store_true", help="make the user an admin")
    users_create.set_defaults(func=cmd_users_create)

    tokens = sub.add_parser("tokens", help="manage personal access tokens").add_subparsers(
        dest="tokens_command", required=True, metavar="ACTION"
    )
    tokens_create = tokens.add_parser(
        "create", help="issue a token for a user; prints the token, which is shown only once"
    )
    tokens_create.add_argument("username")
    tokens_create.add_argument(
        "--scope",
        action="append",
        choices=[s.value for s in TokenScope],
        help="read_api (queries only) or api (queries and mutations); repeatable; default api",
    )
    tokens_create.add_argument("--name", default="cli", help="a label for the token")
    tokens_create.add_argument("--expires-in-days", type=int, help="expiry (default: never)")
    tokens_create.set_defaults(func=cmd_tokens_create)
    tokens_revoke = tokens.add_parser("revoke", help="revoke a token by its id")
    tokens_revoke.add_argument("token_id", type=int)
    tokens_revoke.set_defaults(func=cmd_tokens_revoke)

    seed = sub.add_parser("seed", help="load data into the database")
    seed.add_argument("--demo", action="store_true", help="the demo data set (idempotent)")
    seed.set_defaults(func=cmd_seed)

    graph = sub.add_parser(
        "graph",
        help="write the dependency graph of a project or an issue (DOT, Mermaid, JSON)",
        description="Write the dependency graph for people to look at or for other tools. "
        "Without --issue: the project's issues (every state, or those --label and --state "
        "select), the links of the chosen types that touch them, and the issues of other "
        "projects at their far ends. With --issue: "
        "that issue and its whole closure over the chosen types, both ways. Reads as the "
        "user named by --as (what they may not read never appears); without --as, as an "
        "operator with full access (an admin viewer), so every issue appears. Nodes and "
        "edges are sorted: the same graph always gives the same output.",
    )
    graph.add_argument(
        "--project", required=True, metavar="P", help="full path (acme/platform) or numeric id"
    )
    graph.add_argument(
        "--issue", type=_positive_int, metavar="N", help="an issue's iid: export its closure"
    )
    graph.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help="read as this user (default: an operator with full access, like an admin)",
    )
    graph.add_argument(
        "--format",
        choices=FORMATS,
        default="dot",
        help="dot (Graphviz), mermaid (flowchart) or json (default: dot)",
    )
    graph.add_argument(
        "--link-types",
        type=_link_types,
        metavar="TYPES",
        help="comma-separated link types: blocks, parent, relates, duplicates, clones "
        "(API names such as is_blocked_by name their type; default: blocks,parent)",
    )
    graph.add_argument(
        "--label",
        action="append",
        metavar="LABEL",
        help="only the project's issues with this label (repeatable: every one of them; "
        "compared case-insensitively)",
    )
    graph.add_argument(
        "--state",
        choices=[state.value for state in IssueState],
        help="only the project's issues in this state (default: every state)",
    )
    graph.add_argument("--output", metavar="FILE", help="write to FILE (default: stdout)")
    graph.set_defaults(func=cmd_graph)

    schema = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"issuegraph: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        result: Any = args.func(settings, args)
    except DomainError as error:
        print(f"issuegraph: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(result)
