"""The request's loaders: each made when the request first asks for it, all closed once
the answer is made; what reads prime and what writes invalidate, in one place."""

from __future__ import annotations

import functools
from functools import cached_property
from typing import TYPE_CHECKING, Any

from issuegraph.loaders.core import Loader
from issuegraph.loaders.graph import (
    GraphWalks,
    HiddenCountByIssuesLoader,
    LinksAmongIssuesLoader,
    ReadyIssueCountByProjectLoader,
    ReadyIssuePageByProjectLoader,
    RollupByIssueLoader,
    WalkByIssueLoader,
)
from issuegraph.loaders.issues import (
    AssigneeIdsByIssueLoader,
    IssueByIdLoader,
    IssueByIidLoader,
    IssueByPathIidLoader,
    IssueCountByProjectLoader,
    IssuePageByProjectLoader,
)
from issuegraph.loaders.links import (
    LinkByIdLoader,
    LinkCountByIssueLoader,
    LinkedIssuesByIssueLoader,
    OpenBlockerFlagByIssueLoader,
)
from issuegraph.loaders.notes import NoteCountByIssueLoader, NotePageByIssueLoader
from issuegraph.loaders.projects import (
    ProjectByIdLoader,
    ProjectByKeyLoader,
    ProjectByPathLoader,
    ViewerRoleByProjectLoader,
)
from issuegraph.loaders.users import UserByIdLoader
from issuegraph.models import ReadScope

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable, Mapping, Sequence

    from issuegraph.db.queries.issues import RelatedRows
    from issuegraph.domain.graph_index import GraphIndex
    from issuegraph.models import Issue, IssueLink, Project, Related, User, Viewer


