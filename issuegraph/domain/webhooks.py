"""Webhooks' rules: who manages them, what a URL and a secret may be, which addresses a
delivery may reach, how a message is signed (Standard Webhooks), and the services the
mutations and the delivery log call (docs/events.md, "Webhooks")."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from issuegraph.db.database import transaction
from issuegraph.db.queries import events as event_queries
from issuegraph.db.queries import webhooks as hook_queries
from issuegraph.domain import events as event_rules
from issuegraph.domain.access import Access
from issuegraph.domain.errors import DomainError, ErrorCode, bad_input, not_found
from issuegraph.domain.validation import can_name_a_row
from issuegraph.models import (
    Event,
    EventKind,
    Project,
    Role,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)

MAX_URL = 2048
MAX_HOOKS_PER_PROJECT = 100
SECRET_PREFIX = "whsec_"  # noqa: S105  (the format's prefix, not a secret)
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
MAX_SECRET_TEXT = 200
MAX_ID_DIGITS = 19
MANAGER = Role.MAINTAINER
_UNSAFE_URL_CHARACTER = re.compile(r"[\x00-\x20\x7f-\x9f\\]")


# -- URLs and addresses -----------------------------------------------------------------


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """May a delivery connect to this IP address? Public unicast only, unless private
    addresses are allowed by configuration (`ISSUEGRAPH_WEBHOOK_ALLOW_PRIVATE`)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if allow_private:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return address_allowed(str(mapped), allow_private=allow_private)
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def literal_ip(host: str) -> str | None:
    """The host as an IP address when it is written as one, else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def webhook_url(value: str, *, allow_private: bool, path: Sequence[str | int]) -> str:
    """An http(s) URL without credentials, at most MAX_URL characters, whose host, when
    an IP address, is one a delivery may reach."""
    if len(value) > MAX_URL:
        raise bad_input(f"url is too long (at most {MAX_URL} characters)", path, maxLength=MAX_URL)
    if not value.isascii() or _UNSAFE_URL_CHARACTER.search(value):
        raise bad_input(
            "url must be ASCII (percent-encode the rest), without spaces, control characters "
            "or backslashes",
            path,
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise bad_input("url is not a valid URL", path) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise bad_input("url must be an http or https URL", path)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise bad_input("url must not contain credentials", path)
    host = parts.hostname
    if not host:
        raise bad_input("url must name a host", path)
    if port == 0:
        raise bad_input("url must not name port 0", path)
    ip = literal_ip(host)
    if ip is not None and not address_allowed(ip, allow_private=allow_private):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            "url points to a loopback, private, link-local, multicast, reserved or "
            "unspecified address",
            path=path,
        )
    return value


# -- secrets and signatures -------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def checked_secret(value: str, path: Sequence[str | int]) -> str:
    """A given secret: `whsec_` and the base64 of 24 to 64 bytes."""
    message = (
        f"secret must be {SECRET_PREFIX!r} followed by the base64 of {MIN_SECRET_BYTES} to "
        f"{MAX_SECRET_BYTES} random bytes"
    )
    if not value.startswith(SECRET_PREFIX) or len(value) > MAX_SECRET_TEXT:
        raise bad_input(message, path)
    try:
        key = base64.b64decode(value.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise bad_input(message, path) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise bad_input(message, path)
    return value


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks `webhook-signature` header: `v1,` and the base64 of the
    HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed by the secret's bytes."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def checked_kinds(kinds: Sequence[EventKind], path: Sequence[str | int]) -> list[str]:
    if not kinds:
        raise bad_input("kinds must name at least one kind of event", path)
    return sorted({kind.value for kind in kinds})


# -- services ---------------------------------------------------------------------------


async def _managed_project(access: Access, ref: str | int, path: list[str]) -> Project:
    access.require_writer()
    return await access.writable_project(str(ref), MANAGER, path, "manage webhooks")


async def managed_hook(access: Access, pool: Any, webhook_ref: str | int) -> Webhook:
    """A hook the viewer manages: NOT_FOUND when missing or in a project the viewer does
    not read, FORBIDDEN below maintainer."""
    access.require_writer()
    hook_id = parse_id(webhook_ref)
    hook = await hook_queries.webhook_by_id(pool, hook_id) if hook_id is not None else None
    if hook is None or await access.project(hook.project_id) is None:
        raise not_found("Webhook", ["webhook"])
    await _managed_project(access, hook.project_id, ["webhook"])
    return hook


def parse_id(ref: str | int) -> int | None:
    """A numeric id given as an ID; None when it cannot name a row."""
    text = str(ref).strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > MAX_ID_DIGITS:
        return None
    value = int(text)
    return value if can_name_a_row(value) else None


async def create_webhook(
    access: Access,
    pool: Any,
    *,
    project_ref: str,
    url: str,
    secret: str | None,
    kinds: Sequence[EventKind],
    enabled: bool,
    allow_private: bool,
) -> tuple[Webhook, str]:
    """Register a hook; returns it with its secret (made here when none was given)."""
    project = await _managed_project(access, project_ref, ["project"])
    assert access.viewer.user is not None  # noqa: S101  (require_writer guarantees it)
    checked_url = webhook_url(url, allow_private=allow_private, path=["url"])
    key = checked_secret(secret, ["secret"]) if secret is not None else new_secret()
    names = checked_kinds(kinds, ["kinds"])
    async with transaction(pool) as conn:
        # One creation at a time per project, so the count below holds.
        await hook_queries.lock_project_hooks(conn, project.id)
        if await hook_queries.count_webhooks(conn, project.id) >= MAX_HOOKS_PER_PROJECT:
            raise DomainError(
                ErrorCode.LIMIT_EXCEEDED,
                f"A project has at most {MAX_HOOKS_PER_PROJECT} webhooks",
                path=["project"],
            )
        hook = await hook_queries.insert_webhook(
            conn,
            project_id=project.id,
            creator_id=access.viewer.user.id,
            url=checked_url,
            secret=key,
            kinds=names,
            enabled=enabled,
        )
    return hook, key


async def update_webhook(
    access: Access,
    pool: Any,
    *,
    webhook_ref: str,
    url: str | None,
    secret: str | None,
    kinds: Sequence[EventKind] | None,
    enabled: bool | None,
    allow_private: bool,
) -> Webhook:
    hook = await managed_hook(access, pool, webhook_ref)
    checked_url = webhook_url(url, allow_private=allow_private, path=["url"]) if url else None
    if url is not None and not url:
        raise bad_input("url must not be blank", ["url"])
    key = checked_secret(secret, ["secret"]) if secret is not None else None
    names = checked_kinds(kinds, ["kinds"]) if kinds is not None else None
    return await hook_queries.update_webhook(
        pool, hook.id, url=checked_url, secret=key, kinds=names, enabled=enabled
    )


async def delete_webhook(access: Access, pool: Any, *, webhook_ref: str) -> Webhook:
    hook = await managed_hook(access, pool, webhook_ref)
    await hook_queries.delete_webhook(pool, hook.id)
    return hook


async def webhooks_of(access: Access, pool: Any, project: Project) -> list[Webhook]:
    """The project's hooks, for maintainers and above (and admins): FORBIDDEN otherwise."""
    if not await access.has_role(project, MANAGER):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"You need the maintainer role or higher in {project.full_path} to see its webhooks",
        )
    return await hook_queries.webhooks_of_project(pool, project.id)


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: list[tuple[WebhookDelivery, list[WebhookAttempt]]]
    has_next: bool


