"""A small, realistic demo data set: projects of every visibility, users, issues."""

from __future__ import annotations

import datetime as dt
from typing import Any

from issuegraph.db.database import transaction
from issuegraph.db.queries import projects as project_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.domain import issues as issue_service
from issuegraph.domain import projects as project_service
from issuegraph.domain.access import Access
from issuegraph.domain.models import Role, TokenScope, Viewer, Visibility
from issuegraph.domain.users import create_user
from issuegraph.loaders import Loaders

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


DEMO_LOCK_KEY = 0x1554E6_DE40


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
