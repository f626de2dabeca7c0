"""Change events: ChangeEvent, the issues and link it names, and a page of them.

An event names issues that may have been deleted since, so it shows them as the event saw
them (`EventIssue`), with the issue as it is now in `current`. This module names Issue
and Project by annotation only; whoever makes an event passes how to make them
(`Makers`), as `schema.issues` and `resolvers.events` both do: the modules import in one
direction (docs/architecture.md, "Types that refer to each other").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry.scalars import JSON

from issuegraph import models
from issuegraph.context import Info
from issuegraph.domain import events as event_rules
from issuegraph.domain.link_types import LinkType, seen_from
from issuegraph.models import EventKind, IssueState
from issuegraph.schema.pagination import PageInfo, page_size
from issuegraph.schema.users import User, load_user

if TYPE_CHECKING:
    LazyIssue = Any
    LazyProject = Any
else:
    LazyIssue = Annotated["Issue", strawberry.lazy("issuegraph.schema.issues")]  # noqa: F821
    LazyProject = Annotated["Project", strawberry.lazy("issuegraph.schema.issues")]  # noqa: F821

ChangeEventKindEnum = strawberry.enum(
    EventKind,
    name="ChangeEventKind",
    description="What a change event records.",
)


@dataclass(frozen=True, slots=True)
class Makers:
    """How to make the schema's Issue and Project, given by the module that defines them."""

    issue: Callable[[models.Issue], Any]
    project: Callable[[models.Project], Any]


@strawberry.type(description="An issue as a change event saw it; `current` is the issue now.")
class EventIssue:
    database_id: int = strawberry.field(description="The issue's numeric id.")
    iid: int
    title: str = strawberry.field(description="The title when the event happened.")
    state: IssueState = strawberry.field(description="The state just after the event.")
    snapshot: strawberry.Private[models.IssueSnapshot]
    makers: strawberry.Private[Makers]

    @classmethod
    def of(cls, issue: models.IssueSnapshot, makers: Makers) -> Self:
        return cls(
            database_id=issue.id,
            iid=issue.iid,
            title=issue.title,
            state=issue.state,
            snapshot=issue,
            makers=makers,
        )

    @strawberry.field(description="The issue's project.")
    async def project(self, info: Info) -> LazyProject:
        project = await info.context.loaders.project_by_id.load(self.snapshot.project_id)
        assert project is not None  # noqa: S101  (projects are never deleted)
        return self.makers.project(project)

    @strawberry.field(description='The reference, e.g. "group/project#12".')
    async def reference(self, info: Info) -> str:
        project = await info.context.loaders.project_by_id.load(self.snapshot.project_id)
        assert project is not None  # noqa: S101
        return f"{project.full_path}#{self.iid}"

    @strawberry.field(description="The issue as it is now; null once it has been deleted.")
    async def current(self, info: Info) -> LazyIssue | None:
        issue = await info.context.access.issue_by_id(self.snapshot.id)
        return self.makers.issue(issue) if issue else None


@strawberry.type(description="The link a link event is about, as it was just after the event.")
class EventLink:
    database_id: int = strawberry.field(description="The link's numeric id.")
    link_type: LinkType = strawberry.field(description="The type as seen from the source.")
    source: EventIssue
    target: EventIssue


@strawberry.type(description="One field an update changed, with its value before and after.")
class FieldChange:
    field: str
    before: JSON | None
    after: JSON | None


@strawberry.type(
    description="One change to an issue or a link, from the change log. Events are "
    "ordered by their cursors; one that names an issue the viewer may not read is never shown."
)
class ChangeEvent:
    database_id: int = strawberry.field(description="The event's numeric id.")
    cursor: str = strawberry.field(description="Where the event sits in the log: resume after it.")
    kind: EventKind
    occurred_at: dt.datetime
    silent: bool = strawberry.field(
        description="Written with `silent: true`: in the log, never pushed to subscribers "
        "or webhooks."
    )
    issue: EventIssue = strawberry.field(
        description="The issue an issue event is about; a link event's source."
    )
    link: EventLink | None = strawberry.field(description="A link event's link.")
    changes: list[FieldChange] = strawberry.field(
        description="What an update changed; empty for other events."
    )
    actor_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, event: models.Event, makers: Makers) -> Self:
        ends = [EventIssue.of(issue, makers) for issue in event.issues]
        link = None
        if event.link_id is not None and event.link_type is not None:
            link = EventLink(
                database_id=event.link_id,
                link_type=seen_from(event.link_type, is_source=True),
                source=ends[0],
                target=ends[1],
            )
        return cls(
            database_id=event.id,
            cursor=event_rules.encode_cursor(event.position),
            kind=event.kind,
            occurred_at=event.occurred_at,
            silent=event.silent,
            issue=ends[0],
            link=link,
            changes=[
                FieldChange(field=c.field, before=c.before, after=c.after) for c in event.changes
            ],
            actor_id=event.actor_id,
        )

    @strawberry.field(description="Who made the change.")
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self.actor_id)


@strawberry.type(description="A change event and its cursor.")
class ChangeEventEdge:
    cursor: str
    node: ChangeEvent


@strawberry.type(description="A page of change events, oldest first.")
class ChangeEventConnection:
    edges: list[ChangeEventEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[ChangeEvent]:
        return [edge.node for edge in self.edges]


def event_page(
    page: event_rules.EventPage, makers: Makers, *, after: str | None
) -> ChangeEventConnection:
    edges = [
        ChangeEventEdge(cursor=node.cursor, node=node)
        for node in (ChangeEvent.of(event, makers) for event in page.events)
    ]
    return ChangeEventConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=event_rules.encode_cursor(page.end) if page.end else None,
        ),
    )


async def load_event_page(
    info: Info,
    makers: Makers,
    *,
    project_id: int | None = None,
    issue_id: int | None = None,
    kinds: list[EventKind] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> ChangeEventConnection:
    """A page of the events the viewer sees, past `after`, filtered as given."""
    size = page_size(first)
    start = event_rules.decode_cursor(after) if after is not None else models.START
    ctx = info.context
    page = await event_rules.history(
        ctx.access,
        ctx.pool,
        after=start,
        first=size,
        project_id=project_id,
        issue_id=issue_id,
        kinds=frozenset(kinds) if kinds is not None else None,
    )
    return event_page(page, makers, after=after)
