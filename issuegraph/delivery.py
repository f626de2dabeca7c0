"""The webhook delivery worker: turns the change log into deliveries and sends them.

Every process runs one (started and stopped with the application, `app.py`). Each round:

- the dispatcher, in one transaction, locks the durable cursor (`webhook_cursor`, so the
  processes take turns), reads the log after it (in (xid, id) order, below the horizon),
  inserts a delivery for each enabled hook of an event's project that asked for its kind
  and whose creator may read the event now, and moves the cursor past what it read;
- senders claim due deliveries (`for update skip locked`, with a lease: a claim of a
  process that died is due again once the lease has run out), sign and POST them, and
  record each attempt, the retry or the end, and the hook's failures, in one transaction.

At least once: a delivery is marked done only after the receiver answered 2xx, so a crash
between the answer and the record sends it again (with the same `webhook-id`). Rounds
run every `ISSUEGRAPH_WEBHOOK_POLL_MS` and at once on `wake()`. See docs/events.md,
"Webhooks".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import random
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult

from issuegraph.context import Reads
from issuegraph.db.database import open_side_pool, transaction
from issuegraph.db.queries import events as event_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.db.queries import webhooks as hook_queries
from issuegraph.domain import events as event_rules
from issuegraph.domain import webhooks as hook_rules
from issuegraph.domain.access import Access
from issuegraph.domain.link_types import seen_from
from issuegraph.loaders import Loaders
from issuegraph.models import (
    DeliveryStatus,
    Event,
    EventKind,
    IssueSnapshot,
    TokenScope,
    Viewer,
    Webhook,
    WebhookDelivery,
)
from issuegraph.schema.errors import operational_code

if TYPE_CHECKING:
    from issuegraph.config import Settings

log = logging.getLogger(__name__)
# How long a wake-up waits for more commits to join its round.
WAKE_COALESCE_SECONDS = 0.2
# How long a stop waits for the round under way before cancelling it.
STOP_GRACE_SECONDS = 5.0

ACTIVE = "active"
DISPATCH_BATCH = 200
SEND_BATCH = 20
MAX_ERROR = 500
GITLAB_ISSUE_EVENT = "Issue Hook"
GITLAB_LINK_EVENT = "Issue Link Hook"
_UUID_NAMESPACE = uuid.UUID("6f1c2a52-9a4b-4f8e-b9a4-3c8d1e0f7a21")
EVENT_TYPES = {
    EventKind.ISSUE_CREATED: "issue.created",
    EventKind.ISSUE_UPDATED: "issue.updated",
    EventKind.ISSUE_CLOSED: "issue.closed",
    EventKind.ISSUE_REOPENED: "issue.reopened",
    EventKind.ISSUE_DELETED: "issue.deleted",
    EventKind.LINK_CREATED: "issue_link.created",
    EventKind.LINK_UPDATED: "issue_link.updated",
    EventKind.LINK_DELETED: "issue_link.deleted",
}


Readers = dict[int, tuple[Access, Loaders] | None]


class RefusedAddressError(OSError):
    """The host resolves only to addresses a delivery may not reach."""


class GuardedResolver(AbstractResolver):
    """Resolves with the system's resolver and keeps only the addresses a delivery may
    reach: the connection is made to one of these, so a name that resolves differently a
    second time (DNS rebinding) cannot lead anywhere unchecked."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, family=family, flags=socket.AI_ADDRCONFIG
        )
        found: list[ResolveResult] = []
        for info_family, _, proto, _, address in infos:
            ip = str(address[0])
            if not hook_rules.address_allowed(ip, allow_private=self._allow_private):
                continue
            found.append(
                ResolveResult(
                    hostname=host,
                    host=ip,
                    port=int(address[1]),
                    family=info_family,
                    proto=proto,
                    flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                )
            )
        if not found:
            raise RefusedAddressError(
                f"{host} resolves only to addresses webhooks may not reach (loopback, "
                "private, link-local, multicast, reserved or unspecified)"
            )
        return found

    async def close(self) -> None:
        return None


