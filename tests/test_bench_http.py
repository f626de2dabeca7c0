"""The floor of the HTTP benchmark answers what issuegraph answers, on a small generated set.

bench/http.py times issuegraph against bench/floor.py, a hand-written server for the same
representative queries; the ratio means something only while the floor returns the same
JSON for the same viewer with the SQL statements it claims. Both run here in-process on a
data set from bench.generate (2,000 issues / 6,000 links) in the test's own database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
import pytest

from bench.floor import STATEMENTS, create_floor_app
from bench.generate import Options, generate
from bench.http import BenchError, compare
from bench.queries import REPRESENTATIVE
from issuegraph.app import create_app
from tests.helpers import StatementLog

if TYPE_CHECKING:
    from pathlib import Path

    from issuegraph.config import Settings

ISSUES = 2_000
LINKS = 6_000


async def _targets(database_url: str, report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variables per case: the hub (issue and project), a project bench-user may not read,
    a missing issue, the hub by its project's numeric id."""
    conn = await asyncpg.connect(database_url)
    try:
        hidden = await conn.fetchval(
            """
            select p.full_path from projects p
             where p.visibility = 'private' and not exists (
                   select 1 from project_members m join users u on u.id = m.user_id
                    where m.project_id = p.id and u.username = 'bench-user')
             order by p.id limit 1
            """
        )
        project_id = await conn.fetchval(
            "select id from projects where full_path = $1", report["hub"]["project"]
        )
    finally:
        await conn.close()
    hub = report["hub"]
    return {
        "hub": {"project": hub["project"], "iid": hub["iid"]},
        "hidden": {"project": hidden, "iid": 1},
        "missing": {"project": hub["project"], "iid": 999_999},
        "by id": {"project": str(project_id), "iid": hub["iid"]},
    }


async def test_the_floor_answers_what_issuegraph_answers_with_its_statement_count(
    aiohttp_client: Any, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    report = await generate(
        Options(
            issues=ISSUES,
            links=LINKS,
            seed=5,
            reset=True,
            dsn=database_url,
            output=tmp_path / "dataset.json",
            progress=False,
        )
    )
    targets = await _targets(database_url, report)
    log = StatementLog()
    service = await aiohttp_client(create_app(settings))
    floor = await aiohttp_client(create_floor_app(settings, on_connect=log.attach))
    try:
        answered = await _compare_every_case(service, floor, log, report["tokens"], targets)
    finally:
        # Close both apps (and their pools) before this test's database is dropped.
        await service.close()
        await floor.close()
    assert answered >= 6  # the hub's pages as user and admin at least, so not all nulls


async def _compare_every_case(
    service: Any,
    floor: Any,
    log: StatementLog,
    tokens: dict[str, str],
    targets: dict[str, dict[str, Any]],
) -> int:
    """Each query, as each viewer, on each target: the same JSON, the documented statement
    count; returns how many answers were not null."""
    viewers = {"user": tokens["bench-user"], "admin": tokens["bench-admin"], "anonymous": None}
    answered = 0
    for viewer, token in viewers.items():
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for rep in REPRESENTATIVE:
            for case, target in targets.items():
                if rep.target == "project" and case in {"missing", "by id"}:
                    continue  # the hub's project again
                if rep.name == "nested_links" and viewer == "anonymous" and case == "hub":
                    continue  # the slowest page; the user's and the admin's cover it
                variables = target if rep.target == "issue" else {"project": target["project"]}
                body = orjson.dumps({"query": rep.query, "variables": variables})
                got = await service.post("/graphql", data=body, headers=headers)
                expected = await got.read()
                assert got.status == 200, expected
                assert "errors" not in orjson.loads(expected), expected

                answers: list[bytes] = []

                async def ask(
                    path: str = f"/{rep.name}",
                    sent: bytes = body,
                    sending: dict[str, str] = headers,
                    into: list[bytes] = answers,
                ) -> None:
                    response = await floor.post(path, data=sent, headers=sending)
                    assert response.status == 200
                    into.append(await response.read())

                statements = await log.count(ask())
                where = f"{rep.name} as {viewer} on {case} {variables}"
                compare(expected, answers[0])  # BenchError unless the same JSON
                assert statements == STATEMENTS[rep.name] - (token is None), (where, log.queries)
                data = orjson.loads(answers[0])["data"]
                answered += any(data.values())
                if case == "hub" and viewer != "anonymous":
                    assert any(data.values()), where
    return answered


def test_compare_tells_whitespace_from_a_different_answer() -> None:
    assert compare(b'{"a": 1}', b'{"a": 1}') == "identical bytes"
    assert compare(b'{"a": [1, 2]}', b'{"a":[1,2]}') == "same JSON, whitespace differs"
    assert compare(b'{"a": 1, "b": 2}', b'{"b":2,"a":1}') == "same JSON, key order differs"
    with pytest.raises(BenchError, match=r"\$\.a\[1\]"):
        compare(b'{"a": [1, 2]}', b'{"a": [1, 3]}')
