"""What the in-memory link graph (`domain.graph_index`) reads: the whole graph once, by
binary COPY, then what `graph_changes` (migration 0007) says has changed since, and a
viewer's grants.

The build reads inside one REPEATABLE READ transaction, so the horizon, the changes above it
and the copied rows are one snapshot. Each catch-up is one statement (one snapshot too): the
changes past what was applied, and the current rows of the links and issues they name.
docs/graph-index.md gives the consistency rule these reads serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from issuegraph.db.queries.events import HORIZON  # the change log's horizon, reused
from issuegraph.models import StoredLinkType

# Link types as small integers: the position in this tuple (the order of the enum in 0001).
LINK_TYPES: tuple[StoredLinkType, ...] = tuple(StoredLinkType)
_TYPE_CODE = "array_position(array[{}]::link_type[], {})::int4".format(
    ", ".join(f"'{t.value}'" for t in LINK_TYPES), "{}"
)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class IssueRows:
    """Issues as columns: id, project (0: the issue is gone), opened, confidential, author
    (0: none), iid."""

    id: IntArray
    project: IntArray
    opened: IntArray
    confidential: IntArray
    author: IntArray
    iid: IntArray


@dataclass(frozen=True, slots=True)
class LinkRows:
    """Links as columns: id, source, target, type (an index into `LINK_TYPES`)."""

    id: IntArray
    source: IntArray
    target: IntArray
    type: IntArray


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole graph as of one snapshot, and where in the change log that snapshot is."""

    horizon: int  # every event of a transaction below it is in the rows
    applied: dict[int, int]  # changes at or above the horizon already in the rows: id -> xid
    issues: IssueRows
    links: LinkRows
    # (issue, user) of every confidential issue's assignees: all the read rule asks of them.
    assignees: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed past a horizon, with the rows as they are now."""

    horizon: int
    pruned_below: int  # every change pruned had a smaller xid
    changes: dict[int, int]  # the changes read: id -> xid
    links_named: list[tuple[int, list[int]]]  # (link id, the issues its changes named)
    links: LinkRows  # those of the named links that exist now
    issues_named: list[int]
    issues: IssueRows  # those of the named issues that exist now
    assignees: list[tuple[int, int]]


class _IntRows:
    """Rows of a binary COPY whose fields are all non-null int8, parsed as they arrive:
    a few megabytes of the stream at a time become numpy columns, so the whole stream is
    never held (3,000,000 links are 150 MB of it)."""

    WIDTH = 8  # int8
    HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, no header extension
    TRAILER = b"\xff\xff"  # the field count -1 that ends the data
    BATCH = 4 << 20

    def __init__(self, dtypes: Sequence[type[np.integer[Any]]]) -> None:
        self.dtypes = dtypes  # each column's, as it is kept (a value must fit)
        columns = self.columns = len(dtypes)
        fields = [("n", ">i2")]
        for c in range(columns):
            fields += [(f"l{c}", ">i4"), (f"v{c}", ">i8")]
        self.row = np.dtype(fields)
        self.pending = bytearray()
        self.started = False
        self.parts: list[list[IntArray]] = [[] for _ in range(columns)]

    async def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        if not self.started:
            if len(self.pending) < len(self.HEADER):
                return
            if self.pending[: len(self.HEADER)] != self.HEADER:
                raise ValueError("unexpected binary COPY header")
            del self.pending[: len(self.HEADER)]
            self.started = True
        if len(self.pending) >= self.BATCH:
            self._parse()

    def _parse(self) -> None:
        usable = len(self.pending) // self.row.itemsize * self.row.itemsize
        if not usable:
            return
        rows = np.frombuffer(bytes(self.pending[:usable]), dtype=self.row)
        del self.pending[:usable]
        columns = range(self.columns)
        if (rows["n"] != self.columns).any() or any(
            (rows[f"l{c}"] != self.WIDTH).any() for c in columns
        ):
            raise ValueError("unexpected binary COPY layout: a null or a field not of 8 bytes")
        for c in columns:
            values = rows[f"v{c}"]
            kept = values.astype(self.dtypes[c])
            if not np.array_equal(kept, values):
                raise ValueError(f"a value of column {c} does not fit {self.dtypes[c].__name__}")
            self.parts[c].append(kept)

    def finish(self) -> list[IntArray]:
        if not self.started or not self.pending.endswith(self.TRAILER):
            raise ValueError("unexpected end of a binary COPY")
        del self.pending[-len(self.TRAILER) :]
        self._parse()
        if self.pending:
            raise ValueError("a partial row at the end of a binary COPY")
        columns = []
        for parts in self.parts:  # one column at a time, its parts let go as it is made
            columns.append(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))
            parts.clear()
        return columns


async def _copy(conn: Any, query: str, dtypes: Sequence[type[np.integer[Any]]]) -> list[IntArray]:
    rows = _IntRows(dtypes)
    await conn.copy_from_query(query, output=rows.feed, format="binary")
    return rows.finish()


_ISSUE_COLUMNS = """i.id, i.project_id::int8 as project, (i.state = 'opened')::int::int8 as opened,
    i.confidential::int::int8 as confidential, coalesce(i.author_id, 0)::int8 as author,
    i.iid::int8 as iid"""
_LINK_COLUMNS = (
    "l.id, l.source_id as source, l.target_id as target,"
    f" {_TYPE_CODE.format('l.link_type')}::int8 as type"
)


async def snapshot(pool: Any) -> Snapshot:
    """The whole graph, read in one snapshot, with its position in the change log."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        horizon: int = await conn.fetchval(f"select {HORIZON}::text::bigint")
        above = await conn.fetch(
            "select id, xid::text::bigint as xid from graph_changes where xid >= $1::text::xid8",
            str(horizon),
        )
        # Issue ids in 4 bytes where they fit (3,000,000 links: 24 MB instead of 48 per end).
        wide = await conn.fetchval("select coalesce(max(id), 0) >= 2147483647 from issues")
        end = np.int64 if wide else np.int32
        issue_columns = await _copy(
            conn,
            f"select {_ISSUE_COLUMNS} from issues i order by i.id",
            [np.int64, np.int64, np.int8, np.int8, np.int64, np.int32],
        )
        link_columns = await _copy(
            conn, f"select {_LINK_COLUMNS} from issue_links l", [np.int64, end, end, np.int8]
        )
        assignees = await conn.fetch(
            """select a.issue_id, a.user_id from issue_assignees a
                 join issues i on i.id = a.issue_id where i.confidential"""
        )
    return Snapshot(
        horizon=horizon,
        applied={r["id"]: r["xid"] for r in above},
        issues=IssueRows(*issue_columns),
        links=LinkRows(*link_columns),
        assignees=[(r["issue_id"], r["user_id"]) for r in assignees],
    )


