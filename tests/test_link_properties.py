"""A property test: random sequences of link mutations against an in-memory model.

Hypothesis generates a list of operations (createIssueLink, createIssueLinks,
updateIssueLink, deleteIssueLink) over a handful of issues in two projects; each
operation goes over HTTP through the real app, and after every step:

- the answer (success, or the error codes) must be the one the model of docs/contract.md's
  "Link rules" gives: no self-link, one link per unordered pair, inverse types
  stored as the canonical row swapped, a per-issue limit (3 here) on both ends, no
  `blocks` cycle, a parent forest (one parent, at most 8 links deep), RETURN_EXISTING
  returning the same link;
- the rows in `issue_links` must equal the model's links (ids included).

At the end of every example each issue's `links` list, read over GraphQL, must equal the
model's view from that issue (other end, type as read from that side, creation order).

Several rules may be broken at once (a batch, or a link that is both taken and over the
limit). How many of them the service reports is its choice (the first failing check, or
all of them), so for a refusal the model gives the codes that must appear (those of the
first failing check, in the order the service checks) and those that may.

How hypothesis meets asyncio: pytest-asyncio runs an `async def` test decorated with
`@given` by wrapping hypothesis's inner test, so each example is a coroutine run to
completion on the (session-scoped) event loop that also serves the app. Fixtures are
function-scoped and built once for all examples, hence the suppressed health check and
the clean slate (all links deleted with SQL) at the start of every example. A failure is
shrunk to a short sequence (printed as `ops=[...]`), which can take a few minutes, every
try being real requests.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.models import Issue
from tests.helpers import Api, World

LIMIT = 3
MAX_DEPTH = 8
WALK_CAP = 64  # the trigger's recursive depth/height walks stop there

# Link type (as a client names it) -> (stored type, whether the ends swap).
TYPES: dict[str, tuple[str, bool]] = {
    "RELATES_TO": ("relates", False),
    "BLOCKS": ("blocks", False),
    "IS_BLOCKED_BY": ("blocks", True),
    "DUPLICATES": ("duplicates", False),
    "IS_DUPLICATED_BY": ("duplicates", True),
    "PARENT_OF": ("parent", False),
    "CHILD_OF": ("parent", True),
    "CLONES": ("clones", False),
    "IS_CLONED_BY": ("clones", True),
}
OUTWARD = {"relates": "RELATES_TO", "blocks": "BLOCKS", "duplicates": "DUPLICATES"}
OUTWARD |= {"parent": "PARENT_OF", "clones": "CLONES"}
INWARD = {"relates": "RELATES_TO", "blocks": "IS_BLOCKED_BY", "duplicates": "IS_DUPLICATED_BY"}
INWARD |= {"parent": "CHILD_OF", "clones": "IS_CLONED_BY"}

ERRORS = "errors { code message path details }"
CREATE = f"""
mutation($input: CreateIssueLinkInput!) {{
  createIssueLink(input: $input) {{ {ERRORS} created link {{ databaseId linkType }} }}
}}"""
CREATE_MANY = f"""
mutation($input: CreateIssueLinksInput!) {{
  createIssueLinks(input: $input) {{
    {ERRORS} links {{ created link {{ databaseId linkType }} }}
  }}
}}"""
UPDATE = f"""
mutation($input: UpdateIssueLinkInput!) {{
  updateIssueLink(input: $input) {{ {ERRORS} created link {{ databaseId linkType }} }}
}}"""
DELETE = f"""
mutation($input: DeleteIssueLinkInput!) {{
  deleteIssueLink(input: $input) {{ {ERRORS} link {{ databaseId linkType }} }}
}}"""

Row = tuple[int, int, str]  # stored (source_id, target_id, link_type)

# -- the issues the operations name ----------------------------------------------------------
#
# Four free issues, two in each project; a parent chain ("spine") of nine issues and
# eight links (the deepest tree allowed) that every example starts from; the
# operations name the free issues, both ends and the middle of the spine, and a ghost (an
# iid that does not exist).
FREE = 4
SPINE = 9
NAMED_SPINE = (0, 4, SPINE - 1)
HANDLES = FREE + len(NAMED_SPINE)
GHOST = HANDLES  # the handle of the missing issue


@dataclass(frozen=True)
class Handle:
    project_id: int
    iid: int
    id: int | None  # None: no such issue


@dataclass
class Bench:
    api: Api
    pool: asyncpg.Pool
    token: str
    handles: list[Handle]  # the named ones, GHOST last
    spine: list[int]
    titles: dict[str, int]  # issue title -> id
    every: list[Issue]


@pytest.fixture
async def bench(aiohttp_client: Any, settings: Settings, world: World, pool) -> Bench:
    app = create_app(dataclasses.replace(settings, max_links_per_issue=LIMIT))
    api = Api(await aiohttp_client(app))
    owner, token = await world.user_with_token("modeller")
    projects = [await world.project(owner, "model/one"), await world.project(owner, "model/two")]
    free = [await world.issue(owner, projects[k % 2], f"free {k}") for k in range(FREE)]
    spine = [await world.issue(owner, projects[k % 2], f"spine {k}") for k in range(SPINE)]
    named = free + [spine[k] for k in NAMED_SPINE]
    handles = [Handle(i.project_id, i.iid, i.id) for i in named]
    handles.append(Handle(projects[0].id, 999, None))
    every = free + spine
    return Bench(
        api, pool, token, handles, [i.id for i in spine], {i.title: i.id for i in every}, every
    )


# -- the model ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the model expects: success (with per-item created flags), or error codes."""

    ok: bool
    created: list[bool] = field(default_factory=list)
    reused: list[int | None] = field(default_factory=list)  # the existing link returned
    required: set[str] = field(default_factory=set)
    possible: set[str] = field(default_factory=set)


