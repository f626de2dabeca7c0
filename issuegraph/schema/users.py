"""User: a person who uses issuegraph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

import strawberry
from strawberry import relay

from issuegraph.context import Info
from issuegraph.schema.objects import built

if TYPE_CHECKING:
    from issuegraph import models


@strawberry.type(description="A person who uses issuegraph.")
class User(relay.Node):
    pk: relay.NodeID[int]
    database_id: int = strawberry.field(description="The numeric id, as REST APIs show it.")
    username: str
    name: str
    state: str = strawberry.field(description="active or blocked.")
    avatar_url: str | None
    web_url: str

    @classmethod
    def from_model(cls, user: models.User, info: Info) -> Self:
        return built(
            cls,
            {
                "pk": user.id,
                "database_id": user.id,
                "username": user.username,
                "name": user.name,
                "state": user.state,
                "avatar_url": user.avatar_url,
                "web_url": f"{info.context.settings.public_url}/{user.username}",
            },
        )


def user_or_none(user: models.User | None, info: Info) -> User | None:
    return User.from_model(user, info) if user else None


async def load_user(info: Info, user_id: int | None) -> User | None:
    """A user by id through the request's loader (None for None, or no such user)."""
    if user_id is None:
        return None
    return user_or_none(await info.context.loaders.user_by_id.load(user_id), info)