def _ints(values: list[int] | None) -> IntArray:
    return np.asarray(values or [], dtype=np.int64)


_CHANGES = f"""
with ev as (
    select c.id, c.xid::text::bigint as xid, c.issue_ids, c.link_id
      from graph_changes c
     where c.xid >= $1::text::xid8 and c.id <> all($2::bigint[])
),
named_links as (
    select ev.link_id as id, array_agg(distinct n.issue_id) as issue_ids
      from ev cross join lateral unnest(ev.issue_ids) as n(issue_id)
     where ev.link_id is not null
     group by ev.link_id
),
named_issues as (
    select distinct ev.issue_ids[1] as id from ev where ev.link_id is null
),
links as (
    select {_LINK_COLUMNS} from issue_links l join named_links n on n.id = l.id
),
issues as (
    select {_ISSUE_COLUMNS} from issues i join named_issues n on n.id = i.id
)
select {HORIZON}::text::bigint as horizon,
       (select below::text::bigint from graph_changes_pruned) as pruned_below,
       (select array_agg(id) from ev) as change_ids,
       (select array_agg(xid) from ev) as change_xids,
       (select array_agg(id) from named_links) as named_link_ids,
       (select array_agg(array_to_string(issue_ids, ',')) from named_links) as named_link_issues,
       (select array_agg(id) from named_issues) as named_issue_ids,
       (select array_agg(l.id) from links l) as link_id,
       (select array_agg(l.source) from links l) as link_source,
       (select array_agg(l.target) from links l) as link_target,
       (select array_agg(l.type) from links l) as link_type,
       (select array_agg(i.id) from issues i) as issue_id,
       (select array_agg(i.project) from issues i) as issue_project,
       (select array_agg(i.opened) from issues i) as issue_opened,
       (select array_agg(i.confidential) from issues i) as issue_confidential,
       (select array_agg(i.author) from issues i) as issue_author,
       (select array_agg(i.iid) from issues i) as issue_iid,
       (select array_agg(a.issue_id) from issue_assignees a
          join issues i on i.id = a.issue_id and i.confidential = 1) as assignee_issue,
       (select array_agg(a.user_id) from issue_assignees a
          join issues i on i.id = a.issue_id and i.confidential = 1) as assignee_user
"""


