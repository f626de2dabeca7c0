"""GitLab's issue-links REST API (/api/v4): python-gitlab against a real `issuegraph serve`,
and plain HTTP for each status and body of the seed (000_97bc327b4bcfef94.txt)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import gitlab
import pytest
from gitlab import exceptions as gitlab_errors

from issuegraph.app import create_app
from tests.helpers import StatementLog, World
from tests.rest_helpers import Http, Scene, link_events, make_scene, served

# The attributes of a listed linked issue in the seed's example (`subscribed` is left out:
# issuegraph has no subscriptions).
SEED_LISTED = {
    "id", "iid", "issue_link_id", "project_id", "created_at", "title", "state", "assignees",
    "assignee", "labels", "author", "description", "updated_at", "milestone",
    "user_notes_count", "due_date", "web_url", "confidential", "weight", "link_type",
    "link_created_at", "link_updated_at",
}  # fmt: skip
SEED_USER = {"name", "avatar_url", "state", "web_url", "id", "username"}
GITLAB_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
async def scene(world: World) -> Scene:
    return await make_scene(world)


@pytest.fixture
async def http(aiohttp_client: Any, settings: Any) -> Http:
    return Http(await aiohttp_client(create_app(settings)))


def _links(project: Any, iid: int) -> str:
    return f"/api/v4/projects/{project.id}/issues/{iid}/links"


async def _create(http: Http, scene: Scene, source: int, target: int, **extra: Any) -> Any:
    status, body, _ = await http.call(
        "POST",
        _links(scene.web, source),
        token=scene.alice_token,
        body={"target_project_id": scene.web.id, "target_issue_iid": target, **extra},
    )
    assert status == 201, body
    return body


# -- python-gitlab against `issuegraph serve` ---------------------------------------------------


async def test_python_gitlab_lists_creates_and_deletes_links_unchanged(database_url, world, pool):
    scene = await make_scene(world)
    async with served(database_url) as server:

        def client_session() -> dict[str, Any]:
            gl = gitlab.Gitlab(server.base, private_token=scene.alice_token)
            gl.auth()
            assert gl.user is not None
            project = gl.projects.get("acme/web")
            issue = project.issues.get(1)
            source, target = issue.links.create(
                {"target_project_id": "acme/api", "target_issue_iid": 2, "link_type": "blocks"}
            )
            listed = issue.links.list()
            other = gl.projects.get(scene.api.id, lazy=True).issues.get(2).links.list()
            issue.links.delete(listed[0].issue_link_id)
            after = issue.links.list()
            # Authorization: Bearer works as PRIVATE-TOKEN does.
            bearer = gitlab.Gitlab(server.base, oauth_token=scene.alice_token)
            title = bearer.projects.get("acme/web").issues.get(1).title
            return {
                "user": gl.user.username,
                "project": (project.id, project.path_with_namespace),
                "ends": (source.iid, source.project_id, target.iid, target.project_id),
                "listed": [(link.iid, link.link_type, link.issue_link_id) for link in listed],
                "other": [(link.iid, link.link_type) for link in other],
                "after": after,
                "bearer": title,
            }

        seen = await asyncio.to_thread(client_session)
    assert seen["user"] == "alice"
    assert seen["project"] == (scene.web.id, "acme/web")
    assert seen["ends"] == (1, scene.web.id, 2, scene.api.id)
    ((iid, link_type, link_id),) = seen["listed"]
    assert (iid, link_type) == (2, "blocks")
    assert seen["other"] == [(1, "is_blocked_by")]
    assert seen["after"] == []
    assert seen["bearer"] == "Web 1"
    # The writes are the domain's: each one recorded in the change log, by alice.
    assert await link_events(pool) == [
        ("link_created", scene.alice.id, link_id),
        ("link_deleted", scene.alice.id, link_id),
    ]


async def test_python_gitlab_raises_its_own_404_for_a_private_project(database_url, world):
    scene = await make_scene(world)
    async with served(database_url) as server:

        def outsider() -> list[Any]:
            gl = gitlab.Gitlab(server.base, private_token=scene.bob_token)
            errors: list[Any] = []
            for attempt in (
                lambda: gl.projects.get("alice/secret"),
                lambda: gl.projects.get(scene.secret.id, lazy=True).issues.get(1),
                gl.projects.get(scene.secret.id, lazy=True).issues.get(1, lazy=True).links.list,
                lambda: (
                    gl.projects.get("acme/web", lazy=True)
                    .issues.get(1, lazy=True)
                    .links.create({"target_project_id": scene.secret.id, "target_issue_iid": 1})
                ),
            ):
                with pytest.raises(gitlab_errors.GitlabError) as raised:
                    attempt()
                errors.append((type(raised.value), raised.value.response_code))
            anonymous = gitlab.Gitlab(server.base)
            with pytest.raises(gitlab_errors.GitlabAuthenticationError) as refused:
                anonymous.projects.get("acme/web", lazy=True).issues.get(1, lazy=True).links.create(
                    {"target_project_id": "acme/web", "target_issue_iid": 2}
                )
            errors.append((type(refused.value), refused.value.response_code))
            return errors

        errors = await asyncio.to_thread(outsider)
    assert errors == [
        (gitlab_errors.GitlabGetError, 404),
        (gitlab_errors.GitlabGetError, 404),
        (gitlab_errors.GitlabListError, 404),
        (gitlab_errors.GitlabCreateError, 404),
        (gitlab_errors.GitlabAuthenticationError, 401),
    ]


# -- bodies -------------------------------------------------------------------------------------


async def test_listed_links_have_the_seeds_attributes_in_link_creation_order(scene, http):
    await _create(http, scene, 1, 3)
    await _create(http, scene, 1, 2, link_type="is_blocked_by")
    status, body, headers = await http.call("GET", _links(scene.web, 1))
    assert status == 200
    assert [(item["iid"], item["link_type"]) for item in body] == [
        (3, "relates_to"),
        (2, "is_blocked_by"),
    ]
    item = body[0]
    assert set(item) >= SEED_LISTED
    assert set(item["author"]) >= SEED_USER
    assert item["author"]["username"] == "alice"
    assert item["author"]["web_url"] == "http://issuegraph.test/alice"
    assert item["web_url"] == "http://issuegraph.test/acme/web/-/issues/3"
    assert item["project_id"] == scene.web.id
    assert item["state"] == "opened"
    assert item["assignees"] == []
    assert item["assignee"] is None
    for name in ("created_at", "updated_at", "link_created_at", "link_updated_at"):
        assert GITLAB_TIME.match(item[name]), item[name]
    assert headers["Content-Type"].startswith("application/json")


async def test_get_create_and_delete_answer_source_target_and_link_type(scene, http):
    created = await _create(http, scene, 2, 4, link_type="is_blocked_by")
    # is_blocked_by stores `4 blocks 2`: the answer reads the link from its stored source.
    assert (created["source_issue"]["iid"], created["target_issue"]["iid"]) == (4, 2)
    assert created["link_type"] == "blocks"
    assert set(created["source_issue"]) >= SEED_LISTED - {
        "issue_link_id",
        "link_type",
        "link_created_at",
        "link_updated_at",
    }
    _, listed, _ = await http.call("GET", _links(scene.web, 2))
    link_id = listed[0]["issue_link_id"]
    status, fetched, _ = await http.call("GET", f"{_links(scene.web, 2)}/{link_id}")
    assert status == 200
    assert fetched == created
    # From the other end too.
    status, other, _ = await http.call("GET", f"{_links(scene.web, 4)}/{link_id}")
    assert (status, other["link_type"]) == (200, "blocks")
    status, deleted, _ = await http.call(
        "DELETE", f"{_links(scene.web, 4)}/{link_id}", token=scene.alice_token
    )
    assert status == 200
    assert deleted["link_type"] == "blocks"
    assert deleted["source_issue"]["iid"] == 4
    status, body, _ = await http.call("GET", f"{_links(scene.web, 2)}/{link_id}")
    assert (status, body) == (404, {"message": "404 Not found"})


async def test_create_takes_form_and_query_parameters_and_paths_as_project_ids(scene, http):
    status, body, _ = await http.call(
        "POST",
        "/api/v4/projects/acme%2Fweb/issues/1/links",
        token=scene.alice_token,
        data={"target_project_id": "acme/api", "target_issue_iid": "1"},
    )
    assert (status, body["target_issue"]["title"]) == (201, "Api 1")
    status, body, _ = await http.call(
        "POST",
        "/api/v4/projects/acme%2Fweb/issues/2/links",
        token=scene.alice_token,
        params={"target_project_id": str(scene.api.id), "target_issue_iid": "1"},
    )
    assert (status, body["link_type"]) == (201, "relates_to")
    status, project, _ = await http.call("GET", "/api/v4/projects/acme%2Fweb")
    assert (status, project["id"], project["path_with_namespace"]) == (
        200,
        scene.web.id,
        "acme/web",
    )
    status, issue, _ = await http.call("GET", f"/api/v4/projects/{scene.web.id}/issues/1")
    assert (status, issue["title"], issue["labels"]) == (200, "Web 1", ["bug"])


async def test_pagination_headers_are_gitlabs(scene, http):
    for target in range(2, 6):
        await _create(http, scene, 1, target)
    status, body, headers = await http.call("GET", _links(scene.web, 1), params={"per_page": "3"})
    assert status == 200
    assert [item["iid"] for item in body] == [2, 3, 4]
    assert (headers["X-Page"], headers["X-Per-Page"], headers["X-Total"]) == ("1", "3", "4")
    assert (headers["X-Total-Pages"], headers["X-Next-Page"], headers["X-Prev-Page"]) == (
        "2",
        "2",
        "",
    )
    assert 'rel="next"' in headers["Link"]
    assert "page=2" in headers["Link"]
    status, body, headers = await http.call(
        "GET", _links(scene.web, 1), params={"per_page": "3", "page": "2"}
    )
    assert [item["iid"] for item in body] == [5]
    assert (headers["X-Next-Page"], headers["X-Prev-Page"], headers["X-Total"]) == ("", "1", "4")
    status, body, headers = await http.call("GET", _links(scene.web, 1), params={"page": "9"})
    assert (status, body, headers["X-Total"]) == (200, [], "4")


# -- statuses -----------------------------------------------------------------------------------


async def test_an_existing_link_is_409_and_rules_are_422(scene, http, aiohttp_client, settings):
    await _create(http, scene, 1, 2, link_type="blocks")
    await _create(http, scene, 2, 3, link_type="blocks")
    cases = [
        ({"target_issue_iid": 2}, 409),  # the pair is linked already, whatever the type
        ({"target_issue_iid": 1}, 422),  # self-link
    ]
    for extra, expected in cases:
        status, body, _ = await http.call(
            "POST",
            _links(scene.web, 1),
            token=scene.alice_token,
            body={"target_project_id": scene.web.id, **extra},
        )
        assert status == expected, body
        assert isinstance(body["message"], str)
    # 3 blocks 1 would close 1 -> 2 -> 3 -> 1.
    status, body, _ = await http.call(
        "POST",
        _links(scene.web, 3),
        token=scene.alice_token,
        body={"target_project_id": scene.web.id, "target_issue_iid": 1, "link_type": "blocks"},
    )
    assert status == 422
    assert "cycle" in body["message"]
    limited = Http(
        await aiohttp_client(create_app(dataclasses.replace(settings, max_links_per_issue=2)))
    )
    status, body, _ = await limited.call(
        "POST",
        _links(scene.web, 2),
        token=scene.alice_token,
        body={"target_project_id": scene.web.id, "target_issue_iid": 5},
    )
    assert status == 422
    assert "limit" in body["message"]


async def test_credentials_roles_and_scopes_get_gitlabs_statuses(scene, http):
    body = {"target_project_id": scene.web.id, "target_issue_iid": 2}
    status, answer, headers = await http.call("POST", _links(scene.web, 1), body=body)
    assert (status, headers["WWW-Authenticate"]) == (401, 'Bearer realm="issuegraph"')
    assert answer["message"].startswith("401 Unauthorized")
    status, answer, _ = await http.call("GET", "/api/v4/user", token="igpat-nope")
    assert (status, answer["message"]) == (401, "401 Unauthorized - Invalid token")
    status, answer, _ = await http.call("GET", "/api/v4/user")
    assert status == 401
    status, answer, _ = await http.call(
        "POST", _links(scene.web, 1), token=scene.reader_token, body=body
    )
    assert status == 403
    assert answer["message"].startswith("403 Forbidden")
    # bob reads acme/web but is no member: no role to link with.
    status, answer, _ = await http.call(
        "POST", _links(scene.web, 1), token=scene.bob_token, body=body
    )
    assert status == 403
    # carol is a guest: she may.
    status, answer, _ = await http.call(
        "POST", _links(scene.web, 1), token=scene.carol_token, body=body, header="Bearer"
    )
    assert status == 201, answer


async def test_hidden_issues_are_404_like_missing_ones_and_never_listed(scene, http):
    # alice links a public issue to her private one; bob sees the public one without it.
    status, _, _ = await http.call(
        "POST",
        _links(scene.web, 1),
        token=scene.alice_token,
        body={"target_project_id": "alice/secret", "target_issue_iid": 1},
    )
    assert status == 201
    status, listed, headers = await http.call("GET", _links(scene.web, 1), token=scene.bob_token)
    assert (status, listed, headers["X-Total"]) == (200, [], "0")
    _, owner_view, _ = await http.call("GET", _links(scene.web, 1), token=scene.alice_token)
    link_id = owner_view[0]["issue_link_id"]
    hidden = await http.call("GET", f"{_links(scene.web, 1)}/{link_id}", token=scene.bob_token)
    missing = await http.call("GET", f"{_links(scene.web, 1)}/999999", token=scene.bob_token)
    assert hidden[:2] == missing[:2] == (404, {"message": "404 Not found"})
    private = await http.call("GET", f"/api/v4/projects/{scene.secret.id}", token=scene.bob_token)
    absent = await http.call("GET", "/api/v4/projects/999999", token=scene.bob_token)
    assert private[:2] == absent[:2] == (404, {"message": "404 Project Not Found"})
    by_path = await http.call("GET", "/api/v4/projects/alice%2Fsecret/issues/1/links")
    assert by_path[:2] == (404, {"message": "404 Project Not Found"})
    # Linking to it, or deleting through the public end, is the same 404.
    status, answer, _ = await http.call(
        "POST",
        _links(scene.web, 2),
        token=scene.bob_token,
        body={"target_project_id": scene.secret.id, "target_issue_iid": 1},
    )
    assert (status, answer) == (404, {"message": "404 Project Not Found"})
    status, answer, _ = await http.call(
        "DELETE", f"{_links(scene.web, 1)}/{link_id}", token=scene.carol_token
    )
    assert (status, answer) == (404, {"message": "404 Issue link Not Found"})
    assert "Secret" not in str([listed, hidden, private, answer])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"target_issue_iid": 2}, 400),  # no target_project_id
        ({"target_project_id": 1}, 400),  # no target_issue_iid
        ({"target_project_id": 1, "target_issue_iid": [2]}, 400),
        ({"target_project_id": 1, "target_issue_iid": True}, 400),
        ({"target_project_id": {"id": 1}, "target_issue_iid": 2}, 400),
        ({"target_project_id": 1, "target_issue_iid": 2, "link_type": "duplicates"}, 400),
        ({"target_project_id": 1, "target_issue_iid": 2, "link_type": 7}, 400),
        ({"target_project_id": 1, "target_issue_iid": "2x"}, 400),
        ({"target_project_id": 1, "target_issue_iid": 2**70}, 404),
        ({"target_project_id": 2**70, "target_issue_iid": 2}, 404),
        ({"target_project_id": str(2**64), "target_issue_iid": 2}, 404),
        ({"target_project_id": "acme/\u0000web", "target_issue_iid": 2}, 404),
        ({"target_project_id": 1, "target_issue_iid": 0}, 404),
        ({"target_project_id": 1, "target_issue_iid": -3}, 404),
        ({"target_project_id": 1, "target_issue_iid": 1e400}, 400),
        ([1, 2], 400),
    ],
)
async def test_bad_parameters_are_400_and_what_names_nothing_is_404(scene, http, body, status):
    got, answer, _ = await http.call(
        "POST", _links(scene.web, 1), token=scene.alice_token, body=body
    )
    assert got == status, answer
    assert set(answer) == {"message"}


async def test_hostile_requests_get_gitlabs_shape_and_a_4xx(scene, http):
    token = {"PRIVATE-TOKEN": scene.alice_token}
    path = _links(scene.web, 1)
    answers = [
        await http.call("POST", path, data=b"{not json", headers=token | {"Content-Type": "application/json"}),
        await http.call("POST", path, data=b"x" * 2_000_000, headers=token | {"Content-Type": "application/json"}),
        await http.call("POST", path, data=b"<a/>", headers=token | {"Content-Type": "text/xml"}),
        await http.call("POST", path, data=b"[" * 100_000, headers=token | {"Content-Type": "application/json"}),
        await http.call("GET", f"/api/v4/projects/{scene.web.id}/issues/{2**80}/links"),
        await http.call("GET", f"/api/v4/projects/{scene.web.id}/issues/abc/links"),
        await http.call("GET", f"/api/v4/projects/{scene.web.id}/issues/1/links/{2**80}"),
        await http.call("GET", f"/api/v4/projects/{2**80}"),
        await http.call("GET", "/api/v4/projects/%00"),
        await http.call("GET", "/api/v4/projects/%ED%A0%80"),
        await http.call("GET", path, params={"per_page": "x"}),
        await http.call("GET", path, params={"page": str(2**70)}),
        await http.call("GET", "/api/v4/nothing/here"),
        await http.call("PUT", path, headers=token),
        await http.call("DELETE", f"{path}/abc", headers=token),
        await http.call("POST", path, data=b"target_project_id=%ff%fe&target_issue_iid=2", headers=token | {"Content-Type": "application/x-www-form-urlencoded"}),
        await http.call("POST", path, data=b"--x\r\nnonsense", headers=token | {"Content-Type": "multipart/form-data"}),
        await http.call("POST", path, data=b"--x\r\nnonsense", headers=token | {"Content-Type": "multipart/form-data; boundary=x"}),
        await http.call("DELETE", f"{path}/1", headers={"PRIVATE-TOKEN": ""}),
    ]  # fmt: skip
    statuses = [status for status, _, _ in answers]
    assert statuses[:15] == [
        400,
        413,
        415,
        400,
        404,
        400,
        404,
        404,
        404,
        404,
        400,
        400,
        404,
        405,
        400,
    ]
    assert statuses[15:] == [404, 400, 400, 401]
    for status, body, headers in answers:
        assert set(body) == {"message"}, body
        assert headers["X-Request-Id"]
        assert status < 500


async def test_statement_counts_of_gitlab_requests_are_pinned(scene, aiohttp_client, settings):
    log = StatementLog()
    http = Http(await aiohttp_client(create_app(settings, on_connect=log.attach)))
    await _create(http, scene, 1, 5)  # warms the connections (type introspection)
    path = _links(scene.web, 1)
    token = scene.alice_token
    counts = {
        "create": await log.count(
            http.call(
                "POST",
                path,
                token=token,
                body={"target_project_id": scene.web.id, "target_issue_iid": 2},
            )
        ),
        "list": await log.count(http.call("GET", path, token=token)),
    }
    _, listed, _ = await http.call("GET", path, token=token)
    link_id = listed[0]["issue_link_id"]
    counts["get"] = await log.count(http.call("GET", f"{path}/{link_id}", token=token))
    counts["delete"] = await log.count(http.call("DELETE", f"{path}/{link_id}", token=token))
    counts["issue"] = await log.count(http.call("GET", "/api/v4/projects/acme%2Fweb/issues/1"))
    assert counts == GITLAB_STATEMENTS, log.queries


# Every request: the token (none when anonymous), the project, the issue. Then
# - create: the target issue (with the viewer's role in both projects, batched), BEGIN, row
#   locks, existing links, link counts, insert, change events, COMMIT; the answer's
#   assignee ids, users and note counts;
# - list: one page of links that brings its issues' users and projects, the note counts;
# - get: the link, its other end, the answer's note counts, assignee ids and users;
# - delete: the link, its other end, the role, BEGIN, delete, change events, COMMIT, and the
#   answer's three;
# - issue (anonymous, by path): the answer's three.
GITLAB_STATEMENTS = {"create": 14, "list": 5, "get": 8, "delete": 13, "issue": 5}


async def test_a_confidential_issue_is_hidden_from_a_guest_over_every_rest_api(scene, http):
    hidden = await scene.world.issue(scene.alice, scene.web, "Confidential plan", confidential=True)
    await _create(http, scene, 1, hidden.iid)
    guest = scene.carol_token
    status, listed, headers = await http.call("GET", _links(scene.web, 1), token=guest)
    assert (status, listed, headers["X-Total"]) == (200, [], "0")
    _, owner_view, _ = await http.call("GET", _links(scene.web, 1), token=scene.alice_token)
    link_id = owner_view[0]["issue_link_id"]
    answers = [
        await http.call("GET", f"{_links(scene.web, 1)}/{link_id}", token=guest),
        await http.call("GET", f"/api/v4/projects/{scene.web.id}/issues/{hidden.iid}", token=guest),
        await http.call("GET", f"/rest/api/2/issueLink/{link_id}", token=guest),
        await http.call("GET", f"/rest/api/2/issue/WEB-{hidden.iid}", token=guest),
        await http.call("GET", f"/repos/acme/web/issues/1/issue_links/{link_id}", token=guest),
        await http.call("DELETE", f"{_links(scene.web, 1)}/{link_id}", token=guest),
    ]
    assert [status for status, _, _ in answers] == [404] * 6
    _, jira_issue, _ = await http.call("GET", "/rest/api/2/issue/WEB-1", token=guest)
    _, sourcecraft, _ = await http.call("GET", "/repos/acme/web/issues/1/issue_links", token=guest)
    assert jira_issue["fields"]["issuelinks"] == sourcecraft["issue_links"] == []
    assert "Confidential plan" not in str([answers, jira_issue, sourcecraft])
