"""The change log's rules: what each write records, where a reader resumes, who sees what.

Writers (domain/issues.py, domain/links.py) append events through `db.queries.events`
in the transaction of their change, built here. Readers (the `events` query, the
subscriptions, the webhook deliveries) name a position by an opaque cursor and see an
event only while the viewer may read every issue it names, now (docs/events.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from issuegraph.db.queries import events as event_queries
from issuegraph.db.queries.events import NewEvent
from issuegraph.domain.errors import bad_input, not_found
from issuegraph.models import (
    Change,
    Event,
    EventKind,
    Issue,
    IssueLink,
    IssueSnapshot,
    IssueState,
    Position,
)

if TYPE_CHECKING:
    from issuegraph.domain.access import Access

MAX_POSITION = 2**63 - 1
# The fields of an issue whose change an update event records, by their GraphQL names.
TRACKED_FIELDS = {
    "title": "title",
    "description": "description",
    "state": "state",
    "labels": "labels",
    "milestone": "milestone",
    "due_date": "dueDate",
    "confidential": "confidential",
    "weight": "weight",
}


def encode_cursor(position: Position) -> str:
    """An event's cursor: `["event",[xid,id]]` in URL-safe base64, like every cursor."""
    text = f'["event",[{position.xid:d},{position.id:d}]]'
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, path: Sequence[str | int] = ("after",)) -> Position:
    """The position an event cursor names; anything else is a BAD_USER_INPUT."""
    invalid = bad_input(f"{path[-1]} is not a valid event cursor", path)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, (xid, event_id) = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise invalid from None
    if kind != "event" or not all(
        type(n) is int and 0 <= n <= MAX_POSITION for n in (xid, event_id)
    ):
        raise invalid
    return Position(xid, event_id)


# -- what a write records ---------------------------------------------------------------------


def snapshot(issue: Issue) -> IssueSnapshot:
    return IssueSnapshot(
        id=issue.id,
        project_id=issue.project_id,
        iid=issue.iid,
        title=issue.title,
        state=issue.state,
        confidential=issue.confidential,
        author_id=issue.author_id,
    )


def issue_created(issue: Issue, actor: int | None) -> NewEvent:
    return NewEvent(EventKind.ISSUE_CREATED, actor, (snapshot(issue),))


def issue_deleted(issue: Issue, actor: int | None) -> NewEvent:
    return NewEvent(EventKind.ISSUE_DELETED, actor, (snapshot(issue),))


def _json_value(value: Any) -> Any:
    if isinstance(value, IssueState):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def issue_updated(
    before: Issue,
    after: Issue,
    actor: int | None,
    *,
    assignees: tuple[Sequence[int], Sequence[int]] | None = None,
) -> NewEvent | None:
    """The event of an update, or None when nothing changed. Closing or reopening names
    the event; every other changed field is listed with its old and new value."""
    changes = [
        Change(
            name, _json_value(getattr(before, attribute)), _json_value(getattr(after, attribute))
        )
        for attribute, name in TRACKED_FIELDS.items()
        if getattr(before, attribute) != getattr(after, attribute)
    ]
    if assignees is not None and sorted(assignees[0]) != sorted(assignees[1]):
        changes.append(Change("assigneeIds", sorted(assignees[0]), sorted(assignees[1])))
    if not changes:
        return None
    kind = EventKind.ISSUE_UPDATED
    if before.state != after.state:
        kind = (
            EventKind.ISSUE_CLOSED if after.state is IssueState.CLOSED else EventKind.ISSUE_REOPENED
        )
    return NewEvent(kind, actor, (snapshot(after),), changes=tuple(changes))


def link_event(
    kind: EventKind,
    link: IssueLink,
    ends: Iterable[Issue],
    actor: int | None,
    *,
    silent: bool = False,
    before: IssueLink | None = None,
) -> NewEvent:
    """A link's event; `ends` holds (at least) its two issues; `before` is the link as it
    was, for an update."""
    by_id = {issue.id: issue for issue in ends}
    changes: tuple[Change, ...] = ()
    if before is not None:
        changes = tuple(
            Change(name, old, new)
            for name, old, new in (
                ("linkType", before.link_type.value, link.link_type.value),
                ("sourceId", before.source_id, link.source_id),
                ("targetId", before.target_id, link.target_id),
            )
            if old != new
        )
    return NewEvent(
        kind,
        actor,
        (snapshot(by_id[link.source_id]), snapshot(by_id[link.target_id])),
        link_id=link.id,
        link_type=link.link_type,
        silent=silent,
        changes=changes,
    )


# -- who sees what ----------------------------------------------------------------------------


async def can_read_issue_of(access: Access, issue: IssueSnapshot) -> bool:
    """The read rule for an issue an event names: on the issue as it is now, or, once it
    was deleted, on the issue as the event last saw it, in its project as it is now."""
    current = await access.issue_by_id(issue.id)
    if current is not None:
        return True
    return not await access.issue_exists(issue.id) and await access.can_read_issue(issue)


async def scope(
    access: Access, project_ref: str | None, iid: int | None
) -> tuple[int | None, int | None]:
    """The project and issue ids a reader of the log narrows to, as a client names them (a
    project reference, an iid in it): NOT_FOUND for what the viewer may not read."""
    if project_ref is None:
        if iid is not None:
            raise bad_input("issue needs a project", ["issue"])
        return None, None
    project = await access.project(project_ref)
    if project is None:
        raise not_found("Project", ["project"])
    if iid is None:
        return project.id, None
    issue = await access.issue(project, iid)
    if issue is None:
        raise not_found("Issue", ["issue"])
    return project.id, issue.id


async def visible(access: Access, event: Event) -> bool:
    """May the viewer see the event: does the viewer read every issue it names, now?"""
    results = await asyncio.gather(*(can_read_issue_of(access, i) for i in event.issues))
    return all(results)


async def visible_events(access: Access, events: Sequence[Event]) -> list[Event]:
    flags = await asyncio.gather(*(visible(access, event) for event in events))
    return [event for event, shown in zip(events, flags, strict=True) if shown]


# -- history ----------------------------------------------------------------------------------

# A page reads the log in batches until it holds `first` visible events; it stops after
# scanning this many batches, with `has_next` and an end cursor past what it scanned, so
# that a viewer who sees little of a busy log still gets an answer at once.
MAX_BATCHES = 10


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    has_next: bool
    # The position after which the next page starts: the last event scanned, shown or not.
    end: Position | None


async def history(
    access: Access,
    pool: Any,
    *,
    after: Position,
    first: int,
    project_id: int | None = None,
    issue_id: int | None = None,
    kinds: Collection[EventKind] | None = None,
) -> EventPage:
    """The events after `after` that the viewer sees, oldest first, at most `first`."""
    shown: list[Event] = []
    position = after
    scanned_to: Position | None = None
    batch = min(max(first * 2, 20), 200)
    for _ in range(MAX_BATCHES):
        found = await event_queries.events_after(
            pool,
            position,
            limit=batch + 1,
            project_id=project_id,
            issue_id=issue_id,
            kinds=kinds,
        )
        more = len(found) > batch
        found = found[:batch]
        for event in await visible_events(access, found):
            if len(shown) == first:
                return EventPage(shown, has_next=True, end=shown[-1].position)
            shown.append(event)
        if found:
            position = scanned_to = found[-1].position
        if not more:
            return EventPage(shown, has_next=False, end=scanned_to)
    return EventPage(shown, has_next=True, end=scanned_to)
