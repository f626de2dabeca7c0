"""The object types of the schema: User, Project, Issue, their connections, UserError."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import inspect
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, Final, Self, cast

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode
from graphql.execution.values import VariableValues, get_argument_values
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments

from issuegraph.context import Info
from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries import links as note_queries
from issuegraph.db.queries.issues import Related
from issuegraph.domain import models
from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.domain.graph import DEFAULT_MAX_DEPTH, Direction
from issuegraph.domain.link_types import LinkType, seen_from
from issuegraph.domain.models import IssueState, Role, Visibility
from issuegraph.loaders import MISSING, NotLoaded, now_or_later
from issuegraph.schema import enums  # noqa: F401  (registers the domain enums with Strawberry)
from issuegraph.schema.enums import IssueSort
from issuegraph.schema.execution import in_place
from issuegraph.schema.objects import built
from issuegraph.schema.pagination import (
    Connection,
    Edge,
    PageInfo,
    decode_id_cursor,
    decode_link_cursor,
    encode_cursor,
    page_size,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from graphql import FragmentDefinitionNode, GraphQLObjectType, SelectionSetNode

    from issuegraph.db.queries.links import LinkedIssue
    from issuegraph.loaders import LinksKey
    from issuegraph.schema.graph import CriticalPath, DependencyGraph, Rollup
    from issuegraph.schema.graph import CriticalPath as CriticalPathRef
    from issuegraph.schema.graph import DependencyGraph as DependencyGraphRef
    from issuegraph.schema.graph import Rollup as RollupRef
    from issuegraph.schema.links import LinkedIssueConnection
    from issuegraph.schema.links import LinkedIssueConnection as LinkedIssues
else:
    # Those modules import this one; Strawberry resolves the types when it builds the schema.
    LinkedIssues = Annotated["LinkedIssueConnection", strawberry.lazy("issuegraph.schema.links")]
    DependencyGraphRef = Annotated["DependencyGraph", strawberry.lazy("issuegraph.schema.graph")]
    RollupRef = Annotated["Rollup", strawberry.lazy("issuegraph.schema.graph")]
    CriticalPathRef = Annotated["CriticalPath", strawberry.lazy("issuegraph.schema.graph")]


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
            path=["input", *map(str, error.path)] if error.path is not None else None,
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


def _known(project: models.Project | None) -> models.Project:
    assert project is not None  # noqa: S101  (an issue cannot outlive its project)
    return project


def _project(project: models.Project | None) -> Project:
    return Project.from_model(_known(project))


def _user(user: models.User | None, info: Info) -> User | None:
    return User.from_model(user, info) if user else None


def _author(user: User | None) -> User:
    assert user is not None  # noqa: S101  (authors are never deleted while issues exist)
    return user


async def load_user(info: Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return _user(await info.context.loaders.user_by_id.load(user_id), info)


# The request's one object per user and project (`Loader.made`), for the fields of issues
# that complete in place: a hundred issues share a few, and the executor shares the
# answers of one object. Once the object is made, these allocate nothing (no closure).


def _user_now(info: Info, user_id: int) -> User | NotLoaded | None:
    """The request's `User` of an id (None: no such user) if it is loaded, else MISSING."""
    return info.context.loaders.user_by_id.make(user_id, _user, info)


def _project_now(info: Info, project_id: int) -> Project | NotLoaded:
    """The request's `Project` of an id if it is loaded, else MISSING."""
    return info.context.loaders.project_by_id_loader.make(project_id, _project)


async def _load_assignees(info: Info, issue_id: int) -> list[User]:
    loaders = info.context.loaders
    users = await loaders.user_by_id.load_many(await loaders.assignee_ids_by_issue.load(issue_id))
    return [User.from_model(u, info) for u in users if u is not None]