def retry_after(value: str | None, *, now: float, ceiling_ms: int) -> int | None:
    """A `Retry-After` header (seconds, or an HTTP date) as a delay in milliseconds,
    at most `ceiling_ms`; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    seconds: float
    if text.isdecimal():
        seconds = float(text[:12])
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - now
    return int(min(max(seconds, 0.0) * 1000, ceiling_ms))


def backoff_ms(attempt: int, *, base_ms: int, ceiling_ms: int) -> int:
    """The delay after the `attempt`-th failure: exponential, capped, with jitter (between
    half and all of it)."""
    full = min(ceiling_ms, base_ms * 2 ** min(attempt - 1, 40))
    return int(full * random.uniform(0.5, 1.0))  # noqa: S311  (jitter, not a secret)


def _issue_json(issue: IssueSnapshot, paths: dict[int, str]) -> dict[str, Any]:
    path = paths.get(issue.project_id, "")
    return {
        "id": issue.id,
        "iid": issue.iid,
        "projectId": issue.project_id,
        "projectPath": path,
        "reference": f"{path}#{issue.iid}",
        "title": issue.title,
        "state": issue.state.value,
        "confidential": issue.confidential,
    }


async def message_body(event: Event, loaders: Loaders) -> bytes:
    """The JSON body of an event's message: `type`, `timestamp` and `data`."""
    project_ids = sorted(set(event.project_ids))
    projects = await loaders.project_by_id.load_many(project_ids)
    paths = {p.id: p.full_path for p in projects if p is not None}
    actor = await loaders.user_by_id.load(event.actor_id) if event.actor_id else None
    data: dict[str, Any] = {
        "eventId": event.id,
        "cursor": event_rules.encode_cursor(event.position),
        "kind": event.kind.value,
        "occurredAt": event.occurred_at.isoformat(),
        "actor": {"id": actor.id, "username": actor.username} if actor else None,
        "changes": [
            {"field": c.field, "before": c.before, "after": c.after} for c in event.changes
        ],
    }
    if event.kind.is_link and event.link_type is not None:
        source, target = event.issues
        data["link"] = {
            "id": event.link_id,
            "linkType": seen_from(event.link_type, is_source=True).name,
            "source": _issue_json(source, paths),
            "target": _issue_json(target, paths),
        }
    else:
        data["issue"] = _issue_json(event.issues[0], paths)
    message = {
        "type": EVENT_TYPES[event.kind],
        "timestamp": event.occurred_at.isoformat(),
        "data": data,
    }
    return orjson.dumps(message)


def headers_for(
    hook: Webhook, delivery: WebhookDelivery, event: Event, body: bytes, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "issuegraph-webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": hook_rules.signature(
            hook.secret, delivery.message_id, timestamp, body
        ),
        "X-Gitlab-Event": GITLAB_LINK_EVENT if event.kind.is_link else GITLAB_ISSUE_EVENT,
        "X-Gitlab-Event-UUID": str(uuid.uuid5(_UUID_NAMESPACE, delivery.message_id)),
    }


