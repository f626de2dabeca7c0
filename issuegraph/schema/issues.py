"""Issues and the projects that hold them: Issue, Project, IssueConnection, and the
inputs and payloads of the issue mutations.

Issue and Project live together because each makes the other (a project lists its issues,
an issue shows its project). Issue's fields also make the pages of links
(`schema.links`), the dependency-graph results (`schema.graph`) and the notes
(`schema.notes`), which refer to Issue by annotation only: the imports go one way, from
here.

Every field is a thin method over the request's loaders (`loaders`) and the domain's
services; what a list of issues will show is loaded ahead (`schema.lookahead`), so that
the fields marked `in_place` complete at once (`loaders.now_or_later`).
"""

from __future__ import annotations

import datetime as dt
import inspect
from typing import TYPE_CHECKING, Any, Self, cast

import strawberry
from strawberry import relay

from issuegraph import models
from issuegraph.context import Info
from issuegraph.domain import export as graph_export
from issuegraph.domain import graph
from issuegraph.domain import webhooks as hook_rules
from issuegraph.domain.graph import DEFAULT_MAX_DEPTH, Direction, GraphService
from issuegraph.domain.link_types import LinkType, seen_from
from issuegraph.loaders import MISSING, NotLoaded, now_or_later
from issuegraph.models import EventKind, IssueState, Role, Visibility
from issuegraph.schema.enums import IssueSort, IssueStateEvent
from issuegraph.schema.events import ChangeEventConnection, Makers, load_event_page
from issuegraph.schema.execution import Models, in_place, reads_model
from issuegraph.schema.graph import (
    CriticalPath,
    DependencyGraph,
    DependencyNode,
    ProjectGraph,
    Rollup,
)
from issuegraph.schema.links import IssueLink, LinkedIssueConnection, LinkedIssueEdge
from issuegraph.schema.lookahead import (
    BLOCKS,
    CHILD_OF,
    IS_BLOCKED_BY,
    NODES,
    PARENT_OF,
    RELATES_TO,
    below,
    link_page_shape,
    prefetch_links,
    related,
    selects,
)
from issuegraph.schema.notes import Note, NoteConnection
from issuegraph.schema.objects import built
from issuegraph.schema.pagination import (
    Connection,
    Edge,
    decode_id_cursor,
    encode_cursor,
    page_info,
    page_size,
)
from issuegraph.schema.payloads import UserError
from issuegraph.schema.users import User, load_user, user_or_none
from issuegraph.schema.webhooks import Webhook

if TYPE_CHECKING:
    from issuegraph.db.queries.links import LinkedIssue
    from issuegraph.loaders.links import LinkPageKey

MAX_IID = 2**31 - 1  # iids are int4


def _known(project: models.Project | None) -> models.Project:
    assert project is not None  # noqa: S101  (an issue cannot outlive its project)
    return project


def _project(project: models.Project | None) -> Project:
    return Project.from_model(_known(project))


def _author(user: User | None) -> User:
    assert user is not None  # noqa: S101  (authors are never deleted while issues exist)
    return user


# The request's one object per user and project (`Loader.make`), for the fields of issues
# that complete in place: a hundred issues share a few, and the executor shares the
# answers of one object. Once the object is made, these allocate nothing (no closure).


def _user_now(info: Info, user_id: int) -> User | NotLoaded | None:
    """The request's `User` of an id (None: no such user) if it is loaded, else MISSING."""
    return info.context.loaders.user_by_id.make(user_id, user_or_none, info)


def _project_now(info: Info, project_id: int) -> Project | NotLoaded:
    """The request's `Project` of an id if it is loaded, else MISSING."""
    return info.context.loaders.project_by_id.make(project_id, _project)


async def _load_assignees(info: Info, issue_id: int) -> list[User]:
    loaders = info.context.loaders
    users = await loaders.user_by_id.load_many(await loaders.assignee_ids_by_issue.load(issue_id))
    return [User.from_model(u, info) for u in users if u is not None]


async def _load_assignee(info: Info, issue_id: int) -> User | None:
    ids = await info.context.loaders.assignee_ids_by_issue.load(issue_id)
    return await load_user(info, ids[0]) if ids else None