async def _load_assignee(info: Info, issue_id: int) -> User | None:
    ids = await info.context.loaders.assignee_ids_by_issue.load(issue_id)
    return await load_user(info, ids[0]) if ids else None


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
        return built(
            cls,
            {
                "pk": project.id,
                "database_id": project.id,
                "full_path": project.full_path,
                "name": project.name,
                "description": project.description,
                "visibility": project.visibility,
                "created_at": project.created_at,
                "updated_at": project.updated_at,
                "model": project,
            },
        )

    @strawberry.field
    @in_place
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
        after_iid = decode_id_cursor("issue", after, maximum=2**31 - 1)  # iids are int4
        ctx = info.context
        scope = ctx.access.read_scope()
        # What the page's issues' fields read comes with it (users, projects, assignees).
        plan = prefetch_plan(info)
        found = await issue_queries.project_issues_page(
            ctx.pool,
            project_id=self.model.id,
            scope=scope,
            state=state,
            after_iid=after_iid,
            ascending=sort is IssueSort.CREATED_ASC,
            limit=limit + 1,
            related=plan,
        )
        rows = found.issues
        has_next = len(rows) > limit
        rows = rows[:limit]
        ctx.loaders.prime_issues(rows)
        ctx.loaders.assignee_ids_by_issue.prime_many(found.assignee_ids)
        ctx.loaders.prime_related(found.related)
        await ctx.loaders.prefetch_issue_relations(rows, plan)
        await prefetch_links(info, [([r.id for r in rows], _below(info), _NODES)])
        edges = [Edge(cursor=encode_cursor("issue", r.iid), node=Issue.from_model(r)) for r in rows]

        async def count() -> int:
            return await issue_queries.count_project_issues(
                ctx.pool, project_id=self.model.id, scope=scope, state=state
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

    @strawberry.field(
        description="Open issues with no open blocker the viewer may read: work that can start."
    )
    async def ready_issues(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> IssueConnection:
        from issuegraph.schema import graph  # noqa: PLC0415

        return await graph.ready_issues(info, self.pk, first, after)

    @strawberry.field(
        description="The project's open issues and their open blockers (in any project the "
        "viewer may read), each after everything that blocks it; ties by iid."
    )
    async def dependency_order(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> IssueConnection:
        from issuegraph.schema import graph  # noqa: PLC0415

        return await graph.dependency_order(info, self.pk, first, after)


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
        return built(
            cls,
            {
                "pk": issue.id,
                "database_id": issue.id,
                "iid": issue.iid,
                "project_id": issue.project_id,
                "title": issue.title,
                "description": issue.description,
                "state": issue.state,
                "labels": list(issue.labels),
                "milestone": issue.milestone,
                "due_date": issue.due_date,
                "confidential": issue.confidential,
                "weight": issue.weight,
                "created_at": issue.created_at,
                "updated_at": issue.updated_at,
                "closed_at": issue.closed_at,
                "model": issue,
            },
        )

    # The fields below read through loaders that a list of issues fills ahead
    # (`Loaders.prefetch_issue_relations`); with the value loaded they complete in place
    # (see `loaders.now_or_later`).

    @strawberry.field
    @in_place
    def project(self, info: Info) -> Project:
        project = _project_now(info, self.project_id)
        if project is MISSING:
            loader = info.context.loaders.project_by_id_loader
            return now_or_later(loader, self.project_id, _project)
        return project

    @strawberry.field
    @in_place
    def web_url(self, info: Info) -> str:
        def url(project: models.Project | None) -> str:
            path = _known(project).full_path
            return f"{info.context.settings.public_url}/{path}/-/issues/{self.iid}"

        return now_or_later(info.context.loaders.project_by_id_loader, self.project_id, url)

    @strawberry.field(description='The full reference, e.g. "group/project#12".')
    @in_place
    def reference(self, info: Info) -> str:
        def reference(project: models.Project | None) -> str:
            return f"{_known(project).full_path}#{self.iid}"

        return now_or_later(info.context.loaders.project_by_id_loader, self.project_id, reference)

    @strawberry.field
    @in_place
    def author(self, info: Info) -> User:
        author_id = self.model.author_id
        user = _user_now(info, author_id)
        if user is MISSING:
            loader = info.context.loaders.user_by_id
            return now_or_later(loader, author_id, lambda u: _author(_user(u, info)))
        assert user is not None  # noqa: S101  (as `_author`)
        return user

    @strawberry.field
    @in_place
    def closed_by(self, info: Info) -> User | None:
        closed_by_id = self.model.closed_by_id
        if closed_by_id is None:
            return None
        user = _user_now(info, closed_by_id)
        if user is MISSING:
            return cast("User | None", load_user(info, closed_by_id))
        return user

    @strawberry.field
    @in_place
    def assignees(self, info: Info) -> list[User]:
        ids = info.context.loaders.assignee_ids_by_issue.peek(self.pk)
        if ids is not MISSING:
            users: list[User] = []
            for user_id in ids:
                user = _user_now(info, user_id)
                if user is MISSING:
                    break
                if isinstance(user, User):
                    users.append(user)
            else:
                return users
        return cast("list[User]", _load_assignees(info, self.pk))

    @strawberry.field(description="The first assignee (GitLab's legacy single assignee).")
    @in_place
    def assignee(self, info: Info) -> User | None:
        ids = info.context.loaders.assignee_ids_by_issue.peek(self.pk)
        if ids is not MISSING:
            if not ids:
                return None
            user = _user_now(info, ids[0])
            if user is not MISSING:
                return user
        return cast("User | None", _load_assignee(info, self.pk))

    @strawberry.field
    async def user_notes_count(self, info: Info) -> int:
        return await info.context.loaders.note_count_by_issue.load(self.pk)

    @strawberry.field(description="Comments on the issue, oldest first.")
    async def notes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> NoteConnection:
        limit = page_size(first)
        after_id = decode_id_cursor("note", after)
        rows = await note_queries.notes_page(info.context.pool, self.pk, after_id, limit + 1)
        edges = [
            Edge(cursor=encode_cursor("note", n.id), node=Note.from_model(n)) for n in rows[:limit]
        ]

        async def count() -> int:
            return await info.context.loaders.note_count_by_issue.load(self.pk)

        return NoteConnection(
            edges=edges, page_info=page_info(edges, len(rows) > limit, after), counter=count
        )

    # -- links, from this issue's side ---------------------------------------------------

    # The link lists answer at once where their page is loaded already (a list of issues
    # loads its issues' pages ahead, level by level: `prefetch_links`), else later.

    @strawberry.field(
        description="Linked issues from this issue's side, oldest link first, leaving out "
        "issues the viewer may not read. `linkTypes` filters by the type as read from here "
        "(IS_BLOCKED_BY: what blocks this issue); null means every type."
    )
    def links(
        self,
        info: Info,
        link_types: list[LinkType] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> LinkedIssues:
        types = None if link_types is None else frozenset(link_types)
        return _linked(info, self.pk, types, first, after)

    @strawberry.field(description="Issues that block this one (IS_BLOCKED_BY links).")
    def blocked_by(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssues:
        return _linked(info, self.pk, _IS_BLOCKED_BY, first, after)

    @strawberry.field(description="Issues this one blocks (BLOCKS links).")
    def blocking(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssues:
        return _linked(info, self.pk, _BLOCKS, first, after)

    @strawberry.field(description="Issues related to this one (RELATES_TO links).")
    def related_issues(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssues:
        return _linked(info, self.pk, _RELATES_TO, first, after)

    @strawberry.field(description="Sub-issues (PARENT_OF links).")
    def children(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssues:
        return _linked(info, self.pk, _PARENT_OF, first, after)

    @strawberry.field(description="The parent issue, if it has one the viewer may read.")
    def parent(self, info: Info) -> Issue | None:
        connection: Any = _linked(info, self.pk, _CHILD_OF, 1, None)
        if not inspect.isawaitable(connection):
            return _first_node(connection)

        async def later() -> Issue | None:
            return _first_node(await connection)

        return cast("Issue | None", later())

    @strawberry.field(description="How many readable issues block this one.")
    async def blocked_by_count(self, info: Info) -> int:
        return await info.context.loaders.linked_issue_count.load((self.pk, _IS_BLOCKED_BY))

    @strawberry.field(description="How many readable issues this one blocks.")
    async def blocking_count(self, info: Info) -> int:
        return await info.context.loaders.linked_issue_count.load((self.pk, _BLOCKS))

    @strawberry.field(description="True when an open issue the viewer may read blocks this one.")
    async def is_blocked(self, info: Info) -> bool:
        return await info.context.loaders.blocked_by_open_issue.load(self.pk)

    # -- the dependency graph ------------------------------------------------------------

    @strawberry.field(
        description="The transitive closure of links from this issue (itself not included), "
        "walked in PostgreSQL through issues the viewer may read. `linkTypes` names link "
        "kinds (an inverse name counts as its kind); `states` limits the issues walked "
        "through and returned; `first` caps the nodes (at most 10000, nearest first)."
    )
    async def dependencies(
        self,
        info: Info,
        direction: Direction = Direction.UPSTREAM,
        link_types: list[LinkType] | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
        states: list[IssueState] | None = None,
        first: int | None = None,
    ) -> DependencyGraphRef:
        from issuegraph.schema import graph  # noqa: PLC0415  (graph.py imports this module)

        types = [LinkType.BLOCKS] if link_types is None else link_types  # [] is an error
        return await graph.dependencies(
            info, self.model, direction, types, max_depth, states, first
        )

    @strawberry.field(description="Open issues that block this one, transitively, nearest first.")
    async def open_blockers(self, info: Info) -> list[Issue]:
        from issuegraph.schema import graph  # noqa: PLC0415

        return await graph.open_blockers(info, self.model)

    @strawberry.field(description="Counts of the transitive blockers, open and closed.")
    async def blocker_rollup(self, info: Info) -> RollupRef:
        from issuegraph.schema import graph  # noqa: PLC0415

        return await graph.blocker_rollup(info, self.model)

    @strawberry.field(description="Counts of all sub-issues (children, theirs, ...).")
    async def children_rollup(self, info: Info) -> RollupRef:
        from issuegraph.schema import graph  # noqa: PLC0415

        return await graph.children_rollup(info, self.model)

    @strawberry.field(
        description="The longest chain of open blockers ending at this issue: by number of "
        "issues, or by summed weight when `weighted`."
    )
    async def critical_path(self, info: Info, weighted: bool = False) -> CriticalPathRef:
        from issuegraph.schema import graph  # noqa: PLC0415

        return await graph.critical_path(info, self.model, weighted=weighted)


# Issue fields that read through a loader, by what they need loaded.
_PROJECT_FIELDS = frozenset({"project", "webUrl", "reference"})
_USER_FIELDS = {"author": "author_id", "closedBy": "closed_by_id"}
_ASSIGNEE_FIELDS = frozenset({"assignees", "assignee"})


def _fields_at(
    selections: Iterable[SelectionNode],
    path: Sequence[str],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> list[FieldNode]:
    """The field nodes selected at `path` below `selections`, through fragments.

    It reads the document's nodes along `path` only (Strawberry's `selected_fields`
    would convert the whole subtree first); directives are not evaluated, so a field
    under @skip may be loaded ahead for nothing, never missed.
    """
    found: list[FieldNode] = []
    for selection in selections:
        inner: SelectionSetNode | None = None
        rest = path
        if isinstance(selection, FieldNode):
            if not path:
                found.append(selection)
            elif selection.name.value == path[0]:
                inner, rest = selection.selection_set, path[1:]
        elif isinstance(selection, InlineFragmentNode):
            inner = selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            inner = fragment.selection_set if fragment is not None else None
        if inner is not None:
            found.extend(_fields_at(inner.selections, rest, fragments))
    return found


def _selected(
    selections: Iterable[SelectionNode],
    path: Sequence[str],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> set[str]:
    """Names of the fields selected at `path` below `selections` (see `_fields_at`)."""
    return {node.name.value for node in _fields_at(selections, path, fragments)}


def _related(wanted: set[str]) -> Related:
    """What fields of an issue named `wanted` read through loaders."""
    return Related(
        projects=not wanted.isdisjoint(_PROJECT_FIELDS),
        user_columns=tuple(column for name, column in _USER_FIELDS.items() if name in wanted),
        assignees=not wanted.isdisjoint(_ASSIGNEE_FIELDS),
    )


def prefetch_plan(info: Info, path: Sequence[str] = ("edges", "node")) -> Related:
    """What the selection at `path` of this field reads of its issues through loaders
    (with `path` empty, of the field's own issue).

    Worked out once per field node and request: a list of 50 issues asks 50 times.
    """
    node = info._raw_info.field_nodes[0]  # noqa: SLF001  (the AST node Strawberry's Info wraps)
    plans = info.context.loaders.prefetch_plans
    key = (id(node), tuple(path))
    known = plans.get(key)
    if known is not None and known[0] is node:
        return known[1]
    plan = _related(_selected(_below(info), path, info._raw_info.fragments))  # noqa: SLF001
    plans[key] = (node, plan)  # the node kept alive, so its id is not reused
    return plan


_IS_BLOCKED_BY = frozenset({LinkType.IS_BLOCKED_BY})
_BLOCKS = frozenset({LinkType.BLOCKS})
_RELATES_TO = frozenset({LinkType.RELATES_TO})
_PARENT_OF = frozenset({LinkType.PARENT_OF})
_CHILD_OF = frozenset({LinkType.CHILD_OF})


def page_info(edges: Sequence[Edge[Any] | Any], has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


@functools.cache
def _links_module() -> ModuleType:
    """`schema.links`, which imports this module: found once, not per page of links."""
    return importlib.import_module("issuegraph.schema.links")


def _first_node(connection: LinkedIssueConnection) -> Issue | None:
    return connection.edges[0].node if connection.edges else None


def _linked(
    info: Info,
    issue_id: int,
    types: frozenset[LinkType] | None,
    first: int | None,
    after: str | None,
) -> LinkedIssueConnection:
    """An issue's page of links: at once when it is loaded (see `prefetch_links`), else an
    awaitable of it (the declared type is the value's, as for `now_or_later`)."""
    limit = page_size(first)
    cursor = decode_link_cursor(after)
    # What the page's issues' fields read (assignee ids, users, projects) comes with it.
    key: LinksKey = (issue_id, types, limit + 1, cursor, prefetch_plan(info))
    rows = info.context.loaders.linked_issues.peek(key)
    if rows is MISSING:
        return cast("LinkedIssueConnection", _linked_later(info, key, after))
    return _connection(info, key, rows, after)


async def _linked_later(info: Info, key: LinksKey, after: str | None) -> LinkedIssueConnection:
    rows = await info.context.loaders.linked_issues.load(key)
    # The link lists of the page's issues, and theirs, level by level, before they run.
    await prefetch_links(info, [([r.issue.id for r in rows[: key[2] - 1]], _below(info), _NODES)])
    return _connection(info, key, rows, after)


def _connection(
    info: Info, key: LinksKey, rows: list[LinkedIssue], after: str | None
) -> LinkedIssueConnection:
    links = _links_module()
    issue_link, edge_type = links.IssueLink, links.LinkedIssueEdge
    issue_id, types, asked = key[0], key[1], key[2]
    limit = asked - 1
    edges = [
        built(
            edge_type,
            {
                "node": Issue.from_model(r.issue),
                "link": issue_link.from_model(r.link),
                "link_type": seen_from(r.link.link_type, is_source=r.link.source_id == issue_id),
                "link_created_at": r.link.created_at,
                "link_updated_at": r.link.updated_at,
            },
        )
        for r in rows[:limit]
    ]
    loaders = info.context.loaders

    async def count() -> int:
        return await loaders.linked_issue_count.load((issue_id, types))

    connection: LinkedIssueConnection = links.LinkedIssueConnection(
        edges=edges,
        has_next_page=len(rows) > limit,
        has_previous_page=after is not None,
        counter=count,
    )
    return connection


# Issue's fields that list linked issues: the link types each reads (None: those its
# `linkTypes` argument names), whether it is `parent` (one issue, not a page), and where
# its issues are in its selection.
_LINK_LISTS: Final[dict[str, frozenset[LinkType] | None]] = {
    "links": None,
    "blockedBy": _IS_BLOCKED_BY,
    "blocking": _BLOCKS,
    "relatedIssues": _RELATES_TO,
    "children": _PARENT_OF,
    "parent": _CHILD_OF,
}
_NODES: Final = ("edges", "node")

# (issue ids, the selections below which their fields are, the path to them there)
LinkWork = tuple[list[int], list[SelectionNode], tuple[str, ...]]


def _below(info: Info) -> list[SelectionNode]:
    """The selections of this field's nodes (merged, as for a response key)."""
    return [
        selection
        for node in info._raw_info.field_nodes  # noqa: SLF001  (the nodes Strawberry's Info wraps)
        if node.selection_set is not None
        for selection in node.selection_set.selections
    ]


async def prefetch_links(info: Info, work: list[LinkWork]) -> None:
    """Load, a statement per kind of page and level, the pages of links that the link-list
    fields selected for these issues will read, and those of their pages' issues below,
    so that each field answers at once (`_linked`) instead of each waiting for its own
    share of a batch. A field whose arguments are wrong is left to its resolver, which
    reports it where it belongs."""
    loaders = info.context.loaders
    while work:
        # Every key of a level is asked for in one tick: one batch, one await each.
        asked: list[tuple[Awaitable[list[list[LinkedIssue]]], LinkWork, int]] = []
        for issue_ids, selections, path in work:
            if not issue_ids:
                continue
            for name, nodes in _link_lists_at(info, selections, path):
                tail = _links_key_tail(info, name, nodes)
                if tail is None:
                    continue
                keys: list[LinksKey] = [(issue_id, *tail) for issue_id in issue_ids]
                below = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
                # `parent`'s issue's fields are its selection's own, not below edges.node
                next_path: tuple[str, ...] = () if name == "parent" else _NODES
                asked.append(
                    (loaders.linked_issues.load_many(keys), ([], below, next_path), tail[1] - 1)
                )
        work = []
        for answer, (shown, below, next_path), limit in asked:
            shown.extend(r.issue.id for rows in await answer for r in rows[:limit])
            work.append((shown, below, next_path))


def _link_lists_at(
    info: Info, selections: list[SelectionNode], path: tuple[str, ...]
) -> list[tuple[str, list[FieldNode]]]:
    """The link-list fields selected at `path` below `selections`: per response key, the
    field's name and its nodes (one field, asked alike: validation sees to it)."""
    found: dict[str, tuple[str, list[FieldNode]]] = {}
    for node in _fields_at(selections, path, info._raw_info.fragments):  # noqa: SLF001
        name = node.name.value
        if name in _LINK_LISTS:
            key = node.alias.value if node.alias else name
            found.setdefault(key, (name, []))[1].append(node)
    return list(found.values())


def _links_key_tail(
    info: Info, name: str, nodes: list[FieldNode]
) -> tuple[frozenset[LinkType] | None, int, tuple[dt.datetime, int] | None, Related] | None:
    """The loader key's (types, page size asked, cursor, related) of a link-list field as
    its resolver will ask; None when its arguments do not convert (the resolver says why).
    A key that missed would only load a page nobody reads: the resolver asks by its own."""
    raw = info._raw_info  # noqa: SLF001
    field = cast("GraphQLObjectType", raw.schema.type_map["Issue"]).fields[name]
    definition = field.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    strawberry_schema = raw.schema._strawberry_schema  # type: ignore[attr-defined]  # noqa: SLF001
    # graphql-core's info holds the coerced values (a dict), whatever its annotation says;
    # they are all that the arguments read.
    held: Any = raw.variable_values
    variables = held if isinstance(held, VariableValues) else VariableValues({}, held)
    try:
        arguments = convert_arguments(
            get_argument_values(field, nodes[0], variables),
            definition.arguments,
            scalar_registry=strawberry_schema.schema_converter.scalar_registry,
            config=strawberry_schema.config,
        )
        types = _LINK_LISTS[name]
        if name == "links":
            named = arguments.get("link_types")
            types = None if named is None else frozenset(named)
        parent = name == "parent"
        limit = 1 if parent else page_size(arguments.get("first"))
        cursor = None if parent else decode_link_cursor(arguments.get("after"))
    except Exception:  # noqa: BLE001  (left to the resolver, which raises it in place)
        return None
    below = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
    return types, limit + 1, cursor, _related(_selected(below, _NODES, raw.fragments))


@strawberry.type(description="A comment on an issue.")
class Note:
    database_id: int
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime
    author_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, note: models.Note) -> Self:
        return cls(
            database_id=note.id,
            body=note.body,
            created_at=note.created_at,
            updated_at=note.updated_at,
            author_id=note.author_id,
        )

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        return await load_user(info, self.author_id)


@strawberry.type
class NoteConnection(Connection[Note]):
    pass


@strawberry.type
class IssueConnection(Connection[Issue]):
    pass
