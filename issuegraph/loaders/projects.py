"""Projects, by id, by path and by key, and the viewer's role in each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from issuegraph.db.queries import projects as project_queries
from issuegraph.loaders.core import RequestLoader

if TYPE_CHECKING:
    from issuegraph.models import Project, Role


class ProjectByIdLoader(RequestLoader[int, "Project | None"]):
    async def batch(self, keys: list[int]) -> list[Project | None]:
        found = {p.id: p for p in await project_queries.projects_by_ids(self.pool, keys)}
        self.primer.prime_projects(found.values())
        return [found.get(i) for i in keys]


class ProjectByPathLoader(RequestLoader[str, "Project | None"]):
    """Keys are lowercased full paths: GitLab's paths are case-insensitive."""

    async def batch(self, keys: list[str]) -> list[Project | None]:
        rows = await project_queries.projects_by_paths(self.pool, keys)
        self.primer.prime_projects(rows)
        found = {p.full_path.lower(): p for p in rows}
        return [found.get(p) for p in keys]


class ProjectByKeyLoader(RequestLoader[str, "Project | None"]):
    """Keys are upper-cased project keys (Jira's KEY of KEY-123)."""

    async def batch(self, keys: list[str]) -> list[Project | None]:
        rows = await project_queries.projects_by_keys(self.pool, keys)
        self.primer.prime_projects(rows)
        found = {p.key: p for p in rows}
        return [found.get(k) for k in keys]


class ViewerRoleByProjectLoader(RequestLoader[int, "Role | None"]):
    """The viewer's membership role in each project (None: not a member, or anonymous)."""

    async def batch(self, keys: list[int]) -> list[Role | None]:
        viewer_id = self.scope.viewer_id
        if viewer_id is None:
            return [None] * len(keys)
        found = await project_queries.member_roles(self.pool, viewer_id, keys)
        return [found.get(p) for p in keys]