def _refused(phases: list[list[str]]) -> Outcome | None:
    """The first non-empty phase must be reported; any code of any phase may be."""
    first = next((p for p in phases if p), None)
    if first is None:
        return None
    return Outcome(ok=False, required=set(first), possible={c for p in phases for c in p})


@dataclass
class Model:
    links: dict[int, Row] = field(default_factory=dict)

    def pair(self, a: int, b: int) -> int | None:
        return next((i for i, (s, t, _) in self.links.items() if {s, t} == {a, b}), None)

    def count(self, issue: int) -> int:
        return sum(issue in (s, t) for s, t, _ in self.links.values())

    def parent_link(self, child: int) -> int | None:
        return next(
            (i for i, (_, t, k) in self.links.items() if t == child and k == "parent"), None
        )

    # The database trigger, row by row in insertion order, over all rows of the statement.
    @staticmethod
    def trigger(rows: list[Row], checked: list[Row]) -> str | None:
        succ: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
        pred: dict[int, set[int]] = defaultdict(set)
        for s, t, k in rows:
            succ[k][s].add(t)
            if k == "parent":
                pred[t].add(s)
        for source, target, kind in checked:
            if kind not in ("blocks", "parent"):
                continue
            if _reaches(succ[kind], target, source):
                return "CYCLE"
            if kind == "parent" and (
                _walk(pred, target) + _walk(succ["parent"], target) > MAX_DEPTH
            ):
                return "LIMIT_EXCEEDED"
        return None

    def create(self, items: list[tuple[Handle, Handle, str, str]]) -> Outcome:
        """Checked in the service's order: both issues exist and differ; no pair twice in
        the request; no existing link on a pair (unless RETURN_EXISTING gets it back); the
        limit on both ends; one parent; then the trigger (cycle, depth)."""
        resolve = [
            "NOT_FOUND" if first.id is None or second.id is None else "BAD_USER_INPUT"
            for first, second, _, _ in items
            if first.id is None or second.id is None or first.id == second.id
        ]
        resolved = [
            (_stored(first.id, second.id, link_type), on_conflict)
            for first, second, link_type, on_conflict in items
            if first.id is not None and second.id is not None and first.id != second.id
        ]
        rows = [row for row, _ in resolved]
        duplicates = [
            "CONFLICT"
            for n, (s, t, _) in enumerate(rows)
            if any({s, t} == {s2, t2} for s2, t2, _ in rows[:n])
        ]
        reused: dict[int, int] = {}  # index in `resolved` -> the existing link returned
        existing: list[str] = []
        for n, (row, on_conflict) in enumerate(resolved):
            found = self.pair(row[0], row[1])
            if found is not None and self.links[found] == row and on_conflict == "RETURN_EXISTING":
                reused[n] = found
            elif found is not None:
                existing.append("CONFLICT")
        new = [row for n, row in enumerate(rows) if n not in reused]
        adding = Counter(i for s, t, _ in new for i in (s, t))
        limit = ["LIMIT_EXCEEDED" for i in adding if self.count(i) + adding[i] > LIMIT]
        children = [t for _, t, kind in new if kind == "parent"]
        parents = [
            "CONFLICT"
            for n, child in enumerate(children)
            if self.parent_link(child) is not None or child in children[:n]
        ]
        refused = _refused([resolve, duplicates, existing, limit, parents])
        if refused is not None:
            return refused
        code = self.trigger([*self.links.values(), *new], new)
        if code is not None:
            return Outcome(ok=False, required={code}, possible={code})
        return Outcome(
            ok=True,
            created=[n not in reused for n in range(len(rows))],
            reused=[reused.get(n) for n in range(len(rows))],
        )

    def update(self, link_id: int, named: int | None, link_type: str) -> Outcome:
        link = self.links.get(link_id)
        if link is None or named is None or named not in link[:2]:
            return Outcome(ok=False, required={"NOT_FOUND"}, possible={"NOT_FOUND"})
        other = link[1] if named == link[0] else link[0]
        row = _stored(named, other, link_type)
        if row == link:
            return Outcome(ok=True, created=[False], reused=[link_id])
        if row[2] == "parent":
            current = self.parent_link(row[1])
            if current is not None and current != link_id:
                return Outcome(ok=False, required={"CONFLICT"}, possible={"CONFLICT"})
        rows = [r for i, r in self.links.items() if i != link_id]
        code = self.trigger([*rows, row], [row])
        if code is not None:
            return Outcome(ok=False, required={code}, possible={code})
        return Outcome(ok=True, created=[False], reused=[link_id])

    def delete(self, link_id: int, named: int | None) -> Outcome:
        link = self.links.get(link_id)
        if link is None or named is None or named not in link[:2]:
            return Outcome(ok=False, required={"NOT_FOUND"}, possible={"NOT_FOUND"})
        return Outcome(ok=True, created=[False], reused=[link_id])

    def view(self, issue: int) -> list[tuple[int, str, int]]:
        """The issue's links as its `links` list shows them: (other end, type, link id)."""
        return [
            (t, OUTWARD[k], i) if s == issue else (s, INWARD[k], i)
            for i, (s, t, k) in sorted(self.links.items())
            if issue in (s, t)
        ]


