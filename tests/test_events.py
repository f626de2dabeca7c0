"""The change log (docs/events.md): what each write records, the order in which readers
see events when transactions commit out of order, and who sees which event."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import pytest

from issuegraph.db.queries import events as event_queries
from issuegraph.db.queries.events import NewEvent
from issuegraph.domain import events as event_rules
from issuegraph.models import (
    START,
    Event,
    EventKind,
    IssueSnapshot,
    IssueState,
    Position,
    Role,
    Visibility,
)
from tests.helpers import Api, World

EVENT = """
  databaseId cursor kind silent occurredAt actor { username }
  issue { databaseId iid title state reference current { title } }
  link { databaseId linkType source { iid } target { iid } }
  changes { field before after }
"""
EVENTS = f"""
query($project: ID, $issue: Int, $kinds: [ChangeEventKind!], $first: Int, $after: String) {{
  events(project: $project, issue: $issue, kinds: $kinds, first: $first, after: $after) {{
    edges {{ cursor node {{ {EVENT} }} }}
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
  }}
}}"""


async def everything(pool: asyncpg.Pool) -> list[Event]:
    return await event_queries.events_after(pool, START, limit=10_000)


async def history(api: Api, token: str | None, **variables: Any) -> dict[str, Any]:
    response = await api.gql(EVENTS, variables, token=token)
    assert response.status == 200, response.body
    assert "errors" not in response.body, response.body
    return response.data["events"]  # type: ignore[no-any-return]


def changed(event: Event) -> dict[str, tuple[Any, Any]]:
    return {c.field: (c.before, c.after) for c in event.changes}


def kinds_and_titles(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["kind"], e["node"]["issue"]["title"]) for e in page["edges"]]


def link_input(source: Any, target: Any, link_type: str = "RELATES_TO") -> dict[str, Any]:
    return {
        "project": str(source.project_id),
        "iid": source.iid,
        "targetProject": str(target.project_id),
        "targetIssueIid": target.iid,
        "linkType": link_type,
    }


async def link(
    api: Api, token: str, source: Any, target: Any, link_type: str = "RELATES_TO"
) -> int:
    payload = await api.mutate(
        "createIssueLink", link_input(source, target, link_type), "link { databaseId }", token=token
    )
    assert payload["errors"] == [], payload
    return payload["link"]["databaseId"]  # type: ignore[no-any-return]


async def update(api: Api, token: str, issue: Any, **changes: Any) -> dict[str, Any]:
    payload = await api.mutate(
        "updateIssue",
        {"project": str(issue.project_id), "iid": issue.iid, **changes},
        "issue { title }",
        token=token,
    )
    assert payload["errors"] == [], payload
    return payload


# -- what each write records ----------------------------------------------------------------


async def test_issue_writes_record_their_events_with_what_changed(api, world, pool):
    alice, token = await world.user_with_token("alice")
    bob = await world.user("bob")
    project = await world.project(alice, "acme/app")
    await world.member(project, bob, Role.DEVELOPER)
    issue = await world.issue(alice, project, "Draft", labels=["a"])

    await update(api, token, issue, title="Plan", addLabels=["b"], weight=3)
    await update(api, token, issue, title="Plan")  # changes nothing: records nothing
    await update(api, token, issue, stateEvent="CLOSE")
    await update(api, token, issue, stateEvent="REOPEN", assigneeUsernames=["bob"])
    await update(api, token, issue, assigneeUsernames=[])

    created, edited, closed, reopened, unassigned = await everything(pool)
    assert [e.kind for e in (created, edited, closed, reopened, unassigned)] == [
        EventKind.ISSUE_CREATED,
        EventKind.ISSUE_UPDATED,
        EventKind.ISSUE_CLOSED,
        EventKind.ISSUE_REOPENED,
        EventKind.ISSUE_UPDATED,
    ]
    assert {e.actor_id for e in (created, edited, closed, reopened)} == {alice.id}
    assert created.issues[0].title == "Draft"
    assert created.changes == ()
    assert changed(edited) == {
        "title": ("Draft", "Plan"),
        "labels": (["a"], ["a", "b"]),
        "weight": (None, 3),
    }
    assert [(c.field, c.before, c.after) for c in closed.changes] == [("state", "opened", "closed")]
    assert closed.issues[0].state is IssueState.CLOSED
    assert changed(reopened) == {
        "state": ("closed", "opened"),
        "assigneeIds": ([], [bob.id]),
    }
    assert [(c.field, c.before, c.after) for c in unassigned.changes] == [
        ("assigneeIds", [bob.id], [])
    ]
    assert all(e.project_ids == (project.id,) for e in (created, edited, closed))


async def test_deleting_an_issue_records_each_link_then_the_issue(api, world, pool):
    alice, token = await world.user_with_token("alice")
    app = await world.project(alice, "acme/app")
    lib = await world.project(alice, "acme/lib")
    doomed, other, far = (
        await world.issue(alice, app, "Doomed"),
        await world.issue(alice, app, "Other"),
        await world.issue(alice, lib, "Far"),
    )
    first = await link(api, token, doomed, other, "BLOCKS")
    second = await link(api, token, far, doomed)
    before = len(await everything(pool))

    payload = await api.mutate(
        "deleteIssue", {"project": "acme/app", "iid": doomed.iid}, "issue { title }", token=token
    )
    assert payload["errors"] == []

    *links, gone = (await everything(pool))[before:]
    assert {(e.kind, e.link_id) for e in links} == {
        (EventKind.LINK_DELETED, first),
        (EventKind.LINK_DELETED, second),
    }
    by_link = {e.link_id: e for e in links}
    assert [i.title for i in by_link[first].issues] == ["Doomed", "Other"]
    assert [i.title for i in by_link[second].issues] == ["Far", "Doomed"]
    assert by_link[second].project_ids == (lib.id, app.id)
    assert (gone.kind, gone.issues[0].title) == (EventKind.ISSUE_DELETED, "Doomed")


async def test_a_write_that_fails_records_nothing(api, world, pool):
    alice, token = await world.user_with_token("alice")
    project = await world.project(alice, "acme/app")
    a, b = await world.issue(alice, project, "A"), await world.issue(alice, project, "B")
    await link(api, token, a, b, "BLOCKS")
    before = await everything(pool)

    payload = await api.mutate(
        "createIssueLink", link_input(b, a, "BLOCKS"), "link { databaseId }", token=token
    )
    assert [e["code"] for e in payload["errors"]] == ["CONFLICT"]
    payload = await api.mutate(
        "updateIssue",
        {"project": "acme/app", "iid": a.iid, "title": ""},
        "issue { title }",
        token=token,
    )
    assert [e["code"] for e in payload["errors"]] == ["BAD_USER_INPUT"]

    assert await everything(pool) == before


# -- order: transactions commit out of order, readers never pass an event ---------------------


def _event(n: int) -> NewEvent:
    issue = IssueSnapshot(
        id=n,
        project_id=1,
        iid=n,
        title=f"E{n}",
        state=IssueState.OPENED,
        confidential=False,
        author_id=1,
    )
    return NewEvent(EventKind.ISSUE_UPDATED, None, (issue,))


async def test_an_event_that_commits_after_a_later_one_is_not_passed_over(pool):
    early = await pool.acquire()
    late = await pool.acquire()
    try:
        early_tx = early.transaction()
        await early_tx.start()
        await event_queries.append(early, [_event(1)])  # takes the smaller id ...
        async with late.transaction():
            await event_queries.append(late, [_event(2)])  # ... and commits last
        # Read by id alone, the late event is there and the early one is not: a reader
        # that went past it would never see the early one.
        ids = await pool.fetch(
            "select id, data->'issues'->0->>'title' as t from events order by id"
        )
        assert [r["t"] for r in ids] == ["E2"]
        # The log's readers wait: nothing is readable while the early writer is open.
        assert await everything(pool) == []
        await early_tx.commit()
    finally:
        await pool.release(early)
        await pool.release(late)

    assert [e.issues[0].title for e in await everything(pool)] == ["E1", "E2"]


async def test_readers_polling_during_racing_writers_see_every_event_once_in_order(pool):
    """Writers append inside transactions of random length; a reader polls from its own
    cursor all along. It must end with every committed event exactly once, and in the
    order a reader starting afterwards sees; rolled-back events never appear."""
    rng = random.Random(17)  # noqa: S311  (timings, not secrets)
    committed: set[str] = set()
    stop = asyncio.Event()
    seen: list[Event] = []

    async def writer(w: int) -> None:
        for n in range(15):
            async with pool.acquire() as conn:
                tx = conn.transaction()
                await tx.start()
                title = f"w{w}-{n}"
                await event_queries.append(conn, [_event(w * 100 + n)])
                await conn.execute(
                    "update events set data = jsonb_set(data, '{issues,0,title}', to_jsonb($1::text))"
                    " where xid = pg_current_xact_id()",
                    title,
                )
                await asyncio.sleep(rng.random() * 0.02)
                if rng.random() < 0.15:
                    await tx.rollback()
                else:
                    await tx.commit()
                    committed.add(title)

    async def reader() -> None:
        position = START
        while True:
            done = stop.is_set()
            batch = await event_queries.events_after(pool, position, limit=7)
            seen.extend(batch)
            if batch:
                position = batch[-1].position
            elif done:
                return
            await asyncio.sleep(0.001)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(6)))
    stop.set()
    await reading

    titles = [e.issues[0].title for e in seen]
    assert len(titles) == len(set(titles)), "an event was read twice"
    assert set(titles) == committed
    assert [e.position for e in seen] == [e.position for e in await everything(pool)]
    assert [e.position for e in seen] == sorted(e.position for e in seen)


async def test_a_reader_starting_now_misses_nothing_committed_later(pool):
    await event_queries.append(pool, [_event(1)])
    start = await event_queries.horizon(pool)
    await event_queries.append(pool, [_event(2)])
    assert [e.issues[0].title for e in await event_queries.events_after(pool, start, limit=10)] == [
        "E2"
    ]


# -- cursors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    ["", "not base64!", "W10", "WyJldmVudCIsMV0", "WyJsaW5rIixbMSwxXV0", "WyJldmVudCIsWy0xLDFdXQ"],
)
def test_a_forged_cursor_is_bad_input(cursor):
    with pytest.raises(Exception) as raised:
        event_rules.decode_cursor(cursor)
    assert getattr(raised.value, "code", None) == "BAD_USER_INPUT"


def test_a_cursor_round_trips():
    position = Position(2**40 + 3, 12)
    assert event_rules.decode_cursor(event_rules.encode_cursor(position)) == position


# -- who sees what ------------------------------------------------------------------------------


@pytest.fixture
async def mixed(api: Api, world: World) -> dict[str, Any]:
    """A public and a private project, a link across them, and a link inside each."""
    owner, owner_token = await world.user_with_token("owner")
    member, member_token = await world.user_with_token("member")
    _, outsider_token = await world.user_with_token("outsider")
    public = await world.project(owner, "acme/public", Visibility.PUBLIC)
    private = await world.project(owner, "acme/private", Visibility.PRIVATE)
    await world.member(private, member, Role.GUEST)
    p1, p2 = await world.issue(owner, public, "P1"), await world.issue(owner, public, "P2")
    s1 = await world.issue(owner, private, "S1")
    secret = await world.issue(owner, private, "Secret", confidential=True)
    inside = await link(api, owner_token, p1, p2)
    across = await link(api, owner_token, p1, s1, "BLOCKS")
    hidden = await link(api, owner_token, s1, secret)
    return {
        "tokens": {"owner": owner_token, "member": member_token, "outsider": outsider_token},
        "member": member,
        "private": private,
        "links": {"inside": inside, "across": across, "hidden": hidden},
    }


def link_ids(page: dict[str, Any]) -> list[int]:
    return [e["node"]["link"]["databaseId"] for e in page["edges"] if e["node"]["link"]]


async def test_each_viewer_sees_the_events_of_what_it_reads_now(api, world, mixed):
    links = mixed["links"]
    tokens = mixed["tokens"]

    anonymous = await history(api, None)
    assert kinds_and_titles(anonymous) == [
        ("ISSUE_CREATED", "P1"),
        ("ISSUE_CREATED", "P2"),
        ("LINK_CREATED", "P1"),
    ]
    assert link_ids(anonymous) == [links["inside"]]
    assert link_ids(await history(api, tokens["outsider"])) == [links["inside"]]
    # A guest reads the private project but not its confidential issue, so not the link to it.
    member = await history(api, tokens["member"])
    assert link_ids(member) == [links["inside"], links["across"]]
    assert "Secret" not in str(member)
    owner = await history(api, tokens["owner"])
    assert link_ids(owner) == [links["inside"], links["across"], links["hidden"]]
    assert len(owner["edges"]) == 7

    # What the viewer may read now: a member who leaves loses the old events too.
    await world.pool.execute("delete from project_members where user_id = $1", mixed["member"].id)
    assert link_ids(await history(api, tokens["member"])) == [links["inside"]]


async def test_a_deleted_issue_is_judged_as_the_event_last_saw_it(api, world, mixed):
    tokens = mixed["tokens"]
    payload = await api.mutate(
        "deleteIssue",
        {"project": "acme/private", "iid": 2},
        "issue { title }",
        token=tokens["owner"],
    )
    assert payload["errors"] == []

    owner = await history(api, tokens["owner"], project="acme/private")
    assert kinds_and_titles(owner)[-2:] == [("LINK_DELETED", "S1"), ("ISSUE_DELETED", "Secret")]
    deleted = owner["edges"][-1]["node"]["issue"]
    assert deleted["current"] is None
    assert deleted["reference"] == "acme/private#2"
    # The guest never read the confidential issue; it does not see it now it is gone.
    member = await history(api, tokens["member"], project="acme/private")
    assert "Secret" not in str(member)
    assert [k for k, _ in kinds_and_titles(member)] == ["ISSUE_CREATED", "LINK_CREATED"]


async def test_pages_skip_hidden_events_and_resume_from_their_cursor(api, world, mixed):
    token = mixed["tokens"]["member"]
    everything_seen = await history(api, token, first=100)
    seen = [e["node"]["databaseId"] for e in everything_seen["edges"]]

    pages: list[int] = []
    after = None
    while True:
        page = await history(api, token, first=2, after=after)
        pages += [e["node"]["databaseId"] for e in page["edges"]]
        assert len(page["edges"]) <= 2
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == seen

    kinds = await history(api, token, kinds=["LINK_CREATED"])
    assert {e["node"]["kind"] for e in kinds["edges"]} == {"LINK_CREATED"}


async def test_issue_events_show_the_issue_and_its_links(api, world, mixed):
    owner = mixed["tokens"]["owner"]
    response = await api.gql(
        'query { project(fullPath: "acme/public") { issue(iid: 1) {'
        f" events {{ nodes {{ {EVENT} }} }} }} }} }}",
        token=owner,
    )
    assert "errors" not in response.body, response.body
    nodes = response.data["project"]["issue"]["events"]["nodes"]
    assert [n["kind"] for n in nodes] == ["ISSUE_CREATED", "LINK_CREATED", "LINK_CREATED"]
    across = nodes[2]
    assert across["link"]["linkType"] == "BLOCKS"
    assert across["actor"]["username"] == "owner"
    assert across["issue"]["current"]["title"] == "P1"
    # Anonymous: the link to the private project is left out, not shown with a null end.
    response = await api.gql(
        'query { project(fullPath: "acme/public") { issue(iid: 1) {'
        " events { nodes { kind link { target { title } } } } } } }"
    )
    assert [n["kind"] for n in response.data["project"]["issue"]["events"]["nodes"]] == [
        "ISSUE_CREATED",
        "LINK_CREATED",
    ]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"project": "acme/private"}, "NOT_FOUND"),  # hidden from anonymous
        ({"project": "nowhere/at-all"}, "NOT_FOUND"),
        ({"project": "acme/public", "issue": 99}, "NOT_FOUND"),
        ({"issue": 1}, "BAD_USER_INPUT"),
        ({"first": 0}, "BAD_USER_INPUT"),
        ({"first": 101}, "BAD_USER_INPUT"),
        ({"after": "garbage"}, "BAD_USER_INPUT"),
    ],
)
async def test_bad_arguments_are_coded_errors(api, mixed, variables, code):
    response = await api.gql(EVENTS, variables)
    assert response.status == 200
    assert response.body["data"] is None or response.body["data"]["events"] is None
    assert [e["extensions"]["code"] for e in response.body["errors"]] == [code]
