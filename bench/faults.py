"""Load and faults: under load, through a database restart and a killed server, nothing
acknowledged is lost and every link rule still holds in the database.

    .venv/bin/python -m bench.faults            # about 2.5 minutes on the 2-core machine

Set-up: a PostgreSQL of its own (the embedded server, in a temporary directory), migrated
and seeded through the service's own domain functions (writers and a reader with tokens,
three projects, 300 issues), and `issuegraph serve` as a separate process against it. This
process is the client: aiohttp, `--writers` tasks creating and deleting links and
`--readers` tasks reading issues with their links and dependency graphs. Three phases:

1. steady (60 s): the load alone;
2. postgres-restart (30 s): PostgreSQL is stopped (`pg_ctl -m fast`) at 10 s, kept down 3 s
   and started again; the server must keep answering, fast and with a coded error, and
   recover by itself;
3. server-kill (30 s): the server is SIGKILLed at 10 s and started again at once.

The ledger. Each writer owns a disjoint set of issue pairs and works on one pair at a time,
so every pair's history is sequential and its state after each answer is known exactly:
absent, or present as one link (id, stored source, target and type). The pairs are drawn
from a small set of "hot" issues shared by all writers, so `blocks` cycles, second parents,
over-deep trees and the per-issue limit arise across writers and are refused. A write whose
outcome the client cannot know (an error answer, a broken connection) is resolved the way a
careful client would: a create is retried with `onConflict: RETURN_EXISTING` through
`createIssueLinks`, whose `created` flag says whether the first attempt had landed; a delete
is retried and NOT_FOUND means it had. Only a write that timed out (it may still be running)
leaves its pair uncertain: either state is then accepted, and counted. Every create carries
a `comment` tagged with its op id; the service stores it as a note in the link's own
transaction, so a note without its link (or the reverse) is a half-made write.

After the last phase the server is stopped and the database is checked directly: the state
of every pair against the ledger, no link outside the ledger, no self-link, one link per
pair (either direction), no `blocks` cycle, parent links a forest at most 8 deep, the
per-issue limit, and the notes against the creates. Limitation: a pair's expected state
relies on no one else writing it; a rule broken across pairs (a cycle, a second parent) is
caught by the invariant checks, not by the ledger.

The change log and its readers, through all three phases: the first writer (owner of every
project) registers a webhook per project for link events, pointing at a receiver in this
process that verifies every Standard Webhooks signature, and subscribes over WebSocket to
every link event, subscribing again after its last cursor whenever the connection ends
(the server killed, the database away). After the writes settle, both get up to 60 s to
receive what the log owes them. Then: each link's events are its creation and at most its
deletion, the log replays to the links in the table, every acknowledged create and delete
has its event; the subscriber saw every pushed event exactly once, in log order; every
event owed to a hook was delivered at least once.

Writes bench/results/faults.md, faults.json and faults-server.log (the server's output).
Exit status: 0 when every check passes; 1 when a data check fails (something acknowledged
lost, a refused or deleted link present, a rule broken in the database, a half-made link);
2 when only a behaviour check fails (a hang, an unexpected or uncoded error, no recovery).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from issuegraph.db.database import create_database_if_missing
from issuegraph.db.embedded import EmbeddedServer, start_embedded
from issuegraph.db.migrate import migrate
from issuegraph.domain import issues as issue_service
from issuegraph.domain import projects as project_service
from issuegraph.domain.access import Access
from issuegraph.domain.auth import create_token
from issuegraph.domain.users import create_user
from issuegraph.loaders import Loaders
from issuegraph.models import Role, TokenScope, User, Viewer, Visibility

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

RESULTS = Path(__file__).resolve().parent / "results"
DATABASE = "issuegraph_faults"
NOTE_PREFIX = "faults-op "
# How long the subscriber and the webhooks get, after the last write, to receive it all.
LIVE_CATCH_UP_SECONDS = 60.0
MAX_PARENT_DEPTH = 8
PROJECTS = (
    ("faults/public", Visibility.PUBLIC),
    ("faults/internal", Visibility.INTERNAL),
    ("faults/private", Visibility.PRIVATE),
)
WRITER_USERS = ("faults-w1", "faults-w2", "faults-w3", "faults-w4")
READER_USER = "faults-reader"

# As a client names a type, from the first issue: the stored type, and whether the stored
# link runs from the second issue to the first (docs/contract.md's table of link types;
# the bench's own oracle).
LINK_TYPES: dict[str, tuple[str, bool]] = {
    "BLOCKS": ("blocks", False),
    "IS_BLOCKED_BY": ("blocks", True),
    "RELATES_TO": ("relates", False),
    "PARENT_OF": ("parent", False),
    "CHILD_OF": ("parent", True),
    "DUPLICATES": ("duplicates", False),
    "CLONES": ("clones", False),
}
STORED_NAMES = {"blocks": "BLOCKS", "relates": "RELATES_TO", "parent": "PARENT_OF"}
STORED_NAMES |= {"duplicates": "DUPLICATES", "clones": "CLONES"}
CREATE_MIX = (
    ("BLOCKS", 38),
    ("IS_BLOCKED_BY", 10),
    ("RELATES_TO", 22),
    ("PARENT_OF", 12),
    ("CHILD_OF", 6),
    ("DUPLICATES", 6),
    ("CLONES", 6),
)

_LINK = "databaseId linkType source { databaseId } target { databaseId }"
CREATE = f"""
mutation Create($input: CreateIssueLinkInput!) {{
  createIssueLink(input: $input) {{ errors {{ code }} link {{ {_LINK} }} }}
}}"""
RETRY_CREATE = f"""
mutation Retry($input: CreateIssueLinksInput!) {{
  createIssueLinks(input: $input) {{ errors {{ code }} links {{ created link {{ {_LINK} }} }} }}
}}"""
DELETE = """
mutation Delete($input: DeleteIssueLinkInput!) {
  deleteIssueLink(input: $input) { errors { code } link { databaseId } }
}"""
READ = """
query Read($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    iid title state
    links(first: 50) { totalCount edges { linkType node { iid title state } } }
    dependencies(direction: BOTH, linkTypes: [BLOCKS, PARENT_OF], maxDepth: 10, first: 200) {
      depthReached truncated nodes { distance issue { iid } } edges { databaseId }
    }
  }
}"""
PROBE = "query Probe($project: ID!, $iid: Int!) { issue(project: $project, iid: $iid) { iid } }"

# The database, read directly at the end (parameterised; the bench's own checks).
LINK_ROWS = "select id, source_id, target_id, link_type::text from issue_links order by id"
NOTE_BODIES = "select body from notes where starts_with(body, $1)"
SELF_LINKS = "select count(*) from issue_links where source_id = target_id"
DUPLICATE_PAIRS = """
select count(*) from (
  select 1 from issue_links
   group by least(source_id, target_id), greatest(source_id, target_id)
  having count(*) > 1) as d"""
SECOND_PARENTS = """
select count(*) from (
  select 1 from issue_links where link_type = 'parent' group by target_id having count(*) > 1
) as p"""
# Every issue that reaches itself over links of one type. UNION (not UNION ALL) drops rows
# already found, so the walk ends on any graph, cycles included.
ON_A_CYCLE = """
with recursive reach(start_id, issue_id) as (
    select source_id, target_id from issue_links where link_type = $1::link_type
  union
    select r.start_id, l.target_id
      from reach as r
      join issue_links as l on l.source_id = r.issue_id and l.link_type = $1::link_type
)
select count(*) from reach where start_id = issue_id"""

# Outcomes of one request. ERROR and TRANSPORT leave a write's outcome unknown; a TIMEOUT
# too (and it may still be running); UNSENT (the connection was refused) changed nothing.
OK, REFUSED, ERROR, TRANSPORT, TIMEOUT, UNSENT = (
    "ok",
    "refused",
    "error",
    "transport",
    "timeout",
    "unsent",
)
OUTCOMES = (OK, REFUSED, ERROR, TRANSPORT, TIMEOUT, UNSENT)
UNKNOWN = frozenset({ERROR, TRANSPORT})
ANSWERED = frozenset({OK, REFUSED})
FAILED = frozenset({ERROR, TRANSPORT, TIMEOUT})


@dataclass(frozen=True, slots=True)
class Options:
    steady: float = 60.0
    phase: float = 30.0
    fault_at: float = 10.0
    outage: float = 3.0
    writers: int = 32
    readers: int = 8
    issues: int = 300
    hot_issues: int = 80
    pairs_per_writer: int = 30
    max_links: int = 15
    timeout: float = 10.0
    recovery_limit: float = 15.0
    seed: int = 1
    output_dir: Path = RESULTS


# -- the client side -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """One HTTP request: what it was, when, and how it ended."""

    kind: str  # read, probe, create, delete, duplicate, idempotent, retry-create, retry-delete
    started: float
    ended: float
    outcome: str
    code: str
    status: int | None

    @property
    def is_write(self) -> bool:
        return self.kind not in {"read", "probe"}


@dataclass(frozen=True, slots=True)
class Reply:
    outcome: str
    code: str
    payload: dict[str, Any] | None = None


def _codes(values: Iterable[Any]) -> str:
    return "+".join(sorted({str(v) if v else "NO_CODE" for v in values})) or "NO_CODE"


def classify(status: int, raw: bytes, field_name: str) -> Reply:
    """An HTTP answer as an outcome: the payload of `field_name`, its coded errors, or the
    request-level error (`extensions.code`), or a body that is not GraphQL's JSON at all."""
    try:
        body = json.loads(raw)
    except ValueError:
        return Reply(ERROR, f"HTTP_{status}_NOT_JSON")
    if not isinstance(body, dict):
        return Reply(ERROR, f"HTTP_{status}_NOT_JSON")
    if body.get("errors"):
        return Reply(
            ERROR,
            _codes(
                (e.get("extensions") or {}).get("code") if isinstance(e, dict) else None
                for e in body["errors"]
            ),
        )
    payload = (body.get("data") or {}).get(field_name)
    if not isinstance(payload, dict):
        return Reply(ERROR, f"HTTP_{status}_NO_{field_name.upper()}")
    if payload.get("errors"):
        return Reply(REFUSED, _codes(e.get("code") for e in payload["errors"]), payload)
    return Reply(OK, "OK", payload)


