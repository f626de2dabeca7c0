"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import strawberry

from issuegraph.domain.access import Access
from issuegraph.loaders import Loaders

if TYPE_CHECKING:
    from issuegraph.config import Settings
    from issuegraph.domain.graph_index import GraphIndex
    from issuegraph.domain.live import Hub
    from issuegraph.models import Viewer


@dataclass(slots=True)
class Context:
    request_id: str
    settings: Settings
    pool: Any
    viewer: Viewer
    loaders: Loaders
    access: Access
    # The process's live change events, for subscriptions (None where there are none).
    live: Hub[Reads] | None = None
    # The name of the operation the document runs, once parsed (access log, metrics).
    operation_name: str | None = None


@dataclass(frozen=True, slots=True)
class Reads:
    """Loaders and the Access over them, made for one viewer and one batch of live events."""

    loaders: Loaders
    access: Access

    @classmethod
    def of(cls, pool: Any, viewer: Viewer, graph: GraphIndex | None = None) -> Self:
        """Fresh loaders of `viewer`, and the access rules reading through them: what every
        request, operation, batch of live events and webhook round reads with. `graph` is
        the process's in-memory link graph, when the reads may walk it."""
        loaders = Loaders(pool, viewer, graph)
        return cls(loaders=loaders, access=Access(viewer, loaders))


Info = strawberry.Info[Context, None]