class DeliveryWorker:
    def __init__(self, settings: Settings, dsn: str) -> None:
        self.settings = settings
        self.dsn = dsn
        self.lease_ms = 2 * settings.webhook_timeout_ms + 1000
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._pool: Any = None
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._pool = await open_side_pool(
            self.dsn, max_size=3, statement_timeout_ms=self.settings.statement_timeout_ms
        )
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(allow_private=self.settings.webhook_allow_private),
            use_dns_cache=False,
            limit=SEND_BATCH,
        )
        self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        self._task = asyncio.create_task(self._run(), name="webhook-deliveries")

    async def stop(self) -> None:
        """Let the round under way end (its transactions commit or roll back, not cut off
        in the middle), then stop; a round still running after `STOP_GRACE_SECONDS` (a
        slow receiver) is cancelled, and what it leased is leased again after its lease."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()
        if self._pool is not None:
            await self._pool.close()

    def wake(self) -> None:
        """Run a round now (a LISTEN on the change log's channel may call it)."""
        self._wake.set()

    async def _run(self) -> None:
        interval = self.settings.webhook_poll_ms / 1000
        while not self._stopping:
            busy = False
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if operational_code(error) is None:
                    log.exception("webhook delivery round failed")
                else:
                    log.warning("webhook delivery round: database unavailable: %r", error)
            if busy or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
                # Woken by a commit: the commits of the next moment share the round, so
                # that a busy log costs a few rounds a second, not one per write.
                await asyncio.sleep(WAKE_COALESCE_SECONDS)
            self._wake.clear()

    async def run_once(self) -> bool:
        """One round: dispatch, then send what is due. True when there may be more."""
        dispatched = await self.dispatch()
        sent = await self.send_due()
        return dispatched >= DISPATCH_BATCH or sent >= SEND_BATCH

    # -- reading as a hook's creator ------------------------------------------------------

    async def _reader(self, user_id: int, cache: Readers) -> tuple[Access, Loaders] | None:
        """The rules and loaders of a hook's creator, as a viewer reading the API."""
        if user_id not in cache:
            users = await user_queries.users_by_ids(self._pool, [user_id])
            # A blocked user reads nothing, so a hook of theirs delivers nothing.
            if users and users[0].state == ACTIVE:
                viewer = Viewer(user=users[0], scopes=frozenset({TokenScope.READ_API}))
                reads = Reads.of(self._pool, viewer)
                cache[user_id] = (reads.access, reads.loaders)
            else:
                cache[user_id] = None
        return cache[user_id]

    # -- dispatching ----------------------------------------------------------------------

    async def dispatch(self) -> int:
        """Turn the next events of the log into deliveries; returns how many were read."""
        cache: Readers = {}
        async with transaction(self._pool) as conn:
            cursor = await hook_queries.lock_cursor(conn)
            if cursor is None:
                return 0
            events = await event_queries.events_after(
                conn, cursor, limit=DISPATCH_BATCH, include_silent=False
            )
            if not events:
                return 0
            project_ids = {p for event in events for p in event.project_ids}
            hooks = await hook_queries.enabled_hooks_of(conn, project_ids)
            candidates: list[tuple[Webhook, Event, Access]] = []
            for event in events:
                for hook, start_xid in hooks:
                    if (
                        event.xid < start_xid
                        or event.kind not in hook.kinds
                        or not hook_rules.owed(hook, event)
                    ):
                        continue
                    creator = await self._reader(hook.creator_id, cache)
                    if creator is not None:
                        candidates.append((hook, event, creator[0]))
            # Checked together, so that the loaders batch their reads.
            shown = await asyncio.gather(
                *(event_rules.visible(access, event) for _, event, access in candidates)
            )
            owed = [
                (hook.id, event.id)
                for (hook, event, _), visible in zip(candidates, shown, strict=True)
                if visible
            ]
            await hook_queries.insert_deliveries(conn, owed)
            await hook_queries.move_cursor(conn, events[-1].position)
        self._close(cache)
        return len(events)

    @staticmethod
    def _close(cache: Readers) -> None:
        for reader in cache.values():
            if reader is not None:
                reader[1].close()

    # -- sending --------------------------------------------------------------------------

    async def send_due(self) -> int:
        claimed = await hook_queries.claim_due(self._pool, limit=SEND_BATCH, lease_ms=self.lease_ms)
        if claimed:
            cache: Readers = {}
            await asyncio.gather(*(self._deliver(d, hook, cache) for d, hook in claimed))
            self._close(cache)
        return len(claimed)

    async def _deliver(self, delivery: WebhookDelivery, hook: Webhook, cache: Readers) -> None:
        try:
            await self._send(delivery, hook, cache)
        except Exception as error:
            # The claim runs out and the delivery is tried again.
            if operational_code(error) is None:
                log.exception("webhook delivery %s failed unexpectedly", delivery.id)
            else:
                log.warning(
                    "webhook delivery %s: database unavailable (%r); tried again when its"
                    " claim runs out",
                    delivery.id,
                    error,
                )

    async def _send(self, delivery: WebhookDelivery, hook: Webhook, cache: Readers) -> None:
        event = await event_queries.event_by_id(self._pool, delivery.event_id)
        creator = await self._reader(hook.creator_id, cache)
        if event is None or creator is None or not await event_rules.visible(creator[0], event):
            async with transaction(self._pool) as conn:
                await hook_queries.finish_delivery(
                    conn, delivery.id, DeliveryStatus.SKIPPED, attempted=False
                )
            return
        body = await message_body(event, creator[1])
        status, error, wait = await self._post(hook, delivery, event, body)
        await self._record(delivery, hook, status, error, wait)

    async def _post(
        self, hook: Webhook, delivery: WebhookDelivery, event: Event, body: bytes
    ) -> tuple[int | None, str | None, tuple[float, str | None]]:
        """POST the message; (status or None, error or None, (duration ms, Retry-After))."""
        assert self._session is not None  # noqa: S101  (started)
        settings = self.settings
        started = time.perf_counter()
        host = urlsplit(hook.url).hostname or ""
        ip = hook_rules.literal_ip(host)
        if ip is not None and not hook_rules.address_allowed(
            ip, allow_private=settings.webhook_allow_private
        ):
            return None, f"refused address: {host}", (0.0, None)
        timestamp = int(time.time())
        try:
            async with self._session.post(
                hook.url,
                data=body,
                headers=headers_for(hook, delivery, event, body, timestamp),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_ms / 1000),
            ) as response:
                elapsed = (time.perf_counter() - started) * 1000
                return response.status, None, (elapsed, response.headers.get("Retry-After"))
        except RefusedAddressError as refused:
            error = f"refused address: {refused}"
        except TimeoutError:
            error = f"timed out after {settings.webhook_timeout_ms} ms"
        except aiohttp.ClientConnectorError as connect_error:
            cause = connect_error.os_error
            error = (
                f"refused address: {cause}"
                if isinstance(cause, RefusedAddressError)
                else f"cannot connect: {connect_error}"
            )
        except Exception as failed:  # noqa: BLE001  (any failure is the attempt's, recorded)
            error = f"{type(failed).__name__}: {failed}"
        elapsed = (time.perf_counter() - started) * 1000
        return None, error[:MAX_ERROR], (elapsed, None)

    async def _record(
        self,
        delivery: WebhookDelivery,
        hook: Webhook,
        status: int | None,
        error: str | None,
        wait: tuple[float, str | None],
    ) -> None:
        settings = self.settings
        duration_ms, retry_header = wait
        attempt = delivery.attempts + 1
        async with transaction(self._pool) as conn:
            await hook_queries.record_attempt(
                conn, delivery.id, response_status=status, duration_ms=duration_ms, error=error
            )
            if status is not None and 200 <= status < 300:  # noqa: PLR2004
                await hook_queries.finish_delivery(conn, delivery.id, DeliveryStatus.DELIVERED)
                await hook_queries.hook_succeeded(conn, hook.id)
                return
            if status == 410:  # noqa: PLR2004
                await hook_queries.finish_delivery(conn, delivery.id, DeliveryStatus.FAILED)
                await hook_queries.disable_hook(
                    conn, hook.id, "disabled: the receiver answered 410 Gone"
                )
                return
            await hook_queries.hook_failed(
                conn, hook.id, disable_after=settings.webhook_disable_after
            )
            if attempt >= settings.webhook_max_attempts:
                await hook_queries.finish_delivery(conn, delivery.id, DeliveryStatus.FAILED)
                return
            delay = retry_after(
                retry_header, now=time.time(), ceiling_ms=settings.webhook_backoff_max_ms
            )
            if delay is None:
                delay = backoff_ms(
                    attempt,
                    base_ms=settings.webhook_backoff_ms,
                    ceiling_ms=settings.webhook_backoff_max_ms,
                )
            await hook_queries.retry_delivery(conn, delivery.id, delay_ms=delay)
