"""The change log: appending events inside a writer's transaction, reading them in order.

Readers see only events below the horizon `pg_snapshot_xmin(pg_current_snapshot())` and
order them by (xid, id): see db/migrations/0004_change_log.sql and docs/events.md for why
that is the order in which no event can appear behind a position already read.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from issuegraph.models import (
    Change,
    Event,
    EventKind,
    IssueSnapshot,
    IssueState,
    Position,
    StoredLinkType,
)

CHANNEL = "issuegraph_events"

HORIZON = "pg_snapshot_xmin(pg_current_snapshot())"
_COLUMNS = (
    "e.id, e.xid::text::bigint as xid, e.kind, e.actor_id, e.occurred_at, e.silent,"
    " e.data::text as data, e.link_id, e.link_type::text as link_type"
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    kind: EventKind
    actor_id: int | None
    issues: tuple[IssueSnapshot, ...]
    link_id: int | None = None
    link_type: StoredLinkType | None = None
    silent: bool = False
    changes: tuple[Change, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "actor_id": self.actor_id,
            "project_ids": list(dict.fromkeys(i.project_id for i in self.issues)),
            "issue_ids": [i.id for i in self.issues],
            "link_id": self.link_id,
            "link_type": self.link_type.value if self.link_type else None,
            "silent": self.silent,
            "data": {
                "issues": [_snapshot_json(i) for i in self.issues],
                "changes": [
                    {"field": c.field, "before": c.before, "after": c.after} for c in self.changes
                ],
            },
        }


def _snapshot_json(issue: IssueSnapshot) -> dict[str, Any]:
    return {
        "id": issue.id,
        "projectId": issue.project_id,
        "iid": issue.iid,
        "title": issue.title,
        "state": issue.state.value,
        "confidential": issue.confidential,
        "authorId": issue.author_id,
    }


def _snapshot(data: dict[str, Any]) -> IssueSnapshot:
    return IssueSnapshot(
        id=data["id"],
        project_id=data["projectId"],
        iid=data["iid"],
        title=data["title"],
        state=IssueState(data["state"]),
        confidential=data["confidential"],
        author_id=data["authorId"],
    )


def to_event(row: Any) -> Event:
    data = json.loads(row["data"])
    return Event(
        id=row["id"],
        xid=row["xid"],
        kind=EventKind(row["kind"]),
        actor_id=row["actor_id"],
        occurred_at=row["occurred_at"],
        silent=row["silent"],
        issues=tuple(_snapshot(i) for i in data["issues"]),
        link_id=row["link_id"],
        link_type=StoredLinkType(row["link_type"]) if row["link_type"] else None,
        changes=tuple(Change(c["field"], c["before"], c["after"]) for c in data["changes"]),
    )


async def append(conn: Any, events: Sequence[NewEvent]) -> None:
    """Append `events`, in their order, in the caller's transaction: one statement, whose
    trigger wakes the listeners once the transaction commits."""
    if not events:
        return
    await conn.execute(
        """
        insert into events (kind, actor_id, project_ids, issue_ids, link_id, link_type,
                            silent, data)
        select e.kind, e.actor_id, e.project_ids, e.issue_ids, e.link_id,
               e.link_type::link_type, e.silent, e.data
          from rows from (
                   jsonb_to_recordset($1::text::jsonb)
                   as (kind text, actor_id bigint, project_ids bigint[], issue_ids bigint[],
                       link_id bigint, link_type text, silent boolean, data jsonb)
               ) with ordinality as e(kind, actor_id, project_ids, issue_ids, link_id,
                                      link_type, silent, data, n)
         order by e.n
        """,
        json.dumps([event.as_json() for event in events], separators=(",", ":")),
    )


async def horizon(conn: Any) -> Position:
    """The position from which everything not yet readable will appear: a reader that
    starts here misses nothing that commits from now on."""
    xmin: int = await conn.fetchval(f"select {HORIZON}::text::bigint")
    return Position(xmin, 0)


async def events_after(
    conn: Any,
    after: Position,
    *,
    limit: int,
    project_id: int | None = None,
    issue_id: int | None = None,
    kinds: Collection[EventKind] | None = None,
    include_silent: bool = True,
) -> list[Event]:
    """Up to `limit` events past `after`, in log order, below the horizon."""
    rows = await conn.fetch(
        f"""
        select {_COLUMNS}
          from events e
         where (e.xid, e.id) > ($1::text::xid8, $2::bigint)
           and e.xid < {HORIZON}
           and ($3::bigint is null or e.project_ids @> array[$3::bigint])
           and ($4::bigint is null or e.issue_ids @> array[$4::bigint])
           and ($5::text[] is null or e.kind = any($5::text[]))
           and ($6::boolean or not e.silent)
         order by e.xid, e.id
         limit $7
        """,
        str(after.xid),
        after.id,
        project_id,
        issue_id,
        sorted(kind.value for kind in kinds) if kinds is not None else None,
        include_silent,
        limit,
    )
    return [to_event(row) for row in rows]


async def event_by_id(conn: Any, event_id: int) -> Event | None:
    row = await conn.fetchrow(f"select {_COLUMNS} from events e where e.id = $1", event_id)
    return to_event(row) if row else None
