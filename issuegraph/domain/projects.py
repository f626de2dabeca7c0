"""Creating projects and adding members."""

from __future__ import annotations

from typing import Any

import asyncpg

from issuegraph.db.database import transaction
from issuegraph.db.queries import projects as project_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.domain import validation
from issuegraph.domain.access import Access
from issuegraph.domain.errors import DomainError, ErrorCode, forbidden, not_found
from issuegraph.models import Project, Role, User, Visibility


async def create_project(
    access: Access,
    pool: Any,
    *,
    full_path: str,
    name: str | None,
    visibility: Visibility,
    description: str | None = None,
    key: str | None = None,
) -> Project:
    """Any signed-in writer may create a project and becomes its OWNER.

    Without a key, the database derives one from the path (docs/contract.md).
    """
    access.require_writer()
    assert access.viewer.user is not None  # noqa: S101  (require_writer guarantees it)
    path = validation.full_path(full_path, ["fullPath"])
    display = validation.single_line(
        name or path.rsplit("/", 1)[-1], "name", max_length=validation.MAX_NAME, path=["name"]
    )
    text = validation.multi_line(
        description, "description", max_length=validation.MAX_DESCRIPTION, path=["description"]
    )
    given_key = validation.project_key(key, ["key"]) if key is not None else None
    async with transaction(pool) as conn:
        try:
            project = await project_queries.insert_project(
                conn,
                full_path=path,
                name=display,
                description=text,
                visibility=visibility,
                key=given_key,
            )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == project_queries.KEY_INDEX:
                raise DomainError(
                    ErrorCode.CONFLICT,
                    f"A project with the key {given_key!r} already exists",
                    path=["key"],
                ) from None
            raise DomainError(
                ErrorCode.CONFLICT, f"A project at {path!r} already exists", path=["fullPath"]
            ) from None
        await project_queries.insert_member(conn, project.id, access.viewer.user.id, Role.OWNER)
    return project


async def add_member(
    access: Access, pool: Any, *, project_ref: str, username: str, role: Role
) -> tuple[Project, User, Role]:
    """MAINTAINER or higher adds members; only an OWNER (or admin) may add an OWNER."""
    access.require_writer()
    project = await access.writable_project(
        project_ref, Role.MAINTAINER, ["project"], "add members"
    )
    if role is Role.OWNER and not await access.has_role(project, Role.OWNER):
        raise forbidden("Only an owner can add another owner", ["role"])
    known = validation.can_name_a_row(username)
    users = await user_queries.users_by_usernames(pool, [username]) if known else []
    if not users:
        raise not_found(f"User {username!r}", ["username"])
    user = users[0]
    if not await project_queries.insert_member(pool, project.id, user.id, role):
        raise DomainError(
            ErrorCode.CONFLICT,
            f"{user.username} is already a member of {project.full_path}",
            path=["username"],
        )
    return project, user, role
