"""The GraphQL types, by domain, and the engine that runs them (limits, caches, executor).

The domain's enums are registered with Strawberry (`schema.enums`) before any type here
refers to them."""

from issuegraph.schema import enums  # noqa: F401