def _stored(first: int, second: int, link_type: str) -> Row:
    kind, swapped = TYPES[link_type]
    return (second, first, kind) if swapped else (first, second, kind)


def _reaches(succ: dict[int, set[int]], start: int, goal: int) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for nxt in succ.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _walk(step: dict[int, set[int]], start: int) -> int:
    """The longest walk from `start` (in links), capped as the trigger's recursion is."""
    level, length = {start}, 0
    while length < WALK_CAP:
        level = {n for node in level for n in step.get(node, ())}
        if not level:
            break
        length += 1
    return length


# -- the operations -------------------------------------------------------------------------------

# The ghost about one time in fifteen.
handles = st.sampled_from([*range(HANDLES), *range(HANDLES), GHOST])
# Graph types (blocks, parent) more often than the rest: they carry most of the rules.
link_types = st.sampled_from(
    [*TYPES, *["BLOCKS", "IS_BLOCKED_BY"] * 3, *["PARENT_OF", "CHILD_OF"] * 2]
)
items = st.tuples(handles, handles, link_types, st.sampled_from(["ERROR", "RETURN_EXISTING"]))
# A link by position among the current ones, newest first (modulo their number), or a
# missing one (-1); named through its source, its target, or an issue it does not touch.
link_refs = st.one_of(st.integers(0, 3), st.integers(-1, 40))
ends = st.sampled_from(["source", "target", "source", "target", "elsewhere"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), items),
        st.tuples(st.just("create"), items),
        st.tuples(st.just("bulk"), st.lists(items, min_size=1, max_size=4)),
        st.tuples(st.just("update"), st.tuples(link_refs, ends, link_types)),
        st.tuples(st.just("delete"), st.tuples(link_refs, ends)),
    ),
    min_size=6,
    max_size=24,
)


