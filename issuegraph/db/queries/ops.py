"""What operators watch (/metrics): the backlogs of the change log's readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from issuegraph.db.queries.events import HORIZON
from issuegraph.models import Position

# Counting stops here: a backlog this long says enough, and the count stays cheap.
BACKLOG_CAP: Final = 100_000


@dataclass(frozen=True, slots=True)
class Backlogs:
    webhook_events: int  # committed events the webhook dispatcher has not fanned out yet
    webhook_deliveries: int  # deliveries pending (not yet sent, not given up)
    subscription_events: int  # committed non-silent events past a reader's position


async def backlogs(conn: Any, reader: Position | None) -> Backlogs:
    """The backlogs now; `reader` is a subscription reader's position (None: not reading)."""
    row = await conn.fetchrow(
        f"""
        select
          (select count(*) from (
             select 1 from events e, webhook_cursor c
              where (e.xid, e.id) > (c.xid, c.id) and e.xid < {HORIZON}
              limit $3) w) as webhook_events,
          (select count(*) from (
             select 1 from webhook_deliveries where status = 'pending' limit $3) d)
            as webhook_deliveries,
          case when $1::text is null then 0 else (select count(*) from (
             select 1 from events e
              where (e.xid, e.id) > ($1::text::xid8, $2::bigint) and e.xid < {HORIZON}
                and not e.silent
              limit $3) s) end as subscription_events
        """,
        None if reader is None else str(reader.xid),
        0 if reader is None else reader.id,
        BACKLOG_CAP,
    )
    return Backlogs(row["webhook_events"], row["webhook_deliveries"], row["subscription_events"])
