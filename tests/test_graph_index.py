# ruff: noqa: S311  (seeded random.Random makes the graphs; nothing cryptographic)
"""The in-memory link graph (`issuegraph.domain.graph_index`, docs/graph-index.md) against
the SQL walks it stands in for, on random graphs and viewers; and its freshness: a write
through one process is seen by a walk through another at once."""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
from typing import Any

import aiohttp
import asyncpg
import numpy as np
import pytest

from issuegraph.app import create_app
from issuegraph.db.queries import graph as graph_queries
from issuegraph.db.queries import graph_index as graph_index_queries
from issuegraph.domain.auth import create_token
from issuegraph.domain.graph import Closure, topological_ids
from issuegraph.domain.graph_index import GraphIndex
from issuegraph.loaders.graph import GraphWalks
from issuegraph.models import ReadScope, TokenScope
from tests.helpers import free_port, serve_process

TYPES = ("relates", "blocks", "duplicates", "parent", "clones")
ROLES = ("guest", "reporter", "developer", "maintainer", "owner")


async def random_world(pool: asyncpg.Pool, rng: random.Random, issues: int) -> dict[str, Any]:
    """Users, projects of each visibility, members of each role, issues (some confidential,
    with authors and assignees, opened or closed) and links of every type: `blocks` and
    `parent` from a smaller id to a larger one (no cycle), one link per pair."""
    users = [
        await pool.fetchval(
            "insert into users (username, name, is_admin) values ($1, $1, $2) returning id",
            f"u{n}",
            n == 0,
        )
        for n in range(6)
    ]
    projects = [
        await pool.fetchval(
            "insert into projects (full_path, name, visibility) values ($1, $1, $2) returning id",
            f"g/p{n}",
            visibility,
        )
        for n, visibility in enumerate(["public", "internal", "private", "private", "public"])
    ]
    for project, user in itertools.product(projects, users[1:]):
        if rng.random() < 0.4:
            await pool.execute(
                "insert into project_members (project_id, user_id, role) values ($1, $2, $3)",
                project,
                user,
                rng.choice(ROLES),
            )
    ids = []
    for n in range(issues):
        ids.append(  # noqa: PERF401  (one insert at a time, in order)
            await pool.fetchval(
                """insert into issues (project_id, iid, title, author_id, state, confidential,
                                       closed_at)
                   values ($1, $2, 't', $3, $4::issue_state, $5,
                           case when $4 = 'closed' then now() end) returning id""",
                rng.choice(projects),
                n + 1,
                rng.choice(users),
                rng.choice(["opened", "opened", "closed"]),
                rng.random() < 0.25,
            )
        )
    for issue in ids:
        for user in rng.sample(users, rng.choice([0, 0, 1, 2])):
            await pool.execute(
                "insert into issue_assignees (issue_id, user_id) values ($1, $2)", issue, user
            )
    await add_links(pool, rng, ids, issues * 3)
    return {"users": users, "projects": projects, "issues": ids}


async def add_links(pool: asyncpg.Pool, rng: random.Random, ids: list[int], count: int) -> None:
    taken = {
        frozenset((r["source_id"], r["target_id"]))
        for r in await pool.fetch("select source_id, target_id from issue_links")
    }
    rows = []
    for _ in range(count):
        a, b = sorted(rng.sample(ids, 2))
        if frozenset((a, b)) in taken:
            continue
        taken.add(frozenset((a, b)))
        kind = rng.choice(TYPES)
        if kind not in ("blocks", "parent") and rng.random() < 0.5:
            a, b = b, a
        rows.append((a, b, kind))
    # Parent links also keep the tree shallow (the trigger refuses deeper than 8) and give a
    # child one parent: simplest is to make few of them, one by one, and skip refusals.
    for a, b, kind in rows:
        try:
            await pool.execute(
                "insert into issue_links (source_id, target_id, link_type) values ($1, $2, $3)",
                a,
                b,
                kind,
            )
        except asyncpg.PostgresError:
            continue


