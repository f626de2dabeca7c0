"""Mutation payloads: rule violations as `errors` data, the result's fields otherwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from issuegraph.domain.errors import DomainError, RuleViolationsError
from issuegraph.schema.payloads import UserError

PayloadT = TypeVar("PayloadT")
ResultT = TypeVar("ResultT")


async def run_mutation(
    action: Awaitable[ResultT],
    payload: Callable[..., PayloadT],
    client_mutation_id: str | None,
    build: Callable[[ResultT], dict[str, Any]],
) -> PayloadT:
    """Run a domain write; rule violations become `errors` data, anything else propagates.

    Missing credentials (UnauthenticatedError) are no rule's verdict: they propagate, and
    the whole request is a 401.
    """
    try:
        result = await action
    except DomainError as error:
        return payload(client_mutation_id=client_mutation_id, errors=[UserError.from_domain(error)])
    except RuleViolationsError as violations:
        errors = [UserError.from_domain(e) for e in violations.errors]
        return payload(client_mutation_id=client_mutation_id, errors=errors)
    return payload(client_mutation_id=client_mutation_id, errors=[], **build(result))
