"""Root fields of webhooks: registering, changing, deleting, redelivering."""

from __future__ import annotations

from typing import Any

import strawberry

from issuegraph.context import Info, Reads
from issuegraph.domain import webhooks as hook_service
from issuegraph.domain.access import Access
from issuegraph.loaders import Loaders
from issuegraph.models import TokenScope, Viewer
from issuegraph.resolvers.payloads import run_mutation
from issuegraph.schema.issues import EVENT_MAKERS
from issuegraph.schema.webhooks import (
    CreateWebhookInput,
    CreateWebhookPayload,
    DeleteWebhookInput,
    DeleteWebhookPayload,
    RedeliverWebhookEventInput,
    RedeliverWebhookEventPayload,
    UpdateWebhookInput,
    UpdateWebhookPayload,
    Webhook,
    WebhookDelivery,
)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Register a webhook on a project (maintainers, owners, admins). The "
        "payload shows its signing secret, once."
    )
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
        ctx = info.context

        def build(made: Any) -> dict[str, Any]:
            hook, secret = made
            return {"webhook": Webhook.of(hook, EVENT_MAKERS), "secret": secret}

        return await run_mutation(
            hook_service.create_webhook(
                ctx.access,
                ctx.pool,
                project_ref=str(input.project),
                url=input.url,
                secret=input.secret,
                kinds=input.kinds,
                enabled=input.enabled,
                allow_private=ctx.settings.webhook_allow_private,
            ),
            CreateWebhookPayload,
            input.client_mutation_id,
            build,
        )

    @strawberry.mutation(
        description="Change a webhook's URL, secret, kinds or state; enabling it resets "
        "its failure count."
    )
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> UpdateWebhookPayload:
        ctx = info.context
        return await run_mutation(
            hook_service.update_webhook(
                ctx.access,
                ctx.pool,
                webhook_ref=str(input.webhook),
                url=input.url,
                secret=input.secret,
                kinds=input.kinds,
                enabled=input.enabled,
                allow_private=ctx.settings.webhook_allow_private,
            ),
            UpdateWebhookPayload,
            input.client_mutation_id,
            lambda hook: {"webhook": Webhook.of(hook, EVENT_MAKERS)},
        )

    @strawberry.mutation(description="Delete a webhook, its pending deliveries and its log.")
    async def delete_webhook(self, info: Info, input: DeleteWebhookInput) -> DeleteWebhookPayload:
        ctx = info.context
        return await run_mutation(
            hook_service.delete_webhook(ctx.access, ctx.pool, webhook_ref=str(input.webhook)),
            DeleteWebhookPayload,
            input.client_mutation_id,
            lambda hook: {"deleted_webhook_id": hook.id},
        )

    @strawberry.mutation(
        description="Queue a new delivery of an event of the webhook's project, with the "
        "same webhook-id as before."
    )
    async def redeliver_webhook_event(
        self, info: Info, input: RedeliverWebhookEventInput
    ) -> RedeliverWebhookEventPayload:
        ctx = info.context
        loaders: list[Loaders] = []

        async def access_of(user_id: int) -> Access | None:
            user = await ctx.loaders.user_by_id.load(user_id)
            if user is None or user.state != "active":
                return None
            reads = Reads.of(ctx.pool, Viewer(user=user, scopes=frozenset({TokenScope.READ_API})))
            loaders.append(reads.loaders)
            return reads.access

        def build(made: Any) -> dict[str, Any]:
            for made_loaders in loaders:
                made_loaders.close()
            _hook, delivery = made
            return {"delivery": WebhookDelivery.of(delivery, [], EVENT_MAKERS)}

        return await run_mutation(
            hook_service.redeliver(
                ctx.access,
                ctx.pool,
                webhook_ref=str(input.webhook),
                event_id=hook_service.parse_id(input.event_id) or 0,
                access_of=access_of,
            ),
            RedeliverWebhookEventPayload,
            input.client_mutation_id,
            build,
        )