class Runner:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.model = Model()
        self.log: list[str] = []

    async def reset(self) -> None:
        """A clean slate: no links but the spine, a parent chain of eight links."""
        async with self.bench.pool.acquire() as conn:
            await conn.execute("delete from issue_links")
            rows = await conn.fetch(
                """
                insert into issue_links (source_id, target_id, link_type)
                select s, t, 'parent' from unnest($1::bigint[], $2::bigint[]) as e(s, t)
                returning id, source_id, target_id
                """,
                self.bench.spine[:-1],
                self.bench.spine[1:],
            )
        self.model.links = {r["id"]: (r["source_id"], r["target_id"], "parent") for r in rows}

    async def send(self, query: str, input_: dict[str, Any]) -> dict[str, Any]:
        response = await self.bench.api.gql(query, {"input": input_}, token=self.bench.token)
        assert response.status == 200, (response.status, response.body)
        assert not response.errors, response.errors
        (payload,) = response.body["data"].values()
        return payload  # type: ignore[no-any-return]

    def link_input(self, item: tuple[int, int, str, str]) -> dict[str, Any]:
        first, second = self.bench.handles[item[0]], self.bench.handles[item[1]]
        return {
            "project": str(first.project_id),
            "iid": first.iid,
            "targetProject": str(second.project_id),
            "targetIssueIid": second.iid,
            "linkType": item[2],
            "onConflict": item[3],
        }

    def pick(self, ref: int) -> int:
        ids = sorted(self.model.links, reverse=True)
        return 10**9 if ref < 0 or not ids else ids[ref % len(ids)]

    def through(self, link_id: int, end: str) -> Handle:
        """The handle to name a link through: one of its ends, or an issue it does not touch."""
        link = self.model.links.get(link_id)
        if link is None:
            return self.bench.handles[0]
        wanted = {"source": link[0], "target": link[1]}.get(end)
        if wanted is None:
            return next(h for h in self.bench.handles if h.id not in link[:2])
        found = next((h for h in self.bench.handles if h.id == wanted), None)
        if found is not None:
            return found
        # An unnamed spine issue: build its handle from the issue itself.
        issue = next(i for i in self.bench.every if i.id == wanted)
        return Handle(issue.project_id, issue.iid, issue.id)

    async def step(self, op: tuple[str, Any]) -> None:
        kind, args = op
        self.log.append(repr(op))
        if kind in ("create", "bulk"):
            batch = [args] if kind == "create" else args
            named = [(self.bench.handles[a], self.bench.handles[b], t, c) for a, b, t, c in batch]
            expected = self.model.create(named)
            if kind == "create":
                payload = await self.send(CREATE, self.link_input(args))
                got = [payload] if payload["link"] else None
            else:
                payload = await self.send(
                    CREATE_MANY, {"links": [self.link_input(i) for i in batch]}
                )
                got = payload["links"]
            self.check(expected, payload)
            if expected.ok:
                assert got is not None
                for n, (entry, item) in enumerate(zip(got, named, strict=True)):
                    assert entry["created"] is expected.created[n], (entry, expected)
                    link_id = entry["link"]["databaseId"]
                    if expected.reused[n] is not None:
                        assert link_id == expected.reused[n], (entry, expected)
                    else:
                        assert link_id not in self.model.links, entry
                        assert item[0].id is not None
                        assert item[1].id is not None
                        self.model.links[link_id] = _stored(item[0].id, item[1].id, item[2])
                    assert entry["link"]["linkType"] == OUTWARD[self.model.links[link_id][2]]
        elif kind == "update":
            ref, end, link_type = args
            link_id = self.pick(ref)
            handle = self.through(link_id, end)
            expected = self.model.update(link_id, handle.id, link_type)
            payload = await self.send(
                UPDATE,
                {
                    "project": str(handle.project_id),
                    "iid": handle.iid,
                    "linkId": str(link_id),
                    "linkType": link_type,
                },
            )
            self.check(expected, payload)
            if expected.ok:
                assert handle.id is not None
                other = next(i for i in self.model.links[link_id][:2] if i != handle.id)
                self.model.links[link_id] = _stored(handle.id, other, link_type)
                assert payload["link"]["databaseId"] == link_id
                assert payload["link"]["linkType"] == OUTWARD[self.model.links[link_id][2]]
                assert payload["created"] is False
        else:
            ref, end = args
            link_id = self.pick(ref)
            handle = self.through(link_id, end)
            expected = self.model.delete(link_id, handle.id)
            payload = await self.send(
                DELETE,
                {"project": str(handle.project_id), "iid": handle.iid, "linkId": str(link_id)},
            )
            self.check(expected, payload)
            if expected.ok:
                assert payload["link"]["databaseId"] == link_id
                del self.model.links[link_id]
        await self.check_rows()

    def check(self, expected: Outcome, payload: dict[str, Any]) -> None:
        got = {e["code"] for e in payload["errors"]}
        shown = {
            "DEPTH" if (e["details"] or {}).get("maxDepth") else e["code"]
            for e in payload["errors"]
        }
        event(f"{self.log[-1].split(',')[0][2:-1]}: {'/'.join(sorted(shown)) or 'ok'}")
        if expected.ok:
            assert not got, f"expected success, got {payload['errors']}"
            assert payload.get("link") or payload.get("links"), payload
            return
        assert got, f"expected {sorted(expected.required)}, got success: {payload}"
        assert expected.required <= got <= expected.possible, (
            f"expected {sorted(expected.required)} (at most {sorted(expected.possible)}), "
            f"got {payload['errors']}"
        )
        assert payload.get("link") is None, payload
        assert payload.get("links") is None, payload

    async def check_rows(self) -> None:
        rows = await self.bench.pool.fetch(
            "select id, source_id, target_id, link_type::text as k from issue_links"
        )
        stored = {r["id"]: (r["source_id"], r["target_id"], r["k"]) for r in rows}
        assert stored == self.model.links

    async def check_lists(self) -> None:
        """Each issue's `links` over GraphQL: the model's view from that issue, in order."""
        fields = " ".join(
            f'i{n}: issue(project: "{i.project_id}", iid: {i.iid}) {{ '
            "links(first: 50) { edges { linkType node { title } link { databaseId } } } }"
            for n, i in enumerate(self.bench.every)
        )
        response = await self.bench.api.gql(f"{{ {fields} }}", token=self.bench.token)
        for n, issue in enumerate(self.bench.every):
            edges = response.data[f"i{n}"]["links"]["edges"]
            shown = [
                (self.bench.titles[e["node"]["title"]], e["linkType"], e["link"]["databaseId"])
                for e in edges
            ]
            assert shown == self.model.view(issue.id), issue.title


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
# Rare paths, run on every run: handles 0-3 are free issues, 4/5/6 the spine's top, middle
# and bottom (a parent chain of 8 links), 7 the ghost; update/delete name the newest link
# (0) through its source or target.
@example(  # an update closing a blocks cycle, then one that does not
    ops=[
        ("create", (0, 1, "BLOCKS", "ERROR")),
        ("create", (1, 2, "BLOCKS", "ERROR")),
        ("create", (2, 0, "RELATES_TO", "ERROR")),
        ("update", (0, "source", "BLOCKS")),
        ("update", (0, "source", "IS_BLOCKED_BY")),
    ]
)
@example(  # updates: too deep, a second parent, a parent cycle
    ops=[
        ("create", (6, 0, "RELATES_TO", "ERROR")),
        ("update", (0, "source", "PARENT_OF")),
        ("update", (0, "target", "PARENT_OF")),
        ("create", (1, 2, "PARENT_OF", "ERROR")),
        ("create", (2, 3, "PARENT_OF", "ERROR")),
        ("create", (3, 1, "RELATES_TO", "ERROR")),
        ("update", (0, "source", "PARENT_OF")),
        ("update", (0, "target", "PARENT_OF")),
    ]
)
@example(  # batches closing a blocks ring and a parent ring, going too deep, all at once
    ops=[
        ("bulk", [(0, 1, "BLOCKS", "ERROR"), (1, 2, "BLOCKS", "ERROR"), (2, 0, "BLOCKS", "ERROR")]),
        (
            "bulk",
            [
                (0, 1, "PARENT_OF", "ERROR"),
                (2, 1, "CHILD_OF", "ERROR"),
                (0, 2, "CHILD_OF", "ERROR"),
            ],
        ),
        ("bulk", [(0, 1, "RELATES_TO", "ERROR"), (6, 2, "PARENT_OF", "ERROR")]),
        ("bulk", [(0, 4, "PARENT_OF", "ERROR"), (1, 0, "PARENT_OF", "ERROR")]),
    ]
)
@example(  # RETURN_EXISTING: the same link back, or CONFLICT when it differs
    ops=[
        ("create", (0, 1, "BLOCKS", "ERROR")),
        ("create", (1, 0, "IS_BLOCKED_BY", "RETURN_EXISTING")),
        ("create", (1, 0, "BLOCKS", "RETURN_EXISTING")),
        ("create", (0, 1, "RELATES_TO", "RETURN_EXISTING")),
        ("bulk", [(0, 1, "BLOCKS", "RETURN_EXISTING"), (2, 3, "RELATES_TO", "ERROR")]),
        ("bulk", [(3, 2, "RELATES_TO", "RETURN_EXISTING")]),
        ("delete", (0, "target")),
        ("create", (3, 2, "RELATES_TO", "RETURN_EXISTING")),
    ]
)
async def test_link_mutations_follow_the_model(bench, ops):
    runner = Runner(bench)
    await runner.reset()
    for op in ops:
        await runner.step(op)
    await runner.check_lists()
    event(f"steps: {len(ops) // 5 * 5}+")