class Loaders:
    """One request's loaders, one attribute per loader class, named for it
    (`UserByIdLoader` is `user_by_id`). Built for each request by the HTTP layer, never
    shared: a loader caches what one viewer may read.

    It is also what the domain's rules read through (`domain.access.AccessData`,
    `domain.graph.GraphReads`): the same loaders, so a rule's lookups are batched and
    cached with the fields'."""

    def __init__(self, pool: Any, viewer: Viewer, graph: GraphIndex | None = None) -> None:
        self.pool = pool
        self.scope = ReadScope(viewer_id=viewer.user_id, admin=viewer.is_admin)
        # The walks of this request: through the process's graph index when it has one.
        self.graph_walks = GraphWalks(
            pool, self.scope, graph, functools.partial(self.prime_issues, force=False)
        )

    # -- users and projects ------------------------------------------------------------

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader(self)

    @cached_property
    def project_by_id(self) -> ProjectByIdLoader:
        return ProjectByIdLoader(self)

    @cached_property
    def project_by_path(self) -> ProjectByPathLoader:
        return ProjectByPathLoader(self)

    @cached_property
    def project_by_key(self) -> ProjectByKeyLoader:
        return ProjectByKeyLoader(self)

    @cached_property
    def viewer_role_by_project(self) -> ViewerRoleByProjectLoader:
        return ViewerRoleByProjectLoader(self)

    # -- issues and notes --------------------------------------------------------------

    @cached_property
    def issue_by_id(self) -> IssueByIdLoader:
        return IssueByIdLoader(self)

    @cached_property
    def issue_by_iid(self) -> IssueByIidLoader:
        return IssueByIidLoader(self)

    @cached_property
    def issue_by_path_iid(self) -> IssueByPathIidLoader:
        return IssueByPathIidLoader(self)

    @cached_property
    def assignee_ids_by_issue(self) -> AssigneeIdsByIssueLoader:
        return AssigneeIdsByIssueLoader(self)

    @cached_property
    def issue_page_by_project(self) -> IssuePageByProjectLoader:
        return IssuePageByProjectLoader(self)

    @cached_property
    def issue_count_by_project(self) -> IssueCountByProjectLoader:
        return IssueCountByProjectLoader(self)

    @cached_property
    def note_page_by_issue(self) -> NotePageByIssueLoader:
        return NotePageByIssueLoader(self)

    @cached_property
    def note_count_by_issue(self) -> NoteCountByIssueLoader:
        return NoteCountByIssueLoader(self)

    # -- links -------------------------------------------------------------------------

    @cached_property
    def link_by_id(self) -> LinkByIdLoader:
        return LinkByIdLoader(self)

    @cached_property
    def linked_issues_by_issue(self) -> LinkedIssuesByIssueLoader:
        return LinkedIssuesByIssueLoader(self)

    @cached_property
    def link_count_by_issue(self) -> LinkCountByIssueLoader:
        return LinkCountByIssueLoader(self)

    @cached_property
    def open_blocker_flag_by_issue(self) -> OpenBlockerFlagByIssueLoader:
        return OpenBlockerFlagByIssueLoader(self)

    # -- the dependency graph ----------------------------------------------------------

    @cached_property
    def walk_by_issue(self) -> WalkByIssueLoader:
        return WalkByIssueLoader(self)

    @cached_property
    def rollup_by_issue(self) -> RollupByIssueLoader:
        return RollupByIssueLoader(self)

    @cached_property
    def links_among_issues(self) -> LinksAmongIssuesLoader:
        return LinksAmongIssuesLoader(self)

    @cached_property
    def hidden_count_by_issues(self) -> HiddenCountByIssuesLoader:
        return HiddenCountByIssuesLoader(self)

    @cached_property
    def ready_issue_page_by_project(self) -> ReadyIssuePageByProjectLoader:
        return ReadyIssuePageByProjectLoader(self)

    @cached_property
    def ready_issue_count_by_project(self) -> ReadyIssueCountByProjectLoader:
        return ReadyIssueCountByProjectLoader(self)

    def _made(self) -> list[Loader[Any, Any]]:
        """The loaders this request has made so far."""
        return [value for value in vars(self).values() if isinstance(value, Loader)]

    def close(self) -> None:
        """Drop everything loaded, once the request is answered.

        Each loader refers back to this object (to prime the others), a reference cycle
        that only the cyclic collector would free: closed, the loaders let go of it and of
        their batch functions, and the request's models, users and links are freed by
        reference counting.
        """
        for loader in self._made():
            loader.close()
        self.graph_walks.close()

    # -- priming after reads (`core.Primer`): what one read tells the other loaders ------
    #
    # Never over what a loader holds already (unless `force`): a value read earlier in the
    # request stays what the request saw.

    def prime_users(self, users: Iterable[User]) -> None:
        self.user_by_id.prime_many({user.id: user for user in users})

    def prime_projects(self, projects: Iterable[Project]) -> None:
        # By key only where the request looks projects up by key (the Jira API): the
        # GraphQL requests, which never do, make no loader for it.
        by_key: ProjectByKeyLoader | None = vars(self).get("project_by_key")
        for project in projects:
            self.project_by_id.prime(project.id, project)
            self.project_by_path.prime(project.full_path.lower(), project)
            if by_key is not None:
                by_key.prime(project.key, project)

    def prime_missing_project_paths(self, paths: Iterable[str]) -> None:
        self.project_by_path.prime_many(dict.fromkeys(paths))

    def prime_issues(self, issues: Sequence[Issue], *, force: bool = True) -> None:
        """Remember issues just read or written (replacing what was cached, if `force`)."""
        self.issue_by_id.prime_many({i.id: i for i in issues}, force=force)
        self.issue_by_iid.prime_many({(i.project_id, i.iid): i for i in issues}, force=force)

    def prime_missing_issues(self, project_iids: Iterable[tuple[int, int]]) -> None:
        self.issue_by_iid.prime_many(dict.fromkeys(project_iids))

    def prime_assignee_ids(self, ids: Mapping[int, list[int]]) -> None:
        self.assignee_ids_by_issue.prime_many(ids)

    def prime_links(self, links: Iterable[IssueLink]) -> None:
        self.link_by_id.prime_many({link.id: link for link in links})

    def prime_related(self, related: RelatedRows) -> None:
        """Keep the users and projects a read brought along."""
        if related.users:
            self.prime_users(related.users)
        self.prime_projects(related.projects)

    async def prefetch_issue_relations(self, issues: Sequence[Issue], related: Related) -> None:
        """Load what `related` says fields of these issues will read (its `user_columns`:
        the user-id attributes to follow), so that they complete in place.

        The batches are the ones the fields would make one by one: projects and assignee
        ids at once, then every user; projects and users at once where the assignee ids
        are loaded already (a page of links brings them).
        """
        user_ids = {getattr(i, name) for i in issues for name in related.user_columns} - {None}
        project_ids = {i.project_id for i in issues} if related.projects else set()
        asked: list[Awaitable[Any]] = []
        if project_ids:
            asked.append(self.project_by_id.load_many(project_ids))
        if related.assignees:
            # Asked for with the projects (one tick, the two statements together); answered
            # without waiting where a page of links brought them, and the users then go
            # with the projects.
            assigned = await self.assignee_ids_by_issue.load_many([i.id for i in issues])
            user_ids.update(u for ids in assigned for u in ids)
        if user_ids:
            asked.append(self.user_by_id.load_many(sorted(user_ids)))
        for answer in asked:
            await answer

    # -- invalidation after writes -----------------------------------------------------
    #
    # A write within a request (a mutation's payload is read after it) replaces what it
    # wrote and drops every list and aggregate it may have changed; the next read of
    # those loads again.

    def _lists_changed(self) -> None:
        for loader in (
            "issue_page_by_project",
            "issue_count_by_project",
            "note_page_by_issue",
            "note_count_by_issue",
            "linked_issues_by_issue",
            "link_count_by_issue",
            "open_blocker_flag_by_issue",
            "walk_by_issue",
            "rollup_by_issue",
            "links_among_issues",
            "hidden_count_by_issues",
            "ready_issue_page_by_project",
            "ready_issue_count_by_project",
        ):
            made = vars(self).get(loader)
            if made is not None:
                made.clear_all()
        self.graph_walks.written()

    def project_written(self, project: Project) -> None:
        self.project_by_id.prime(project.id, project, force=True)
        self.project_by_path.prime(project.full_path.lower(), project, force=True)
        by_key: ProjectByKeyLoader | None = vars(self).get("project_by_key")
        if by_key is not None:
            by_key.prime(project.key, project, force=True)
        self.viewer_role_by_project.clear(project.id)

    def issue_written(self, issue: Issue) -> None:
        """An issue created or changed (its assignees too)."""
        self.prime_issues([issue])
        self.assignee_ids_by_issue.clear(issue.id)
        self._lists_changed()

    def issue_deleted(self, issue: Issue) -> None:
        """An issue deleted, and its links with it."""
        self.issue_by_id.clear(issue.id)
        self.issue_by_iid.clear((issue.project_id, issue.iid))
        self._lists_changed()

    def link_written(self, link: IssueLink) -> None:
        """A link created or changed (a comment may have added a note)."""
        self.link_by_id.prime(link.id, link, force=True)
        self._lists_changed()

    def link_deleted(self, link: IssueLink) -> None:
        self.link_by_id.clear(link.id)
        self._lists_changed()
