from __future__ import annotations

from issuegraph.models import Visibility


async def test_anonymous_reads_public_project_issues_over_http(api, world):
    alice = await world.user("alice")
    project = await world.project(alice, "acme/platform", Visibility.PUBLIC)
    await world.issue(alice, project, "First")
    await world.issue(alice, project, "Second")

    response = await api.gql(
        '{ project(fullPath: "acme%2Fplatform") { fullPath issues { totalCount nodes { iid title author { username } } } } }'
    )

    assert response.status == 200
    assert response.data["project"]["issues"] == {
        "totalCount": 2,
        "nodes": [
            {"iid": 2, "title": "Second", "author": {"username": "alice"}},
            {"iid": 1, "title": "First", "author": {"username": "alice"}},
        ],
    }
    assert response.headers["X-Request-Id"]
