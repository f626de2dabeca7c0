"""The GraphQL API: the Schema object, its root types made of each domain's root fields
(`resolvers`), and the engine's parts (`schema.limits`, `schema.caches`,
`schema.execution`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension

from issuegraph.resolvers.events import EventQuery, EventSubscription
from issuegraph.resolvers.graph import GraphQuery
from issuegraph.resolvers.issues import IssueMutation, IssueQuery
from issuegraph.resolvers.links import LinkMutation, LinkQuery
from issuegraph.resolvers.nodes import NodeQuery
from issuegraph.resolvers.projects import ProjectMutation, ProjectQuery
from issuegraph.resolvers.users import UserQuery
from issuegraph.resolvers.webhooks import WebhookMutation
from issuegraph.schema.caches import DocumentCache
from issuegraph.schema.errors import is_expected
from issuegraph.schema.execution import FastExecutor
from issuegraph.schema.limits import QueryLimits

if TYPE_CHECKING:
    from graphql import GraphQLError
    from strawberry.types import ExecutionContext

log = logging.getLogger("issuegraph.errors")


class IssuegraphSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log unexpected errors with the request id; coded ones are the client's business."""
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", None)
        for error in errors:
            if not is_expected(error):
                log.error(
                    "unexpected error [request %s]: %s",
                    request_id,
                    error.message,
                    exc_info=error.original_error,
                )


@strawberry.type
class Query(UserQuery, ProjectQuery, IssueQuery, NodeQuery, LinkQuery, GraphQuery, EventQuery):
    pass


@strawberry.type
class Mutation(ProjectMutation, IssueMutation, LinkMutation, WebhookMutation):
    pass


@strawberry.type
class Subscription(EventSubscription):
    pass


def build_schema(*, opentelemetry: bool = False) -> IssuegraphSchema:
    """The schema; `opentelemetry` adds Strawberry's tracing extension (a span for each
    operation, with its parsing, validation and execution), which the OpenTelemetry API
    sends wherever the deployment's SDK is configured to (nowhere without one)."""
    extensions: list[type[SchemaExtension]] = [QueryLimits, DocumentCache]
    if opentelemetry:
        extensions.insert(0, OpenTelemetryExtension)
    return IssuegraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FastExecutor,
    )


schema = build_schema()
