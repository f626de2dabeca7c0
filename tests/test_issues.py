"""createIssue / updateIssue and project.issues through GraphQL, against the real database."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from typing import Any

import pytest

from issuegraph.models import Role, Visibility

ISSUE_FIELDS = """
    id iid projectId title description state labels
    assignees { username } assignee { username } author { username } closedBy { username }
    milestone dueDate confidential weight webUrl createdAt updatedAt closedAt
    userNotesCount reference
"""
PAYLOAD = f"issue {{ {ISSUE_FIELDS} }}"


async def create_issue(api: Any, token: str, project: str, **fields: Any) -> dict[str, Any]:
    """createIssue with `fields` (camelCase, as the schema names them); returns the payload."""
    input_ = {"project": project, "title": "An issue", **fields}
    return await api.mutate("createIssue", input_, PAYLOAD, token=token)


async def update_issue(
    api: Any, token: str, project: str, iid: int, **fields: Any
) -> dict[str, Any]:
    return await api.mutate(
        "updateIssue", {"project": project, "iid": iid, **fields}, PAYLOAD, token=token
    )


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    """The issue of a successful payload."""
    assert payload["errors"] == [], payload["errors"]
    assert payload["issue"] is not None
    return payload["issue"]  # type: ignore[no-any-return]


def only_error(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["issue"] is None, payload
    assert len(payload["errors"]) == 1, payload["errors"]
    return payload["errors"][0]  # type: ignore[no-any-return]


async def issue_count(pool: Any) -> int:
    return int(await pool.fetchval("select count(*) from issues"))


@pytest.fixture
async def alice(world: Any) -> tuple[Any, str]:
    return await world.user_with_token("alice")


@pytest.fixture
async def web(world: Any, alice: tuple[Any, str]) -> Any:
    """A PUBLIC project owned by alice."""
    return await world.project(alice[0], "acme/web", Visibility.PUBLIC)


# -- iids ------------------------------------------------------------------------------------


async def test_iids_count_up_per_project_and_independently_across_projects(api, world, alice):
    user, token = alice
    await world.project(user, "acme/one")
    await world.project(user, "acme/two")

    order = ["acme/one", "acme/one", "acme/two", "acme/one", "acme/two"]
    iids = [ok(await create_issue(api, token, path))["iid"] for path in order]

    assert iids == [1, 2, 1, 3, 2]


async def test_fifty_concurrent_creates_get_fifty_distinct_iids(api, pool, alice, web):
    _, token = alice
    payloads = await asyncio.gather(
        *(create_issue(api, token, "acme/web", title=f"Issue {n}") for n in range(50))
    )

    iids = [ok(p)["iid"] for p in payloads]
    assert sorted(iids) == list(range(1, 51))
    rows = await pool.fetch("select iid, title from issues where project_id = $1", web.id)
    assert sorted(r["iid"] for r in rows) == list(range(1, 51))
    assert len({r["title"] for r in rows}) == 50
    assert await pool.fetchval("select last_issue_iid from projects where id = $1", web.id) == 50


# -- validation ------------------------------------------------------------------------------

INVALID_CREATES: list[tuple[dict[str, Any], list[str]]] = [
    ({"title": ""}, ["input", "title"]),
    ({"title": "   "}, ["input", "title"]),
    ({"title": "x" * 256}, ["input", "title"]),
    ({"title": "bell \x07 rings"}, ["input", "title"]),
    ({"title": "two\nlines"}, ["input", "title"]),
    ({"title": "nul \x00 byte"}, ["input", "title"]),
    ({"title": "c1 \x85 control"}, ["input", "title"]),
    ({"description": "nul \x00 byte"}, ["input", "description"]),
    ({"weight": -1}, ["input", "weight"]),
    ({"labels": ["ok", "a,b"]}, ["input", "labels"]),
    ({"labels": ["ok", "  "]}, ["input", "labels"]),
    ({"labels": ["x" * 256]}, ["input", "labels"]),
    ({"milestone": "v1\nv2"}, ["input", "milestone"]),
    ({"milestone": " "}, ["input", "milestone"]),
]


async def test_invalid_create_input_is_bad_user_input_data_with_path_and_writes_nothing(
    api, pool, alice, web
):
    _, token = alice
    for fields, path in INVALID_CREATES:
        payload = await create_issue(api, token, "acme/web", clientMutationId="m1", **fields)
        error = only_error(payload)
        assert error["code"] == "BAD_USER_INPUT", (fields, error)
        assert error["path"] == path, (fields, error)
        assert error["message"]
        assert payload["clientMutationId"] == "m1"

    assert await issue_count(pool) == 0
    # No iid was used up by the failures either.
    assert ok(await create_issue(api, token, "acme/web"))["iid"] == 1


async def test_title_of_exactly_255_characters_is_accepted_and_trimmed(api, alice, web):
    _, token = alice
    issue = ok(await create_issue(api, token, "acme/web", title="  " + "t" * 255 + " "))
    assert issue["title"] == "t" * 255


async def test_invalid_update_is_bad_user_input_data_and_changes_nothing(api, pool, alice, web):
    _, token = alice
    created = ok(
        await create_issue(api, token, "acme/web", title="Keep me", labels=["bug"], weight=2)
    )
    before = await pool.fetchrow("select * from issues where iid = 1")

    for fields, path in [
        ({"title": " "}, ["input", "title"]),
        ({"title": None}, ["input", "title"]),
        ({"title": "x" * 256}, ["input", "title"]),
        ({"title": "Fine", "weight": -5}, ["input", "weight"]),
        ({"title": "Fine", "addLabels": ["a,b"]}, ["input", "labels"]),
        ({"title": "Fine", "labels": ["\x01"]}, ["input", "labels"]),
        ({"confidential": None}, ["input", "confidential"]),
    ]:
        error = only_error(await update_issue(api, token, "acme/web", 1, **fields))
        assert error["code"] == "BAD_USER_INPUT", (fields, error)
        assert error["path"] == path, (fields, error)

    after = await pool.fetchrow("select * from issues where iid = 1")
    assert dict(after) == dict(before)
    assert created["title"] == "Keep me"


# -- labels ----------------------------------------------------------------------------------


async def test_labels_are_trimmed_and_deduplicated_case_insensitively(api, pool, alice, web):
    _, token = alice
    issue = ok(
        await create_issue(
            api, token, "acme/web", labels=[" bug ", "Bug", "UI", "ui  ", "back end", "BUG"]
        )
    )
    assert issue["labels"] == ["bug", "UI", "back end"]
    assert await pool.fetchval("select labels from issues") == ["bug", "UI", "back end"]


async def test_add_labels_and_remove_labels(api, alice, web):
    _, token = alice
    ok(await create_issue(api, token, "acme/web", labels=["bug"]))

    added = ok(await update_issue(api, token, "acme/web", 1, addLabels=[" feature ", "BUG", "ux"]))
    assert added["labels"] == ["bug", "feature", "ux"]

    removed = ok(await update_issue(api, token, "acme/web", 1, removeLabels=[" BUG", "absent"]))
    assert removed["labels"] == ["feature", "ux"]

    both = ok(
        await update_issue(api, token, "acme/web", 1, addLabels=["docs"], removeLabels=["UX"])
    )
    assert both["labels"] == ["feature", "docs"]

    replaced = ok(
        await update_issue(api, token, "acme/web", 1, labels=["one", "ONE"], addLabels=["two"])
    )
    assert replaced["labels"] == ["one", "two"]

    cleared = ok(await update_issue(api, token, "acme/web", 1, labels=[]))
    assert cleared["labels"] == []


async def test_concurrent_add_labels_all_land(api, pool, alice, web):
    _, token = alice
    ok(await create_issue(api, token, "acme/web", labels=["base"]))

    payloads = await asyncio.gather(
        *(update_issue(api, token, "acme/web", 1, addLabels=[f"l{n}"]) for n in range(10))
    )

    for payload in payloads:
        ok(payload)
    labels = await pool.fetchval("select labels from issues")
    assert labels[0] == "base"
    assert sorted(labels[1:]) == sorted(f"l{n}" for n in range(10))


# -- assignees -------------------------------------------------------------------------------


async def test_assignees_are_set_by_username_and_assignee_is_the_first(
    api, pool, world, alice, web
):
    _, token = alice
    await world.user("bob")
    await world.user("carol")

    issue = ok(await create_issue(api, token, "acme/web", assigneeUsernames=["carol", "BOB"]))
    names = [u["username"] for u in issue["assignees"]]
    assert sorted(names) == ["bob", "carol"]
    assert issue["assignee"] == issue["assignees"][0]

    # Read back in a fresh request: the same list, the same first one.
    response = await api.gql(
        '{ project(fullPath: "acme/web") { issue(iid: 1) '
        "{ assignees { username } assignee { username } } } }"
    )
    fresh = response.data["project"]["issue"]
    assert fresh == {"assignees": issue["assignees"], "assignee": issue["assignee"]}

    replaced = ok(await update_issue(api, token, "acme/web", 1, assigneeUsernames=["carol"]))
    assert replaced["assignees"] == [{"username": "carol"}]
    assert replaced["assignee"] == {"username": "carol"}

    unassigned = ok(await update_issue(api, token, "acme/web", 1, assigneeUsernames=[]))
    assert unassigned["assignees"] == []
    assert unassigned["assignee"] is None
    assert await pool.fetchval("select count(*) from issue_assignees") == 0


async def test_unknown_assignee_is_not_found_and_writes_nothing(api, pool, world, alice, web):
    _, token = alice
    await world.user("bob")
    error = only_error(
        await create_issue(api, token, "acme/web", assigneeUsernames=["bob", "nosuchuser"])
    )
    assert error["code"] == "NOT_FOUND"
    assert error["path"] == ["input", "assigneeUsernames"]
    assert await issue_count(pool) == 0

    ok(await create_issue(api, token, "acme/web", assigneeUsernames=["bob"]))
    error = only_error(
        await update_issue(api, token, "acme/web", 1, assigneeUsernames=["nosuchuser"])
    )
    assert error["code"] == "NOT_FOUND"
    assert await pool.fetchval("select count(*) from issue_assignees") == 1


async def test_non_member_of_private_project_cannot_be_assigned(api, pool, world, alice):
    owner, token = alice
    secret = await world.project(owner, "acme/secret", Visibility.PRIVATE)
    await world.user("outsider")
    member = await world.user("member")
    await world.member(secret, member, Role.GUEST)

    error = only_error(
        await create_issue(api, token, "acme/secret", assigneeUsernames=["outsider"])
    )
    assert error["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["input", "assigneeUsernames"]
    assert await issue_count(pool) == 0

    issue = ok(await create_issue(api, token, "acme/secret", assigneeUsernames=["member"]))
    assert issue["assignee"] == {"username": "member"}


# -- state -----------------------------------------------------------------------------------


async def test_close_sets_closed_at_and_closed_by_and_reopen_clears_them(
    api, pool, world, alice, web
):
    _, alice_token = alice
    bob, bob_token = await world.user_with_token("bob")
    await world.member(web, bob, Role.REPORTER)
    created = ok(await create_issue(api, alice_token, "acme/web"))
    assert created["state"] == "OPENED"
    assert created["closedAt"] is None
    assert created["closedBy"] is None

    closed = ok(await update_issue(api, bob_token, "acme/web", 1, stateEvent="CLOSE"))
    assert closed["state"] == "CLOSED"
    closed_at = dt.datetime.fromisoformat(closed["closedAt"])
    assert closed_at >= dt.datetime.fromisoformat(created["createdAt"])
    assert closed["closedBy"] == {"username": "bob"}

    # Closing a closed issue again keeps who closed it and when.
    again = ok(await update_issue(api, alice_token, "acme/web", 1, stateEvent="CLOSE"))
    assert again["closedBy"] == {"username": "bob"}
    assert again["closedAt"] == closed["closedAt"]

    reopened = ok(await update_issue(api, alice_token, "acme/web", 1, stateEvent="REOPEN"))
    assert reopened["state"] == "OPENED"
    assert reopened["closedAt"] is None
    assert reopened["closedBy"] is None
    row = await pool.fetchrow("select state, closed_at, closed_by_id from issues")
    assert tuple(row) == ("opened", None, None)


# -- absent versus null ------------------------------------------------------------------------


async def test_explicit_null_clears_due_date_while_an_absent_field_keeps_it(api, alice, web):
    _, token = alice
    ok(
        await create_issue(
            api,
            token,
            "acme/web",
            dueDate="2030-01-31",
            weight=3,
            milestone="v1",
            description="Text",
        )
    )

    kept = ok(await update_issue(api, token, "acme/web", 1, title="Renamed"))
    assert kept["title"] == "Renamed"
    assert kept["dueDate"] == "2030-01-31"
    assert (kept["weight"], kept["milestone"], kept["description"]) == (3, "v1", "Text")

    cleared = ok(await update_issue(api, token, "acme/web", 1, dueDate=None))
    assert cleared["dueDate"] is None
    assert (cleared["title"], cleared["weight"], cleared["milestone"]) == ("Renamed", 3, "v1")

    others = ok(
        await update_issue(api, token, "acme/web", 1, weight=None, milestone=None, description=None)
    )
    assert (others["weight"], others["milestone"], others["description"]) == (None, None, None)

    reset = ok(await update_issue(api, token, "acme/web", 1, dueDate="2031-02-28"))
    assert reset["dueDate"] == "2031-02-28"


async def test_update_changes_updated_at_but_not_created_at(api, alice, web):
    _, token = alice
    created = ok(await create_issue(api, token, "acme/web"))
    updated = ok(await update_issue(api, token, "acme/web", 1, title="Changed"))
    assert updated["createdAt"] == created["createdAt"]
    assert dt.datetime.fromisoformat(updated["updatedAt"]) > dt.datetime.fromisoformat(
        created["updatedAt"]
    )


# -- clientMutationId ------------------------------------------------------------------------


async def test_client_mutation_id_is_echoed_on_success_and_on_error(api, alice, web):
    _, token = alice
    created = await create_issue(api, token, "acme/web", clientMutationId="create-1")
    assert created["clientMutationId"] == "create-1"
    ok(created)
    failed = await create_issue(api, token, "acme/web", title=" ", clientMutationId="create-2")
    assert failed["clientMutationId"] == "create-2"
    only_error(failed)

    updated = await update_issue(api, token, "acme/web", 1, title="X", clientMutationId="upd-1")
    assert updated["clientMutationId"] == "upd-1"
    missing = await update_issue(api, token, "acme/web", 99, title="X", clientMutationId="upd-2")
    assert missing["clientMutationId"] == "upd-2"
    assert only_error(missing)["code"] == "NOT_FOUND"

    without = await create_issue(api, token, "acme/web")
    assert without["clientMutationId"] is None


# -- project.issues paging -------------------------------------------------------------------

PAGE_QUERY = """
query($path: ID!, $first: Int, $after: String, $sort: IssueSort!, $state: IssueState) {
  project(fullPath: $path) {
    issues(first: $first, after: $after, sort: $sort, state: $state) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { iid state } }
      nodes { iid }
    }
  }
}
"""


async def page(api: Any, **variables: Any) -> Any:
    variables = {"path": "acme/web", "sort": "CREATED_DESC", **variables}
    return await api.gql(PAGE_QUERY, variables)


async def walk(api: Any, *, first: int, **variables: Any) -> tuple[list[int], int]:
    """Follow endCursor to the end; return the iids seen and how many pages it took."""
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        connection = (await page(api, first=first, after=after, **variables)).data["project"][
            "issues"
        ]
        pages += 1
        iids = [e["node"]["iid"] for e in connection["edges"]]
        assert [n["iid"] for n in connection["nodes"]] == iids
        assert len(iids) <= first
        info = connection["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        if iids:
            assert info["startCursor"] == connection["edges"][0]["cursor"]
            assert info["endCursor"] == connection["edges"][-1]["cursor"]
        seen += iids
        if not info["hasNextPage"]:
            return seen, pages
        assert pages < 50, "paging does not terminate"
        after = info["endCursor"]


@pytest.fixture
async def seven_issues(world, alice, web):
    """Issues 1..7 in acme/web; 2, 5 and 6 closed."""
    owner, _ = alice
    for n in range(1, 8):
        await world.issue(owner, web, f"Issue {n}")
    await world.pool.execute(
        "update issues set state = 'closed', closed_at = now() where iid in (2, 5, 6)"
    )


async def test_project_issues_cursors_walk_every_issue_once_in_both_sorts(api, seven_issues):
    desc, pages = await walk(api, first=3, sort="CREATED_DESC")
    assert desc == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3
    asc, _ = await walk(api, first=3, sort="CREATED_ASC")
    assert asc == [1, 2, 3, 4, 5, 6, 7]
    exact, pages = await walk(api, first=7, sort="CREATED_ASC")
    assert exact == [1, 2, 3, 4, 5, 6, 7]
    assert pages == 1
    single, _ = await walk(api, first=1, sort="CREATED_DESC")
    assert single == [7, 6, 5, 4, 3, 2, 1]

    connection = (await page(api, first=2)).data["project"]["issues"]
    assert connection["totalCount"] == 7


async def test_project_issues_default_page_is_newest_first(api, seven_issues):
    connection = (await page(api)).data["project"]["issues"]
    assert [n["iid"] for n in connection["nodes"]] == [7, 6, 5, 4, 3, 2, 1]
    assert connection["pageInfo"]["hasNextPage"] is False


async def test_project_issues_state_filter(api, seven_issues):
    closed, _ = await walk(api, first=2, state="CLOSED")
    assert closed == [6, 5, 2]
    opened, _ = await walk(api, first=2, state="OPENED", sort="CREATED_ASC")
    assert opened == [1, 3, 4, 7]
    counts = [
        (await page(api, state=state)).data["project"]["issues"]["totalCount"]
        for state in ("OPENED", "CLOSED")
    ]
    assert counts == [4, 3]
    states = {
        e["node"]["state"]
        for e in (await page(api, state="CLOSED")).data["project"]["issues"]["edges"]
    }
    assert states == {"CLOSED"}


async def test_page_size_outside_1_to_100_is_a_bad_user_input_error(api, seven_issues):
    for first in (0, -1, 101, 10_000):
        response = await page(api, first=first)
        assert response.codes == ["BAD_USER_INPUT"], (first, response.body)
        assert response.errors[0]["path"] == ["project", "issues"]
        assert response.body["data"] == {"project": None}
    for first in (1, 100):
        assert (await page(api, first=first)).data["project"]["issues"]["totalCount"] == 7


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_garbage_after_cursor_is_a_bad_user_input_error(api, seven_issues):
    for after in [
        "garbage",
        "!!!",
        "",
        _cursor("not a list"),
        _cursor(["issue"]),
        _cursor(["link", 3]),  # a cursor of another list
        _cursor(["issue", "3"]),
        _cursor(["issue", 3.5]),
        _cursor(["issue", None]),
        _cursor(["issue", True]),
        _cursor(["issue", 0]),
        _cursor(["issue", -5]),
        _cursor(["issue", 2**40]),  # beyond any iid
    ]:
        response = await page(api, first=2, after=after)
        assert response.codes == ["BAD_USER_INPUT"], (after, response.body)
        assert response.body["data"] == {"project": None}


# -- the issue object --------------------------------------------------------------------------


async def test_issue_has_every_field_of_the_gitlab_issue_object(api, pool, world, alice, web):
    _, token = alice
    bob = await world.user("bob")
    created = ok(
        await create_issue(
            api,
            token,
            "acme/web",
            title="Complete",
            description="All the fields",
            labels=["api"],
            assigneeUsernames=["bob"],
            milestone="v2",
            dueDate="2030-05-01",
            confidential=True,
            weight=8,
        )
    )
    issue_id = await pool.fetchval("select id from issues where iid = 1")
    await pool.execute(
        "insert into notes (issue_id, author_id, body) values ($1, $2, 'one'), ($1, $2, 'two')",
        issue_id,
        bob.id,
    )
    project_id = await pool.fetchval("select id from projects where full_path = 'acme/web'")

    response = await api.gql(
        f'{{ project(fullPath: "acme/web") {{ issue(iid: 1) {{ {ISSUE_FIELDS} }} }} }}',
        token=token,
    )
    issue = response.data["project"]["issue"]

    gitlab_fields = [
        "id",
        "iid",
        "projectId",
        "title",
        "description",
        "state",
        "labels",
        "assignees",
        "assignee",
        "author",
        "milestone",
        "dueDate",
        "confidential",
        "weight",
        "webUrl",
        "createdAt",
        "updatedAt",
        "closedAt",
        "userNotesCount",
        "reference",
    ]
    assert set(gitlab_fields) <= set(issue)
    assert base64.b64decode(issue["id"]).decode() == f"Issue:{issue_id}"
    assert issue["iid"] == 1
    assert issue["projectId"] == project_id
    assert issue["title"] == "Complete"
    assert issue["description"] == "All the fields"
    assert issue["state"] == "OPENED"
    assert issue["labels"] == ["api"]
    assert issue["assignees"] == [{"username": "bob"}]
    assert issue["assignee"] == {"username": "bob"}
    assert issue["author"] == {"username": "alice"}
    assert issue["milestone"] == "v2"
    assert issue["dueDate"] == "2030-05-01"
    assert issue["confidential"] is True
    assert issue["weight"] == 8
    assert issue["webUrl"] == "http://issuegraph.test/acme/web/-/issues/1"
    created_at = dt.datetime.fromisoformat(issue["createdAt"])
    assert created_at.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - created_at) < dt.timedelta(minutes=5)
    assert dt.datetime.fromisoformat(issue["updatedAt"]) >= created_at
    assert issue["closedAt"] is None
    assert issue["userNotesCount"] == 2
    assert issue["reference"] == "acme/web#1"
    # The mutation's payload shows the same issue (notes aside).
    assert {k: v for k, v in created.items() if k != "userNotesCount"} == {
        k: v for k, v in issue.items() if k != "userNotesCount"
    }

    by_id = await api.gql(
        "query($id: ID!) { node(id: $id) { ... on Issue { iid reference } } }",
        {"id": issue["id"]},
        token=token,
    )
    assert by_id.data == {"node": {"iid": 1, "reference": "acme/web#1"}}
