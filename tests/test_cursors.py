"""Cursors are written out by hand (schema/pagination.py), not by json.dumps: the bytes must
be the ones json.dumps gives, which `decode_*` read, for every key the service makes."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from issuegraph.schema.pagination import (
    MAX_ID,
    decode_id_cursor,
    decode_link_cursor,
    encode_cursor,
    encode_link_cursor,
)


def _by_json(payload: Any) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


ids = st.integers(min_value=1, max_value=MAX_ID)
# asyncpg answers timestamptz in UTC; other offsets, in whole minutes as time zones have
# them, for good measure (`fromisoformat` drops an offset's microseconds)
offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: dt.timedelta(minutes=minutes)
)
times = st.datetimes(timezones=st.builds(dt.timezone, offsets))


@given(kind=st.sampled_from(["issue", "note", "ready", "order"]), key=ids)
def test_cursor_of_an_id_is_the_json_encoding_and_decodes_to_the_id(kind: str, key: int) -> None:
    cursor = encode_cursor(kind, key)
    assert cursor == _by_json([kind, key])
    assert decode_id_cursor(kind, cursor) == key


@given(created_at=times, link_id=ids)
def test_link_cursor_is_the_json_encoding_and_decodes_to_its_key(
    created_at: dt.datetime, link_id: int
) -> None:
    cursor = encode_link_cursor(created_at, link_id)
    assert cursor == _by_json(["link", [created_at.isoformat(), link_id]])
    assert decode_link_cursor(cursor) == (created_at, link_id)