async def changes(pool: Any, horizon: int, applied: list[int]) -> Changes:
    """The changes past `horizon` not in `applied`, and the current rows of what they name."""
    r = await pool.fetchrow(_CHANGES, str(horizon), applied)
    named = r["named_link_issues"] or []
    return Changes(
        horizon=r["horizon"],
        pruned_below=r["pruned_below"],
        changes=dict(zip(r["change_ids"] or [], r["change_xids"] or [], strict=True)),
        links_named=[
            (link, [int(i) for i in issues.split(",")])
            for link, issues in zip(r["named_link_ids"] or [], named, strict=True)
        ],
        links=LinkRows(
            _ints(r["link_id"]),
            _ints(r["link_source"]),
            _ints(r["link_target"]),
            _ints(r["link_type"]),
        ),
        issues_named=list(r["named_issue_ids"] or []),
        issues=IssueRows(
            _ints(r["issue_id"]),
            _ints(r["issue_project"]),
            _ints(r["issue_opened"]),
            _ints(r["issue_confidential"]),
            _ints(r["issue_author"]),
            _ints(r["issue_iid"]),
        ),
        assignees=list(zip(r["assignee_issue"] or [], r["assignee_user"] or [], strict=True)),
    )


async def prune(pool: Any, retention_seconds: float) -> int:
    """Remove the changes older than the retention (and below the horizon, so every reader
    past it has them); raise the watermark past them. How many went."""
    removed: int = await pool.fetchval(
        f"""
        with gone as (
            delete from graph_changes
             where at < now() - make_interval(secs => $1) and xid < {HORIZON}
            returning xid::text::numeric as xid
        ), marked as (
            update graph_changes_pruned
               set below = greatest(below::text::numeric, (select max(xid) + 1 from gone))
                           ::text::xid8
             where exists (select 1 from gone)
        )
        select count(*) from gone
        """,
        retention_seconds,
    )
    return removed


@dataclass(frozen=True, slots=True)
class Grants:
    """What the read rule needs of one viewer, per project id: may read its issues, may
    read its confidential ones (a role of reporter or above)."""

    readable: IntArray
    confidential: IntArray


async def grants(pool: Any, viewer_id: int | None) -> Grants:
    """The projects whose issues the viewer may read, and those whose confidential ones too
    (the project half of `visibility.readable_issue`; an admin needs none of it)."""
    r = await pool.fetchrow(
        """
        select array_agg(p.id) filter (where p.visibility = 'public'
                   or (p.visibility = 'internal' and $1::bigint is not null)
                   or m.role is not null) as readable,
               array_agg(p.id) filter (where m.role >= 'reporter') as confidential
          from projects p
          left join project_members m on m.project_id = p.id and m.user_id = $1::bigint
        """,
        viewer_id,
    )
    return Grants(readable=_ints(r["readable"]), confidential=_ints(r["confidential"]))