def viewers(world: dict[str, Any]) -> list[ReadScope]:
    admin, *others = world["users"]
    return [
        ReadScope(viewer_id=None, admin=False),
        ReadScope(viewer_id=admin, admin=True),
        *(ReadScope(viewer_id=u, admin=False) for u in others),
    ]


def random_walks(rng: random.Random, n: int) -> list[graph_queries.Walk]:
    walks = []
    for _ in range(n):
        direction = rng.choice(["down", "up", "both"])
        walks.append(
            graph_queries.Walk(
                types=tuple(sorted(rng.sample(TYPES, rng.randint(1, 3)))),
                downstream=direction != "up",
                upstream=direction != "down",
                max_depth=rng.choice([1, 2, 3, 50, 1_000_000]),
                states=rng.choice([None, ("opened",), ("closed",), ("closed", "opened")]),
            )
        )
    return walks


async def compare(
    pool: asyncpg.Pool, index: GraphIndex, world: dict[str, Any], rng: random.Random
) -> int:
    """Every viewer, random walks from random issues: the index's answer is the SQL one."""
    compared = 0
    for scope in viewers(world):
        viewer = await index.viewer(scope)
        for walk in random_walks(rng, 6):
            anchors = rng.sample(world["issues"], 4)
            sql = await graph_queries.walk_from(pool, anchors, walk, scope)
            for anchor in anchors:
                expected = [(r.issue.id, r.distance) for r in sql if r.anchor_id == anchor]
                ids, distances = index.walk([anchor], walk, viewer)
                got = list(zip(ids.tolist(), distances.tolist(), strict=True))
                assert got == expected, (
                    scope,
                    walk,
                    anchors,
                    anchor,
                )
                compared += 1
            reached = [r.issue.id for r in sql]
            among = await graph_queries.links_among(pool, reached, walk.types)
            found = index.links_among(np.asarray(reached, dtype=np.int64), walk.types)
            assert found.tolist() == [link.id for link in among]
        sql_walks = GraphWalks(pool, scope, None)
        memory_walks = GraphWalks(pool, scope, index)
        for project in world["projects"]:
            ready = await graph_queries.ready_issues_page(
                pool, project_id=project, scope=scope, after_iid=None, limit=100_000
            )
            assert index.ready_issues(project, viewer).tolist() == [i.id for i in ready]
            whole = graph_queries.Walk(
                types=("blocks",),
                downstream=False,
                upstream=True,
                max_depth=1_000_000,
                states=("opened",),
            )
            memory = await memory_walks.project_closure(project, whole)
            sql = await sql_walks.project_closure(project, whole)
            assert sorted(zip(memory.ids, memory.iids, strict=True)) == sorted(
                zip(sql.ids, sql.iids, strict=True)
            )
            assert sorted(zip(memory.sources, memory.targets, strict=True)) == sorted(
                zip(sql.sources, sql.targets, strict=True)
            )
            assert topological_ids(memory) == topological_ids(sql)
            compared += 1
        for _ in range(6):
            source, target = rng.sample(world["issues"], 2)
            types = tuple(sorted(rng.sample(TYPES, rng.randint(1, 3))))
            directed = rng.random() < 0.5
            depth = rng.choice([2, 5, 50])
            sql_path = await graph_queries.shortest_path(
                pool,
                source=source,
                target=target,
                types=types,
                directed=directed,
                max_depth=depth,
                scope=scope,
            )
            assert (
                index.path(source, target, types, directed=directed, max_depth=depth, viewer=viewer)
                == sql_path
            ), (scope, source, target, types, directed)
            compared += 1
    return compared