class Client:
    """GraphQL over one aiohttp session; every request is kept as a Sample."""

    def __init__(self, session: aiohttp.ClientSession, url: str, clock: Callable[[], float]):
        self.session = session
        self.url = url
        self.clock = clock
        self.samples: list[Sample] = []

    async def call(
        self, kind: str, token: str, query: str, variables: dict[str, Any], field_name: str
    ) -> Reply:
        started = self.clock()
        status: int | None = None
        try:
            async with self.session.post(
                self.url,
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            reply = Reply(TIMEOUT, "TIMEOUT")
        except aiohttp.ClientConnectorError:
            reply = Reply(UNSENT, "CONNECTION_REFUSED")
        except (aiohttp.ClientError, OSError) as error:
            reply = Reply(TRANSPORT, type(error).__name__)
        else:
            reply = classify(status, raw, field_name)
        self.samples.append(Sample(kind, started, self.clock(), reply.outcome, reply.code, status))
        return reply


# -- the ledger ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueRef:
    id: int
    project: str
    iid: int


@dataclass(frozen=True, slots=True)
class Stored:
    """A link as the database should hold it."""

    source: int
    target: int
    type: str


@dataclass(slots=True)
class Op:
    """One intended write and what the client learnt of it."""

    id: int
    writer: int
    kind: str  # create, delete, duplicate, idempotent
    first: IssueRef
    second: IssueRef
    link_type: str
    expected: Stored
    link_id: int | None = None
    tag: str | None = None  # the comment, stored as a note with the link
    outcome: str = ""
    code: str = ""
    attempts: int = 1  # requests with an unknown outcome, the first one included
    committed: bool | None = None  # for an unknown outcome, once a retry tells

    @property
    def pair(self) -> frozenset[int]:
        return frozenset((self.first.id, self.second.id))


@dataclass(slots=True)
class Pair:
    a: IssueRef
    b: IssueRef
    link_id: int | None = None  # present (known) when set
    stored: Stored | None = None
    pending: Op | None = None  # a write of unknown outcome, being resolved
    uncertain: bool = False  # a write timed out: either state is possible, for good

    @property
    def key(self) -> frozenset[int]:
        return frozenset((self.a.id, self.b.id))

    def end(self, issue_id: int) -> IssueRef:
        return self.a if self.a.id == issue_id else self.b


@dataclass(slots=True)
class Ledger:
    pairs: list[Pair]
    ops: list[Op] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    unexpected_codes: Counter[str] = field(default_factory=Counter)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def op(
        self,
        writer: int,
        kind: str,
        first: IssueRef,
        second: IssueRef,
        link_type: str,
        *,
        tagged: bool,
        link_id: int | None = None,
    ) -> Op:
        stored_type, swapped = LINK_TYPES[link_type]
        expected = (
            Stored(second.id, first.id, stored_type)
            if swapped
            else Stored(first.id, second.id, stored_type)
        )
        number = next(self._ids)
        op = Op(number, writer, kind, first, second, link_type, expected, link_id=link_id)
        if tagged:
            op.tag = f"{NOTE_PREFIX}{number}"
        self.ops.append(op)
        return op


def link_input(op: Op, on_conflict: str, *, comment: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "project": op.first.project,
        "iid": op.first.iid,
        "targetProject": op.second.project,
        "targetIssueIid": op.second.iid,
        "linkType": op.link_type,
        "onConflict": on_conflict,
    }
    if comment is not None:
        item["comment"] = comment
    return item


def backoff(failures: int) -> float:
    return min(1.0, 0.05 * float(2 ** min(failures, 5)))


class Writer:
    """Creates and deletes links on its own pairs, one pair and one write at a time."""

    def __init__(
        self, number: int, pairs: list[Pair], token: str, client: Client, ledger: Ledger
    ) -> None:
        self.number = number
        self.pairs = pairs
        self.token = token
        self.client = client
        self.ledger = ledger
        self.rng = random.Random(number)
        self.types = [name for name, _ in CREATE_MIX]
        self.weights = [weight for _, weight in CREATE_MIX]

    def _pending(self) -> Pair | None:
        return next((p for p in self.pairs if p.pending and not p.uncertain), None)

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            pair = self._pending()
            if pair is not None:
                outcome = await self.resolve(pair)
            else:
                live = [p for p in self.pairs if not p.uncertain]
                if not live:
                    return
                outcome = await self.step(self.rng.choice(live))
            failures = 0 if outcome in ANSWERED else failures + 1
            if failures:
                await asyncio.sleep(backoff(failures))

    async def settle(self, deadline: float) -> None:
        """Resolve a write of unknown outcome left over when the last phase ended."""
        failures = 0
        while (pair := self._pending()) is not None and self.client.clock() < deadline:
            outcome = await self.resolve(pair)
            failures = 0 if outcome in ANSWERED else failures + 1
            if failures:
                await asyncio.sleep(backoff(failures))

    async def step(self, pair: Pair) -> str:
        if pair.link_id is None:
            return await self.create(pair)
        draw = self.rng.random()
        if draw < 0.6:
            return await self.delete(pair)
        if draw < 0.85:
            return await self.duplicate(pair)
        return await self.idempotent(pair)

    def _ends(self, pair: Pair) -> tuple[IssueRef, IssueRef]:
        return (pair.a, pair.b) if self.rng.random() < 0.5 else (pair.b, pair.a)

    def _acknowledged(self, pair: Pair, op: Op, link: dict[str, Any] | None) -> None:
        if link is None:  # "no errors" and yet no link: the client cannot tell what happened
            self.ledger.anomalies.append(f"op {op.id}: acknowledged without a link")
            pair.pending, pair.uncertain = op, True
            return
        seen = Stored(link["source"]["databaseId"], link["target"]["databaseId"], link["linkType"])
        wanted = Stored(op.expected.source, op.expected.target, STORED_NAMES[op.expected.type])
        if seen != wanted:
            self.ledger.anomalies.append(f"op {op.id}: acknowledged {seen}, asked for {wanted}")
        op.link_id = link["databaseId"]
        pair.link_id, pair.stored, pair.pending = op.link_id, op.expected, None

    async def create(self, pair: Pair) -> str:
        first, second = self._ends(pair)
        link_type = self.rng.choices(self.types, self.weights)[0]
        op = self.ledger.op(self.number, "create", first, second, link_type, tagged=True)
        variables = {"input": link_input(op, "ERROR", comment=op.tag)}
        reply = await self.client.call("create", self.token, CREATE, variables, "createIssueLink")
        op.outcome, op.code = reply.outcome, reply.code
        if reply.outcome == OK:
            assert reply.payload is not None  # noqa: S101
            self._acknowledged(pair, op, reply.payload["link"])
        elif reply.outcome in UNKNOWN or reply.outcome == TIMEOUT:
            pair.pending = op
            pair.uncertain = reply.outcome == TIMEOUT
        return reply.outcome

    async def delete(self, pair: Pair) -> str:
        assert pair.stored is not None  # noqa: S101  (a present pair)
        first, second = self._ends(pair)  # the request may name either end
        name = STORED_NAMES[pair.stored.type]
        op = self.ledger.op(
            self.number, "delete", first, second, name, tagged=False, link_id=pair.link_id
        )
        op.expected = pair.stored
        reply = await self._delete(op, "delete")
        op.outcome, op.code = reply.outcome, reply.code
        if reply.outcome == OK:
            self._deleted(pair, op, reply)
        elif reply.outcome == REFUSED:
            self.ledger.anomalies.append(
                f"op {op.id}: deleting present link {op.link_id} refused with {reply.code}"
            )
        elif reply.outcome in UNKNOWN or reply.outcome == TIMEOUT:
            pair.pending = op
            pair.uncertain = reply.outcome == TIMEOUT
        return reply.outcome

    async def _delete(self, op: Op, kind: str) -> Reply:
        variables = {
            "input": {"project": op.first.project, "iid": op.first.iid, "linkId": str(op.link_id)}
        }
        return await self.client.call(kind, self.token, DELETE, variables, "deleteIssueLink")

    def _deleted(self, pair: Pair, op: Op, reply: Reply) -> None:
        assert reply.payload is not None  # noqa: S101
        deleted = (reply.payload.get("link") or {}).get("databaseId")
        if deleted != op.link_id:
            self.ledger.anomalies.append(f"op {op.id}: deleted {deleted}, asked for {op.link_id}")
        pair.link_id, pair.stored, pair.pending = None, None, None

    async def duplicate(self, pair: Pair) -> str:
        """A second link between linked issues, any type or direction: must be CONFLICT."""
        first, second = self._ends(pair)
        link_type = self.rng.choices(self.types, self.weights)[0]
        op = self.ledger.op(self.number, "duplicate", first, second, link_type, tagged=True)
        variables = {"input": link_input(op, "ERROR", comment=op.tag)}
        reply = await self.client.call(
            "duplicate", self.token, CREATE, variables, "createIssueLink"
        )
        op.outcome, op.code = reply.outcome, reply.code
        if reply.outcome == OK:
            self.ledger.anomalies.append(f"op {op.id}: a second link of a pair was acknowledged")
        elif reply.outcome == REFUSED and reply.code != "CONFLICT":
            self.ledger.unexpected_codes[f"duplicate:{reply.code}"] += 1
        return reply.outcome

    async def idempotent(self, pair: Pair) -> str:
        """The same link again with RETURN_EXISTING: must return the existing link."""
        assert pair.stored is not None  # noqa: S101
        source, target = pair.end(pair.stored.source), pair.end(pair.stored.target)
        name = STORED_NAMES[pair.stored.type]
        op = self.ledger.op(self.number, "idempotent", source, target, name, tagged=False)
        variables = {"input": link_input(op, "RETURN_EXISTING", comment=None)}
        reply = await self.client.call(
            "idempotent", self.token, CREATE, variables, "createIssueLink"
        )
        op.outcome, op.code = reply.outcome, reply.code
        if reply.outcome == OK:
            assert reply.payload is not None  # noqa: S101
            returned = (reply.payload.get("link") or {}).get("databaseId")
            if returned != pair.link_id:
                self.ledger.anomalies.append(
                    f"op {op.id}: RETURN_EXISTING gave link {returned}, not {pair.link_id}"
                )
        elif reply.outcome == REFUSED:
            self.ledger.anomalies.append(f"op {op.id}: RETURN_EXISTING refused: {reply.code}")
        return reply.outcome

    async def resolve(self, pair: Pair) -> str:
        """Learn what became of the pending write, as a careful client would."""
        op = pair.pending
        assert op is not None  # noqa: S101
        if op.kind == "create":
            variables = {"input": {"links": [link_input(op, "RETURN_EXISTING", comment=None)]}}
            reply = await self.client.call(
                "retry-create", self.token, RETRY_CREATE, variables, "createIssueLinks"
            )
            if reply.outcome == OK:
                assert reply.payload is not None  # noqa: S101
                (item,) = reply.payload["links"]
                # Not created now: an earlier attempt had landed (the first, if it was alone).
                op.committed = False if item["created"] else (True if op.attempts == 1 else None)
                self._acknowledged(pair, op, item["link"])
            elif reply.outcome == REFUSED:
                # RETURN_EXISTING returns an existing link before any rule: there was none.
                op.committed = False
                pair.pending = None
        else:
            reply = await self._delete(op, "retry-delete")
            if reply.outcome == OK:
                op.committed = False
                self._deleted(pair, op, reply)
            elif reply.outcome == REFUSED and reply.code == "NOT_FOUND":
                op.committed = True if op.attempts == 1 else None
                pair.link_id, pair.stored, pair.pending = None, None, None
            elif reply.outcome == REFUSED:
                self.ledger.anomalies.append(f"op {op.id}: retried delete refused: {reply.code}")
                pair.uncertain = True
        if reply.outcome in UNKNOWN:
            op.attempts += 1
        elif reply.outcome == TIMEOUT:
            pair.uncertain = True
        return reply.outcome


async def probe(client: Client, issue: IssueRef, token: str, stop: asyncio.Event) -> None:
    """A cheap read every 50 ms, without back-off, so that recovery is timed closely."""
    variables = {"project": issue.project, "iid": issue.iid}
    while not stop.is_set():
        await client.call("probe", token, PROBE, variables, "issue")
        await asyncio.sleep(0.05)


class Reader:
    """Reads issues with their links and dependency graphs, mostly the hot ones."""

    def __init__(
        self, number: int, hot: list[IssueRef], every: list[IssueRef], token: str, client: Client
    ) -> None:
        self.rng = random.Random(1000 + number)
        self.hot, self.every, self.token, self.client = hot, every, token, client

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            pool = self.hot if self.rng.random() < 0.8 else self.every
            issue = self.rng.choice(pool)
            variables = {"project": issue.project, "iid": issue.iid}
            reply = await self.client.call("read", self.token, READ, variables, "issue")
            failures = 0 if reply.outcome in ANSWERED else failures + 1
            if failures:
                await asyncio.sleep(backoff(failures))


# -- the database at the end ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkRow:
    id: int
    source: int
    target: int
    type: str


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str
    kind: str = "data"  # or "behaviour"


def find_cycle(edges: Iterable[tuple[int, int]]) -> list[int] | None:
    """A cycle of the directed graph, as its issues in order, or None (iterative DFS)."""
    out: dict[int, list[int]] = defaultdict(list)
    for source, target in edges:
        out[source].append(target)
    state: dict[int, int] = {}  # 1: on the current path, 2: finished
    for start in list(out):
        if start in state:
            continue
        path = [start]
        state[start] = 1
        stack = [iter(out[start])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(out[nxt]))
    return None


def parent_depth(edges: Iterable[tuple[int, int]]) -> int:
    """The most links on one parent chain (the parent edges must have no cycle)."""
    parent = {child: par for par, child in edges}
    depth: dict[int, int] = {}
    for start in parent:
        chain = []
        node = start
        while node in parent and node not in depth:
            chain.append(node)
            node = parent[node]
        base = depth.get(node, 0)
        for offset, issue in enumerate(reversed(chain), start=1):
            depth[issue] = base + offset
    return max(depth.values(), default=0)


def rule_checks(rows: Sequence[LinkRow], max_links: int) -> list[Check]:
    """Every link rule, checked in Python over the rows the database holds."""
    checks = []
    selfs = [r.id for r in rows if r.source == r.target]
    checks.append(Check("no self-link", not selfs, f"{len(selfs)} self-links {selfs[:5]}"))
    pairs = Counter(frozenset((r.source, r.target)) for r in rows)
    twice = [sorted(p) for p, n in pairs.items() if n > 1]
    checks.append(
        Check(
            "one link per pair, either direction",
            not twice,
            f"{len(twice)} pairs linked more than once {twice[:5]}",
        )
    )
    blocks = find_cycle((r.source, r.target) for r in rows if r.type == "blocks")
    checks.append(Check("no blocks cycle", blocks is None, f"cycle {blocks}" if blocks else "none"))
    parent_edges = [(r.source, r.target) for r in rows if r.type == "parent"]
    parents = Counter(child for _, child in parent_edges)
    two = [child for child, n in parents.items() if n > 1]
    checks.append(
        Check("parent: one parent per issue", not two, f"{len(two)} with several {two[:5]}")
    )
    loop = find_cycle(parent_edges)
    checks.append(Check("parent: no cycle", loop is None, f"cycle {loop}" if loop else "none"))
    if loop is None:
        deepest = parent_depth(parent_edges)
        checks.append(
            Check(
                f"parent: at most {MAX_PARENT_DEPTH} deep",
                deepest <= MAX_PARENT_DEPTH,
                f"deepest chain {deepest}",
            )
        )
    per_issue = Counter(i for r in rows for i in (r.source, r.target))
    over = {i: n for i, n in per_issue.items() if n > max_links}
    checks.append(
        Check(
            f"at most {max_links} links per issue",
            not over,
            f"most on one issue {max(per_issue.values(), default=0)}"
            + (f"; over: {dict(list(over.items())[:5])}" if over else ""),
        )
    )
    return checks


async def fetch_links(conn: asyncpg.Connection) -> list[LinkRow]:
    return [LinkRow(*row) for row in await conn.fetch(LINK_ROWS)]


async def sql_checks(conn: asyncpg.Connection) -> list[Check]:
    """The same rules once more, in SQL (a recursive walk for the cycles)."""
    selfs = await conn.fetchval(SELF_LINKS)
    twice = await conn.fetchval(DUPLICATE_PAIRS)
    parents = await conn.fetchval(SECOND_PARENTS)
    blocks = await conn.fetchval(ON_A_CYCLE, "blocks")
    parent = await conn.fetchval(ON_A_CYCLE, "parent")
    return [
        Check("no self-link (SQL)", selfs == 0, f"{selfs} self-links"),
        Check("one link per pair (SQL)", twice == 0, f"{twice} pairs linked more than once"),
        Check("no blocks cycle (SQL walk)", blocks == 0, f"{blocks} issues reach themselves"),
        Check("parent: one parent (SQL)", parents == 0, f"{parents} issues with several"),
        Check("parent: no cycle (SQL walk)", parent == 0, f"{parent} issues reach themselves"),
    ]


async def check_database(conn: asyncpg.Connection, max_links: int) -> list[Check]:
    """The invariants of the links table, whatever wrote it."""
    return rule_checks(await fetch_links(conn), max_links) + await sql_checks(conn)


async def note_ops(conn: asyncpg.Connection) -> Counter[int]:
    """How many notes each tagged op left."""
    bodies = await conn.fetch(NOTE_BODIES, NOTE_PREFIX)
    return Counter(int(body[len(NOTE_PREFIX) :]) for (body,) in bodies)


def _note_expected(op: Op, row: LinkRow | None, pair: Pair | None) -> bool | None:
    """Whether op's note must exist (None: cannot be known)."""
    if op.tag is None or (op.kind == "duplicate" and op.outcome == OK):
        return None  # (an acknowledged duplicate is an anomaly of its own)
    if op.kind == "duplicate" or op.outcome in {REFUSED, UNSENT}:
        return False  # refused, never sent, or a second link of a pair: never lands
    if op.outcome == OK:
        return True
    if op.committed is None and pair is not None and pair.pending is op and op.attempts == 1:
        return row is not None  # left uncertain before any retry: note and link together
    return op.committed


@dataclass(slots=True)
class _PairStates:
    expected: int = 0
    found: int = 0
    uncertain_present: int = 0
    uncertain_absent: int = 0
    lost: list[str] = field(default_factory=list)
    present_absent: list[str] = field(default_factory=list)
    impossible: list[str] = field(default_factory=list)


def _compare_pairs(pairs: Iterable[Pair], by_pair: dict[frozenset[int], LinkRow]) -> _PairStates:
    states = _PairStates()
    for pair in pairs:
        row = by_pair.get(pair.key)
        if pair.pending is not None:  # unknown for good: either state, as that write left it
            op = pair.pending
            allowed = row is None or (
                Stored(row.source, row.target, row.type) == op.expected
                and (op.kind == "create" or row.id == op.link_id)
            )
            if not allowed:
                states.impossible.append(f"pair {sorted(pair.key)}: {row} after op {op.id}")
            states.uncertain_present += row is not None
            states.uncertain_absent += row is None
        elif pair.link_id is not None and pair.stored is not None:
            states.expected += 1
            stored = pair.stored
            if row == LinkRow(pair.link_id, stored.source, stored.target, stored.type):
                states.found += 1
            else:
                states.lost.append(f"link {pair.link_id} {stored}: found {row}")
        elif row is not None:
            states.present_absent.append(f"pair {sorted(pair.key)}: {row}")
    return states


def ledger_checks(
    ledger: Ledger, rows: Sequence[LinkRow], notes: Counter[int]
) -> tuple[list[Check], dict[str, Any]]:
    """The database against what the client was told."""
    by_pair: dict[frozenset[int], LinkRow] = {}
    for row in rows:
        by_pair.setdefault(frozenset((row.source, row.target)), row)
    states = _compare_pairs(ledger.pairs, by_pair)
    known = {p.key for p in ledger.pairs}
    outside = [row for key, row in by_pair.items() if key not in known]
    refused_pairs = {op.pair for op in ledger.ops if op.kind == "create" and op.outcome == REFUSED}
    refused_found = sum(
        1
        for p in ledger.pairs
        if p.pending is None and p.link_id is None and p.key in by_pair and p.key in refused_pairs
    )
    pairs_by_key = {p.key: p for p in ledger.pairs}
    half_made: list[str] = []
    checked = 0
    for op in ledger.ops:
        must = _note_expected(op, by_pair.get(op.pair), pairs_by_key.get(op.pair))
        if must is None:
            continue
        checked += 1
        if notes.get(op.id, 0) != int(must):
            half_made.append(f"op {op.id} ({op.kind}, {op.outcome}): {notes.get(op.id, 0)} notes")
    creates = [op for op in ledger.ops if op.kind == "create"]
    deletes = [op for op in ledger.ops if op.kind == "delete"]
    unknown = [op for op in ledger.ops if op.outcome in UNKNOWN | {TIMEOUT}]
    resolvable = [op for op in unknown if op.kind in {"create", "delete"}]
    figures = {
        "pairs": len(ledger.pairs),
        "writes": len(ledger.ops),
        "creates": len(creates),
        "creates acknowledged": sum(op.outcome == OK for op in creates),
        "creates refused": dict(Counter(op.code for op in creates if op.outcome == REFUSED)),
        "deletes acknowledged": sum(op.outcome == OK for op in deletes),
        "duplicates refused": sum(
            op.outcome == REFUSED for op in ledger.ops if op.kind == "duplicate"
        ),
        "idempotent returns": sum(op.outcome == OK for op in ledger.ops if op.kind == "idempotent"),
        "unknown outcomes": len(unknown),
        "unknown creates/deletes: had landed": sum(op.committed is True for op in resolvable),
        "unknown creates/deletes: had not landed": sum(op.committed is False for op in resolvable),
        "unknown creates/deletes: undetermined": sum(op.committed is None for op in resolvable),
        "unknown duplicates/idempotent (change nothing)": len(unknown) - len(resolvable),
        "pairs left uncertain": states.uncertain_present + states.uncertain_absent,
        "uncertain pairs present / absent": (
            f"{states.uncertain_present} / {states.uncertain_absent}"
        ),
        "expected present": states.expected,
        "found as expected": states.found,
        "links in the database": len(rows),
        "refused creates found": refused_found,
        "notes checked": checked,
    }
    checks = [
        Check(
            "every acknowledged link present (acknowledged creates - deletes)",
            not states.lost,
            f"expected {states.expected}, found {states.found}"
            + (f"; lost: {states.lost[:5]}" if states.lost else ""),
        ),
        Check(
            "no refused or deleted link present",
            not states.present_absent,
            f"{len(states.present_absent)} present, {refused_found} of them refused"
            + (f": {states.present_absent[:5]}" if states.present_absent else ""),
        ),
        Check(
            "unknown outcomes: either state, nothing else",
            not states.impossible,
            f"{states.uncertain_present} present, {states.uncertain_absent} absent"
            + (f"; impossible: {states.impossible[:5]}" if states.impossible else ""),
        ),
        Check(
            "no half-made link (a create's note iff its link)",
            not half_made,
            f"{checked} notes checked" + (f"; mismatched: {half_made[:5]}" if half_made else ""),
        ),
        Check(
            "no link outside the ledger",
            not outside,
            f"{len(outside)} outside" + (f": {outside[:5]}" if outside else ""),
        ),
        Check(
            "every answer matched its request",
            not ledger.anomalies,
            f"{len(ledger.anomalies)} anomalies {ledger.anomalies[:5]}",
        ),
    ]
    return checks, figures


# -- the change log against the links -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A link event of the change log, in log order."""

    position: tuple[int, int]
    kind: str
    link_id: int


async def fetch_link_events(conn: asyncpg.Connection) -> list[LoggedEvent]:
    rows = await conn.fetch(
        "select xid::text::bigint as xid, id, kind, link_id from events"
        " where link_id is not null order by xid, id"
    )
    return [LoggedEvent((r["xid"], r["id"]), r["kind"], r["link_id"]) for r in rows]


CREATED_ONLY = ("link_created",)
CREATED_THEN_DELETED = ("link_created", "link_deleted")


def event_checks(
    ledger: Ledger, rows: Sequence[LinkRow], logged: Sequence[LoggedEvent]
) -> tuple[list[Check], dict[str, Any]]:
    """Every change has exactly one event: each link's events are its creation, then at
    most its deletion; replaying the log gives the links in the database; every write the
    client was told about has its event."""
    histories: dict[int, list[str]] = {}
    for event in logged:
        histories.setdefault(event.link_id, []).append(event.kind)
    malformed = {
        link_id: kinds
        for link_id, kinds in histories.items()
        if tuple(kinds) not in {CREATED_ONLY, CREATED_THEN_DELETED}
    }
    replayed = {link_id for link_id, kinds in histories.items() if tuple(kinds) == CREATED_ONLY}
    present = {row.id for row in rows}
    missing: list[str] = []
    for op in ledger.ops:
        if op.outcome != OK or op.link_id is None:
            continue
        if op.kind == "create" and "link_created" not in histories.get(op.link_id, []):
            missing.append(f"op {op.id}: created link {op.link_id}, no event")
        if op.kind == "delete" and "link_deleted" not in histories.get(op.link_id, []):
            missing.append(f"op {op.id}: deleted link {op.link_id}, no event")
    checks = [
        Check(
            "each link's events: created once, then deleted at most once",
            not malformed,
            f"{len(histories)} links in the log"
            + (f"; malformed: {list(malformed.items())[:5]}" if malformed else ""),
        ),
        Check(
            "the change log replays to the links in the database",
            replayed == present,
            f"{len(present)} links; only in the log: {sorted(replayed - present)[:5]}; "
            f"only in the table: {sorted(present - replayed)[:5]}",
        ),
        Check(
            "every acknowledged create and delete has its event",
            not missing,
            f"{len(missing)} missing" + (f": {missing[:5]}" if missing else ""),
        ),
    ]
    return checks, {"link events": len(logged), "links in the log": len(histories)}


# -- live readers: a subscriber that resumes, and a webhook receiver -----------------------

LINK_KIND_NAMES = ("LINK_CREATED", "LINK_UPDATED", "LINK_DELETED")
SUBSCRIBE = """subscription($after: String) {
  issueLinkEvents(after: $after) { databaseId cursor } }"""
CREATE_HOOK = """mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { errors { code message } secret webhook { databaseId } } }"""


@dataclass
class Subscriber:
    """Subscribed to every link event the whole run, over WebSocket; whenever the connection
    ends (the server killed, the database away), it subscribes again after the last cursor
    it saw, as a careful client does."""

    url: str
    token: str
    received: list[int] = field(default_factory=list)
    cursor: str | None = None
    connections: int = 0
    closes: Counter[str] = field(default_factory=Counter)

    async def run(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._connection(session, stop)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
                self.closes[type(error).__name__] += 1
            if not stop.is_set():
                await asyncio.sleep(0.2)

    async def _connection(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        async with session.ws_connect(
            self.url, protocols=("graphql-transport-ws",), heartbeat=5
        ) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"token": self.token}})
            ack = await ws.receive_json(timeout=10)
            if ack.get("type") != "connection_ack":
                self.closes[f"init: {ack.get('type')}"] += 1
                return
            self.connections += 1
            payload = {"query": SUBSCRIBE, "variables": {"after": self.cursor}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            stopping = asyncio.create_task(stop.wait())
            try:
                while True:
                    receiving = asyncio.create_task(ws.receive())
                    await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not receiving.done():
                        receiving.cancel()
                        return
                    message = receiving.result()
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        self.closes[f"close {ws.close_code}"] += 1
                        return
                    self._handle(json.loads(message.data))
            finally:
                stopping.cancel()

    def _handle(self, data: dict[str, Any]) -> None:
        if data.get("type") == "next" and data["payload"].get("data"):
            event = data["payload"]["data"]["issueLinkEvents"]
            self.received.append(event["databaseId"])
            self.cursor = event["cursor"]
        elif data.get("type") in {"error", "complete"} or data.get("payload", {}).get("errors"):
            self.closes[f"{data.get('type')}"] += 1
            raise ValueError(f"subscription ended: {data}")


@dataclass
class Receiver:
    """A webhook endpoint on loopback: verifies every signature (Standard Webhooks), and
    keeps the event ids each hook delivered."""

    secrets: dict[int, str] = field(default_factory=dict)  # hook id -> secret
    delivered: dict[int, set[int]] = field(default_factory=dict)  # hook id -> event ids
    requests: int = 0
    bad_signatures: int = 0
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{hook}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        hook = int(request.match_info["hook"])
        body = await request.read()
        try:
            Webhook(self.secrets[hook]).verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError):
            self.bad_signatures += 1
            return web.Response(status=400)
        event = json.loads(body)["data"]["eventId"]
        self.delivered.setdefault(hook, set()).add(event)
        return web.Response(status=204)

    async def register(self, client: Client, token: str) -> dict[int, str]:
        """One hook per project, for its link events; returns hook id -> project path.

        Each hook gets a URL of its own, so the receiver knows which secret signs it: the
        URL is fixed at creation, so the hook is made with a placeholder and pointed at
        its own path once its id is known."""
        hooks: dict[int, str] = {}
        for path, _ in PROJECTS:
            variables = {
                "input": {"project": path, "url": f"{self.url}/0", "kinds": LINK_KIND_NAMES}
            }
            async with client.session.post(
                client.url,
                json={"query": CREATE_HOOK, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                made = (await response.json())["data"]["createWebhook"]
            if made["errors"]:
                raise RuntimeError(f"createWebhook refused: {made['errors']}")
            hook = made["webhook"]["databaseId"]
            self.secrets[hook] = made["secret"]
            hooks[hook] = path
            async with client.session.post(
                client.url,
                json={
                    "query": "mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i)"
                    " { errors { code } } }",
                    "variables": {"i": {"webhook": hook, "url": f"{self.url}/{hook}"}},
                },
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                answer = await response.json()
            if answer["data"]["updateWebhook"]["errors"]:
                raise RuntimeError(f"updateWebhook refused: {answer}")
        return hooks


async def owed_events(conn: asyncpg.Connection, hooks: dict[int, str]) -> dict[int, set[int]]:
    """The link events each hook's project owes it: not silent, naming the project."""
    owed: dict[int, set[int]] = {}
    for hook, path in hooks.items():
        rows = await conn.fetch(
            """
            select e.id from events e join projects p on p.id = any(e.project_ids)
             where lower(p.full_path) = $1 and e.link_id is not null and not e.silent
            """,
            path,
        )
        owed[hook] = {r["id"] for r in rows}
    return owed


async def pushed_events(conn: asyncpg.Connection) -> list[int]:
    rows = await conn.fetch(
        "select id from events where link_id is not null and not silent order by xid, id"
    )
    return [r["id"] for r in rows]


async def until_caught_up(
    dsn: str, subscriber: Subscriber, receiver: Receiver, hooks: dict[int, str], seconds: float
) -> None:
    """Wait until the subscriber and every hook have what the log owes them (or time out)."""
    deadline = time.perf_counter() + seconds
    conn = await asyncpg.connect(dsn)
    try:
        while time.perf_counter() < deadline:
            pushed = await pushed_events(conn)
            owed = await owed_events(conn, hooks)
            if len(subscriber.received) >= len(pushed) and all(
                owed[h] <= receiver.delivered.get(h, set()) for h in hooks
            ):
                return
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


def live_checks(
    subscriber: Subscriber,
    receiver: Receiver,
    pushed: Sequence[int],
    owed: dict[int, set[int]],
) -> tuple[list[Check], dict[str, Any]]:
    received = subscriber.received
    duplicates = len(received) - len(set(received))
    missing = [e for e in pushed if e not in set(received)]
    undelivered = {h: sorted(ids - receiver.delivered.get(h, set())) for h, ids in owed.items()}
    undelivered = {h: ids for h, ids in undelivered.items() if ids}
    checks = [
        Check(
            "the resuming subscriber saw every pushed link event exactly once, in log order",
            list(received) == list(pushed),
            f"{len(pushed)} in the log, {len(received)} received, {duplicates} twice, "
            f"{len(missing)} missing {missing[:5]}, over {subscriber.connections} connections",
        ),
        Check(
            "every link event owed to a webhook was delivered at least once",
            not undelivered,
            f"{sum(len(ids) for ids in owed.values())} owed to {len(owed)} hooks"
            + (f"; undelivered: {dict(list(undelivered.items())[:3])}" if undelivered else ""),
        ),
        Check(
            "every webhook request carried a valid signature",
            receiver.bad_signatures == 0 and receiver.requests > 0,
            f"{receiver.requests} requests, {receiver.bad_signatures} bad signatures",
        ),
    ]
    figures = {
        "subscriber connections": subscriber.connections,
        "subscriber connection ends": dict(subscriber.closes),
        "events pushed": len(pushed),
        "webhook requests": receiver.requests,
    }
    return checks, figures


@dataclass
class Live:
    """The live readers of a run: the hooks' receiver and the resuming subscriber."""

    receiver: Receiver
    hooks: dict[int, str]
    subscriber: Subscriber
    stop: asyncio.Event
    task: asyncio.Task[None]

    @classmethod
    async def start(cls, client: Client, port: int, token: str) -> Live:
        receiver = Receiver()
        await receiver.start()
        hooks = await receiver.register(client, token)
        subscriber = Subscriber(f"ws://127.0.0.1:{port}/graphql", token)
        stop = asyncio.Event()
        task = asyncio.create_task(subscriber.run(client.session, stop))
        await asyncio.sleep(1.0)  # (its first subscription starts at the log's horizon)
        return cls(receiver, hooks, subscriber, stop, task)

    async def finish(self, dsn: str) -> None:
        """Give both what the log owes them, then stop them."""
        await until_caught_up(
            dsn, self.subscriber, self.receiver, self.hooks, LIVE_CATCH_UP_SECONDS
        )
        self.stop.set()
        await self.task
        await self.receiver.stop()


async def data_checks(
    dsn: str, options: Options, ledger: Ledger, live: Live
) -> tuple[list[Check], dict[str, Any]]:
    """The database, its change log and what the live readers got, against the ledger."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await fetch_links(conn)
        rules = rule_checks(rows, options.max_links) + await sql_checks(conn)
        notes = await note_ops(conn)
        logged = await fetch_link_events(conn)
        pushed = await pushed_events(conn)
        owed = await owed_events(conn, live.hooks)
    finally:
        await conn.close()
    ledger_results, figures = ledger_checks(ledger, rows, notes)
    logged_results, logged_figures = event_checks(ledger, rows, logged)
    live_results, live_figures = live_checks(live.subscriber, live.receiver, pushed, owed)
    figures.update(logged_figures)
    figures.update(live_figures)
    figures["unexpected refusal codes"] = dict(ledger.unexpected_codes)
    return ledger_results + logged_results + live_results + rules, figures


# -- set-up: the database, the data, the server --------------------------------------------


@dataclass(slots=True)
class Seeded:
    issues: list[IssueRef]
    writer_tokens: list[str]
    reader_token: str


def _acting_as(pool: asyncpg.Pool, user: User) -> Access:
    viewer = Viewer(user=user, scopes=frozenset({TokenScope.API}))
    return Access(viewer, Loaders(pool, viewer))


async def seed(dsn: str, issues: int) -> Seeded:
    """Users with tokens, three projects, `issues` issues: the service's own write paths."""
    async with asyncpg.create_pool(dsn, min_size=1, max_size=4) as pool:
        users = {name: await create_user(pool, name) for name in (*WRITER_USERS, READER_USER)}
        owner = users[WRITER_USERS[0]]
        for path, visibility in PROJECTS:
            await project_service.create_project(
                _acting_as(pool, owner), pool, full_path=path, name=None, visibility=visibility
            )
            for name in (*WRITER_USERS[1:], READER_USER):
                await project_service.add_member(
                    _acting_as(pool, owner),
                    pool,
                    project_ref=path,
                    username=name,
                    role=Role.REPORTER if name == READER_USER else Role.DEVELOPER,
                )
        refs = []
        for n in range(issues):
            path = PROJECTS[n % len(PROJECTS)][0]
            issue = await issue_service.create_issue(
                _acting_as(pool, owner), pool, project_ref=path, title=f"Fault drill {n + 1}"
            )
            refs.append(IssueRef(issue.id, path, issue.iid))
        writer_tokens = [
            (await create_token(pool, name, scopes=[TokenScope.API], name="faults"))[1]
            for name in WRITER_USERS
        ]
        _, reader_token = await create_token(
            pool, READER_USER, scopes=[TokenScope.READ_API], name="faults"
        )
    return Seeded(refs, writer_tokens, reader_token)


def deal_pairs(issues: list[IssueRef], options: Options) -> list[list[Pair]]:
    """Each writer's own pairs, disjoint (either direction), all among the hot issues."""
    rng = random.Random(options.seed)
    hot = rng.sample(issues, min(options.hot_issues, len(issues)))
    every = [Pair(a, b) for a, b in itertools.combinations(hot, 2)]
    rng.shuffle(every)
    wanted = options.writers * options.pairs_per_writer
    if wanted > len(every):
        raise SystemExit(f"{options.hot_issues} hot issues make only {len(every)} pairs")
    return [every[n : wanted : options.writers] for n in range(options.writers)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`issuegraph serve`, a process of its own, started (again) and stopped by its pid."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        script = Path(sys.executable).with_name("issuegraph")
        self.command = (
            [str(script)] if script.exists() else [sys.executable, "-m", "issuegraph"]
        ) + ["serve", "--port", str(port)]

    def start(self) -> None:
        self.note("starting the server")
        with self.log_path.open("ab") as log:
            # A session of its own: Ctrl-C reaches the bench, whose clean-up stops the server.
            self.process = subprocess.Popen(  # noqa: S603
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def note(self, text: str) -> None:
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} {text}\n")

    def kill(self) -> None:
        if self.process is not None and self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.note("SIGKILLed by the bench")

    def stop(self) -> None:
        if self.process is not None and self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    async def wait_ready(self, session: aiohttp.ClientSession, limit: float = 60.0) -> None:
        deadline = time.perf_counter() + limit
        url = f"http://127.0.0.1:{self.port}/readyz"
        while time.perf_counter() < deadline:
            if not self.running:
                raise RuntimeError(f"the server exited; see {self.log_path}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the server was not ready within {limit:.0f} s; see {self.log_path}")


# -- phases ----------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _latency(samples: Sequence[Sample]) -> dict[str, float]:
    spans = [s.ended - s.started for s in samples]
    return {
        "p50_ms": round(percentile(spans, 0.5) * 1000, 1),
        "p99_ms": round(percentile(spans, 0.99) * 1000, 1),
        "max_ms": round(max(spans, default=0.0) * 1000, 1),
    }


def summarise(name: str, every: Sequence[Sample], seconds: float) -> dict[str, Any]:
    samples = [s for s in every if s.kind != "probe"]
    writes = [s for s in samples if s.is_write]
    reads = [s for s in samples if not s.is_write]
    outcomes = Counter(s.outcome for s in samples)
    return {
        "phase": name,
        "seconds": round(seconds, 1),
        "requests": len(samples),
        "requests_per_s": round(len(samples) / seconds, 1) if seconds else 0.0,
        "outcomes": {o: outcomes.get(o, 0) for o in OUTCOMES},
        "hangs": outcomes.get(TIMEOUT, 0),
        "write_codes": dict(Counter(s.code for s in writes).most_common()),
        "read_codes": dict(Counter(s.code for s in reads).most_common()),
        "write_kinds": {
            kind: dict(Counter(s.code for s in writes if s.kind == kind).most_common())
            for kind in sorted({s.kind for s in writes})
        },
        "http_statuses": _statuses(samples),
        **_latency(samples),
        "writes": {"requests": len(writes), **_latency(writes)},
        "reads": {"requests": len(reads), **_latency(reads)},
        "probes": len(every) - len(samples),
    }


def fault_window(
    samples: Sequence[Sample], fault: float, back: float, start: float
) -> dict[str, Any]:
    """What clients saw from the fault until the service was back, and how soon it served."""
    # In flight when the fault struck, or sent before the service was back.
    during = [s for s in samples if s.ended >= fault and s.started < back]
    errors = [s for s in during if s.outcome == ERROR]  # the server's own error answers
    first_ok = min(
        (s.ended for s in samples if s.outcome in ANSWERED and s.ended >= back), default=None
    )
    after = [s for s in samples if s.started >= back and s.outcome in FAILED]
    return {
        "fault_at_s": round(fault - start, 2),
        "back_at_s": round(back - start, 2),
        "down_s": round(back - fault, 2),
        "requests_while_down": len(during),
        "codes_while_down": dict(Counter(s.code for s in during).most_common()),
        "statuses_while_down": _statuses(during),
        "error_answers_while_down": len(errors),
        "error_codes_while_down": dict(Counter(s.code for s in errors).most_common()),
        "error_statuses_while_down": _statuses(errors),
        "error_answer_latency_while_down": _latency(errors),
        "hangs_while_down": sum(s.outcome == TIMEOUT for s in during),
        "first_success_after_back_s": None if first_ok is None else round(first_ok - back, 3),
        "first_success_after_fault_s": None if first_ok is None else round(first_ok - fault, 3),
        "failures_after_back": len(after),
        "last_failure_after_back_s": round(max(s.ended for s in after) - back, 3)
        if after
        else None,
        "codes_after_back": dict(Counter(s.code for s in after).most_common()),
    }


def _statuses(samples: Iterable[Sample]) -> dict[str, int]:
    """HTTP statuses; `none` where no answer came (refused or broken connection, timeout)."""
    counts = Counter("none" if s.status is None else str(s.status) for s in samples)
    return dict(counts.most_common())


@dataclass(slots=True)
class Bench:
    options: Options
    client: Client
    session: aiohttp.ClientSession
    server: ServerProcess
    embedded: EmbeddedServer
    writers: list[Writer]
    readers: list[Reader]
    probed: IssueRef
    probe_token: str
    server_exits: list[dict[str, Any]] = field(default_factory=list)
    restarting: bool = False
    started: float = field(default_factory=time.perf_counter)

    def now(self) -> float:
        return time.perf_counter()

    async def phase(
        self, name: str, seconds: float, fault: Callable[[float], Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, float]]:
        print(f"phase {name}: {seconds:.0f} s ...", flush=True)
        first = len(self.client.samples)
        exits = len(self.server_exits)
        stop = asyncio.Event()
        start = self.now()
        tasks = [asyncio.create_task(w.run(stop)) for w in self.writers]
        tasks += [asyncio.create_task(r.run(stop)) for r in self.readers]
        tasks.append(asyncio.create_task(probe(self.client, self.probed, self.probe_token, stop)))
        tasks.append(asyncio.create_task(self.watch_server(stop)))
        injected = asyncio.create_task(fault(start)) if fault else None
        try:
            await asyncio.sleep(seconds)
            events: dict[str, float] = await injected if injected else {}
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        samples = self.client.samples[first:]
        summary = summarise(name, samples, self.now() - start)
        summary["events_s"] = {k: round(v - start, 3) for k, v in events.items()}
        summary["server_exits"] = self.server_exits[exits:]
        return summary, {**events, "start": start}

    async def watch_server(self, stop: asyncio.Event) -> None:
        """A server that exits by itself is noted (a failed check) and started again."""
        while not stop.is_set():
            process = self.server.process
            if process is not None and process.poll() is not None and not self.restarting:
                self.server_exits.append(
                    {"at_s": round(self.now() - self.started, 2), "returncode": process.returncode}
                )
                self.server.note(f"the server exited by itself: {process.returncode}")
                self.restarting = True
                try:
                    self.server.start()
                    await self.server.wait_ready(self.session)
                finally:
                    self.restarting = False
            await asyncio.sleep(0.1)

    async def restart_postgres(self, start: float) -> dict[str, float]:
        await asyncio.sleep(max(0.0, start + self.options.fault_at - self.now()))
        events = {"stop_issued": self.now()}
        await asyncio.to_thread(self.embedded.shut_down, "fast")
        events["stopped"] = self.now()
        await asyncio.sleep(self.options.outage)
        events["start_issued"] = self.now()
        accepting = asyncio.create_task(self.first_connection())
        await asyncio.to_thread(self.embedded.start_again)
        events["start_returned"] = self.now()
        events["accepting"] = min(await accepting, events["start_returned"])
        return events

    async def first_connection(self) -> float:
        """When PostgreSQL first accepts a connection (the library's start polls slower)."""
        dsn = self.embedded.dsn(DATABASE)
        while True:
            try:
                conn = await asyncpg.connect(dsn, timeout=1)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                await asyncio.sleep(0.02)
                continue
            accepted = self.now()
            await conn.close()
            return accepted

    async def kill_server(self, start: float) -> dict[str, float]:
        await asyncio.sleep(max(0.0, start + self.options.fault_at - self.now()))
        self.restarting = True  # (not a death for the watchdog to note)
        try:
            events = {"kill": self.now()}
            self.server.kill()
            events["dead"] = self.now()
            self.server.start()
            await self.server.wait_ready(self.session)
            events["ready"] = self.now()
        finally:
            self.restarting = False
        return events


# -- the report ------------------------------------------------------------------------------


def behaviour_checks(phases: dict[str, dict[str, Any]], limit: float) -> list[Check]:
    checks = []
    for name, phase in phases.items():
        checks.append(
            Check(
                f"{name}: no hangs", phase["hangs"] == 0, f"{phase['hangs']} timeouts", "behaviour"
            )
        )
        exits = phase["server_exits"]
        checks.append(
            Check(
                f"{name}: the server never exited by itself",
                not exits,
                f"exits (s from the start, exit status): {exits}" if exits else "none",
                "behaviour",
            )
        )
    steady = phases["steady"]
    failed = sum(steady["outcomes"][o] for o in (ERROR, TRANSPORT, UNSENT))
    checks.append(Check("steady: no errors", failed == 0, f"{failed} failed requests", "behaviour"))
    outage = phases["postgres-restart"]["window"]
    codes = outage["error_codes_while_down"]
    uncoded = {c: n for c, n in codes.items() if "NOT_JSON" in c or "NO_CODE" in c}
    checks.append(
        Check(
            "postgres-restart: every error answer while down is coded JSON",
            not uncoded,
            f"uncoded: {uncoded}" if uncoded else f"codes {codes}",
            "behaviour",
        )
    )
    statuses = outage["error_statuses_while_down"]
    checks.append(
        Check(
            "postgres-restart: outage answered as DATABASE_UNAVAILABLE (503)",
            bool(codes) and set(codes) <= {"DATABASE_UNAVAILABLE"} and set(statuses) <= {"503"},
            f"error answers: codes {codes}, HTTP {statuses}",
            "behaviour",
        )
    )
    for name in ("postgres-restart", "server-kill"):
        window = phases[name]["window"]
        back = window["first_success_after_back_s"]
        checks.append(
            Check(
                f"{name}: recovered by itself within {limit:.0f} s",
                back is not None and back <= limit,
                f"first success {back} s after the "
                + ("database" if name == "postgres-restart" else "server")
                + " was back",
                "behaviour",
            )
        )
    return checks


_REQUEST_ID = re.compile(r"\[request [0-9A-Za-z._:-]+\]")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*")


def server_log_summary(path: Path) -> dict[str, int]:
    """The server's warnings and errors, by the exception (or message) they carry; for a
    JSON log (one object a line) or a text one (tracebacks, counted by their last line)."""
    counts: Counter[str] = Counter()
    if not path.exists():
        return {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            level = str(record.get("level", ""))
            if level not in {"WARNING", "ERROR", "CRITICAL"}:
                continue
            trace = str(record.get("exc_info") or "").strip().splitlines()
            what = trace[-1] if trace else str(record.get("message", ""))
            counts[f"{level} {_REQUEST_ID.sub('[request]', what)[:160]}"] += 1
        elif _EXCEPTION_LINE.match(line):
            counts[f"traceback {_REQUEST_ID.sub('[request]', line)[:160]}"] += 1
    return dict(counts.most_common())


def _codes_text(codes: dict[str, int]) -> str:
    return ", ".join(f"{code} {n:,}" for code, n in codes.items()) or "-"


def render(report: dict[str, Any]) -> str:
    o = report["options"]
    lines = [
        "# Load and faults",
        "",
        (
            f"{report['finished']}: {o['writers']} writers, {o['readers']} readers, "
            f"{o['issues']} issues ({o['hot_issues']} hot), {o['pairs_per_writer']} pairs per "
            f"writer, at most {o['max_links']} links per issue, client timeout "
            f"{o['timeout']:.0f} s. Total {report['total_s']:.0f} s "
            f"(set-up {report['setup_s']:.1f} s)."
        ),
        "",
        (
            "| phase | seconds | requests | req/s | ok | refused | unknown | unsent | hangs "
            "| p50 ms | p99 ms |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in report["phases"].values():
        out = p["outcomes"]
        lines.append(
            f"| {p['phase']} | {p['seconds']:.0f} | {p['requests']:,} | {p['requests_per_s']:,.0f} "
            f"| {out[OK]:,} | {out[REFUSED]:,} | {out[ERROR] + out[TRANSPORT]:,} | {out[UNSENT]:,} "
            f"| {p['hangs']} | {p['p50_ms']:.0f} | {p['p99_ms']:.0f} |"
        )
    lines += ["", "| phase | writes by code | reads by code |", "| --- | --- | --- |"]
    lines += [
        f"| {p['phase']} | {_codes_text(p['write_codes'])} | {_codes_text(p['read_codes'])} |"
        for p in report["phases"].values()
    ]
    lines += [
        "",
        (
            "| phase | down s | requests while down | codes while down | HTTP while down "
            "| error answers p50 / max ms | back -> first success s "
            "| fault -> first success s | failures after back |"
        ),
        "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for p in report["phases"].values():
        w = p.get("window")
        if not w:
            continue
        after = f"{w['failures_after_back']}" + (
            f" ({_codes_text(w['codes_after_back'])}, last {w['last_failure_after_back_s']} s)"
            if w["failures_after_back"]
            else ""
        )
        latency = w["error_answer_latency_while_down"]
        answers = (
            f"{latency['p50_ms']:.0f} / {latency['max_ms']:.0f}"
            if w["error_answers_while_down"]
            else "-"
        )
        lines.append(
            f"| {p['phase']} | {w['down_s']} | {w['requests_while_down']:,} "
            f"| {_codes_text(w['codes_while_down'])} | {_codes_text(w['statuses_while_down'])} "
            f"| {answers} "
            f"| {w['first_success_after_back_s']} "
            f"| {w['first_success_after_fault_s']} | {after} |"
        )
    lines.append("")
    for p in report["phases"].values():
        if p["events_s"]:
            events = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in p["events_s"].items())
            lines.append(f"- {p['phase']}, seconds into the phase: {events}")
    lines += ["", "| ledger | |", "| --- | ---: |"]
    for key, value in report["ledger"].items():
        text = (
            _codes_text(value)
            if isinstance(value, dict)
            else (f"{value:,}" if isinstance(value, int) else str(value))
        )
        lines.append(f"| {key} | {text} |")
    lines += ["", "| server log: warnings and errors | count |", "| --- | ---: |"]
    lines += [
        f"| {what.replace('|', '/')} | {n:,} |" for what, n in report["server_log"].items()
    ] or ["| none | 0 |"]
    lines += ["", "| check | kind | result | detail |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {c['name']} | {c['kind']} | {'pass' if c['passed'] else '**FAIL**'} "
        f"| {c['detail'].replace('|', '/')} |"
        for c in report["checks"]
    ]
    return "\n".join(lines) + "\n"


# -- the run ---------------------------------------------------------------------------------


async def run(
    options: Options, embedded: EmbeddedServer, server: ServerProcess, started: float
) -> dict[str, Any]:
    dsn = embedded.dsn(DATABASE)
    await create_database_if_missing(embedded.admin_dsn, DATABASE)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    seeded = await seed(dsn, options.issues)
    dealt = deal_pairs(seeded.issues, options)
    hot = sorted({i for pairs in dealt for p in pairs for i in (p.a, p.b)}, key=lambda i: i.id)
    ledger = Ledger([p for pairs in dealt for p in pairs])
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    connector = aiohttp.TCPConnector(limit=options.writers + options.readers + 8)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        server.start()
        await server.wait_ready(session)
        setup = time.perf_counter() - started
        print(
            f"set-up done in {setup:.1f} s: {len(seeded.issues)} issues, {len(ledger.pairs)} pairs",
            flush=True,
        )
        client = Client(session, f"http://127.0.0.1:{server.port}/graphql", time.perf_counter)
        tokens = seeded.writer_tokens
        # The first writer owns every project: it registers the hooks and subscribes.
        live = await Live.start(client, server.port, tokens[0])
        bench = Bench(
            options,
            client,
            session,
            server,
            embedded,
            [
                Writer(n, pairs, tokens[n % len(tokens)], client, ledger)
                for n, pairs in enumerate(dealt)
            ],
            [
                Reader(n, hot, seeded.issues, seeded.reader_token, client)
                for n in range(options.readers)
            ],
            seeded.issues[0],
            seeded.reader_token,
        )
        phases: dict[str, dict[str, Any]] = {}
        phases["steady"], _ = await bench.phase("steady", options.steady)
        summary, events = await bench.phase(
            "postgres-restart", options.phase, bench.restart_postgres
        )
        samples = client.samples[-summary["requests"] :]
        summary["window"] = fault_window(
            samples, events["stop_issued"], events["accepting"], events["start"]
        )
        phases["postgres-restart"] = summary
        summary, events = await bench.phase("server-kill", options.phase, bench.kill_server)
        samples = client.samples[-summary["requests"] :]
        summary["window"] = fault_window(samples, events["kill"], events["ready"], events["start"])
        phases["server-kill"] = summary
        deadline = time.perf_counter() + 30
        await asyncio.gather(*(w.settle(deadline) for w in bench.writers))
        await live.finish(dsn)
    # Nothing may change the database while it is checked.
    server.stop()
    checks, figures = await data_checks(dsn, options, ledger, live)
    checks += behaviour_checks(phases, options.recovery_limit)
    return {
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()},
        "setup_s": round(setup, 1),
        "phases": phases,
        "ledger": figures,
        "checks": [asdict(c) for c in checks],
    }


def parse_args(argv: Sequence[str] | None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults",
        description="Load with a PostgreSQL restart and a killed server; checks nothing "
        "acknowledged is lost and every link rule holds.",
    )
    parser.add_argument("--steady", type=float, default=defaults.steady, help="seconds of phase 1")
    parser.add_argument(
        "--phase", type=float, default=defaults.phase, help="seconds of phases 2, 3"
    )
    parser.add_argument(
        "--fault-at", type=float, default=defaults.fault_at, help="seconds into a fault phase"
    )
    parser.add_argument(
        "--outage", type=float, default=defaults.outage, help="seconds PostgreSQL stays down"
    )
    parser.add_argument("--writers", type=int, default=defaults.writers)
    parser.add_argument("--readers", type=int, default=defaults.readers)
    parser.add_argument("--issues", type=int, default=defaults.issues)
    parser.add_argument("--hot-issues", type=int, default=defaults.hot_issues)
    parser.add_argument("--pairs-per-writer", type=int, default=defaults.pairs_per_writer)
    parser.add_argument(
        "--max-links", type=int, default=defaults.max_links, help="ISSUEGRAPH_MAX_LINKS_PER_ISSUE"
    )
    parser.add_argument("--timeout", type=float, default=defaults.timeout, help="client timeout, s")
    parser.add_argument("--recovery-limit", type=float, default=defaults.recovery_limit)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--output-dir", type=Path, default=defaults.output_dir)
    args = parser.parse_args(argv)
    if args.fault_at <= 0 or args.fault_at + args.outage >= args.phase:
        parser.error("the fault (--fault-at, plus --outage) must fall inside --phase")
    return Options(**vars(args))


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    options.output_dir.mkdir(parents=True, exist_ok=True)
    log_path = options.output_dir / "faults-server.log"
    log_path.unlink(missing_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="issuegraph-faults-"))
    signal.signal(signal.SIGTERM, _interrupt)
    embedded: EmbeddedServer | None = None
    server: ServerProcess | None = None
    try:
        embedded = start_embedded(data_dir, delete_on_stop=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")},
            "DATABASE_URL": embedded.dsn(DATABASE),
            "ISSUEGRAPH_DATA_DIR": str(data_dir / "unused"),
            "ISSUEGRAPH_HOST": "127.0.0.1",
            "ISSUEGRAPH_LOG_LEVEL": "WARNING",
            "ISSUEGRAPH_MAX_LINKS_PER_ISSUE": str(options.max_links),
            # The bench's webhook receiver listens on loopback; retries come quickly.
            "ISSUEGRAPH_WEBHOOK_ALLOW_PRIVATE": "true",
            "ISSUEGRAPH_WEBHOOK_BACKOFF_MS": "200",
            "ISSUEGRAPH_WEBHOOK_BACKOFF_MAX_MS": "2000",
        }
        server = ServerProcess(env, free_port(), log_path)
        report = asyncio.run(run(options, embedded, server, started))
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        if embedded is not None:
            with contextlib.suppress(Exception):
                embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    report["total_s"] = round(time.perf_counter() - started, 1)
    report["server_log"] = server_log_summary(log_path)
    text = render(report)
    (options.output_dir / "faults.md").write_text(text, encoding="utf-8")
    (options.output_dir / "faults.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    print(text)
    failed = [c for c in report["checks"] if not c["passed"]]
    if any(c["kind"] == "data" for c in failed):
        return 1
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
