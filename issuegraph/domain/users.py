from __future__ import annotations

from typing import Any

import asyncpg

from issuegraph.db.queries import users as user_queries
from issuegraph.domain import validation
from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.models import User


async def create_user(
    conn: Any, username: str, *, name: str | None = None, is_admin: bool = False
) -> User:
    validation.username(username, ["username"])
    display = validation.single_line(
        name or username, "name", max_length=validation.MAX_NAME, path=["name"]
    )
    try:
        return await user_queries.insert_user(conn, username, display, is_admin=is_admin)
    except asyncpg.UniqueViolationError:
        raise DomainError(
            ErrorCode.CONFLICT, f"User {username!r} already exists", path=["username"]
        ) from None


async def active_user(conn: Any, username: str) -> User | None:
    """The active user of this name, or None (unknown, blocked or deactivated)."""
    users = await user_queries.users_by_usernames(conn, [username])
    return next((user for user in users if user.state == "active"), None)
