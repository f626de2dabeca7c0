"""Root fields of users: the viewer."""

from __future__ import annotations

import strawberry

from issuegraph.context import Info
from issuegraph.schema.users import User, user_or_none


@strawberry.type
class UserQuery:
    @strawberry.field(description="The signed-in user, or null for anonymous requests.")
    def viewer(self, info: Info) -> User | None:
        return user_or_none(info.context.viewer.user, info)
