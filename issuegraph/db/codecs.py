"""How the service's pooled connections read and write timestamps.

asyncpg's binary decoder builds each timestamptz through a timedelta (0.5 us a value on
the 2-core machine); PostgreSQL's ISO text read by `datetime.fromisoformat` costs a
quarter of that, and a page of links carries hundreds of them. So pooled connections
take timestamptz as text (`set_timestamp_codec`), in UTC (`SESSION_SETTINGS`), and
`decode_timestamptz` gives what the binary codec gave: the same instant, in UTC.

One rule follows for SQL: a record built in a query (`row(...)`, `array(select row(...))`)
is decoded in binary as a whole, and a timestamptz field in it would reach the text
decoder as bytes; such a field travels as `::text` and is read with `decode_timestamptz`
(see `queries.users.USER_RECORD`). Plain columns and arrays of timestamptz need nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# Every pooled session's settings, sent in the startup packet (no round trip).
SESSION_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, MDY"}

# The infinite timestamps, as asyncpg's binary codec reads them (naive, at the ends of
# datetime's range).
_INFINITE = {"infinity": dt.datetime.max, "-infinity": dt.datetime.min}  # noqa: DTZ901
_from_iso = dt.datetime.fromisoformat


def decode_timestamptz(text: str) -> dt.datetime:
    """A timestamptz as PostgreSQL writes it in the ISO style, in UTC (`SESSION_SETTINGS`)."""
    try:
        return _from_iso(text)
    except ValueError:
        return _INFINITE[text]


def decode_optional_timestamptz(text: str | None) -> dt.datetime | None:
    return None if text is None else decode_timestamptz(text)


def encode_timestamptz(value: dt.datetime | dt.date) -> str:
    return value.isoformat()


async def set_timestamp_codec(conn: Any) -> None:
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=encode_timestamptz,
        decoder=decode_timestamptz,
        format="text",
    )
