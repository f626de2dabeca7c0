"""Webhooks: registrations, deliveries, attempts and the dispatcher's cursor.

The dispatcher locks the one `webhook_cursor` row, reads the change log after it (in
(xid, id) order, below the horizon: `db.queries.events.events_after`), inserts the
deliveries owed and moves the cursor, in one transaction. Senders claim due deliveries
with `for update skip locked` and a lease (docs/events.md, "Webhooks").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from issuegraph.models import (
    DeliveryStatus,
    EventKind,
    Position,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)

_HOOK_COLUMNS = (
    "id, project_id, creator_id, url, secret, kinds, enabled, disabled_reason, disabled_at,"
    " consecutive_failures, created_at, updated_at"
)
_DELIVERY_COLUMNS = (
    "id, webhook_id, event_id, message_id, redelivery, status, attempts, next_attempt_at,"
    " created_at, finished_at"
)


def to_webhook(row: Any) -> Webhook:
    return Webhook(
        id=row["id"],
        project_id=row["project_id"],
        creator_id=row["creator_id"],
        url=row["url"],
        secret=row["secret"],
        kinds=tuple(EventKind(kind) for kind in row["kinds"]),
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        disabled_at=row["disabled_at"],
        consecutive_failures=row["consecutive_failures"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event_id=row["event_id"],
        message_id=row["message_id"],
        redelivery=row["redelivery"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


# -- registrations ------------------------------------------------------------------------


async def insert_webhook(
    conn: Any,
    *,
    project_id: int,
    creator_id: int,
    url: str,
    secret: str,
    kinds: list[str],
    enabled: bool,
) -> Webhook:
    row = await conn.fetchrow(
        f"""
        insert into webhooks (project_id, creator_id, url, secret, kinds, enabled,
                              disabled_reason, disabled_at)
        values ($1, $2, $3, $4, $5::text[], $6,
                case when $6 then null else 'disabled when created' end,
                case when $6 then null else now() end)
        returning {_HOOK_COLUMNS}
        """,
        project_id,
        creator_id,
        url,
        secret,
        kinds,
        enabled,
    )
    return to_webhook(row)


async def lock_project_hooks(conn: Any, project_id: int) -> None:
    """Serialise registrations in one project until the transaction ends."""
    await conn.execute("select pg_advisory_xact_lock(7407, $1::int)", project_id % 2**31)


async def count_webhooks(conn: Any, project_id: int) -> int:
    count: int = await conn.fetchval(
        "select count(*) from webhooks where project_id = $1", project_id
    )
    return count


async def webhook_by_id(conn: Any, webhook_id: int, *, for_update: bool = False) -> Webhook | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(
        f"select {_HOOK_COLUMNS} from webhooks where id = $1{lock}", webhook_id
    )
    return to_webhook(row) if row else None


async def webhooks_of_project(conn: Any, project_id: int) -> list[Webhook]:
    rows = await conn.fetch(
        f"select {_HOOK_COLUMNS} from webhooks where project_id = $1 order by id", project_id
    )
    return [to_webhook(row) for row in rows]


async def update_webhook(
    conn: Any,
    webhook_id: int,
    *,
    url: str | None,
    secret: str | None,
    kinds: list[str] | None,
    enabled: bool | None,
) -> Webhook:
    """Change what is given; enabling a disabled hook clears its failures and reason."""
    row = await conn.fetchrow(
        f"""
        update webhooks
           set url = coalesce($2, url),
               secret = coalesce($3, secret),
               kinds = coalesce($4::text[], kinds),
               consecutive_failures = case when $5 and not enabled then 0
                                           else consecutive_failures end,
               disabled_reason = case when $5 then null
                                      when $5 = false and enabled then 'disabled by a user'
                                      else disabled_reason end,
               disabled_at = case when $5 then null
                                  when $5 = false and enabled then now()
                                  else disabled_at end,
               enabled = coalesce($5, enabled),
               updated_at = now()
         where id = $1
        returning {_HOOK_COLUMNS}
        """,
        webhook_id,
        url,
        secret,
        kinds,
        enabled,
    )
    return to_webhook(row)


async def delete_webhook(conn: Any, webhook_id: int) -> bool:
    status: str = await conn.execute("delete from webhooks where id = $1", webhook_id)
    return status == "DELETE 1"


# -- dispatching --------------------------------------------------------------------------


async def lock_cursor(conn: Any) -> Position | None:
    """The dispatcher's position, locked until the caller's transaction ends; None while
    another process's dispatcher holds it (that one is doing the work)."""
    row = await conn.fetchrow(
        "select xid::text::bigint as xid, id from webhook_cursor for update skip locked"
    )
    return Position(row["xid"], row["id"]) if row else None