def _graph(info: Info) -> GraphService:
    ctx = info.context
    return GraphService(ctx.loaders)


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
    key: str = strawberry.field(
        description="Jira's project key: issues are KEY-<iid> in the Jira REST API."
    )
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
                "key": project.key,
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

    @strawberry.field(
        description="The project's webhooks: for its maintainers and owners, and admins; "
        "anyone else gets null and a FORBIDDEN error."
    )
    async def webhooks(self, info: Info) -> list[Webhook] | None:
        ctx = info.context
        hooks = await hook_rules.webhooks_of(ctx.access, ctx.pool, self.model)
        return [Webhook.of(hook, EVENT_MAKERS) for hook in hooks]

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
        after_iid = decode_id_cursor("issue", after, maximum=MAX_IID)
        loaders = info.context.loaders
        # What the page's issues' fields read comes with it (users, projects, assignees).
        plan = related(info)
        ascending = sort is IssueSort.CREATED_ASC
        page = await loaders.issue_page_by_project.load(
            (self.pk, state, after_iid, ascending, limit + 1, plan)
        )
        rows = page.issues[:limit]
        await loaders.prefetch_issue_relations(rows, plan)
        await prefetch_links(info, [([r.id for r in rows], below(info), NODES)])
        edges = [Edge(cursor=encode_cursor("issue", r.iid), node=Issue.from_model(r)) for r in rows]

        async def count() -> int:
            return await loaders.issue_count_by_project.load((self.pk, state))

        return IssueConnection(
            edges=edges,
            page_info=page_info(edges, len(page.issues) > limit, after),
            counter=count,
        )

    @strawberry.field(
        description="The project's dependency graph, as the graph page and `issuegraph graph` "
        "show it: its issues the viewer may read that have every one of `labels` "
        "(case-insensitively; null or [] for any) and a state in `states` (null for any), the "
        "first `first` (1 to 1000) by iid, the readable issues of other projects at the far "
        "end of their links, and the links of `linkTypes` among them (an inverse name counts "
        "as its kind; null for every kind)."
    )
    async def graph(
        self,
        info: Info,
        labels: list[str] | None = None,
        states: list[IssueState] | None = None,
        link_types: list[LinkType] | None = None,
        first: int = graph_export.DEFAULT_FIRST,
    ) -> ProjectGraph:
        ctx = info.context
        graph_export.check_first(first)
        only = graph_export.graph_filter(labels, states)
        types = graph_export.link_kinds(link_types)
        found = await graph_export.project_graph(
            ctx.access,
            ctx.pool,
            ctx.loaders,
            self.model,
            types,
            only=only,
            first=first,
            hidden=selects(info, "hiddenCount"),
        )
        issues = [node.issue for node in found.nodes]
        await ctx.loaders.prefetch_issue_relations(issues, related(info, ("nodes",)))
        made = {issue.id: Issue.from_model(issue) for issue in issues}
        return ProjectGraph(
            nodes=list(made.values()),
            edges=[issue_link(link, made) for link in found.edges],
            issue_count=found.issue_count,
            truncated=found.truncated,
            hidden_count=found.hidden_count or 0,
        )

    @strawberry.field(
        description="Open issues with no open blocker the viewer may read: work that can start."
    )
    async def ready_issues(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> IssueConnection:
        limit = page_size(first)
        after_iid = decode_id_cursor("ready", after, maximum=MAX_IID)
        loaders = info.context.loaders
        rows = await loaders.ready_issue_page_by_project.load((self.pk, after_iid, limit + 1))
        edges = [
            Edge(cursor=encode_cursor("ready", r.iid), node=Issue.from_model(r))
            for r in rows[:limit]
        ]

        async def count() -> int:
            return await loaders.ready_issue_count_by_project.load(self.pk)

        return IssueConnection(
            edges=edges, page_info=page_info(edges, len(rows) > limit, after), counter=count
        )

    @strawberry.field(
        description="The project's open issues and their open blockers (in any project the "
        "viewer may read), each after everything that blocks it; ties by iid."
    )
    async def dependency_order(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> IssueConnection:
        limit = page_size(first)
        offset = decode_id_cursor("order", after) or 0
        ordered = await _graph(info).dependency_order(self.pk)
        window = ordered[offset : offset + limit]
        issues = await info.context.loaders.issue_by_id.load_many(window)
        edges = [
            Edge(cursor=encode_cursor("order", offset + n + 1), node=Issue.from_model(issue))
            for n, issue in enumerate(issues)
            if issue is not None  # deleted since the walk
        ]

        async def count() -> int:
            return len(ordered)

        return IssueConnection(
            edges=edges,
            page_info=page_info(edges, offset + limit < len(ordered), after),
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
            loader = info.context.loaders.project_by_id
            return now_or_later(loader, self.project_id, _project)
        return project

    @strawberry.field
    @in_place
    def web_url(self, info: Info) -> str:
        def url(project: models.Project | None) -> str:
            path = _known(project).full_path
            return f"{info.context.settings.public_url}/{path}/-/issues/{self.iid}"

        return now_or_later(info.context.loaders.project_by_id, self.project_id, url)

    @strawberry.field(description='The full reference, e.g. "group/project#12".')
    @in_place
    def reference(self, info: Info) -> str:
        def reference(project: models.Project | None) -> str:
            return f"{_known(project).full_path}#{self.iid}"

        return now_or_later(info.context.loaders.project_by_id, self.project_id, reference)

    @strawberry.field
    @in_place
    def author(self, info: Info) -> User:
        author_id = self.model.author_id
        user = _user_now(info, author_id)
        if user is MISSING:
            loader = info.context.loaders.user_by_id
            return now_or_later(loader, author_id, lambda u: _author(user_or_none(u, info)))
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
        loaders = info.context.loaders
        rows = await loaders.note_page_by_issue.load((self.pk, after_id, limit + 1))
        edges = [
            Edge(cursor=encode_cursor("note", n.id), node=Note.from_model(n)) for n in rows[:limit]
        ]

        async def count() -> int:
            return await loaders.note_count_by_issue.load(self.pk)

        return NoteConnection(
            edges=edges, page_info=page_info(edges, len(rows) > limit, after), counter=count
        )

    # -- links, from this issue's side ---------------------------------------------------

    # The link lists answer at once where their page is loaded already (a list of issues
    # loads its issues' pages ahead, level by level: `lookahead.prefetch_links`), else
    # later.

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
    ) -> LinkedIssueConnection:
        types = None if link_types is None else frozenset(link_types)
        return _linked(info, self, types, first, after)

    @strawberry.field(description="Issues that block this one (IS_BLOCKED_BY links).")
    def blocked_by(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssueConnection:
        return _linked(info, self, IS_BLOCKED_BY, first, after)

    @strawberry.field(description="Issues this one blocks (BLOCKS links).")
    def blocking(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssueConnection:
        return _linked(info, self, BLOCKS, first, after)

    @strawberry.field(description="Issues related to this one (RELATES_TO links).")
    def related_issues(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssueConnection:
        return _linked(info, self, RELATES_TO, first, after)

    @strawberry.field(description="Sub-issues (PARENT_OF links).")
    def children(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> LinkedIssueConnection:
        return _linked(info, self, PARENT_OF, first, after)

    @strawberry.field(description="The parent issue, if it has one the viewer may read.")
    def parent(self, info: Info) -> Issue | None:
        connection: Any = _linked(info, self, CHILD_OF, 1, None)
        if not inspect.isawaitable(connection):
            return _first_node(connection)

        async def later() -> Issue | None:
            return _first_node(await connection)

        return cast("Issue | None", later())

    @strawberry.field(description="How many readable issues block this one.")
    async def blocked_by_count(self, info: Info) -> int:
        return await info.context.loaders.link_count_by_issue.load((self.pk, IS_BLOCKED_BY))

    @strawberry.field(description="How many readable issues this one blocks.")
    async def blocking_count(self, info: Info) -> int:
        return await info.context.loaders.link_count_by_issue.load((self.pk, BLOCKS))

    @strawberry.field(description="True when an open issue the viewer may read blocks this one.")
    async def is_blocked(self, info: Info) -> bool:
        return await info.context.loaders.open_blocker_flag_by_issue.load(self.pk)

    # -- the dependency graph ------------------------------------------------------------

    @strawberry.field(
        description="The transitive closure of links from this issue (itself not included), "
        "walked through issues the viewer may read. `linkTypes` names link "
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
    ) -> DependencyGraph:
        types = [LinkType.BLOCKS] if link_types is None else link_types  # [] is an error
        found = await _graph(info).dependencies(
            self.model,
            types=graph.stored_types(types),
            direction=direction,
            max_depth=max_depth,
            states=states,
            first=first,
            rows=selects(info, "nodes", "edges"),
            hidden=selects(info, "hiddenCount"),
        )
        # Given as models: the selections that read only fields of the models complete
        # them without a schema object made (`Models`); others get the objects, made once
        # per issue, this one included, and the links' ends among them.
        made = _IssuesMade(self, [issue for issue, _ in found.nodes])
        return DependencyGraph(
            nodes=cast("list[DependencyNode]", Models(found.nodes, made.node)),
            edges=cast("list[IssueLink]", Models(found.edges, made.link)),
            depth_reached=found.depth_reached,
            truncated=found.truncated,
            hidden_count=found.hidden_count or 0,
        )

    @strawberry.field(description="Open issues that block this one, transitively, nearest first.")
    async def open_blockers(self, info: Info) -> list[Issue]:
        walk = graph.whole_walk(graph.BLOCKS, Direction.UPSTREAM, [IssueState.OPENED])
        reached = await info.context.loaders.walk_by_issue.load((self.pk, walk))
        return cast("list[Issue]", Models([r.issue for r in reached], Issue.from_model))

    @strawberry.field(description="Counts of the transitive blockers, open and closed.")
    async def blocker_rollup(self, info: Info) -> Rollup:
        walk = graph.whole_walk(graph.BLOCKS, Direction.UPSTREAM)
        return Rollup.from_counts(*await info.context.loaders.rollup_by_issue.load((self.pk, walk)))

    @strawberry.field(description="Counts of all sub-issues (children, theirs, ...).")
    async def children_rollup(self, info: Info) -> Rollup:
        walk = graph.whole_walk(graph.PARENT, Direction.DOWNSTREAM)
        return Rollup.from_counts(*await info.context.loaders.rollup_by_issue.load((self.pk, walk)))

    @strawberry.field(
        description="The longest chain of open blockers ending at this issue: by number of "
        "issues, or by summed weight when `weighted`."
    )
    async def critical_path(self, info: Info, weighted: bool = False) -> CriticalPath:
        found = await _graph(info).critical_path(self.model, weighted=weighted)
        return CriticalPath(
            issues=cast("list[Issue]", Models(found.issues, Issue.from_model)),
            issue_count=len(found.issues),
            total_weight=found.total_weight,
        )

    @strawberry.field(
        description="Changes to this issue and to its links, oldest first, from the change "
        "log: those the viewer sees (a link's, when the viewer reads both of its issues)."
    )
    async def events(
        self,
        info: Info,
        kinds: list[EventKind] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ChangeEventConnection:
        return await load_event_page(
            info, EVENT_MAKERS, issue_id=self.pk, kinds=kinds, first=first, after=after
        )


# What `from_model` gives each field, read from the issue (see `Models`).
reads_model(
    Issue,
    models.Issue,
    pk="id",
    database_id="id",
    iid="iid",
    project_id="project_id",
    title="title",
    description="description",
    state="state",
    labels="labels",
    milestone="milestone",
    due_date="due_date",
    confidential="confidential",
    weight="weight",
    created_at="created_at",
    updated_at="updated_at",
    closed_at="closed_at",
)


class _IssuesMade:
    """The schema objects of a walk's result, made when asked for: one `Issue` per issue
    (`start` for its own), a node of an (issue, distance) pair, a link between two."""

    __slots__ = ("by_id", "issues", "models")

    def __init__(self, start: Issue, reached: list[models.Issue]) -> None:
        self.issues: dict[int, Issue] = {start.pk: start}
        self.models = reached
        self.by_id: dict[int, models.Issue] | None = None

    def issue(self, issue: models.Issue) -> Issue:
        made = self.issues.get(issue.id)
        if made is None:
            made = self.issues[issue.id] = Issue.from_model(issue)
        return made

    def node(self, reached: tuple[models.Issue, int]) -> DependencyNode:
        return built(DependencyNode, {"issue": self.issue(reached[0]), "distance": reached[1]})

    def end(self, issue_id: int) -> Issue:
        made = self.issues.get(issue_id)
        if made is None:
            if self.by_id is None:
                self.by_id = {issue.id: issue for issue in self.models}
            made = self.issue(self.by_id[issue_id])
        return made

    def link(self, link: models.IssueLink) -> IssueLink:
        return IssueLink.from_model(link, self.end(link.source_id), self.end(link.target_id))


@strawberry.type
class IssueConnection(Connection[Issue]):
    pass


# How `schema.events` makes the Issue and the Project of an event.
EVENT_MAKERS = Makers(issue=Issue.from_model, project=Project.from_model)


def issue_link(link: models.IssueLink, issues: dict[int, Issue]) -> IssueLink:
    """The link, its ends found in `issues` (by id)."""
    return IssueLink.from_model(link, issues[link.source_id], issues[link.target_id])


# -- an issue's page of links ---------------------------------------------------------------


def _first_node(connection: LinkedIssueConnection) -> Issue | None:
    return connection.edges[0].node if connection.edges else None


def _linked(
    info: Info,
    issue: Issue,
    types: frozenset[LinkType] | None,
    first: int | None,
    after: str | None,
) -> LinkedIssueConnection:
    """An issue's page of links: at once when it is loaded (see `prefetch_links`), else an
    awaitable of it (the declared type is the value's, as for `now_or_later`)."""
    # What the page's issues' fields read (assignee ids, users, projects) comes with it.
    key: LinkPageKey = (issue.pk, *link_page_shape(types, first, after, related(info)))
    rows = info.context.loaders.linked_issues_by_issue.peek(key)
    if rows is MISSING:
        return cast("LinkedIssueConnection", _linked_later(info, issue, key, after))
    return _connection(info, issue, key, rows, after)


async def _linked_later(
    info: Info, issue: Issue, key: LinkPageKey, after: str | None
) -> LinkedIssueConnection:
    rows = await info.context.loaders.linked_issues_by_issue.load(key)
    # The link lists of the page's issues, and theirs, level by level, before they run.
    await prefetch_links(info, [([r.issue.id for r in rows[: key[2] - 1]], below(info), NODES)])
    return _connection(info, issue, key, rows, after)


def _connection(
    info: Info, issue: Issue, key: LinkPageKey, rows: list[LinkedIssue], after: str | None
) -> LinkedIssueConnection:
    issue_id, types, asked = key[0], key[1], key[2]
    limit = asked - 1
    edges = []
    for r in rows[:limit]:
        link = r.link
        node = Issue.from_model(r.issue)
        is_source = link.source_id == issue_id
        ends = (issue, node) if is_source else (node, issue)
        edges.append(
            built(
                LinkedIssueEdge,
                {
                    "node": node,
                    "link": IssueLink.from_model(link, *ends),
                    "link_type": seen_from(link.link_type, is_source=is_source),
                    "link_created_at": link.created_at,
                    "link_updated_at": link.updated_at,
                },
            )
        )
    loader = info.context.loaders.link_count_by_issue

    async def count() -> int:
        return await loader.load((issue_id, types))

    return LinkedIssueConnection(
        edges=edges,
        has_next_page=len(rows) > limit,
        has_previous_page=after is not None,
        counter=count,
    )


# -- the issue mutations' inputs and payloads -----------------------------------------------


@strawberry.input
class CreateIssueInput:
    project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    title: str
    description: str | None = None
    labels: list[str] | None = None
    assignee_usernames: list[str] | None = None
    confidential: bool = False
    weight: int | None = None
    due_date: dt.date | None = None
    milestone: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class IssuePayload:
    client_mutation_id: str | None
    errors: list[UserError]
    issue: Issue | None = None


@strawberry.input(description="Fields left out are not changed; null clears a nullable field.")
class UpdateIssueInput:
    project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    iid: int
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    state_event: IssueStateEvent | None = strawberry.UNSET
    labels: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all labels."
    )
    add_labels: list[str] | None = strawberry.UNSET
    remove_labels: list[str] | None = strawberry.UNSET
    assignee_usernames: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all assignees; [] unassigns everyone."
    )
    confidential: bool | None = strawberry.UNSET
    milestone: str | None = strawberry.UNSET
    due_date: dt.date | None = strawberry.UNSET
    weight: int | None = strawberry.UNSET
    client_mutation_id: str | None = None


@strawberry.input
class DeleteIssueInput:
    project: strawberry.ID
    iid: int
    client_mutation_id: str | None = None


@strawberry.type
class DeleteIssuePayload:
    client_mutation_id: str | None
    errors: list[UserError]
    issue: Issue | None = strawberry.field(default=None, description="The issue as it was.")
