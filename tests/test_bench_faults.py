"""The load-and-fault script's judges: they must catch what they are there to catch.

`bench.faults` itself runs for minutes; these pin down its checks on hand-made data: a
database whose constraints were dropped so that a duplicate pair, a `blocks` cycle, a second
parent and a self-link could be written, and ledgers that disagree with the rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from bench.faults import (
    ERROR,
    OK,
    REFUSED,
    TIMEOUT,
    IssueRef,
    Ledger,
    LinkRow,
    LoggedEvent,
    Pair,
    check_database,
    classify,
    event_checks,
    ledger_checks,
    rule_checks,
)
from issuegraph.models import Visibility


def _failed(checks) -> set[str]:
    return {c.name for c in checks if not c.passed}


def test_rule_checks_pass_a_forest_and_a_dag():
    rows = [
        LinkRow(1, 1, 2, "blocks"),
        LinkRow(2, 2, 3, "blocks"),
        LinkRow(3, 1, 3, "relates"),
        LinkRow(4, 4, 5, "parent"),
        LinkRow(5, 5, 6, "parent"),
    ]
    assert _failed(rule_checks(rows, max_links=3)) == set()


def test_rule_checks_catch_duplicates_cycles_second_parents_depth_and_the_limit():
    rows = [
        LinkRow(1, 1, 2, "blocks"),
        LinkRow(2, 2, 3, "blocks"),
        LinkRow(3, 3, 1, "blocks"),  # closes a cycle 1 -> 2 -> 3 -> 1
        LinkRow(4, 2, 1, "relates"),  # the pair of link 1, the other way round
        LinkRow(5, 7, 8, "parent"),
        LinkRow(6, 9, 8, "parent"),  # a second parent of 8
        LinkRow(7, 4, 4, "relates"),  # a self-link
    ]
    chain = [LinkRow(100 + n, 20 + n, 21 + n, "parent") for n in range(9)]  # 9 deep
    failed = _failed(rule_checks(rows + chain, max_links=2))
    assert failed == {
        "no self-link",
        "one link per pair, either direction",
        "no blocks cycle",
        "parent: one parent per issue",
        "parent: at most 8 deep",
        "at most 2 links per issue",
    }
    loop = [LinkRow(1, 1, 2, "parent"), LinkRow(2, 2, 1, "parent")]
    assert "parent: no cycle" in _failed(rule_checks(loop, max_links=3))


async def test_database_checks_catch_what_dropped_constraints_let_in(pool, world):
    owner = await world.user("owner")
    project = await world.project(owner, "g/p", Visibility.PUBLIC)
    a, b, c, d = [(await world.issue(owner, project, f"issue {n}")).id for n in range(4)]
    insert = "insert into issue_links (source_id, target_id, link_type) values ($1, $2, $3)"
    async with pool.acquire() as conn:
        await conn.execute(insert, a, b, "blocks")
        await conn.execute(insert, b, c, "blocks")
        await conn.execute(insert, a, d, "parent")
        assert _failed(await check_database(conn, max_links=10)) == set()

        await conn.execute(
            "drop index issue_links_one_per_pair; drop index issue_links_one_parent;"
            "alter table issue_links drop constraint issue_links_not_self;"
            "alter table issue_links disable trigger issue_links_no_cycle"
        )
        await conn.execute(insert, c, a, "blocks")  # a -> b -> c -> a
        await conn.execute(insert, b, a, "relates")  # a second link of the pair (a, b)
        await conn.execute(insert, c, d, "parent")  # a second parent of d
        await conn.execute(insert, d, d, "relates")
        failed = _failed(await check_database(conn, max_links=10))
    assert {
        "one link per pair, either direction",
        "one link per pair (SQL)",
        "no blocks cycle",
        "no blocks cycle (SQL walk)",
        "parent: one parent per issue",
        "parent: one parent (SQL)",
        "no self-link",
        "no self-link (SQL)",
    } <= failed


def _issues() -> list[IssueRef]:
    return [IssueRef(n, "g/p", n) for n in range(1, 6)]


def test_ledger_checks_pass_when_the_rows_match():
    one, two, three, *_ = _issues()
    present, refused = Pair(one, two), Pair(one, three)
    ledger = Ledger([present, refused])
    create = ledger.op(0, "create", two, one, "IS_BLOCKED_BY", tagged=True)
    create.outcome, create.link_id = OK, 10
    present.link_id, present.stored = 10, create.expected
    no = ledger.op(0, "create", one, three, "BLOCKS", tagged=True)
    no.outcome, no.code = REFUSED, "CYCLE"
    rows = [LinkRow(10, 1, 2, "blocks")]  # IS_BLOCKED_BY from 2 is stored as 1 blocks 2
    checks, figures = ledger_checks(ledger, rows, Counter({create.id: 1}))
    assert _failed(checks) == set()
    assert figures["expected present"] == figures["found as expected"] == 1


def test_ledger_checks_catch_lost_resurrected_impossible_half_made_and_stray_links():
    one, two, three, four, five = _issues()
    lost, refused, uncertain, landed = (
        Pair(one, two),
        Pair(one, three),
        Pair(two, four),
        Pair(three, five),
    )
    ledger = Ledger([lost, refused, uncertain, landed])
    made = ledger.op(0, "create", one, two, "RELATES_TO", tagged=True)
    made.outcome, made.link_id = OK, 10
    lost.link_id, lost.stored = 10, made.expected
    no = ledger.op(0, "create", one, three, "BLOCKS", tagged=True)
    no.outcome, no.code = REFUSED, "CYCLE"
    timed_out = ledger.op(0, "create", two, four, "RELATES_TO", tagged=True)
    timed_out.outcome = TIMEOUT
    uncertain.pending, uncertain.uncertain = timed_out, True
    unknown = ledger.op(0, "create", three, five, "CLONES", tagged=True)
    unknown.outcome, unknown.committed, unknown.link_id = ERROR, True, 13
    landed.link_id, landed.stored = 13, unknown.expected
    rows = [
        LinkRow(11, 1, 3, "blocks"),  # the refused create, present after all
        LinkRow(12, 4, 2, "relates"),  # the timed-out create, but the other way round
        LinkRow(13, 3, 5, "clones"),  # landed: its note must be there, and is not
        LinkRow(14, 4, 5, "relates"),  # no one asked for this one
    ]
    notes = Counter({no.id: 1})  # and the refused create left its note
    checks, figures = ledger_checks(ledger, rows, notes)
    assert _failed(checks) == {
        "every acknowledged link present (acknowledged creates - deletes)",
        "no refused or deleted link present",
        "unknown outcomes: either state, nothing else",
        "no half-made link (a create's note iff its link)",
        "no link outside the ledger",
    }
    assert figures["refused creates found"] == 1


def test_classify_tells_refusals_from_unknown_outcomes():
    def body(value):
        return json.dumps(value).encode()

    refused = classify(
        200, body({"data": {"f": {"errors": [{"code": "CYCLE"}], "link": None}}}), "f"
    )
    assert (refused.outcome, refused.code) == (REFUSED, "CYCLE")
    down = body({"data": None, "errors": [{"extensions": {"code": "DATABASE_UNAVAILABLE"}}]})
    assert (classify(503, down, "f").outcome, classify(503, down, "f").code) == (
        ERROR,
        "DATABASE_UNAVAILABLE",
    )
    html = classify(500, b"<html>500 Internal Server Error</html>", "f")
    assert (html.outcome, html.code) == (ERROR, "HTTP_500_NOT_JSON")
    ok = classify(200, body({"data": {"f": {"errors": [], "link": {"databaseId": 1}}}}), "f")
    assert (ok.outcome, ok.payload) == (OK, {"errors": [], "link": {"databaseId": 1}})


def _logged(*events: tuple[str, int]) -> list[LoggedEvent]:
    return [LoggedEvent((1, n), kind, link_id) for n, (kind, link_id) in enumerate(events)]


def test_event_checks_pass_a_log_that_replays_to_the_table():
    rows = [LinkRow(1, 1, 2, "blocks"), LinkRow(3, 5, 6, "relates")]
    logged = _logged(
        ("link_created", 1),
        ("link_created", 2),
        ("link_deleted", 2),
        ("link_created", 3),
    )
    assert _failed(event_checks(Ledger([]), rows, logged)[0]) == set()


def test_event_checks_catch_a_lost_a_doubled_and_a_ghost_event():
    rows = [LinkRow(1, 1, 2, "blocks"), LinkRow(3, 5, 6, "relates")]
    logged = _logged(
        ("link_created", 1),
        ("link_created", 1),  # twice
        ("link_created", 2),  # deleted, but its deletion was not logged
        # link 3 exists with no event at all
    )
    ledger = Ledger([])
    first, second = IssueRef(5, "p", 1), IssueRef(6, "p", 2)
    op = ledger.op(1, "create", first, second, "RELATES_TO", tagged=False, link_id=3)
    op.outcome = OK
    failed = _failed(event_checks(ledger, rows, logged)[0])
    assert failed == {
        "each link's events: created once, then deleted at most once",
        "the change log replays to the links in the database",
        "every acknowledged create and delete has its event",
    }


def test_a_short_fault_run_keeps_every_change_and_its_events(tmp_path):
    """The fault drill itself, shortened: concurrent writers, PostgreSQL restarted, the
    server SIGKILLed; every acknowledged change has exactly one event, the resuming
    subscriber sees each event once, every hook gets every event it is owed."""
    done = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "bench.faults",
            *("--steady", "5", "--phase", "12", "--fault-at", "3"),
            *("--writers", "8", "--readers", "2", "--output-dir", str(tmp_path)),
        ],
        capture_output=True,
        timeout=600,
        check=False,
    )
    report = json.loads((tmp_path / "faults.json").read_text())
    failed = [c for c in report["checks"] if not c["passed"]]
    assert done.returncode == 0, (failed, done.stderr.decode()[-2000:])
    names = {c["name"] for c in report["checks"]}
    assert {
        "every acknowledged create and delete has its event",
        "the change log replays to the links in the database",
        "the resuming subscriber saw every pushed link event exactly once, in log order",
        "every link event owed to a webhook was delivered at least once",
        "every webhook request carried a valid signature",
    } <= names
    assert report["ledger"]["subscriber connections"] >= 2  # it did have to resume
