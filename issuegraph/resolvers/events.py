"""Root fields of the change log: the history of changes the viewer may see (`events`),
and the same changes live (the subscriptions, fed by `domain.live.Hub`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

import strawberry

from issuegraph.context import Info
from issuegraph.domain import events as event_rules
from issuegraph.domain.errors import bad_input
from issuegraph.domain.events import decode_cursor
from issuegraph.domain.link_types import LinkType, canonical
from issuegraph.domain.live import Filter
from issuegraph.models import ISSUE_KINDS, LINK_KINDS, EventKind, Position
from issuegraph.schema.events import ChangeEvent, ChangeEventConnection, load_event_page
from issuegraph.schema.execution import Delivery
from issuegraph.schema.issues import EVENT_MAKERS


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="Changes to issues and links, oldest first, from the change log: those "
        "the viewer sees now. `project` (an id or a full path) and `issue` (an iid in that "
        "project) narrow it; `after` resumes from an event's cursor."
    )
    async def events(
        self,
        info: Info,
        project: strawberry.ID | None = None,
        issue: int | None = None,
        kinds: list[EventKind] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ChangeEventConnection:
        project_id, issue_id = await event_rules.scope(
            info.context.access, None if project is None else str(project), issue
        )
        return await load_event_page(
            info,
            EVENT_MAKERS,
            project_id=project_id,
            issue_id=issue_id,
            kinds=kinds,
            first=first,
            after=after,
        )


# -- subscriptions ----------------------------------------------------------------------------

_LINK_TYPES_DOC = (
    " `linkTypes` keeps the links of those types; a type and its inverse name the same links "
    "(BLOCKS and IS_BLOCKED_BY both mean blocks links)."
)
_RESUME_DOC = (
    " With `after` (an event's cursor) it first replays the events after it, then goes on "
    "live with no gap and no duplicate; without, it starts with the first change that "
    "commits after it was subscribed. Silent events are never pushed; an event is pushed "
    "only while the viewer may read every issue it names."
)


async def _live_filter(
    info: Info,
    project: strawberry.ID | None,
    issue: int | None,
    kinds: frozenset[EventKind],
    link_types: list[LinkType] | None = None,
) -> Filter:
    """The filter of a subscription's arguments, checked with fresh reads (NOT_FOUND for
    a project or issue the viewer may not read)."""
    ctx = info.context
    if ctx.live is None:
        raise bad_input("Subscriptions are served over WebSocket at /graphql")
    project_id, issue_id = await event_rules.scope(
        ctx.live.reads(ctx.viewer).access, None if project is None else str(project), issue
    )
    stored = None
    if link_types is not None:
        stored = frozenset(canonical(link_type)[0] for link_type in link_types)
    return Filter(kinds=kinds, project_id=project_id, issue_id=issue_id, link_types=stored)


async def _start(info: Info, after: str | None) -> Position:
    if after is not None:
        return decode_cursor(after)
    assert info.context.live is not None  # noqa: S101  (checked by _live_filter)
    return await info.context.live.horizon()


async def _deliveries(info: Info, wanted: Filter, start: Position) -> AsyncGenerator[Any, None]:
    """The subscription's events, each a `Delivery` (typed as the field's ChangeEvent)."""
    ctx = info.context
    assert ctx.live is not None  # noqa: S101
    async for event, reads in ctx.live.follow(ctx.viewer, wanted, start):
        # Its fields resolve with the reads it was checked with, not the connection's.
        context = replace(ctx, loaders=reads.loaders, access=reads.access)
        yield Delivery(ChangeEvent.of(event, EVENT_MAKERS), context)


@strawberry.type
class EventSubscription:
    @strawberry.subscription(
        description="Link events as they happen (link created, updated, deleted). "
        "`project` (an id or a full path) keeps the links with an end in it, `issue` (an "
        "iid in that project) those of one issue." + _LINK_TYPES_DOC + _RESUME_DOC
    )
    async def issue_link_events(
        self,
        info: Info,
        project: strawberry.ID | None = None,
        issue: int | None = None,
        link_types: list[LinkType] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[ChangeEvent, None]:
        wanted = await _live_filter(info, project, issue, LINK_KINDS, link_types)
        start = await _start(info, after)
        async for delivery in _deliveries(info, wanted, start):
            yield delivery

    @strawberry.subscription(
        description="The changes to a project's issues as they happen, or to one issue's "
        "(`issue`, an iid). By default the issue events; `kinds` chooses, link kinds "
        "included." + _RESUME_DOC
    )
    async def issue_events(
        self,
        info: Info,
        project: strawberry.ID,
        issue: int | None = None,
        kinds: list[EventKind] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[ChangeEvent, None]:
        chosen = ISSUE_KINDS if kinds is None else frozenset(kinds)
        wanted = await _live_filter(info, project, issue, chosen)
        start = await _start(info, after)
        async for delivery in _deliveries(info, wanted, start):
            yield delivery
