from __future__ import annotations

from typing import Any

from issuegraph.domain.models import User, thawed

_COLUMNS = "id, username, name, state, avatar_url, is_admin, created_at"


_USER = thawed(User)


def to_user(row: Any) -> User:
    user = _USER(
        id=row["id"],
        username=row["username"],
        name=row["name"],
        state=row["state"],
        avatar_url=row["avatar_url"],
        is_admin=row["is_admin"],
        created_at=row["created_at"],
    )
    user.__class__ = User
    return user


async def insert_user(conn: Any, username: str, name: str, *, is_admin: bool = False) -> User:
    row = await conn.fetchrow(
        f"insert into users (username, name, is_admin) values ($1, $2, $3) returning {_COLUMNS}",
        username,
        name,
        is_admin,
    )
    return to_user(row)


async def users_by_ids(conn: Any, ids: list[int]) -> list[User]:
    rows = await conn.fetch(f"select {_COLUMNS} from users where id = any($1::bigint[])", ids)
    return [to_user(r) for r in rows]


async def users_by_usernames(conn: Any, usernames: list[str]) -> list[User]:
    rows = await conn.fetch(
        f"select {_COLUMNS} from users where lower(username) = any($1::text[])",
        [u.lower() for u in usernames],
    )
    return [to_user(r) for r in rows]


async def set_user_state(conn: Any, user_id: int, state: str) -> None:
    await conn.execute("update users set state = $2 where id = $1", user_id, state)