async def deliveries(
    pool: Any, hook: Webhook, *, before_id: int | None, first: int
) -> DeliveryPage:
    """A page of a hook's delivery log, newest first, each delivery with its attempts.
    (The hook was shown to the viewer, who manages it.)"""
    rows = await hook_queries.deliveries_page(pool, hook.id, before_id=before_id, limit=first + 1)
    page = rows[:first]
    attempts = await hook_queries.attempts_of(pool, [d.id for d in page]) if page else []
    by_delivery: dict[int, list[WebhookAttempt]] = {d.id: [] for d in page}
    for attempt in attempts:
        by_delivery[attempt.delivery_id].append(attempt)
    return DeliveryPage([(d, by_delivery[d.id]) for d in page], has_next=len(rows) > first)


async def event_shown(access: Access, pool: Any, event_id: int) -> Event | None:
    """The event, when the viewer sees it."""
    if not can_name_a_row(event_id):
        return None
    event = await event_queries.event_by_id(pool, event_id)
    if event is None or not await event_rules.visible(access, event):
        return None
    return event


def owed(hook: Webhook, event: Event) -> bool:
    """Is the event one the hook is about (its project, not silent)? Kinds aside."""
    return not event.silent and hook.project_id in event.project_ids


async def redeliver(
    access: Access,
    pool: Any,
    *,
    webhook_ref: str,
    event_id: int,
    access_of: Callable[[int], Awaitable[Access | None]],
) -> tuple[Webhook, WebhookDelivery]:
    """Queue a new delivery of an event of the hook's project that both the viewer and
    the hook's creator (`access_of(creator_id)`, None when gone) may read now."""
    hook = await managed_hook(access, pool, webhook_ref)
    event = await event_shown(access, pool, event_id)
    creator = await access_of(hook.creator_id) if event is not None else None
    if (
        event is None
        or not owed(hook, event)
        or creator is None
        or not await event_rules.visible(creator, event)
    ):
        raise not_found("Event", ["eventId"])
    delivery = await hook_queries.insert_redelivery(pool, hook.id, event.id)
    return hook, delivery