async def mutate(pool: asyncpg.Pool, rng: random.Random, world: dict[str, Any]) -> None:
    """Writes of every kind the index must follow, in plain SQL (no service code)."""
    ids = world["issues"]
    links = [r["id"] for r in await pool.fetch("select id from issue_links")]
    await pool.execute(
        "delete from issue_links where id = any($1::bigint[])", rng.sample(links, len(links) // 5)
    )
    await pool.execute(
        """update issue_links set link_type = 'relates'
            where id = any($1::bigint[]) and link_type in ('duplicates', 'clones')""",
        rng.sample(links, len(links) // 5),
    )
    await pool.execute(  # a new direction
        """update issue_links set source_id = target_id, target_id = source_id
            where id = any($1::bigint[]) and link_type = 'relates'""",
        rng.sample(links, len(links) // 5),
    )
    for issue in rng.sample(ids, len(ids) // 5):
        await pool.execute(
            """update issues set state = case when state = 'opened' then 'closed'
                                             else 'opened' end::issue_state,
                                 closed_at = case when state = 'opened' then now() end,
                                 confidential = not confidential
                where id = $1""",
            issue,
        )
    for issue in rng.sample(ids, len(ids) // 10):
        await pool.execute("delete from issue_assignees where issue_id = $1", issue)
        await pool.execute(
            "insert into issue_assignees (issue_id, user_id) values ($1, $2)",
            issue,
            rng.choice(world["users"]),
        )
    for issue in rng.sample(ids, len(ids) // 10):  # moved to another project
        await pool.execute(
            "update issues set project_id = $2, iid = iid + 10000 where id = $1",
            issue,
            rng.choice(world["projects"]),
        )
    gone = rng.sample(ids, len(ids) // 20)
    await pool.execute("delete from issues where id = any($1::bigint[])", gone)
    world["issues"] = [i for i in ids if i not in gone]
    await add_links(pool, rng, world["issues"], len(ids))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_index_walks_as_sql_does_on_random_graphs_viewers_and_writes(
    pool: asyncpg.Pool, seed: int
) -> None:
    rng = random.Random(seed)
    world = await random_world(pool, rng, 120)
    index = GraphIndex(pool)
    await index.build()
    compared = await compare(pool, index, world, rng)
    for _ in range(3):
        await mutate(pool, rng, world)
        await index.catch_up(index.ticket())
        compared += await compare(pool, index, world, rng)
    # The CSR made again from what it holds gives the same answers.
    index._compact()
    compared += await compare(pool, index, world, rng)
    assert compared > 500


async def test_the_index_is_made_again_past_the_compaction_bound(pool: asyncpg.Pool) -> None:
    rng = random.Random(7)
    world = await random_world(pool, rng, 60)
    index = GraphIndex(pool, compact_at=100)
    await index.build()
    csr = index.out
    await add_links(pool, rng, world["issues"], 20)  # 40 entries (both directions): kept aside
    await index.catch_up(index.ticket())
    assert index.out is csr
    assert index.out.extra
    assert await compare(pool, index, world, rng) > 0
    await pool.execute("delete from issue_links where id % 3 = 0")  # past the bound
    await add_links(pool, rng, world["issues"], 60)
    await index.catch_up(index.ticket())
    assert index.out is not csr
    assert not index.out.extra
    assert index.out.alive.all()
    assert await compare(pool, index, world, rng) > 0


async def test_a_viewer_never_walks_through_an_issue_it_may_not_read(pool: asyncpg.Pool) -> None:
    """a -> hidden -> b: from a, the walk stops at the hidden issue for one who cannot read
    it, and goes on to b for one who can (the issue's author, an assignee, a reporter)."""
    owner, author, assignee, reporter, guest = [
        await pool.fetchval("insert into users (username, name) values ($1, $1) returning id", name)
        for name in ("owner", "author", "assignee", "reporter", "guest")
    ]
    project = await pool.fetchval(
        "insert into projects (full_path, name, visibility) values ('g/p', 'p', 'public')"
        " returning id"
    )
    for user, role in ((reporter, "reporter"), (guest, "guest")):
        await pool.execute("insert into project_members values ($1, $2, $3)", project, user, role)
    a, hidden, b = [
        await pool.fetchval(
            """insert into issues (project_id, iid, title, author_id, confidential)
               values ($1, $2, 't', $3, $4) returning id""",
            project,
            iid,
            author if iid == 2 else owner,
            iid == 2,
        )
        for iid in (1, 2, 3)
    ]
    await pool.execute("insert into issue_assignees values ($1, $2)", hidden, assignee)
    await pool.execute(
        "insert into issue_links (source_id, target_id, link_type)"
        " values ($1, $2, 'blocks'), ($2, $3, 'blocks')",
        a,
        hidden,
        b,
    )
    index = GraphIndex(pool)
    await index.build()
    walk = graph_queries.Walk(
        types=("blocks",), downstream=True, upstream=False, max_depth=10, states=None
    )
    seen = {}
    for name, user in (
        ("author", author),
        ("assignee", assignee),
        ("reporter", reporter),
        ("guest", guest),
        ("anonymous", None),
    ):
        viewer = await index.viewer(ReadScope(viewer_id=user, admin=False))
        ids, _ = index.walk([a], walk, viewer)
        seen[name] = ids.tolist()
    assert seen == {
        "author": [hidden, b],
        "assignee": [hidden, b],
        "reporter": [hidden, b],
        "guest": [],
        "anonymous": [],
    }
    # Unassigned, the assignee loses it at the next catch-up; made private, everyone but
    # the members does.
    await pool.execute("delete from issue_assignees where issue_id = $1", hidden)
    await pool.execute("update projects set visibility = 'private' where id = $1", project)
    await index.catch_up(index.ticket())
    for name, user, expected in (
        ("assignee", assignee, []),
        ("reporter", reporter, [hidden, b]),
        ("author", author, []),
    ):
        viewer = await index.viewer(ReadScope(viewer_id=user, admin=False))
        ids, _ = index.walk([a], walk, viewer)
        assert ids.tolist() == expected, name


async def test_memory_stays_small_per_issue_and_link(pool: asyncpg.Pool) -> None:
    """The arrays' size, from the layout: well under 300 bytes an issue with 3 links each
    (bench/README.md measures 1,000,000 issues and 3,000,000 links)."""
    rng = random.Random(5)
    world = await random_world(pool, rng, 200)
    index = GraphIndex(pool)
    await index.build()
    links = await pool.fetchval("select count(*) from issue_links")
    per_link = 2 * (4 + 4 + 1 + 1)  # both directions: other end, link id, type, alive
    per_issue = (
        8 + 1 + 1 + 8 + 4 + 2 * 8 + 2 * 1
    )  # project, opened, confidential, author, iid, ptrs
    top = max(world["issues"]) + 2  # ids are indexes, and a CSR has one pointer more
    assert index.nbytes() <= top * per_issue + links * per_link + 200 * len(index.assignees)


async def test_a_write_through_one_process_is_walked_through_another_at_once(
    database_url: str, pool: asyncpg.Pool
) -> None:
    """Two `issuegraph serve` processes on one database, each with its index: every link
    created or deleted through A is in (or out of) the very next walk through B, and B's
    answer is the SQL walk's (ISSUEGRAPH_GRAPH_INDEX=sql, a third process)."""
    user = await pool.fetchval(
        "insert into users (username, name) values ('writer', 'w') returning id"
    )
    _, token = await create_token(pool, "writer", scopes=[TokenScope.API])
    project = await pool.fetchval(
        "insert into projects (full_path, name, visibility) values ('g/fresh', 'f', 'public')"
        " returning id"
    )
    await pool.execute("insert into project_members values ($1, $2, 'developer')", project, user)
    await pool.execute(
        """insert into issues (project_id, iid, title, author_id)
           select $1, n, 'i' || n, $2 from generate_series(1, 40) n""",
        project,
        user,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env |= {"DATABASE_URL": database_url, "ISSUEGRAPH_POOL_MIN_SIZE": "1"}
    headers = {"Authorization": f"Bearer {token}"}
    deps = """query($iid: Int!) { issue(project: "g/fresh", iid: $iid) {
        dependencies(direction: BOTH, maxDepth: 100) { nodes { distance issue { iid } } } } }"""
    create = """mutation($iid: Int!, $target: Int!) { createIssueLink(input: {project: "g/fresh",
        iid: $iid, targetProject: "g/fresh", targetIssueIid: $target, linkType: BLOCKS}) {
        errors { code } link { databaseId } } }"""
    delete = """mutation($iid: Int!, $id: ID!) { deleteIssueLink(input: {project: "g/fresh",
        iid: $iid, linkId: $id}) { errors { code } } }"""

    async def ask(session: aiohttp.ClientSession, base: str, query: str, **variables: Any) -> Any:
        async with session.post(
            f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers
        ) as response:
            body = await response.json()
        assert "errors" not in body, body
        return body["data"]

    def chain(answer: Any) -> list[tuple[int, int]]:
        return [
            (n["issue"]["iid"], n["distance"]) for n in answer["issue"]["dependencies"]["nodes"]
        ]

    async with (
        serve_process(free_port(), env) as a,
        serve_process(free_port(), env) as b,
        serve_process(free_port(), env | {"ISSUEGRAPH_GRAPH_INDEX": "sql"}) as sql,
        aiohttp.ClientSession() as session,
    ):
        made = []
        for k in range(1, 40):
            created = await ask(session, a.base, create, iid=k, target=k + 1)
            made.append(created["createIssueLink"]["link"]["databaseId"])
            walked = chain(await ask(session, b.base, deps, iid=1))
            assert walked == [(n, n - 1) for n in range(2, k + 2)]
            if k % 10 == 0:
                assert walked == chain(await ask(session, sql.base, deps, iid=1))
        for k in range(39, 0, -4):  # cut the chain from its far end, through A
            await ask(session, a.base, delete, iid=k, id=str(made[k - 1]))
            walked = chain(await ask(session, b.base, deps, iid=1))
            assert walked == [(n, n - 1) for n in range(2, k + 1)]
            assert walked == chain(await ask(session, sql.base, deps, iid=1))


async def test_the_rows_a_walk_returns_are_the_database_rows_after_every_write(
    pool: asyncpg.Pool,
) -> None:
    """The models the index keeps of walked issues and links (`RowCache`) are dropped by
    every write that names them: after each round of writes, a new request's walks and
    links give exactly the rows PostgreSQL's walks give, titles and types included."""
    rng = random.Random(11)
    world = await random_world(pool, rng, 80)
    index = GraphIndex(pool)
    await index.build()
    walk = graph_queries.Walk(
        types=TYPES, downstream=True, upstream=True, max_depth=1_000_000, states=None
    )
    for round_ in range(4):
        for scope in viewers(world)[:3]:
            anchors = rng.sample(world["issues"], 5)
            walks = GraphWalks(pool, scope, index)  # a new request: a new ticket
            got = await walks.walk_from(anchors, walk)
            expected = await graph_queries.walk_from(pool, anchors, walk, scope)
            # Per anchor (the loader groups by anchor), the same rows in the same order.
            for anchor in anchors:
                assert [(r.issue, r.distance) for r in got if r.anchor_id == anchor] == [
                    (r.issue, r.distance) for r in expected if r.anchor_id == anchor
                ]
            ids = sorted({r.issue.id for r in expected} | set(anchors))
            assert await walks.links_among(ids, TYPES) == await graph_queries.links_among(
                pool, ids, TYPES
            )
        assert len(index.issue_rows) > 0, "nothing was cached"
        await mutate(pool, rng, world)
        await pool.execute(
            "update issues set title = 'renamed ' || id, labels = array['x'] where id % 3 = $1",
            round_ % 3,
        )


def test_topological_ids_is_kahns_smallest_key_first_order() -> None:
    """The ranked, merged `topological_ids` against Kahn's algorithm as written plainly,
    on random DAGs with isolated issues, ties of iid and edges leaving the set."""

    def plain(keys: dict[int, tuple[int, int]], edges: list[tuple[int, int]]) -> list[int]:
        successors: dict[int, list[int]] = {i: [] for i in keys}
        indegree = dict.fromkeys(keys, 0)
        for source, target in edges:
            if source in keys and target in keys:
                successors[source].append(target)
                indegree[target] += 1
        ordered = []
        while ready := sorted((keys[i], i) for i, d in indegree.items() if d == 0):
            issue = ready[0][1]
            ordered.append(issue)
            del indegree[issue]
            for nxt in successors[issue]:
                indegree[nxt] -= 1
        return ordered

    for seed in range(300):
        rng = random.Random(seed)
        ids = rng.sample(range(1, 1000), rng.randint(0, 60))
        keys = {i: (rng.randint(1, 30), i) for i in ids}
        edges = [(-1, ids[0])] if ids else []
        for _ in range(2 * len(ids)):
            a, b = sorted(rng.sample(range(len(ids)), 2)) if len(ids) > 1 else (0, 0)
            if a != b:
                edges.append((ids[a], ids[b]))
        closure = Closure(
            ids=list(keys),
            iids=[key[0] for key in keys.values()],
            sources=[a for a, _ in edges],
            targets=[b for _, b in edges],
        )
        assert topological_ids(closure) == plain(keys, edges), seed


async def test_pruned_changes_make_a_lagging_index_build_again(pool: asyncpg.Pool) -> None:
    """`graph_changes` pruned past an index's position: that index reads the whole graph
    again at its next catch-up (and walks as SQL does); one that had caught up does not."""
    rng = random.Random(3)
    world = await random_world(pool, rng, 60)
    lagging, current = GraphIndex(pool), GraphIndex(pool)
    await lagging.build()
    await current.build()
    await mutate(pool, rng, world)
    await current.catch_up(current.ticket())
    assert await graph_index_queries.prune(pool, 0) > 0
    assert await pool.fetchval("select count(*) from graph_changes") == 0
    await lagging.catch_up(lagging.ticket())
    await current.catch_up(current.ticket())
    assert (lagging.builds, current.builds) == (2, 1)
    for index in (lagging, current):
        assert await compare(pool, index, world, rng) > 0
    await mutate(pool, rng, world)  # and both go on from there
    for index in (lagging, current):
        await index.catch_up(index.ticket())
        assert await compare(pool, index, world, rng) > 0
    assert (lagging.builds, current.builds) == (2, 1)


@pytest.mark.parametrize("graph_index", ["sql", "memory"])
async def test_depth_and_truncation_without_nodes_are_those_with_them(
    aiohttp_client: Any, settings: Any, pool: asyncpg.Pool, graph_index: str
) -> None:
    """`dependencies { depthReached truncated }` alone walks without reading rows; its
    answer is that of the same query that also reads the nodes, for every bound."""
    rng = random.Random(21)
    await random_world(pool, rng, 80)
    _, token = await create_token(pool, "u0", scopes=[TokenScope.API])
    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, graph_index=graph_index))
    )
    iids = await pool.fetch(
        "select p.full_path, i.iid from issues i join projects p"
        " on p.id = i.project_id order by i.id limit 12"
    )
    query = """query($p: ID!, $iid: Int!, $depth: Int!, $first: Int) {
        issue(project: $p, iid: $iid) { dependencies(direction: BOTH, maxDepth: $depth,
        first: $first, linkTypes: [BLOCKS, RELATES_TO, PARENT_OF]) { depthReached truncated
        %s } } }"""
    compared = 0
    for row in iids:
        for depth, first in ((1, None), (2, 3), (3, 1), (50, None), (50, 5)):
            answers = []
            for extra in ("", "nodes { distance }"):
                variables = {
                    "p": row["full_path"],
                    "iid": row["iid"],
                    "depth": depth,
                    "first": first,
                }
                response = await client.post(
                    "/graphql",
                    json={"query": query % extra, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = await response.json()
                assert "errors" not in body, body
                graph = body["data"]["issue"]["dependencies"]
                answers.append((graph["depthReached"], graph["truncated"]))
            assert answers[0] == answers[1], (row, depth, first)
            compared += 1
    assert compared == 60
