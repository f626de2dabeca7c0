"""The service's pooled connections read and write timestamps as asyncpg's own codec does.

The pool reads timestamptz values as PostgreSQL's ISO text (`db.codecs`), which is
faster than asyncpg's binary codec; both must give the same datetimes, in UTC, for the
values the service stores and for the parameters it sends.
"""

from __future__ import annotations

import datetime as dt
import random

import asyncpg

from issuegraph.db.database import open_database

OFFSETS = [dt.timedelta(0), dt.timedelta(hours=5, minutes=30), dt.timedelta(hours=-8)]


def _moments(count: int) -> list[dt.datetime]:
    rng = random.Random(5)  # noqa: S311  (test data)
    moments = [
        dt.datetime(1, 1, 2, tzinfo=dt.UTC),
        dt.datetime(999, 5, 6, 7, 8, 9, 700_000, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 30, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 19, 5, 3, tzinfo=dt.UTC),  # a whole second
        dt.datetime(2026, 12, 1, 19, 5, 3, 10, tzinfo=dt.UTC),  # trailing zeros
    ]
    moments.extend(
        dt.datetime(
            rng.randint(1, 9998),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice([0, 10, 100_000, 735_470, rng.randint(0, 999_999)]),
            tzinfo=dt.timezone(rng.choice(OFFSETS)),
        )
        for _ in range(count)
    )
    return moments


async def test_pooled_timestamps_are_the_binary_codecs_datetimes_in_utc(settings, database_url):
    moments = _moments(3000)
    query = "select v, v::text from unnest($1::timestamptz[]) with ordinality as t(v, n) order by n"
    infinities = "select 'infinity'::timestamptz, '-infinity'::timestamptz"
    plain = await asyncpg.connect(database_url)
    try:
        # A database whose sessions default to another zone: the service's are in UTC.
        name = await plain.fetchval("select current_database()")
        await plain.execute(f"alter database \"{name}\" set timezone = 'Asia/Kolkata'")
        await plain.execute("set timezone = 'Asia/Kolkata'")
        expected = await plain.fetch(query, moments)
        expected_infinite = await plain.fetchrow(infinities)
    finally:
        await plain.close()
    async with open_database(settings, apply_migrations=False) as database:
        got = await database.pool.fetch(query, moments)
        # parameters one at a time too: aware in any zone, naive (UTC), and a date
        one = "select $1::timestamptz"
        sent = [moments[7], moments[8], dt.datetime(2026, 1, 1), dt.date(2026, 1, 1)]  # noqa: DTZ001
        echoed = [await database.pool.fetchval(one, value) for value in sent]
        infinite = await database.pool.fetchrow(infinities)
    assert [row[0] for row in got] == [row[0] for row in expected] == moments
    assert all(row[0].tzinfo is dt.UTC for row in got)
    assert [row[0].isoformat() for row in got] == [
        m.astimezone(dt.UTC).isoformat() for m in moments
    ]
    # PostgreSQL wrote them in UTC to the service, in the database's zone to the other one
    assert all(row[1].endswith("+00") for row in got)
    assert not any(row[1].endswith("+00") for row in expected)
    midnight = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert echoed == [moments[7], moments[8], midnight, midnight]
    assert tuple(infinite) == tuple(expected_infinite)
