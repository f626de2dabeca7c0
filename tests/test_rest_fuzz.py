"""Generated requests to the REST paths: whatever the path segments, method, query and body,
the answer is below 500 and in the API's own error shape, and nothing hidden shows.

How hypothesis meets asyncio: as in `test_fuzz.py`, each example runs on the session's
event loop, which also serves the app.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers import Api, World
from tests.rest_helpers import Scene, make_scene

REQUEST_BOUND = 10.0

SEGMENTS = st.one_of(
    st.sampled_from(["1", "2", "acme", "web", "acme%2Fweb", "1"]),
    st.sampled_from(
        ["1", "2", "3", "acme%2Fweb", "alice%2Fsecret", "WEB-1", "SECRET-1", "web", "api",
         "0", "-1", str(2**63), str(2**70), "%00", "%ED%A0%80", "%25", "", "x" * 300,
         "10000", "10003", "1.5", "1e3", "%2F", "acme", "secret"]
    ),
    # Never "." or "..": the server resolves those before routing, out of the API's paths.
    st.text(alphabet=st.characters(codec="ascii", exclude_characters="/?#"), max_size=12).filter(
        lambda segment: segment not in {".", ".."}
    ),
)  # fmt: skip
JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["WEB-1", "SECRET-1", "blocks", "Blocks", "1", "acme/web", "\u0000"]),
        st.text(max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["target_project_id", "target_issue_iid", "link_type", "type", "name", "id",
                 "key", "inwardIssue", "outwardIssue", "comment", "body", "target_issue_id",
                 "target_issue_slug"]
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=12,
)  # fmt: skip
VALUES = st.one_of(SEGMENTS, st.integers(min_value=-2, max_value=8), JSON)
ISSUES = st.sampled_from(["WEB-1", "WEB-2", "API-1", "SECRET-1", "web-3", "X-1", "1", "2"])
# Bodies close enough to each API's to get past its parameter checks now and then.
PLAUSIBLE = {
    "/api/v4": st.fixed_dictionaries(
        {"target_project_id": st.one_of(st.sampled_from(["acme/web", "acme/api", "alice/secret"]), VALUES),
         "target_issue_iid": st.one_of(st.integers(min_value=1, max_value=6), VALUES)},
        optional={"link_type": st.one_of(st.sampled_from(["relates_to", "blocks", "is_blocked_by"]), VALUES)},
    ),
    "/rest/api/2": st.fixed_dictionaries(
        {"type": st.one_of(st.fixed_dictionaries({"name": st.sampled_from(["Blocks", "Relates", "Parent"])}), VALUES),
         "inwardIssue": st.one_of(st.fixed_dictionaries({"key": ISSUES}), VALUES),
         "outwardIssue": st.one_of(st.fixed_dictionaries({"key": ISSUES}), VALUES)},
        optional={"comment": st.one_of(st.fixed_dictionaries({"body": st.text(max_size=10)}), VALUES)},
    ),
    "/repos": st.fixed_dictionaries(
        {},
        optional={"target_issue_slug": st.one_of(st.sampled_from(["1", "2", "3"]), VALUES),
                  "target_issue_id": VALUES,
                  "link_type": st.one_of(st.sampled_from(["blocks", "parent_of", "related_to"]), VALUES)},
    ),
}  # fmt: skip
SHAPES = {
    "/api/v4": ({"message"}, ["projects", "{0}", "issues", "{1}", "links", "{2}"]),
    "/rest/api/2": ({"errorMessages", "errors"}, ["issueLink", "{0}"]),
    "/repos": (
        {"error_code", "message", "request_id", "details"},
        ["{0}", "{1}", "issues", "{2}", "issue_links", "{3}"],
    ),
}


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str, Any, dict[str, str]]:
    prefix = draw(st.sampled_from(sorted(SHAPES)))
    template = SHAPES[prefix][1]
    # Mostly a whole path (a list or one link), sometimes a part of one.
    full = len(template)
    length = draw(st.sampled_from([full - 1, full - 1, full, full, full - 2, 0, 1]))
    parts = [draw(SEGMENTS) if "{" in part else part for part in template[:length]]
    if prefix == "/repos" and length >= 2 and draw(st.booleans()):
        parts[:2] = draw(st.sampled_from([["acme", "web"], ["acme", "api"], ["alice", "secret"]]))
    if prefix == "/api/v4" and length >= 4 and draw(st.booleans()):
        parts[1] = draw(st.sampled_from(["1", "2", "3", "acme%2Fweb", "alice%2Fsecret"]))
        parts[3] = draw(st.sampled_from(["1", "2", "3"]))
    if prefix == "/rest/api/2" and draw(st.booleans()):
        parts = [draw(st.sampled_from(["issue", "issueLinkType", "serverInfo"])), draw(SEGMENTS)]
    method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"]))
    query = draw(
        st.dictionaries(
            st.sampled_from(["page", "per_page", "page_size", "page_token", "silent"]),
            SEGMENTS,
            max_size=2,
        )
    )
    body = draw(st.one_of(PLAUSIBLE[prefix], JSON))
    return prefix, method, "/".join(parts), body, query


@pytest.fixture
async def scene(world: World) -> Scene:
    return await make_scene(world)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests(), who=st.sampled_from(["alice", "bob", "anonymous"]))
async def test_generated_rest_requests_never_get_a_5xx_and_keep_their_shape(
    api: Api, scene: Scene, request: tuple[str, str, str, Any, dict[str, str]], who: str
) -> None:
    prefix, method, path, body, query = request
    token = {"alice": scene.alice_token, "bob": scene.bob_token}.get(who)
    headers = {"PRIVATE-TOKEN": token} if token else {}
    url = f"{prefix}/{path}"
    try:
        async with asyncio.timeout(REQUEST_BOUND):
            response = await api.client.request(
                method, url, json=body, headers=headers, params=query
            )
            raw = await response.read()
    except TimeoutError:
        pytest.fail(f"no answer within {REQUEST_BOUND} s to {method} {url}")
    event(f"{prefix} {response.status}")
    assert response.status < 500, (response.status, raw[:1000], method, url, body)
    assert response.headers["X-Request-Id"]
    if who == "bob":
        assert b"Secret plan" not in raw, (method, url, body)
    if response.status >= 400 and method != "HEAD":
        answer = json.loads(raw)
        assert set(answer) == SHAPES[prefix][0], (answer, method, url)
