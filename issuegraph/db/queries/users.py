from __future__ import annotations

from typing import Any

from issuegraph.db.codecs import decode_timestamptz
from issuegraph.models import User, thawed

_COLUMNS = "id, username, name, state, avatar_url, is_admin, created_at"
# A user `u` as a record of a query's own (its timestamp as text: see `db.codecs`), the
# fields in the model's order, for `user_from_record`.
USER_RECORD = "row(u.id, u.username, u.name, u.state, u.avatar_url, u.is_admin, u.created_at::text)"


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


def user_from_record(record: Any) -> User:
    id_, username, name, state, avatar_url, is_admin, created_at = record
    user = _USER(id_, username, name, state, avatar_url, is_admin, decode_timestamptz(created_at))
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
