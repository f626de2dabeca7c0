"""Per-request DataLoaders, one class per relation (`<Target>By<Key>Loader`), in a module
per domain; `Loaders` makes the request's own. Each batch is one statement (or one per
distinct page shape), whatever the number of keys; one-to-one loaders answer None for a
missing key, one-to-many loaders []."""

from issuegraph.loaders.core import MISSING, Loader, NotLoaded, now_or_later
from issuegraph.loaders.registry import Loaders

__all__ = ["MISSING", "Loader", "Loaders", "NotLoaded", "now_or_later"]
