"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry

if TYPE_CHECKING:
    from issuegraph.config import Settings
    from issuegraph.domain.access import Access
    from issuegraph.domain.live import Hub
    from issuegraph.loaders import Loaders
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


@dataclass(frozen=True, slots=True)
class Reads:
    """Loaders and the Access over them, made for one viewer and one batch of live events."""

    loaders: Loaders
    access: Access


Info = strawberry.Info[Context, None]
