"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry

if TYPE_CHECKING:
    from issuegraph.config import Settings
    from issuegraph.domain.access import Access
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


Info = strawberry.Info[Context, None]
