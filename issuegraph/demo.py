"""A small, realistic demo data set: projects of every visibility, users, issues."""

from __future__ import annotations

import datetime as dt
from typing import Any

from issuegraph.db.database import transaction
from issuegraph.db.queries import projects as project_queries
from issuegraph.db.queries import tokens as token_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.domain import issues as issue_service
from issuegraph.domain import projects as project_service
from issuegraph.domain.access import Access
from issuegraph.domain.auth import create_token
from issuegraph.domain.errors import not_found
from issuegraph.domain.link_types import LinkType
from issuegraph.domain.links import LinkRequest, LinkService
from issuegraph.domain.users import create_user
from issuegraph.loaders import Loaders
from issuegraph.models import Role, TokenScope, Viewer, Visibility

DEMO_MARKER_PROJECT = "acme/platform"

USERS = [
    ("root", "Administrator", True),
    ("alice", "Alice Archer", False),
    ("bob", "Bob Baker", False),
    ("carol", "Carol Chen", False),
    ("dave", "Dave Diaz", False),
]

PROJECTS: list[tuple[str, str, Visibility, str]] = [
    ("acme/platform", "Platform", Visibility.PUBLIC, "The public core of the ACME platform."),
    ("acme/tools", "Internal tools", Visibility.INTERNAL, "Tools every ACME employee can see."),
    ("acme/security", "Security", Visibility.PRIVATE, "Private: security work, members only."),
]

MEMBERS: list[tuple[str, str, Role]] = [
    ("acme/platform", "bob", Role.DEVELOPER),
    ("acme/platform", "carol", Role.REPORTER),
    ("acme/platform", "dave", Role.GUEST),
    ("acme/tools", "bob", Role.MAINTAINER),
    ("acme/security", "carol", Role.DEVELOPER),
]

# project, title, labels, assignees, confidential, weight, closed
ISSUES: list[tuple[str, str, list[str], list[str], bool, int | None, bool]] = [
    (
        "acme/platform",
        "Design the public issue-link API",
        ["api", "design"],
        ["alice"],
        False,
        3,
        True,
    ),
    (
        "acme/platform",
        "Store links in one canonical direction",
        ["backend"],
        ["bob"],
        False,
        2,
        True,
    ),
    (
        "acme/platform",
        "Reject blocking cycles of any length",
        ["backend", "rules"],
        ["bob"],
        False,
        5,
        False,
    ),
    ("acme/platform", "Ready-work query for planners", ["feature"], ["alice"], False, 3, False),
    (
        "acme/platform",
        "Dependency graph picture in the playground",
        ["frontend"],
        [],
        False,
        8,
        False,
    ),
    (
        "acme/platform",
        "Bulk link creation in one request",
        ["api", "performance"],
        ["bob"],
        False,
        5,
        False,
    ),
    ("acme/platform", "Token leak in debug logs", ["security"], ["carol"], True, 1, False),
    ("acme/platform", "Document the link types for users", ["docs"], ["dave"], False, 1, False),
    ("acme/tools", "Export the dependency graph as DOT", ["cli"], ["bob"], False, 2, False),
    ("acme/tools", "Nightly consistency check of link rules", ["ops"], [], False, 3, False),
    ("acme/tools", "Dashboards for blocked work", ["ops", "frontend"], ["bob"], False, 5, True),
    ("acme/security", "Rotate the signing keys", ["security"], ["carol"], False, 3, False),
    (
        "acme/security",
        "Audit confidential issue access",
        ["security", "audit"],
        ["alice"],
        True,
        2,
        False,
    ),
]

# (project, iid) -type-> (project, iid): a small dependency graph, across projects too.
LINKS: list[tuple[str, int, LinkType, str, int]] = [
    ("acme/platform", 1, LinkType.PARENT_OF, "acme/platform", 3),
    ("acme/platform", 1, LinkType.PARENT_OF, "acme/platform", 4),
    ("acme/platform", 1, LinkType.PARENT_OF, "acme/platform", 6),
    ("acme/platform", 2, LinkType.BLOCKS, "acme/platform", 3),
    ("acme/platform", 3, LinkType.BLOCKS, "acme/platform", 4),
    ("acme/platform", 4, LinkType.BLOCKS, "acme/platform", 5),
    ("acme/platform", 6, LinkType.BLOCKS, "acme/platform", 5),
    ("acme/platform", 7, LinkType.BLOCKS, "acme/platform", 6),
    ("acme/platform", 8, LinkType.RELATES_TO, "acme/platform", 1),
    ("acme/tools", 1, LinkType.IS_BLOCKED_BY, "acme/platform", 4),
    ("acme/tools", 3, LinkType.RELATES_TO, "acme/platform", 5),
    ("acme/tools", 2, LinkType.DUPLICATES, "acme/tools", 3),
    ("acme/security", 2, LinkType.RELATES_TO, "acme/platform", 7),
    ("acme/security", 1, LinkType.BLOCKS, "acme/security", 2),
]

