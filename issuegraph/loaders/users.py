"""Users, by id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from issuegraph.db.queries import users as user_queries
from issuegraph.loaders.core import RequestLoader

if TYPE_CHECKING:
    from issuegraph.models import User


class UserByIdLoader(RequestLoader[int, "User | None"]):
    async def batch(self, keys: list[int]) -> list[User | None]:
        found = {u.id: u for u in await user_queries.users_by_ids(self.pool, keys)}
        return [found.get(i) for i in keys]
