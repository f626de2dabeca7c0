# ruff: noqa: S311  (seeded random.Random picks race shapes; nothing cryptographic)
"""Races on the link rules, against the real database, over HTTP through the real app.

Every test fires many mutations at once (`asyncio.gather`) at an app whose pool is big
enough for them to really overlap in PostgreSQL, then checks the rows left behind with
SQL: no duplicate pair, no `blocks`/`parent` cycle, no issue over the limit, one parent,
no tree deeper than 8 links, and each request answered with the code its fate deserves
(never a 5xx or INTERNAL). Each race is repeated for several rounds, each round on fresh
issues in a fresh project, with a seeded `random.Random` so a failure names its seed.

The last tests bypass the service: raw SQL on several connections, to show that the
database trigger alone keeps cycles out, also when two transactions race.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from issuegraph.app import create_app
from issuegraph.config import Settings
from issuegraph.models import Issue, User
from tests.helpers import Api, World

POOL_SIZE = 20
LIMIT = 5
# A race that has not settled after this long is a hang (a deadlock), not a slow test.
RACE_TIMEOUT = 30.0

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
OUTWARD = {
    "blocks": "BLOCKS",
    "parent": "PARENT_OF",
    "duplicates": "DUPLICATES",
    "clones": "CLONES",
}
INWARD = {
    "blocks": "IS_BLOCKED_BY",
    "parent": "CHILD_OF",
    "duplicates": "IS_DUPLICATED_BY",
    "clones": "IS_CLONED_BY",
}

ERRORS = "errors { code message path details }"
CREATE = f"""
mutation($input: CreateIssueLinkInput!) {{
  createIssueLink(input: $input) {{ {ERRORS} created link {{ databaseId }} }}
}}"""
CREATE_MANY = f"""
mutation($input: CreateIssueLinksInput!) {{
  createIssueLinks(input: $input) {{ {ERRORS} links {{ created link {{ databaseId }} }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateIssueLinkInput!) {{
  updateIssueLink(input: $input) {{ {ERRORS} link {{ databaseId linkType }} }}
}}"""

Edge = tuple[int, int, str]  # stored (source_id, target_id, link_type)


# -- the harness of these races ---------------------------------------------------------------


@pytest.fixture
def race_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, pool_max_size=POOL_SIZE, max_links_per_issue=LIMIT)


@pytest.fixture
async def race_api(aiohttp_client: Any, race_settings: Settings) -> Api:
    return Api(await aiohttp_client(create_app(race_settings)))


@dataclass
class Bench:
    api: Api
    world: World
    pool: asyncpg.Pool
    owner: User
    token: str
    rounds: int = 0
    issue_ids: list[int] = field(default_factory=list)

    async def issues(self, n: int) -> list[Issue]:
        """n fresh issues in a fresh project (a new round never sees an old one's links)."""
        self.rounds += 1
        project = await self.world.project(self.owner, f"race/round-{self.rounds}")
        made = [await self.world.issue(self.owner, project, f"Issue {k}") for k in range(n)]
        self.issue_ids = [i.id for i in made]
        return made

    async def send(self, query: str, input_: dict[str, Any]) -> dict[str, Any]:
        """One mutation; the transport must answer 200 with the payload, never an error."""
        response = await self.api.gql(query, {"input": input_}, token=self.token)
        assert response.status == 200, (response.status, response.body)
        assert not response.errors, response.errors
        (payload,) = response.body["data"].values()
        assert "INTERNAL" not in codes(payload), payload
        return payload  # type: ignore[no-any-return]

    async def race(self, query: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async with asyncio.timeout(RACE_TIMEOUT):
            return list(await asyncio.gather(*(self.send(query, i) for i in inputs)))

    async def edges(self) -> set[Edge]:
        """The stored links touching this round's issues."""
        rows = await self.pool.fetch(
            """
            select source_id, target_id, link_type::text as t from issue_links
             where source_id = any($1::bigint[]) or target_id = any($1::bigint[])
            """,
            self.issue_ids,
        )
        return {(r["source_id"], r["target_id"], r["t"]) for r in rows}


@pytest.fixture
async def bench(race_api: Api, world: World, pool: asyncpg.Pool) -> Bench:
    owner, token = await world.user_with_token("racer")
    return Bench(race_api, world, pool, owner, token)


def link_input(
    first: Issue, second: Issue, link_type: str, on_conflict: str = "ERROR"
) -> dict[str, Any]:
    return {
        "project": str(first.project_id),
        "iid": first.iid,
        "targetProject": str(second.project_id),
        "targetIssueIid": second.iid,
        "linkType": link_type,
        "onConflict": on_conflict,
    }


def stored(first: Issue, second: Issue, link_type: str) -> Edge:
    kind, swapped = TYPES[link_type]
    return (second.id, first.id, kind) if swapped else (first.id, second.id, kind)


def named(source: Issue, target: Issue, kind: str, rng: random.Random) -> dict[str, Any]:
    """Ask for the stored link source -> target of `kind`, from a random one of its ends."""
    if rng.random() < 0.5:
        return link_input(source, target, OUTWARD[kind])
    return link_input(target, source, INWARD[kind])


def codes(payload: dict[str, Any]) -> list[str]:
    return sorted(e["code"] for e in payload["errors"])


def has_cycle(edges: set[Edge], kind: str) -> bool:
    """Whether the links of `kind` hold a directed cycle (iterative depth-first search)."""
    succ: dict[int, list[int]] = defaultdict(list)
    for source, target, t in edges:
        if t == kind:
            succ[source].append(target)
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    for root in list(succ):
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                return True
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))
    return False


def reaches(edges: set[Edge], kind: str, start: int, goal: int) -> bool:
    succ: dict[int, list[int]] = defaultdict(list)
    for source, target, t in edges:
        if t == kind:
            succ[source].append(target)
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for nxt in succ[node]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def longest_parent_chain(edges: set[Edge]) -> int:
    """Links in the longest parent chain of an acyclic parent graph."""
    children: dict[int, list[int]] = defaultdict(list)
    for source, target, t in edges:
        if t == "parent":
            children[source].append(target)

    def height(node: int) -> int:
        return max((1 + height(c) for c in children[node]), default=0)

    return max((height(n) for n in list(children)), default=0)


def assert_invariants(edges: set[Edge], context: str) -> None:
    pairs = Counter(frozenset((s, t)) for s, t, _ in edges)
    assert all(n == 1 for n in pairs.values()), f"{context}: duplicate pair in {edges}"
    assert not has_cycle(edges, "blocks"), f"{context}: blocks cycle in {edges}"
    assert not has_cycle(edges, "parent"), f"{context}: parent cycle in {edges}"
    parents = Counter(t for _, t, kind in edges if kind == "parent")
    assert all(n == 1 for n in parents.values()), f"{context}: two parents in {edges}"
    assert longest_parent_chain(edges) <= 8, f"{context}: parent tree too deep {edges}"
    per_issue = Counter(i for s, t, _ in edges for i in (s, t))
    assert all(n <= LIMIT for n in per_issue.values()), f"{context}: over the limit {edges}"


# -- one pair ------------------------------------------------------------------------------------


@pytest.mark.parametrize("on_conflict", ["ERROR", "RETURN_EXISTING"])
async def test_fifty_racing_creations_of_one_pair_leave_exactly_one_link(bench, on_conflict):
    """Mixed types and directions: one wins, every other one is CONFLICT (the pair is taken).

    With RETURN_EXISTING the losers that asked for exactly the winner's link get it back
    (created false); the rest are still CONFLICT.
    """
    for seed in range(6):
        rng = random.Random(seed)
        a, b = await bench.issues(2)
        asked = []
        for _ in range(50):
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            asked.append((first, second, rng.choice(list(TYPES))))
        inputs = [link_input(f, s, t, on_conflict) for f, s, t in asked]

        results = await bench.race(CREATE, inputs)

        context = f"seed {seed}"
        winners = [n for n, r in enumerate(results) if r["errors"] == [] and r["created"]]
        assert len(winners) == 1, (context, results)
        (winner,) = winners
        won = stored(*asked[winner])
        link_id = results[winner]["link"]["databaseId"]
        assert await bench.edges() == {won}, context
        for n, result in enumerate(results):
            if n == winner:
                continue
            same = stored(*asked[n]) == won
            if on_conflict == "RETURN_EXISTING" and same:
                assert result["errors"] == [], (context, n, result)
                assert result["created"] is False, (context, n, result)
                assert result["link"]["databaseId"] == link_id, (context, n, result)
            else:
                # CONFLICT only; a parent link may also be told the child has a parent.
                assert set(codes(result)) == {"CONFLICT"}, (context, n, result)
                assert result["link"] is None, (context, n, result)
                taken = [(e["details"] or {}).get("linkId") for e in result["errors"]]
                assert link_id in taken, (context, result)


async def test_racing_identical_idempotent_creations_return_one_link(bench):
    """Jira's idempotent create raced: one row, one `created: true`, the same id for all."""
    for seed in range(4):
        rng = random.Random(seed)
        a, b = await bench.issues(2)
        inputs = [
            link_input(a, b, "BLOCKS", "RETURN_EXISTING")
            if rng.random() < 0.5
            else link_input(b, a, "IS_BLOCKED_BY", "RETURN_EXISTING")
            for _ in range(30)
        ]

        results = await bench.race(CREATE, inputs)

        assert all(r["errors"] == [] for r in results), (seed, results)
        assert sorted(r["created"] for r in results) == [False] * 29 + [True], seed
        assert len({r["link"]["databaseId"] for r in results}) == 1, seed
        assert await bench.edges() == {(a.id, b.id, "blocks")}, seed


# -- cycles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 5, 10])
async def test_racing_creations_of_a_blocks_ring_never_leave_a_cycle(bench, size):
    """A ring created all at once: exactly the one link that would close it fails, CYCLE,
    and its error carries the existing path, which is the rest of the ring."""
    for seed in range(12):
        rng = random.Random(seed)
        ring = await bench.issues(size)
        wanted = [(ring[k], ring[(k + 1) % size]) for k in range(size)]

        results = await bench.race(CREATE, [named(s, t, "blocks", rng) for s, t in wanted])

        context = f"ring {size}, seed {seed}"
        failed = [n for n, r in enumerate(results) if r["errors"]]
        assert len(failed) == 1, (context, results)
        (loser,) = failed
        assert codes(results[loser]) == ["CYCLE"], (context, results[loser])
        made = {(s.id, t.id, "blocks") for n, (s, t) in enumerate(wanted) if n != loser}
        edges = await bench.edges()
        assert edges == made, context
        assert not has_cycle(edges, "blocks"), context
        # The existing path runs from the would-be target round the ring to the source.
        path = results[loser]["errors"][0]["details"]["path"]
        expected = [ring[(loser + 1 + k) % size].iid for k in range(size)]
        assert [step["iid"] for step in path] == expected, (context, path)


async def test_cycle_errors_under_more_racing_writers_than_pool_connections(bench):
    """Twice as many cycle-closing writers as pooled connections still all get CYCLE.

    Each writer waits on the graph lock holding a pooled connection; the one holding the
    lock must not need another pooled connection to describe the cycle it found.
    """
    for seed in range(3):
        rng = random.Random(seed)
        chain = await bench.issues(6)
        for s, t in itertools.pairwise(chain):
            assert (await bench.send(CREATE, link_input(s, t, "BLOCKS")))["errors"] == []
        # Every "later blocks earlier" closes a cycle; adjacent ones are taken pairs.
        backwards = [(chain[j], chain[i]) for i in range(6) for j in range(i + 1, 6)]
        asked = [rng.choice(backwards) for _ in range(2 * POOL_SIZE)]

        results = await bench.race(CREATE, [named(s, t, "blocks", rng) for s, t in asked])

        for (s, t), result in zip(asked, results, strict=True):
            adjacent = chain.index(s) - chain.index(t) == 1
            assert codes(result) == (["CONFLICT"] if adjacent else ["CYCLE"]), (seed, result)
        assert await bench.edges() == {
            (s.id, t.id, "blocks") for s, t in itertools.pairwise(chain)
        }, seed


# -- the per-issue limit -------------------------------------------------------------------------


@pytest.mark.parametrize("already", [0, 3])
async def test_racing_links_to_one_hub_never_pass_the_limit(bench, already):
    """20 links to one issue at once, of every type from either end: LIMIT - already win."""
    spoke_types = [t for t in TYPES if t != "PARENT_OF"]  # a spoke may be the hub's child only
    for seed in range(7):
        rng = random.Random(seed)
        hub, *spokes = await bench.issues(21 + already)
        for extra in spokes[20:]:
            assert (await bench.send(CREATE, link_input(hub, extra, "RELATES_TO")))["errors"] == []
        inputs = []
        for spoke in spokes[:20]:
            link_type = rng.choice(spoke_types)
            inputs.append(
                link_input(spoke, hub, link_type)
                if rng.random() < 0.5 or link_type == "CHILD_OF"
                else link_input(hub, spoke, _inverse(link_type))
            )

        results = await bench.race(CREATE, inputs)

        context = f"seed {seed}"
        won = [r for r in results if not r["errors"]]
        assert len(won) == LIMIT - already, (context, results)
        assert all(codes(r) == ["LIMIT_EXCEEDED"] for r in results if r["errors"]), context
        edges = await bench.edges()
        assert sum(hub.id in (s, t) for s, t, _ in edges) == LIMIT, context
        assert_invariants(edges, context)


def _inverse(link_type: str) -> str:
    kind, swapped = TYPES[link_type]
    if kind == "relates":
        return "RELATES_TO"
    return OUTWARD[kind] if swapped else INWARD[kind]


# -- the parent forest -----------------------------------------------------------------------------


async def test_racing_parents_of_one_child_leave_exactly_one_parent(bench):
    for seed in range(8):
        rng = random.Random(seed)
        child, *parents = await bench.issues(21)
        inputs = [named(p, child, "parent", rng) for p in parents]

        results = await bench.race(CREATE, inputs)

        context = f"seed {seed}"
        won = [n for n, r in enumerate(results) if not r["errors"]]
        assert len(won) == 1, (context, results)
        assert all(codes(r) == ["CONFLICT"] for r in results if r["errors"]), context
        assert await bench.edges() == {(parents[won[0]].id, child.id, "parent")}, context


async def test_racing_updates_and_creations_of_parents_of_one_child(bench):
    """Relates links turned into parent links while new parent links are asked for, all at
    once and all for one child: it ends with exactly one parent."""
    for seed in range(8):
        rng = random.Random(seed)
        child, *parents = await bench.issues(9)
        link_ids = []
        for parent in parents[:4]:
            made = await bench.send(CREATE, link_input(parent, child, "RELATES_TO"))
            link_ids.append(made["link"]["databaseId"])
        updates = [
            {"project": str(p.project_id), "iid": p.iid, "linkId": str(i), "linkType": "PARENT_OF"}
            if rng.random() < 0.5
            else {
                "project": str(child.project_id),
                "iid": child.iid,
                "linkId": str(i),
                "linkType": "CHILD_OF",
            }
            for p, i in zip(parents[:4], link_ids, strict=True)
        ]
        creations = [named(p, child, "parent", rng) for p in parents[4:]]

        async with asyncio.timeout(RACE_TIMEOUT):
            updated, created = await asyncio.gather(
                bench.race(UPDATE, updates), bench.race(CREATE, creations)
            )

        context = f"seed {seed}"
        edges = await bench.edges()
        parent_links = [(s, t) for s, t, k in edges if k == "parent"]
        assert len(parent_links) == 1, (context, edges)
        assert parent_links[0][1] == child.id, context
        won = [r for r in updated + created if not r["errors"]]
        assert len(won) == 1, (context, updated, created)
        # A creation may also find the child at the limit (it has four links, limit five).
        assert all(set(codes(r)) <= {"CONFLICT", "LIMIT_EXCEEDED"} for r in updated + created)
        assert all(codes(r) == ["CONFLICT"] for r in updated if r["errors"]), context
        assert_invariants(edges, context)


async def test_racing_creations_of_a_long_parent_chain_stop_at_depth_eight(bench):
    """A chain of 12 links asked at once: the tree ends no deeper than 8, and every link
    refused (LIMIT_EXCEEDED) would still make it too deep."""
    for seed in range(8):
        rng = random.Random(seed)
        chain = await bench.issues(13)
        wanted = list(itertools.pairwise(chain))

        results = await bench.race(CREATE, [named(p, c, "parent", rng) for p, c in wanted])

        context = f"seed {seed}"
        edges = await bench.edges()
        asked = [(p.id, c.id, "parent") for p, c in wanted]
        assert edges == {e for e, r in zip(asked, results, strict=True) if not r["errors"]}, context
        assert longest_parent_chain(edges) <= 8, context
        refused = [(e, r) for e, r in zip(asked, results, strict=True) if r["errors"]]
        assert refused, context  # 12 links cannot all stand
        for edge, result in refused:
            assert codes(result) == ["LIMIT_EXCEEDED"], (context, result)
            assert longest_parent_chain(edges | {edge}) > 8, (context, edge)


# -- bulk creations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_issues", "kinds"),
    [
        (8, ["relates", "blocks", "parent", "duplicates", "clones"]),  # pairs clash
        (14, ["blocks", "blocks", "blocks", "parent"]),  # cycles, limits, parents clash
    ],
)
async def test_racing_overlapping_batches_are_all_or_nothing(bench, n_issues, kinds):
    """Batches sharing pairs and issues, raced: each lands whole or not at all, no two
    winners create the same pair, the rows are exactly the links the winners created, and
    every loser's errors are justified by the final state (which holds every link the
    loser saw: nothing is deleted here, and the rules only get stricter as links are added)."""
    seen: Counter[str] = Counter()
    for seed in range(10):
        rng = random.Random(seed)
        issues = await bench.issues(n_issues)
        batches: list[list[Edge]] = []
        inputs = []
        for _ in range(12):
            pairs = rng.sample(list(itertools.combinations(issues, 2)), rng.randint(2, 5))
            items = []
            for s, t in pairs:
                source, target = (s, t) if rng.random() < 0.5 else (t, s)
                kind = rng.choice(kinds)
                if kind == "relates":
                    items.append(link_input(source, target, "RELATES_TO"))
                else:
                    items.append(named(source, target, kind, rng))
                items[-1]["onConflict"] = rng.choice(["ERROR", "RETURN_EXISTING"])
            batches.append([stored_of(item, issues) for item in items])
            inputs.append({"links": items})

        results = await bench.race(CREATE_MANY, inputs)

        context = f"seed {seed}"
        edges = await bench.edges()
        assert_invariants(edges, context)
        won = [n for n, r in enumerate(results) if not r["errors"]]
        seen.update(c for r in results for c in codes(r))
        landed: set[Edge] = set()
        for n in won:
            assert set(batches[n]) <= edges, (context, n)
            fresh = {
                e for e, r in zip(batches[n], results[n]["links"], strict=True) if r["created"]
            }
            assert not fresh & landed, (context, n)
            landed |= fresh
        assert landed == edges, context
        for n, result in enumerate(results):
            if result["errors"]:
                assert result["links"] is None, (context, n)
                for error in result["errors"]:
                    assert _justified(error, batches[n], edges), (context, n, error, edges)
    # The races did clash, on pairs and on the limit (cycles are rarer, checked above).
    assert {"CONFLICT", "LIMIT_EXCEEDED"} <= set(seen), seen


def stored_of(item: dict[str, Any], issues: list[Issue]) -> Edge:
    by_iid = {i.iid: i for i in issues}
    return stored(by_iid[item["iid"]], by_iid[item["targetIssueIid"]], item["linkType"])


def _justified(error: dict[str, Any], batch: list[Edge], final: set[Edge]) -> bool:
    """Would the final state (a superset of what the loser saw) still refuse this item?"""
    assert error["path"][:2] == ["input", "links"], error
    source, target, kind = batch[int(error["path"][2])]
    pair = frozenset((source, target))
    if error["code"] == "CONFLICT":
        taken = any(frozenset((s, t)) == pair for s, t, _ in final)
        other_parent = kind == "parent" and (
            any(t == target and k == "parent" for _, t, k in final)
            or sum(t == target and k == "parent" for _, t, k in batch) > 1
        )
        return taken or other_parent
    merged = final | set(batch)
    if error["code"] == "CYCLE":
        return reaches(merged, kind, target, source)
    if error["code"] == "LIMIT_EXCEEDED":
        adding = Counter(i for s, t, _ in batch for i in (s, t))
        counts = Counter(i for s, t, _ in final for i in (s, t))
        over = any(counts[i] + adding[i] > LIMIT for i in (source, target))
        # Too deep (a parent cycle, which the depth walk would also find, counts too).
        return over or (
            kind == "parent" and (has_cycle(merged, "parent") or longest_parent_chain(merged) > 8)
        )
    return False


# -- updates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kind"), [(3, "blocks"), (5, "blocks"), (10, "blocks"), (6, "parent")]
)
async def test_racing_updates_never_turn_relates_links_into_a_cycle(bench, size, kind):
    """A ring of relates links, then every link turned into `kind` round the ring at once:
    exactly one update fails with CYCLE, and that link is still `relates`."""
    for seed in range(8):
        rng = random.Random(seed)
        ring = await bench.issues(size)
        link_ids = []
        for k in range(size):
            a, b = ring[k], ring[(k + 1) % size]
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            made = await bench.send(CREATE, link_input(first, second, "RELATES_TO"))
            link_ids.append(made["link"]["databaseId"])
        inputs = []
        for k in range(size):
            source, target = ring[k], ring[(k + 1) % size]
            end, link_type = (
                (source, OUTWARD[kind]) if rng.random() < 0.5 else (target, INWARD[kind])
            )
            inputs.append(
                {
                    "project": str(end.project_id),
                    "iid": end.iid,
                    "linkId": str(link_ids[k]),
                    "linkType": link_type,
                }
            )

        results = await bench.race(UPDATE, inputs)

        context = f"ring {size} of {kind}, seed {seed}"
        failed = [k for k, r in enumerate(results) if r["errors"]]
        assert len(failed) == 1, (context, results)
        (loser,) = failed
        assert codes(results[loser]) == ["CYCLE"], (context, results[loser])
        edges = await bench.edges()
        expected = {(ring[k].id, ring[(k + 1) % size].id, kind) for k in range(size) if k != loser}
        relates = [(s, t) for s, t, t_ in edges if t_ == "relates"]
        assert edges - {(*p, "relates") for p in relates} == expected, context
        assert {frozenset(p) for p in relates} == {
            frozenset((ring[loser].id, ring[(loser + 1) % size].id))
        }, context
        assert not has_cycle(edges, kind), context


# -- the database alone, written with raw SQL ----------------------------------------------------


async def _raw_issues(bench: Bench, n: int) -> list[int]:
    return [i.id for i in await bench.issues(n)]


async def _insert(conn: asyncpg.Connection, *edges: Edge) -> None:
    await conn.execute(
        """
        insert into issue_links (source_id, target_id, link_type)
        select s, t, k::link_type from unnest($1::bigint[], $2::bigint[], $3::text[]) as e(s, t, k)
        """,
        [e[0] for e in edges],
        [e[1] for e in edges],
        [e[2] for e in edges],
    )


async def test_the_trigger_alone_rejects_cycles_and_deep_trees_written_in_raw_sql(bench):
    a, b, c, d = await _raw_issues(bench, 4)
    async with bench.pool.acquire() as conn:
        await _insert(conn, (a, b, "blocks"), (b, c, "blocks"))
        with pytest.raises(asyncpg.PostgresError) as closing:
            await _insert(conn, (c, a, "blocks"))
        assert closing.value.sqlstate == "IG001"
        assert closing.value.detail == f"{a},{b},{c}"  # the existing path, target to source
        assert closing.value.hint == f"{c},{a}"
        # A whole ring in one statement, and an update turning a relates link round.
        with pytest.raises(asyncpg.PostgresError) as ring:
            await _insert(conn, (a, d, "blocks"), (d, c, "parent"), (c, a, "blocks"))
        assert ring.value.sqlstate == "IG001"
        await _insert(conn, (c, a, "relates"))
        with pytest.raises(asyncpg.PostgresError) as updated:
            await conn.execute(
                "update issue_links set link_type = 'blocks' where source_id = $1 and target_id = $2",
                c,
                a,
            )
        assert updated.value.sqlstate == "IG001"
        # Other types may go round: only blocks and parent are graphs with rules.
        await conn.execute("delete from issue_links where link_type = 'relates'")
        await _insert(conn, (c, a, "duplicates"))
        # A parent cycle, and a 2-cycle (the unique pair index stops that one first).
        await _insert(conn, (a, d, "parent"), (d, c, "parent"))
        with pytest.raises(asyncpg.PostgresError) as parent_cycle:
            await conn.execute(
                "update issue_links set link_type = 'parent' where source_id = $1 and target_id = $2",
                c,
                a,
            )
        assert parent_cycle.value.sqlstate == "IG001"
        with pytest.raises(asyncpg.UniqueViolationError):
            await _insert(conn, (b, a, "blocks"))
        assert await bench.edges() == {
            (a, b, "blocks"),
            (b, c, "blocks"),
            (c, a, "duplicates"),
            (a, d, "parent"),
            (d, c, "parent"),
        }

    chain = await _raw_issues(bench, 10)
    async with bench.pool.acquire() as conn:
        await _insert(conn, *((p, c, "parent") for p, c in itertools.pairwise(chain[:9])))
        with pytest.raises(asyncpg.PostgresError) as deep:
            await _insert(conn, (chain[8], chain[9], "parent"))
        assert deep.value.sqlstate == "IG002"
        # Deep at the top as well as the bottom: the chain through the new link counts.
        with pytest.raises(asyncpg.PostgresError) as above:
            await _insert(conn, (chain[9], chain[0], "parent"))
        assert above.value.sqlstate == "IG002"
        assert len(await bench.edges()) == 8


async def test_two_raw_transactions_racing_to_close_a_two_cycle(bench, database_url):
    """Each inserts one half of a 2-cycle and commits: exactly one of them fails."""
    conns = [await asyncpg.connect(database_url) for _ in range(2)]
    try:
        for seed in range(10):
            a, b = await _raw_issues(bench, 2)
            outcomes = await _race_raw(conns, [[(a, b, "blocks")], [(b, a, "blocks")]], seed)
            failed = [o for o in outcomes if o is not None]
            assert len(failed) == 1, (seed, outcomes)
            assert isinstance(failed[0], asyncpg.UniqueViolationError) or (
                failed[0].sqlstate == "IG001"
            ), failed
            assert len(await bench.edges()) == 1, seed
    finally:
        for conn in conns:
            await conn.close()


@pytest.mark.parametrize("size", [3, 5])
async def test_raw_transactions_racing_to_close_a_ring_only_the_trigger_can_see(
    bench, database_url, size
):
    """Distinct pairs, so no index helps: the trigger's lock and fresh look stop the ring."""
    conns = [await asyncpg.connect(database_url) for _ in range(size)]
    try:
        for seed in range(10):
            ring = await _raw_issues(bench, size)
            halves = [[(ring[k], ring[(k + 1) % size], "blocks")] for k in range(size)]
            outcomes = await _race_raw(conns, halves, seed)
            failed = [o for o in outcomes if o is not None]
            assert len(failed) == 1, (seed, outcomes)
            assert failed[0].sqlstate == "IG001", failed
            edges = await bench.edges()
            assert len(edges) == size - 1, seed
            assert not has_cycle(edges, "blocks"), seed
    finally:
        for conn in conns:
            await conn.close()


async def _race_raw(
    conns: list[asyncpg.Connection], writes: list[list[Edge]], seed: int
) -> list[asyncpg.PostgresError | None]:
    """Each connection inserts its edges in a transaction that lingers before committing."""
    rng = random.Random(seed)

    async def write(conn: asyncpg.Connection, edges: list[Edge]) -> asyncpg.PostgresError | None:
        try:
            async with conn.transaction():
                await asyncio.sleep(rng.random() * 0.01)
                await _insert(conn, *edges)
                await conn.execute("select pg_sleep($1)", rng.random() * 0.02)
        except asyncpg.PostgresError as error:
            return error
        return None

    async with asyncio.timeout(RACE_TIMEOUT):
        return list(
            await asyncio.gather(*(write(c, w) for c, w in zip(conns, writes, strict=True)))
        )


async def test_a_raw_insert_waits_for_the_racing_transaction_then_sees_its_link(
    bench, database_url
):
    """Deterministic interleaving: T2's cycle check waits on T1's lock, then sees T1's row."""
    a, b, c = await _raw_issues(bench, 3)
    async with bench.pool.acquire() as conn:
        await _insert(conn, (a, b, "blocks"))
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        t1 = first.transaction()
        await t1.start()
        await _insert(first, (b, c, "blocks"))
        async with second.transaction():
            closing = asyncio.ensure_future(_insert(second, (c, a, "blocks")))
            await asyncio.sleep(0.3)
            assert not closing.done(), "the second writer did not wait for the first"
            await t1.commit()
            with pytest.raises(asyncpg.PostgresError) as refused:
                await asyncio.wait_for(closing, RACE_TIMEOUT)
            assert refused.value.sqlstate == "IG001"
            assert refused.value.detail == f"{a},{b},{c}"
    finally:
        await first.close()
        await second.close()
    assert await bench.edges() == {(a, b, "blocks"), (b, c, "blocks")}
