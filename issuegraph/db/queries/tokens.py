from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from issuegraph.db.queries.users import to_user
from issuegraph.models import TokenScope, User


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    user: User
    scopes: frozenset[TokenScope]
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


async def insert_token(
    conn: Any,
    *,
    user_id: int,
    name: str,
    digest: bytes,
    scopes: list[str],
    expires_at: dt.datetime | None,
) -> int:
    token_id: int = await conn.fetchval(
        """
        insert into personal_access_tokens (user_id, name, token_digest, scopes, expires_at)
        values ($1, $2, $3, $4, $5) returning id
        """,
        user_id,
        name,
        digest,
        scopes,
        expires_at,
    )
    return token_id


async def token_by_digest(conn: Any, digest: bytes) -> TokenRecord | None:
    row = await conn.fetchrow(
        """
        select t.id as token_id, t.scopes, t.expires_at, t.revoked_at,
               u.id, u.username, u.name, u.state, u.avatar_url, u.is_admin, u.created_at
        from personal_access_tokens t join users u on u.id = t.user_id
        where t.token_digest = $1
        """,
        digest,
    )
    if row is None:
        return None
    return TokenRecord(
        id=row["token_id"],
        user=to_user(row),
        scopes=frozenset(TokenScope(s) for s in row["scopes"]),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


async def revoke_token(conn: Any, token_id: int) -> bool:
    status: str = await conn.execute(
        "update personal_access_tokens set revoked_at = now() where id = $1 and revoked_at is null",
        token_id,
    )
    return status.endswith(" 1")


async def revoke_tokens_named(conn: Any, *, user_id: int, name: str) -> int:
    """Revoke every active token of `user_id` labelled `name`; how many were revoked."""
    status: str = await conn.execute(
        "update personal_access_tokens set revoked_at = now() "
        "where user_id = $1 and name = $2 and revoked_at is null",
        user_id,
        name,
    )
    return int(status.rpartition(" ")[2])
