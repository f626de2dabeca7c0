"""Link types as seen from either end, and their canonical stored form.

A link is stored once, source -> target, with one of five stored types. From its
source it reads with the outward name (BLOCKS), from its target with the inward one
(IS_BLOCKED_BY). Creating with an inward name stores the canonical row with the ends
swapped, as GitLab does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from issuegraph.models import StoredLinkType


class LinkType(enum.Enum):
    RELATES_TO = "relates_to"
    BLOCKS = "blocks"
    IS_BLOCKED_BY = "is_blocked_by"
    DUPLICATES = "duplicates"
    IS_DUPLICATED_BY = "is_duplicated_by"
    PARENT_OF = "parent_of"
    CHILD_OF = "child_of"
    CLONES = "clones"
    IS_CLONED_BY = "is_cloned_by"


@dataclass(frozen=True, slots=True)
class LinkKind:
    stored: StoredLinkType
    outward: LinkType
    inward: LinkType
    name: str  # Jira's type name
    outward_phrase: str
    inward_phrase: str


KINDS: tuple[LinkKind, ...] = (
    LinkKind(
        StoredLinkType.RELATES,
        LinkType.RELATES_TO,
        LinkType.RELATES_TO,
        "Relates",
        "relates to",
        "relates to",
    ),
    LinkKind(
        StoredLinkType.BLOCKS,
        LinkType.BLOCKS,
        LinkType.IS_BLOCKED_BY,
        "Blocks",
        "blocks",
        "is blocked by",
    ),
    LinkKind(
        StoredLinkType.DUPLICATES,
        LinkType.DUPLICATES,
        LinkType.IS_DUPLICATED_BY,
        "Duplicate",
        "duplicates",
        "is duplicated by",
    ),
    LinkKind(
        StoredLinkType.PARENT,
        LinkType.PARENT_OF,
        LinkType.CHILD_OF,
        "Parent",
        "is parent of",
        "is child of",
    ),
    LinkKind(
        StoredLinkType.CLONES,
        LinkType.CLONES,
        LinkType.IS_CLONED_BY,
        "Cloners",
        "clones",
        "is cloned by",
    ),
)

_BY_STORED = {kind.stored: kind for kind in KINDS}


def kind_of(stored: StoredLinkType) -> LinkKind:
    return _BY_STORED[stored]


def canonical(link_type: LinkType) -> tuple[StoredLinkType, bool]:
    """The stored type of `link_type`, and whether the ends swap (an inward name)."""
    for kind in KINDS:
        if link_type is kind.outward:
            return kind.stored, False
        if link_type is kind.inward:
            return kind.stored, True
    raise AssertionError(link_type)  # pragma: no cover - the enum is closed


def seen_from(stored: StoredLinkType, *, is_source: bool) -> LinkType:
    """The name of a stored link as read from one of its ends."""
    kind = _BY_STORED[stored]
    return kind.outward if is_source else kind.inward


def directions(types: frozenset[LinkType] | None) -> tuple[list[str], list[str]]:
    """Stored types to follow outward (issue is source) and inward (issue is target).

    `None` means every type, both ways.
    """
    if types is None:
        every = [kind.stored.value for kind in KINDS]
        return every, every
    outward = [k.stored.value for k in KINDS if k.outward in types]
    inward = [k.stored.value for k in KINDS if k.inward in types]
    return outward, inward
