"""The benchmark data generator, at a tiny size, against a database of the test's own.

Every rule the service enforces on links must hold in the generated data (the generator
loads with the cycle trigger disabled and the unique indexes dropped, so nothing but its
own construction guarantees them), and the database must be left as the migrations made it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from bench import generate as bench_generate
from bench.generate import Options, generate
from issuegraph.domain.auth import authenticate

if TYPE_CHECKING:
    from pathlib import Path

ISSUES = 2_000
LINKS = 6_000


async def _schema_objects(conn: asyncpg.Connection) -> dict[str, Any]:
    """Indexes, constraints and the trigger's state of the tables the generator loads."""
    indexes = await conn.fetch(
        "select indexname, indexdef from pg_indexes "
        "where schemaname = current_schema() and tablename = any($1::text[]) order by 1",
        list(bench_generate.LOADED_TABLES),
    )
    constraints = await conn.fetch(
        "select c.conname, pg_get_constraintdef(c.oid) as def, c.convalidated "
        "from pg_constraint c join pg_class t on t.oid = c.conrelid "
        "where t.relname = any($1::text[]) order by 1",
        list(bench_generate.LOADED_TABLES),
    )
    trigger = await conn.fetchval(
        "select tgenabled::text from pg_trigger where tgname = 'issue_links_no_cycle'"
    )
    return {
        "indexes": [tuple(r) for r in indexes],
        "constraints": [tuple(r) for r in constraints],
        "trigger": trigger,
    }