async def move_cursor(conn: Any, position: Position) -> None:
    await conn.execute(
        "update webhook_cursor set xid = $1::text::xid8, id = $2", str(position.xid), position.id
    )


async def enabled_hooks_of(conn: Any, project_ids: Collection[int]) -> list[tuple[Webhook, int]]:
    """The enabled hooks of these projects, each with the xid from which it is owed events."""
    rows = await conn.fetch(
        f"""
        select {_HOOK_COLUMNS}, start_xid::text::bigint as start_xid
          from webhooks
         where project_id = any($1::bigint[]) and enabled
        """,
        sorted(project_ids),
    )
    return [(to_webhook(row), row["start_xid"]) for row in rows]


def message_id(webhook_id: int, event_id: int) -> str:
    return f"msg_{webhook_id}_{event_id}"


async def insert_deliveries(conn: Any, owed: Sequence[tuple[int, int]]) -> None:
    """Deliveries of (webhook id, event id) pairs, once each."""
    if not owed:
        return
    await conn.execute(
        """
        insert into webhook_deliveries (webhook_id, event_id, message_id)
        select w, e, 'msg_' || w || '_' || e
          from unnest($1::bigint[], $2::bigint[]) as o(w, e)
        on conflict (webhook_id, event_id) where not redelivery do nothing
        """,
        [hook for hook, _ in owed],
        [event for _, event in owed],
    )


async def insert_redelivery(conn: Any, webhook_id: int, event_id: int) -> WebhookDelivery:
    row = await conn.fetchrow(
        f"""
        insert into webhook_deliveries (webhook_id, event_id, message_id, redelivery)
        values ($1, $2, $3, true)
        returning {_DELIVERY_COLUMNS}
        """,
        webhook_id,
        event_id,
        message_id(webhook_id, event_id),
    )
    return to_delivery(row)


# -- sending ------------------------------------------------------------------------------


async def claim_due(
    conn: Any, *, limit: int, lease_ms: int
) -> list[tuple[WebhookDelivery, Webhook]]:
    """Claim up to `limit` due deliveries of enabled hooks for `lease_ms`: no other sender
    takes them until the lease runs out (a sender that died leaves them due again)."""
    rows = await conn.fetch(
        """
        with claimed as (
            select d.id
              from webhook_deliveries d
              join webhooks w on w.id = d.webhook_id
             where d.status = 'pending'
               and d.next_attempt_at <= now()
               and (d.leased_until is null or d.leased_until <= now())
               and w.enabled
             order by d.next_attempt_at, d.id
             limit $1
               for update of d skip locked
        )
        update webhook_deliveries d
           set leased_until = now() + make_interval(secs => $2::double precision / 1000)
          from claimed
         where d.id = claimed.id
        returning d.id, d.webhook_id, d.event_id, d.message_id, d.redelivery, d.status,
                  d.attempts, d.next_attempt_at, d.created_at, d.finished_at
        """,
        limit,
        lease_ms,
    )
    deliveries = [to_delivery(row) for row in rows]
    if not deliveries:
        return []
    hooks = await conn.fetch(
        f"select {_HOOK_COLUMNS} from webhooks where id = any($1::bigint[])",
        sorted({d.webhook_id for d in deliveries}),
    )
    by_id = {row["id"]: to_webhook(row) for row in hooks}
    return [(d, by_id[d.webhook_id]) for d in deliveries if d.webhook_id in by_id]