DEMO_LOCK_KEY = 0x1554E6_DE40
DEMO_MAX_LINKS = 1000

# `issuegraph serve --demo` hands out one ready token a start: alice owns every project.
DEMO_TOKEN_USER = "alice"  # noqa: S105  (a username)
DEMO_TOKEN_NAME = "demo"  # noqa: S105  (a token's label)
DEMO_TOKEN_SCOPE = TokenScope.API


async def seed_demo(pool: Any) -> bool:
    """Create the demo data unless it is there already; True when something was created.

    All of it lands in one transaction, or none of it does.
    """
    async with transaction(pool) as conn:
        await conn.execute("select pg_advisory_xact_lock($1)", DEMO_LOCK_KEY)
        if await project_queries.projects_by_paths(conn, [DEMO_MARKER_PROJECT]):
            return False
        await _create_demo(conn)
    return True


async def _create_demo(pool: Any) -> None:
    existing = {
        u.username for u in await user_queries.users_by_usernames(pool, [u for u, _, _ in USERS])
    }
    for username, name, is_admin in USERS:
        if username not in existing:
            await create_user(pool, username, name=name, is_admin=is_admin)
    users = {
        u.username: u for u in await user_queries.users_by_usernames(pool, [u for u, _, _ in USERS])
    }

    def acting_as(username: str) -> Access:
        viewer = Viewer(user=users[username], scopes=frozenset({TokenScope.API}))
        return Access(viewer, Loaders(pool, viewer))

    alice = acting_as("alice")
    for path, name, visibility, description in PROJECTS:
        await project_service.create_project(
            alice, pool, full_path=path, name=name, visibility=visibility, description=description
        )
    for path, username, role in MEMBERS:
        await project_service.add_member(
            alice, pool, project_ref=path, username=username, role=role
        )
    today = dt.datetime.now(dt.UTC).date()
    for n, (path, title, labels, assignees, confidential, weight, closed) in enumerate(ISSUES):
        issue = await issue_service.create_issue(
            acting_as("alice"),
            pool,
            project_ref=path,
            title=title,
            description=f"{title}.\n\nPart of the demo data.",
            labels=labels,
            assignee_usernames=assignees,
            confidential=confidential,
            weight=weight,
            due_date=today + dt.timedelta(days=7 * (n % 5 + 1)),
        )
        if closed:
            await issue_service.update_issue(
                acting_as("alice"),
                pool,
                project_ref=path,
                iid=issue.iid,
                changes=issue_service.IssueChanges(
                    given=frozenset({"state_event"}), state_event="close"
                ),
            )
    links = LinkService(alice, pool, max_links=DEMO_MAX_LINKS)
    await links.create(
        [
            LinkRequest(
                project_ref=source_path,
                iid=source_iid,
                target_project_ref=target_path,
                target_iid=target_iid,
                link_type=link_type,
            )
            for source_path, source_iid, link_type, target_path, target_iid in LINKS
        ]
    )


async def issue_demo_token(pool: Any) -> str:
    """A new `api` token for alice named "demo"; her earlier "demo" tokens are revoked.

    A token is stored as a digest and cannot be shown again, so each start of the demo
    issues a new one; revoking the last one keeps them from piling up. Both or neither.
    """
    async with transaction(pool) as conn:
        users = await user_queries.users_by_usernames(conn, [DEMO_TOKEN_USER])
        if not users:
            raise not_found(f"User {DEMO_TOKEN_USER!r}", ["username"])
        await token_queries.revoke_tokens_named(conn, user_id=users[0].id, name=DEMO_TOKEN_NAME)
        _, token = await create_token(
            conn, DEMO_TOKEN_USER, scopes=[DEMO_TOKEN_SCOPE], name=DEMO_TOKEN_NAME
        )
    return token
