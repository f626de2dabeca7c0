"""The object types of the schema: User, Project, Issue, their connections, UserError."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Self, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from issuegraph.context import Info
from issuegraph.db.queries import issues as issue_queries
from issuegraph.domain import models
from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.domain.models import IssueState, Role, Visibility
from issuegraph.schema import enums  # noqa: F401  (registers the domain enums with Strawberry)
from issuegraph.schema.enums import IssueSort
from issuegraph.schema.pagination import Edge, PageInfo, decode_cursor, encode_cursor, page_size


@strawberry.type(description="A rule violation of a mutation, returned as data.")
class UserError:
    code: ErrorCode
    message: str
    path: list[str] | None = strawberry.field(
        description='Path to the offending input field, e.g. ["input", "title"].'
    )
    details: JSON | None = None

    @classmethod
    def from_domain(cls, error: DomainError) -> Self:
        return cls(
            code=error.code,
            message=error.message,
            path=["input", *error.path] if error.path is not None else None,
            details=cast("JSON", error.details),
        )


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
        return cls(
            pk=user.id,
            database_id=user.id,
            username=user.username,
            name=user.name,
            state=user.state,
            avatar_url=user.avatar_url,
            web_url=f"{info.context.settings.public_url}/{user.username}",
        )


async def _user(info: Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = await info.context.loaders.user_by_id.load(user_id)
    return User.from_model(user, info) if user else None


@strawberry.type(description="A project: a home for issues, with a visibility and members.")
class Project(relay.Node):
    pk: relay.NodeID[int]
    database_id: int
    full_path: str
    name: str
    description: str | None
    visibility: Visibility
    created_at: dt.datetime
    updated_at: dt.datetime
    model: strawberry.Private[models.Project]

    @classmethod
    def from_model(cls, project: models.Project) -> Self:
        return cls(
            pk=project.id,
            database_id=project.id,
            full_path=project.full_path,
            name=project.name,
            description=project.description,
            visibility=project.visibility,
            created_at=project.created_at,
            updated_at=project.updated_at,
            model=project,
        )

    @strawberry.field
    def web_url(self, info: Info) -> str:
        return f"{info.context.settings.public_url}/{self.full_path}"

    @strawberry.field(description="The viewer's role in this project, if a member.")
    async def viewer_role(self, info: Info) -> Role | None:
        return await info.context.access.role(self.model)

    @strawberry.field(description="One issue by its iid, if the viewer may read it.")
    async def issue(self, info: Info, iid: int) -> Issue | None:
        issue = await info.context.access.issue(self.model, iid)
        return Issue.from_model(issue) if issue else None

    @strawberry.field(description="The project's issues the viewer may read.")
    async def issues(
        self,
        info: Info,
        state: IssueState | None = None,
        first: int | None = None,
        after: str | None = None,
        sort: IssueSort = IssueSort.CREATED_DESC,
    ) -> IssueConnection:
        limit = page_size(first)
        after_iid = decode_cursor("issue", after)
        if after_iid is not None and not isinstance(after_iid, int):
            raise DomainError(ErrorCode.BAD_USER_INPUT, "after is not a valid cursor")
        ctx = info.context
        visibility = await ctx.access.confidential_filter(self.model)
        rows = await issue_queries.project_issues_page(
            ctx.pool,
            project_id=self.model.id,
            visibility=visibility,
            state=state,
            after_iid=after_iid,
            ascending=sort is IssueSort.CREATED_ASC,
            limit=limit + 1,
        )
        has_next = len(rows) > limit
        rows = rows[:limit]
        for row in rows:
            ctx.loaders.prime_issue(row)
        edges = [Edge(cursor=encode_cursor("issue", r.iid), node=Issue.from_model(r)) for r in rows]

        async def count() -> int:
            return await issue_queries.count_project_issues(
                ctx.pool, project_id=self.model.id, visibility=visibility, state=state
            )

        return IssueConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            counter=count,
        )


@strawberry.type(description="An issue of a project.")
class Issue(relay.Node):
    pk: relay.NodeID[int]
    database_id: int = strawberry.field(description="The numeric id, as REST APIs show it.")
    iid: int = strawberry.field(description="The issue's number within its project.")
    project_id: int = strawberry.field(description="The numeric id of the issue's project.")
    title: str
    description: str | None
    state: IssueState
    labels: list[str]
    milestone: str | None = strawberry.field(description="Title of the milestone, if any.")
    due_date: dt.date | None
    confidential: bool
    weight: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    model: strawberry.Private[models.Issue]

    @classmethod
    def from_model(cls, issue: models.Issue) -> Self:
        return cls(
            pk=issue.id,
            database_id=issue.id,
            iid=issue.iid,
            project_id=issue.project_id,
            title=issue.title,
            description=issue.description,
            state=issue.state,
            labels=list(issue.labels),
            milestone=issue.milestone,
            due_date=issue.due_date,
            confidential=issue.confidential,
            weight=issue.weight,
            created_at=issue.created_at,
            updated_at=issue.updated_at,
            closed_at=issue.closed_at,
            model=issue,
        )

    @strawberry.field
    async def project(self, info: Info) -> Project:
        project = await info.context.loaders.project_by_id(self.project_id)
        assert project is not None  # noqa: S101  (an issue cannot outlive its project)
        return Project.from_model(project)

    @strawberry.field
    async def web_url(self, info: Info) -> str:
        project = await info.context.loaders.project_by_id(self.project_id)
        assert project is not None  # noqa: S101
        return f"{info.context.settings.public_url}/{project.full_path}/-/issues/{self.iid}"

    @strawberry.field(description='The full reference, e.g. "group/project#12".')
    async def reference(self, info: Info) -> str:
        project = await info.context.loaders.project_by_id(self.project_id)
        assert project is not None  # noqa: S101
        return f"{project.full_path}#{self.iid}"

    @strawberry.field
    async def author(self, info: Info) -> User:
        user = await _user(info, self.model.author_id)
        assert user is not None  # noqa: S101  (authors are never deleted while issues exist)
        return user

    @strawberry.field
    async def closed_by(self, info: Info) -> User | None:
        return await _user(info, self.model.closed_by_id)

    @strawberry.field
    async def assignees(self, info: Info) -> list[User]:
        ids = await info.context.loaders.assignee_ids_by_issue.load(self.pk)
        users = await info.context.loaders.user_by_id.load_many(ids)
        return [User.from_model(u, info) for u in users if u is not None]

    @strawberry.field(description="The first assignee (GitLab's legacy single assignee).")
    async def assignee(self, info: Info) -> User | None:
        ids = await info.context.loaders.assignee_ids_by_issue.load(self.pk)
        return await _user(info, ids[0]) if ids else None

    @strawberry.field
    async def user_notes_count(self, info: Info) -> int:
        return await info.context.loaders.note_count_by_issue.load(self.pk)


@strawberry.type
class IssueConnection:
    edges: list[Edge[Issue]]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def nodes(self) -> list[Issue]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many issues the list holds in all, across pages.")
    async def total_count(self) -> int:
        return await self.counter()