async def record_attempt(
    conn: Any,
    delivery_id: int,
    *,
    response_status: int | None,
    duration_ms: float,
    error: str | None,
) -> None:
    # Nothing when the delivery went with its hook while it was being sent.
    await conn.execute(
        """
        insert into webhook_attempts (delivery_id, response_status, duration_ms, error)
        select $1, $2, $3, $4
         where exists (select 1 from webhook_deliveries where id = $1)
        """,
        delivery_id,
        response_status,
        duration_ms,
        error,
    )


async def finish_delivery(
    conn: Any, delivery_id: int, status: DeliveryStatus, *, attempted: bool = True
) -> None:
    await conn.execute(
        """
        update webhook_deliveries
           set status = $2, attempts = attempts + $3::int, finished_at = now(),
               leased_until = null
         where id = $1
        """,
        delivery_id,
        status.value,
        1 if attempted else 0,
    )


async def retry_delivery(conn: Any, delivery_id: int, *, delay_ms: int) -> None:
    await conn.execute(
        """
        update webhook_deliveries
           set attempts = attempts + 1, leased_until = null,
               next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
         where id = $1
        """,
        delivery_id,
        delay_ms,
    )


async def hook_succeeded(conn: Any, webhook_id: int) -> None:
    await conn.execute(
        "update webhooks set consecutive_failures = 0 where id = $1 and consecutive_failures > 0",
        webhook_id,
    )


async def hook_failed(conn: Any, webhook_id: int, *, disable_after: int) -> int:
    """Count a failure; the hook is disabled at `disable_after` failures in a row."""
    failures: int | None = await conn.fetchval(
        """
        update webhooks
           set consecutive_failures = consecutive_failures + 1,
               enabled = enabled and consecutive_failures + 1 < $2,
               disabled_at = case when enabled and consecutive_failures + 1 >= $2 then now()
                                  else disabled_at end,
               disabled_reason = case when enabled and consecutive_failures + 1 >= $2
                                      then 'disabled after ' || (consecutive_failures + 1)
                                           || ' consecutive failed deliveries'
                                      else disabled_reason end
         where id = $1
        returning consecutive_failures
        """,
        webhook_id,
        disable_after,
    )
    return failures or 0


async def disable_hook(conn: Any, webhook_id: int, reason: str) -> None:
    await conn.execute(
        """
        update webhooks
           set enabled = false, disabled_reason = $2, disabled_at = now(),
               consecutive_failures = consecutive_failures + 1
         where id = $1
        """,
        webhook_id,
        reason,
    )


# -- the delivery log ---------------------------------------------------------------------


async def deliveries_page(
    conn: Any, webhook_id: int, *, before_id: int | None, limit: int
) -> list[WebhookDelivery]:
    """A hook's deliveries, newest first, below `before_id` when given."""
    rows = await conn.fetch(
        f"""
        select {_DELIVERY_COLUMNS} from webhook_deliveries
         where webhook_id = $1 and ($2::bigint is null or id < $2)
         order by id desc
         limit $3
        """,
        webhook_id,
        before_id,
        limit,
    )
    return [to_delivery(row) for row in rows]


async def attempts_of(conn: Any, delivery_ids: Sequence[int]) -> list[WebhookAttempt]:
    rows = await conn.fetch(
        """
        select id, delivery_id, attempted_at, response_status, duration_ms, error
          from webhook_attempts
         where delivery_id = any($1::bigint[])
         order by id
        """,
        list(delivery_ids),
    )
    return [
        WebhookAttempt(
            id=row["id"],
            delivery_id=row["delivery_id"],
            attempted_at=row["attempted_at"],
            response_status=row["response_status"],
            duration_ms=row["duration_ms"],
            error=row["error"],
        )
        for row in rows
    ]
