"""Personal access tokens: issued once, stored as a digest, checked on every request."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from issuegraph.db.queries import tokens as token_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.domain.errors import UnauthenticatedError, bad_input, not_found
from issuegraph.models import ANONYMOUS, TokenScope, Viewer

if TYPE_CHECKING:
    from collections.abc import Mapping

TOKEN_PREFIX = "igpat-"  # noqa: S105  (a prefix that makes leaked tokens recognisable)


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    # Tokens carry 256 bits of randomness, so a plain (unsalted) SHA-256 is enough.
    return hashlib.sha256(token.encode()).digest()


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The token of `Authorization: Bearer <t>` or `PRIVATE-TOKEN: <t>`, if either is sent.

    A header that is present but malformed is an invalid credential, not an absent one.
    """
    private = headers.get("PRIVATE-TOKEN")
    if private is not None:
        if not private.strip():
            raise UnauthenticatedError("Invalid token: the PRIVATE-TOKEN header is empty")
        return private.strip()
    authorization = headers.get("Authorization")
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise UnauthenticatedError(
            "Invalid Authorization header: expected 'Bearer <personal access token>'"
        )
    return credentials.strip()


async def authenticate(conn: Any, headers: Mapping[str, str]) -> Viewer:
    token = token_from_headers(headers)
    if token is None:
        return ANONYMOUS
    record = await token_queries.token_by_digest(conn, token_digest(token))
    if record is None:
        raise UnauthenticatedError("Invalid token")
    if record.revoked_at is not None:
        raise UnauthenticatedError("Invalid token: the token has been revoked")
    if record.expires_at is not None and record.expires_at <= dt.datetime.now(dt.UTC):
        raise UnauthenticatedError("Invalid token: the token has expired")
    if record.user.state != "active":
        raise UnauthenticatedError("Invalid token: the user is blocked")
    return Viewer(user=record.user, scopes=record.scopes)


async def create_token(
    conn: Any,
    username: str,
    *,
    scopes: list[TokenScope],
    name: str = "cli",
    expires_at: dt.datetime | None = None,
) -> tuple[int, str]:
    """Issue a token for `username`; the plain token is returned here and nowhere else."""
    if not scopes:
        raise bad_input("A token needs at least one scope", ["scopes"])
    users = await user_queries.users_by_usernames(conn, [username])
    if not users:
        raise not_found(f"User {username!r}", ["username"])
    token = generate_token()
    token_id = await token_queries.insert_token(
        conn,
        user_id=users[0].id,
        name=name,
        digest=token_digest(token),
        scopes=sorted({s.value for s in scopes}),
        expires_at=expires_at,
    )
    return token_id, token
