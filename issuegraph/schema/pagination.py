"""Relay-style connections: page size bounds and opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from issuegraph.domain.errors import bad_input

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

NodeT = TypeVar("NodeT")


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_input(
            f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}",
            ["first"],
            min=1,
            max=MAX_PAGE_SIZE,
        )
    return first


def _cursor(key_json: str) -> str:
    """A cursor: compact JSON, `[kind, key]`, in URL-safe base64 without padding.

    The JSON is written out, not by json.dumps (which cost more than the rest of a link's
    edge): a kind is a plain word, a key an int or (links) an ISO timestamp and an int,
    and none of them holds a character that JSON escapes.
    """
    return base64.urlsafe_b64encode(key_json.encode()).decode().rstrip("=")


def encode_cursor(kind: str, key: int) -> str:
    return _cursor(f'["{kind}",{key:d}]')


def decode_cursor(kind: str, cursor: str | None) -> Any:
    """The key inside a cursor made by `encode_cursor(kind, ...)`; None for no cursor."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found_kind, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise bad_input("after is not a valid cursor", ["after"]) from None
    if found_kind != kind:
        raise bad_input("after is a cursor of another list", ["after"])
    return key


MAX_ID = 2**63 - 1


def decode_id_cursor(kind: str, cursor: str | None, *, maximum: int = MAX_ID) -> int | None:
    """A cursor holding one positive id; anything else is a forged cursor."""
    if cursor is None:
        return None
    key = decode_cursor(kind, cursor)
    if type(key) is not int or not 0 < key <= maximum:
        raise bad_input("after is not a valid cursor", ["after"])
    return key


def decode_link_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """A cursor of a link list: the link's creation time and id."""
    if cursor is None:
        return None
    key = decode_cursor("link", cursor)
    try:
        created, link_id = key
        when = dt.datetime.fromisoformat(created)
    except (TypeError, ValueError):
        raise bad_input("after is not a valid cursor", ["after"]) from None
    if type(link_id) is not int or not 0 < link_id <= MAX_ID or when.tzinfo is None:
        raise bad_input("after is not a valid cursor", ["after"])
    return when, link_id


def encode_link_cursor(created_at: dt.datetime, link_id: int) -> str:
    return _cursor(f'["link",["{created_at.isoformat()}",{link_id:d}]]')


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


def page_info(edges: Sequence[Edge[Any]], has_next: bool, after: str | None) -> PageInfo:
    """Where a page of `edges` sits: a next page exists when the read found one more row,
    a previous one whenever the page starts after a cursor."""
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


@strawberry.type
class Connection(Generic[NodeT]):
    """A page of a list: its edges, their nodes, where it sits, and the list's size."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items the list holds in all, across pages.")
    async def total_count(self) -> int:
        return await self.counter()
