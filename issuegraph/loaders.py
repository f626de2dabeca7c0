"""Per-request DataLoaders: built in the view's context for one request, never shared.

Each loader batches the keys asked for in one tick of the event loop into a single
`= any($1::bigint[])` statement and caches the answer for the rest of the request.
One-to-one loaders answer `None` for a missing key, one-to-many loaders `[]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries import projects as project_queries
from issuegraph.db.queries import users as user_queries

if TYPE_CHECKING:
    from collections.abc import Sequence

    from issuegraph.domain.models import Issue, Project, Role, User


class Loaders:
    """Implements `domain.access.AccessData` on top of the loaders."""

    def __init__(self, pool: Any, viewer_id: int | None) -> None:
        self._pool = pool
        self._viewer_id = viewer_id
        self.user_by_id = DataLoader[int, "User | None"](self._users_by_id)
        self.project_by_id_loader = DataLoader[int, "Project | None"](self._projects_by_id)
        self.project_by_path_loader = DataLoader[str, "Project | None"](self._projects_by_path)
        self.issue_by_id_loader = DataLoader[int, "Issue | None"](self._issues_by_id)
        self.issue_by_iid_loader = DataLoader[tuple[int, int], "Issue | None"](self._issues_by_iid)
        self.assignee_ids_by_issue = DataLoader[int, list[int]](self._assignee_ids)
        self.note_count_by_issue = DataLoader[int, int](self._note_counts)
        self.viewer_role_by_project = DataLoader[int, "Role | None"](self._viewer_roles)

    # -- batch functions -----------------------------------------------------------------

    async def _users_by_id(self, ids: Sequence[int]) -> list[User | None]:
        found = {u.id: u for u in await user_queries.users_by_ids(self._pool, list(ids))}
        return [found.get(i) for i in ids]

    async def _projects_by_id(self, ids: Sequence[int]) -> list[Project | None]:
        found = {p.id: p for p in await project_queries.projects_by_ids(self._pool, list(ids))}
        for project in found.values():
            self.project_by_path_loader.prime(project.full_path.lower(), project)
        return [found.get(i) for i in ids]

    async def _projects_by_path(self, paths: Sequence[str]) -> list[Project | None]:
        rows = await project_queries.projects_by_paths(self._pool, list(paths))
        found = {p.full_path.lower(): p for p in rows}
        for project in rows:
            self.project_by_id_loader.prime(project.id, project)
        return [found.get(p) for p in paths]

    async def _issues_by_id(self, ids: Sequence[int]) -> list[Issue | None]:
        found = {i.id: i for i in await issue_queries.issues_by_ids(self._pool, list(ids))}
        for issue in found.values():
            self.issue_by_iid_loader.prime((issue.project_id, issue.iid), issue)
        return [found.get(i) for i in ids]

    async def _issues_by_iid(self, keys: Sequence[tuple[int, int]]) -> list[Issue | None]:
        rows = await issue_queries.issues_by_project_iids(
            self._pool, [k[0] for k in keys], [k[1] for k in keys]
        )
        found = {(i.project_id, i.iid): i for i in rows}
        for issue in rows:
            self.issue_by_id_loader.prime(issue.id, issue)
        return [found.get(k) for k in keys]

    async def _assignee_ids(self, issue_ids: Sequence[int]) -> list[list[int]]:
        found = await issue_queries.assignee_ids_by_issue_ids(self._pool, list(issue_ids))
        return [found.get(i, []) for i in issue_ids]

    async def _note_counts(self, issue_ids: Sequence[int]) -> list[int]:
        found = await issue_queries.note_counts_by_issue_ids(self._pool, list(issue_ids))
        return [found.get(i, 0) for i in issue_ids]

    async def _viewer_roles(self, project_ids: Sequence[int]) -> list[Role | None]:
        if self._viewer_id is None:
            return [None] * len(project_ids)
        found = await project_queries.member_roles(self._pool, self._viewer_id, list(project_ids))
        return [found.get(p) for p in project_ids]

    # -- priming after reads and writes --------------------------------------------------

    def prime_issue(self, issue: Issue) -> None:
        """Remember an issue just read or written, replacing what the request had cached."""
        self.issue_by_id_loader.prime(issue.id, issue, force=True)
        self.issue_by_iid_loader.prime((issue.project_id, issue.iid), issue, force=True)

    def forget_issue(self, issue: Issue) -> None:
        self.issue_by_id_loader.clear(issue.id)
        self.issue_by_iid_loader.clear((issue.project_id, issue.iid))

    def prime_project(self, project: Project) -> None:
        self.project_by_id_loader.prime(project.id, project, force=True)
        self.project_by_path_loader.prime(project.full_path.lower(), project, force=True)

    # -- domain.access.AccessData ----------------------------------------------------------

    async def role(self, project_id: int) -> Role | None:
        return await self.viewer_role_by_project.load(project_id)

    async def assignee_ids(self, issue_id: int) -> Sequence[int]:
        return await self.assignee_ids_by_issue.load(issue_id)

    async def project_by_id(self, project_id: int) -> Project | None:
        return await self.project_by_id_loader.load(project_id)

    async def project_by_path(self, full_path: str) -> Project | None:
        return await self.project_by_path_loader.load(full_path.lower())

    async def issue_by_id(self, issue_id: int) -> Issue | None:
        return await self.issue_by_id_loader.load(issue_id)

    async def issue_by_iid(self, project_id: int, iid: int) -> Issue | None:
        return await self.issue_by_iid_loader.load((project_id, iid))
