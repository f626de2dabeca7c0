"""The access model, in one place: who may read and change which project and issue.

GitLab's rules: a PUBLIC project is readable by anyone, INTERNAL by any signed-in
user, PRIVATE by its members; a confidential issue additionally needs REPORTER or
higher, or being its author or an assignee. Admins read and do everything. What a
viewer may not read is reported as missing, never as forbidden.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import unquote

from issuegraph.domain.errors import DomainError, ErrorCode, UnauthenticatedError, not_found
from issuegraph.domain.validation import PROJECT_KEY, can_name_a_row
from issuegraph.models import (
    Issue,
    IssueLink,
    IssueSnapshot,
    Project,
    ReadScope,
    Role,
    Viewer,
    Visibility,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence


K_contra = TypeVar("K_contra", contravariant=True)
V_co = TypeVar("V_co", covariant=True)


class Loading(Protocol[K_contra, V_co]):
    """A per-request loader, as the rules see it: `load(key)`, batched and cached."""

    def load(self, key: K_contra, /) -> Awaitable[V_co]: ...


class AccessData(Protocol):
    """The loaders the rules read through (`loaders.Loaders` has them), so that checks
    are batched and cached with the request's other reads."""

    @property
    def viewer_role_by_project(self) -> Loading[int, Role | None]: ...
    @property
    def assignee_ids_by_issue(self) -> Loading[int, Sequence[int]]: ...
    @property
    def project_by_id(self) -> Loading[int, Project | None]: ...
    @property
    def project_by_path(self) -> Loading[str, Project | None]: ...
    @property
    def project_by_key(self) -> Loading[str, Project | None]: ...
    @property
    def issue_by_id(self) -> Loading[int, Issue | None]: ...
    @property
    def issue_by_iid(self) -> Loading[tuple[int, int], Issue | None]: ...
    @property
    def link_by_id(self) -> Loading[int, IssueLink | None]: ...


def parse_project_ref(ref: str) -> int | str:
    """A project reference as GitLab takes it: a numeric id or a (URL-encoded) full path."""
    ref = ref.strip()
    if ref.isdecimal():
        return int(ref)
    return unquote(ref)


class Access:
    def __init__(self, viewer: Viewer, data: AccessData) -> None:
        self.viewer = viewer
        self._data = data

    # -- roles ---------------------------------------------------------------------------

    async def role(self, project: Project) -> Role | None:
        if self.viewer.user is None:
            return None
        return await self._data.viewer_role_by_project.load(project.id)

    async def has_role(self, project: Project, minimum: Role) -> bool:
        if self.viewer.is_admin:
            return True
        role = await self.role(project)
        return role is not None and role >= minimum

    # -- reading -------------------------------------------------------------------------
    # The read rule on rows already loaded. Its SQL twin is `db.queries.visibility`'s
    # `readable_issue`; tests/test_access.py holds the two equal (docs/read-rule.md).

    async def can_read_project(self, project: Project) -> bool:
        if project.visibility is Visibility.PUBLIC or self.viewer.is_admin:
            return True
        if project.visibility is Visibility.INTERNAL:
            return self.viewer.is_authenticated
        return await self.role(project) is not None

    async def sees_all_confidential(self, project: Project) -> bool:
        return await self.has_role(project, Role.REPORTER)

    async def can_read_issue(
        self, issue: Issue | IssueSnapshot, project: Project | None = None
    ) -> bool:
        if project is None:
            project = await self._data.project_by_id.load(issue.project_id)
            if project is None:
                return False
        if not await self.can_read_project(project):
            return False
        if not issue.confidential or await self.sees_all_confidential(project):
            return True
        user_id = self.viewer.user_id
        if user_id is None:
            return False
        return user_id == issue.author_id or user_id in await self._data.assignee_ids_by_issue.load(
            issue.id
        )

    def read_scope(self) -> ReadScope:
        return ReadScope(viewer_id=self.viewer.user_id, admin=self.viewer.is_admin)

    # -- finding what the viewer may read (None when missing or hidden) --------------------

    async def project(self, ref: str | int) -> Project | None:
        key = parse_project_ref(ref) if isinstance(ref, str) else ref
        if not can_name_a_row(key):
            return None
        if isinstance(key, int):
            project = await self._data.project_by_id.load(key)
        else:
            project = await self._data.project_by_path.load(key.lower())
        if project is None or not await self.can_read_project(project):
            return None
        return project

    async def project_by_key(self, key: str) -> Project | None:
        """A project by its key (Jira's KEY, any case), if the viewer may read it."""
        key = key.upper()
        if not PROJECT_KEY.match(key):
            return None
        project = await self._data.project_by_key.load(key)
        if project is None or not await self.can_read_project(project):
            return None
        return project

    async def issue(self, project: Project, iid: int) -> Issue | None:
        issue = await self._data.issue_by_iid.load((project.id, iid))
        if issue is None or not await self.can_read_issue(issue, project):
            return None
        return issue

    async def issue_by_id(self, issue_id: int) -> Issue | None:
        if not can_name_a_row(issue_id):
            return None
        issue = await self._data.issue_by_id.load(issue_id)
        if issue is None or not await self.can_read_issue(issue):
            return None
        return issue

    async def issue_exists(self, issue_id: int) -> bool:
        """Whether the issue exists at all: for rules about issues that were deleted, never
        to answer a viewer (who is told only about what the viewer reads)."""
        return can_name_a_row(issue_id) and await self._data.issue_by_id.load(issue_id) is not None

    async def link(self, link_id: int) -> IssueLink | None:
        """A link, if the viewer may read both of its issues."""
        if not can_name_a_row(link_id):
            return None
        link = await self._data.link_by_id.load(link_id)
        if link is None:
            return None
        source, target = await asyncio.gather(
            self.issue_by_id(link.source_id), self.issue_by_id(link.target_id)
        )
        return link if source is not None and target is not None else None

    # -- mutations -----------------------------------------------------------------------

    def require_writer(self) -> None:
        """Mutations need a signed-in user whose token carries the `api` scope."""
        if not self.viewer.is_authenticated:
            raise UnauthenticatedError("Authentication required: send a personal access token")
        if not self.viewer.can_write:
            raise DomainError(
                ErrorCode.FORBIDDEN, "The token's scope (read_api) does not allow mutations"
            )

    async def writable_project(
        self, ref: str, minimum: Role, path: list[str], action: str
    ) -> Project:
        project = await self.project(ref)
        if project is None:
            raise not_found("Project", path)
        if not await self.has_role(project, minimum):
            raise DomainError(
                ErrorCode.FORBIDDEN,
                f"You need the {minimum.name.lower()} role or higher in "
                f"{project.full_path} to {action}",
                path=path,
            )
        return project