def _has_cycle(edges: list[tuple[int, int]]) -> bool:
    """Iterative three-colour depth-first search."""
    out: dict[int, list[int]] = defaultdict(list)
    for s, t in edges:
        out[s].append(t)
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in list(out):
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(out[start]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                seen = state.get(child)
                if seen == 1:
                    return True
                if seen is None:
                    state[child] = 1
                    stack.append((child, iter(out[child])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return False


def _upstream(edges: list[tuple[int, int]], root: int) -> tuple[int, int]:
    """(size, depth) of the breadth-first upstream closure of `root` over blocks edges."""
    blockers: dict[int, list[int]] = defaultdict(list)
    for s, t in edges:
        blockers[t].append(s)
    seen = {root}
    frontier = [root]
    depth = 0
    while True:
        frontier = [s for n in frontier for s in blockers[n] if s not in seen]
        frontier = list(dict.fromkeys(frontier))
        if not frontier:
            return len(seen) - 1, depth
        seen.update(frontier)
        depth += 1


async def _content_digest(conn: asyncpg.Connection) -> str:
    return await conn.fetchval(  # type: ignore[no-any-return]
        """
        select md5(
            (select string_agg(t::text, '|' order by t.id) from issues t) ||
            (select string_agg(l::text, '|' order by l.id) from issue_links l) ||
            (select string_agg(m::text, '|' order by m.project_id, m.user_id)
               from project_members m) ||
            (select string_agg(a::text, '|' order by a.issue_id, a.user_id)
               from issue_assignees a)
        )
        """
    )


async def _issue_id(conn: asyncpg.Connection, full_path: str, iid: int) -> int:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "select i.id from issues i join projects p on p.id = i.project_id "
        "where p.full_path = $1 and i.iid = $2",
        full_path,
        iid,
    )


async def _check_counts(conn: asyncpg.Connection, report: dict[str, Any]) -> None:
    counts = report["counts"]
    assert counts["issues"] == ISSUES
    assert counts["issue_links"] == LINKS
    assert counts["users"] == 1000
    assert counts["projects"] == 200
    assert counts["personal_access_tokens"] == 2
    for table, expected in counts.items():
        assert await conn.fetchval(f"select count(*) from {table}") == expected  # noqa: S608
    closed = await conn.fetchval("select avg((state = 'closed')::int) from issues")
    assert 0.2 < closed < 0.4
    admin = await conn.fetchval("select is_admin from users where username = 'bench-admin'")
    assert admin is True


def _check_links(links: list[asyncpg.Record]) -> list[tuple[int, int]]:
    """Pairs, self-links, the blocks DAG and the parent forest; returns the blocks edges."""
    assert len(links) == LINKS
    assert all(r["source_id"] != r["target_id"] for r in links)
    pairs = {frozenset((r["source_id"], r["target_id"])) for r in links}
    assert len(pairs) == LINKS, "two links between the same pair of issues"
    assert {r["link_type"] for r in links} == {
        "relates",
        "blocks",
        "duplicates",
        "parent",
        "clones",
    }

    blocks = [(r["source_id"], r["target_id"]) for r in links if r["link_type"] == "blocks"]
    assert not _has_cycle(blocks)

    parent_of: dict[int, int] = {}
    for r in links:
        if r["link_type"] == "parent":
            assert r["target_id"] not in parent_of, f"issue {r['target_id']} has two parents"
            parent_of[r["target_id"]] = r["source_id"]
    for child in parent_of:
        depth, node = 0, child
        while node in parent_of:
            node = parent_of[node]
            depth += 1
            assert depth <= 8, f"the parent chain above {child} is deeper than 8"
    return blocks


async def _check_iids(conn: asyncpg.Connection) -> None:
    """iids are 1..n in every project, and last_issue_iid is n."""
    bad = await conn.fetch(
        """
        select p.full_path, p.last_issue_iid, count(i.id) as n, min(i.iid) as lo,
               max(i.iid) as hi, count(distinct i.iid) as distinct_iids
          from projects p left join issues i on i.project_id = p.id
         group by p.id
        having p.last_issue_iid <> count(i.id)
            or (count(i.id) > 0 and (min(i.iid) <> 1 or max(i.iid) <> count(i.id)
                                     or count(distinct i.iid) <> count(i.id)))
        """
    )
    assert bad == []


async def _check_deep(
    conn: asyncpg.Connection, report: dict[str, Any], blocks: list[tuple[int, int]]
) -> int:
    """The reported closure of the deep root is what the rows give; returns the root."""
    deep = report["deep"]
    assert deep is not None
    assert deep["depth"] == deep["expected_depth"] == 50
    assert deep["closure_size"] == deep["expected_closure_size"]
    root = await _issue_id(conn, deep["project"], deep["iid"])
    assert root == deep["issue_id"]
    assert _upstream(blocks, root) == (deep["closure_size"], 50)
    # Nearly every issue of the 50 layers above the root is upstream of it.
    assert deep["closure_size"] >= 0.8 * 50 * deep["width"]
    return root


async def _check_hub(
    conn: asyncpg.Connection, report: dict[str, Any], links: list[asyncpg.Record]
) -> None:
    """Exactly 100 links, to issues of several projects."""
    hub = report["hub"]
    hub_id = await _issue_id(conn, hub["project"], hub["iid"])
    assert hub_id == hub["issue_id"]
    assert sum(1 for r in links if hub_id in (r["source_id"], r["target_id"])) == 100
    assert hub["links"] == 100
    linked_projects = await conn.fetchval(
        """
        select count(distinct i.project_id) from issue_links l
          join issues i on i.id = case when l.source_id = $1 then l.target_id
                                       else l.source_id end
         where $1 in (l.source_id, l.target_id)
        """,
        hub_id,
    )
    assert linked_projects >= 3


async def _check_tokens(conn: asyncpg.Connection, report: dict[str, Any]) -> None:
    """Each token signs in as its user, with the api scope."""
    assert set(report["tokens"]) == {"bench-admin", "bench-user"}
    for username, token in report["tokens"].items():
        viewer = await authenticate(conn, {"Authorization": f"Bearer {token}"})
        assert viewer.user is not None
        assert viewer.user.username == username
        assert {s.value for s in viewer.scopes} == {"api"}


async def _check_trigger_refuses_a_cycle(
    conn: asyncpg.Connection,
    links: list[asyncpg.Record],
    blocks: list[tuple[int, int]],
    root: int,
) -> None:
    root_blockers = {s for s, t in blocks if t == root}
    linked_to_root = {r["source_id"] for r in links if r["target_id"] == root}
    linked_to_root |= {r["target_id"] for r in links if r["source_id"] == root}
    upstream = next(s for s, t in blocks if t in root_blockers and s not in linked_to_root)
    with pytest.raises(asyncpg.PostgresError) as cycle:
        await conn.execute(
            "insert into issue_links (source_id, target_id, link_type) values ($1, $2, 'blocks')",
            root,
            upstream,
        )
    assert cycle.value.sqlstate == "IG001"


async def test_generated_data_keeps_every_link_rule(database_url: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        before = await _schema_objects(conn)
        output = tmp_path / "dataset.json"
        options = Options(
            issues=ISSUES,
            links=LINKS,
            seed=7,
            reset=True,
            dsn=database_url,
            output=output,
            progress=False,
        )
        report = await generate(options)
        assert json.loads(output.read_text()) == report

        # The database is as the migrations left it: every index and constraint is back
        # (validated), and the cycle/depth trigger is enabled again.
        after = await _schema_objects(conn)
        assert after == before
        assert after["trigger"] == "O"
        assert report["trigger_enabled"] is True

        await _check_counts(conn, report)
        links = await conn.fetch("select source_id, target_id, link_type::text from issue_links")
        blocks = _check_links(links)
        await _check_iids(conn)
        root = await _check_deep(conn, report, blocks)
        await _check_hub(conn, report, links)
        await _check_tokens(conn, report)
        await _check_trigger_refuses_a_cycle(conn, links, blocks, root)

        # One seed, one data set: a second run with --reset makes the same rows.
        digest = await _content_digest(conn)
        again = await generate(options)
        assert await _content_digest(conn) == digest
        assert again["deep"] == report["deep"]
        assert again["tokens"] != report["tokens"]
    finally:
        await conn.close()


async def test_a_failed_load_changes_nothing(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        before = await _schema_objects(conn)
        copy = bench_generate._copy

        async def failing_copy(conn_: Any, table: Any, opts: Options) -> None:
            if table.name == "issue_links":
                raise RuntimeError("the load broke")
            await copy(conn_, table, opts)

        monkeypatch.setattr(bench_generate, "_copy", failing_copy)
        options = Options(
            issues=ISSUES,
            links=LINKS,
            dsn=database_url,
            output=tmp_path / "dataset.json",
            progress=False,
        )
        with pytest.raises(RuntimeError, match="the load broke"):
            await generate(options)
        assert await _schema_objects(conn) == before
        assert await conn.fetchval("select count(*) from issues") == 0
        assert await conn.fetchval("select count(*) from users") == 0
        assert not (tmp_path / "dataset.json").exists()
    finally:
        await conn.close()
