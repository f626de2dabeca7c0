"""Webhooks: Webhook, its delivery log, and the inputs and payloads of their mutations.

A Webhook is made only for a viewer who manages it (maintainers and above, admins):
`Project.webhooks` and the mutations check first. Its secret is never a field: the
create payload shows it once. A delivery shows its event only while the viewer may read
it (docs/events.md, "Webhooks").
"""

from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry

from issuegraph import models
from issuegraph.context import Info
from issuegraph.domain import webhooks as hook_rules
from issuegraph.models import DeliveryStatus, EventKind
from issuegraph.schema.events import ChangeEvent, Makers
from issuegraph.schema.pagination import Edge, PageInfo, decode_id_cursor, encode_cursor, page_size
from issuegraph.schema.payloads import UserError
from issuegraph.schema.users import User, load_user

DeliveryStatusEnum = strawberry.enum(
    DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING: to be sent or retried; DELIVERED: a 2xx answer; FAILED: given up "
    "(attempts used up, or 410 Gone); SKIPPED: not sent, as the hook's creator could no "
    "longer read the event when its turn came.",
)


@strawberry.type(description="One try at sending a delivery.")
class WebhookAttempt:
    attempted_at: dt.datetime
    response_status: int | None = strawberry.field(
        description="The HTTP status answered; null when no answer came (see error)."
    )
    duration_ms: float
    error: str | None = strawberry.field(
        description="Why no answer came: a timeout, a refused address, a connection error."
    )

    @classmethod
    def of(cls, attempt: models.WebhookAttempt) -> Self:
        return cls(
            attempted_at=attempt.attempted_at,
            response_status=attempt.response_status,
            duration_ms=round(attempt.duration_ms, 3),
            error=attempt.error,
        )


@strawberry.type(description="One event sent (or to be sent) to a webhook, and its attempts.")
class WebhookDelivery:
    database_id: int
    message_id: str = strawberry.field(
        description="The `webhook-id` header: the same across retries and redeliveries."
    )
    status: DeliveryStatus
    redelivery: bool = strawberry.field(description="Queued by redeliverWebhookEvent.")
    attempt_count: int
    attempts: list[WebhookAttempt] = strawberry.field(description="Oldest first.")
    next_attempt_at: dt.datetime | None = strawberry.field(
        description="When a pending delivery is next tried."
    )
    created_at: dt.datetime
    finished_at: dt.datetime | None
    event_id: strawberry.Private[int]
    makers: strawberry.Private[Makers]

    @classmethod
    def of(
        cls,
        delivery: models.WebhookDelivery,
        attempts: list[models.WebhookAttempt],
        makers: Makers,
    ) -> Self:
        return cls(
            database_id=delivery.id,
            message_id=delivery.message_id,
            status=delivery.status,
            redelivery=delivery.redelivery,
            attempt_count=delivery.attempts,
            attempts=[WebhookAttempt.of(a) for a in attempts],
            next_attempt_at=(
                delivery.next_attempt_at if delivery.status is DeliveryStatus.PENDING else None
            ),
            created_at=delivery.created_at,
            finished_at=delivery.finished_at,
            event_id=delivery.event_id,
            makers=makers,
        )

    @strawberry.field(description="The event delivered; null when the viewer may not read it.")
    async def event(self, info: Info) -> ChangeEvent | None:
        ctx = info.context
        event = await hook_rules.event_shown(ctx.access, ctx.pool, self.event_id)
        return ChangeEvent.of(event, self.makers) if event else None


@strawberry.type(description="A page of a webhook's deliveries, newest first.")
class WebhookDeliveryConnection:
    edges: list[Edge[WebhookDelivery]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[WebhookDelivery]:
        return [edge.node for edge in self.edges]


@strawberry.type(
    description="A webhook: the project's change events, signed (Standard Webhooks) and "
    "POSTed to a URL. Seen by the project's maintainers and owners, and admins."
)
class Webhook:
    database_id: int
    url: str
    kinds: list[EventKind] = strawberry.field(description="The kinds of events it receives.")
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why it is disabled: 410 Gone, too many failures in a row, or a user."
    )
    disabled_at: dt.datetime | None
    consecutive_failures: int
    created_at: dt.datetime
    updated_at: dt.datetime
    model: strawberry.Private[models.Webhook]
    makers: strawberry.Private[Makers]

    @classmethod
    def of(cls, hook: models.Webhook, makers: Makers) -> Self:
        return cls(
            database_id=hook.id,
            url=hook.url,
            kinds=list(hook.kinds),
            enabled=hook.enabled,
            disabled_reason=hook.disabled_reason,
            disabled_at=hook.disabled_at,
            consecutive_failures=hook.consecutive_failures,
            created_at=hook.created_at,
            updated_at=hook.updated_at,
            model=hook,
            makers=makers,
        )

    @strawberry.field(description="Who registered it; events are judged as this user reads.")
    async def creator(self, info: Info) -> User | None:
        return await load_user(info, self.model.creator_id)

    @strawberry.field(description="The delivery log, newest first.")
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> WebhookDeliveryConnection:
        size = page_size(first)
        before_id = decode_id_cursor("delivery", after)
        page = await hook_rules.deliveries(
            info.context.pool, self.model, before_id=before_id, first=size
        )
        edges = [
            Edge(
                cursor=encode_cursor("delivery", delivery.id),
                node=WebhookDelivery.of(delivery, attempts, self.makers),
            )
            for delivery, attempts in page.deliveries
        ]
        return WebhookDeliveryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


@strawberry.input
class CreateWebhookInput:
    project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    url: str = strawberry.field(description="http or https, no credentials, 2048 at most.")
    kinds: list[EventKind]
    secret: str | None = strawberry.field(
        default=None,
        description='"whsec_" and the base64 of 24 to 64 random bytes; made when not given.',
    )
    enabled: bool = True
    client_mutation_id: str | None = None


@strawberry.type
class CreateWebhookPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret: shown here once, never again."
    )


@strawberry.input
class UpdateWebhookInput:
    webhook: strawberry.ID = strawberry.field(description="The webhook's databaseId.")
    url: str | None = None
    secret: str | None = strawberry.field(default=None, description="A new signing secret.")
    kinds: list[EventKind] | None = None
    enabled: bool | None = strawberry.field(
        default=None, description="Enabling a disabled webhook resets its failure count."
    )
    client_mutation_id: str | None = None


@strawberry.type
class UpdateWebhookPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    webhook: Webhook | None = None


@strawberry.input
class DeleteWebhookInput:
    webhook: strawberry.ID = strawberry.field(description="The webhook's databaseId.")
    client_mutation_id: str | None = None


@strawberry.type
class DeleteWebhookPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    deleted_webhook_id: int | None = None


@strawberry.input
class RedeliverWebhookEventInput:
    webhook: strawberry.ID = strawberry.field(description="The webhook's databaseId.")
    event_id: strawberry.ID = strawberry.field(description="The ChangeEvent's databaseId.")
    client_mutation_id: str | None = None


@strawberry.type
class RedeliverWebhookEventPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    delivery: WebhookDelivery | None = None
