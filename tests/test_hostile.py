"""Hostile input against the real app over HTTP.

Deep and wide queries, alias floods, fragment cycles, absurd page sizes, wrong variable
types, unicode, control characters and SQL metacharacters in every text input, forged
global ids. Whatever arrives, the answer is below 500, every error carries a code (never
INTERNAL) and the request id, and nothing of the server's insides (a stack trace, SQL, a
Python exception) reaches the body. Text is either stored and read back exactly, or
refused with BAD_USER_INPUT.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest

from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.domain.users import create_user
from issuegraph.models import Role, User, Visibility
from tests.helpers import Api, Response, World

# Text that must never reach a client: tracebacks, driver and exception names, SQL.
LEAKS = (
    "traceback",
    'file "',
    '.py"',
    "asyncpg",
    "postgres",
    "psycopg",
    "sqlstate",
    "exception",
    "unicodeencodeerror",
    "unicodedecodeerror",
    "overflowerror",
    "valueerror",
    "typeerror",
    "keyerror",
    "attributeerror",
    "recursionerror",
    "dataerror",
    "internal server error",
    "select ",
    "insert into",
    "::bigint",
)

# Text for every text input. The SQL ones are stored as they are; the control characters
# are refused (PostgreSQL rejects NUL in text; the others are refused by the rules).
SAFE_TEXT = {
    "sql-drop": "'; drop table issues; --",
    "sql-like": "100% _done_ %% __ \\% \\_",
    "backslashes": "C:\\temp\\new \\\\server\\share \\x00 \\u0000",
    "quotes": "\"double\" 'single' `back` $$dollar$$ $1",
    "emoji": "🔥🧨 👩‍👩‍👧‍👦 🇺🇦 🏳️‍🌈",
    "rtl": "مرحبا بالعالم \u202etxt.exe שלום",
    "combining": "Z\u0364\u0311\u0313a\u0308\u0347lgo e\u0301 \u0915\u094d\u0937",
    "cjk": "漢字かなカナ 한국어",
    "zero-width": "a\u200bb\u200dc\ufeffd",
    "astral": "\U0001d573\U0001f600\U0010fffd",
    "html": "<script>alert(1)</script>&amp;",
}
REFUSED_TEXT = {
    "nul": "a\u0000b",
    "nul-only": "\u0000",
    "bell": "ring\u0007",
    "escape": "\u001b[31mred",
    "del": "x\u007f",
    "c1": "next\u0085line",
    "lone-surrogate": "half \ud800 pair",
}
HOSTILE_TEXT = {**SAFE_TEXT, **REFUSED_TEXT}


def global_id(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def assert_sane(response: Response) -> Response:
    """No 5xx, every error coded (not INTERNAL) with the request id, nothing leaked."""
    assert response.status < 500, response.body
    request_id = response.headers["X-Request-Id"]
    for error in response.errors:
        code = error.get("extensions", {}).get("code")
        assert isinstance(code, str), error
        assert code != "INTERNAL", error
        assert error["extensions"]["requestId"] == request_id, error
    text = json.dumps(response.body, ensure_ascii=False).lower()
    for leak in LEAKS:
        assert leak not in text, (leak, response.body)
    return response


def payload_codes(result: dict[str, Any] | Response) -> list[str]:
    """The codes of a mutation payload's errors, or of a refusal of the whole request (the
    transport refuses a lone surrogate in JSON, GraphQL a value of the wrong type)."""
    if isinstance(result, Response):
        return result.codes
    return [e["code"] for e in result["errors"]]


@dataclass
class Site:
    api: Api
    world: World
    alice: User
    token: str
    bob: User
    bob_token: str

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Response:
        return assert_sane(await self.api.gql(query, variables, token=token))

    async def mutate(self, name: str, input_: dict[str, Any], selection: str = "") -> Any:
        """A mutation as alice: its payload, after checking the response is sane."""
        query = (
            f"mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) "
            f"{{ clientMutationId errors {{ code message path details }} {selection} }} }}"
        )
        response = await self.gql(query, {"input": input_}, token=self.token)
        if response.errors:
            return response
        payload = response.data[name]
        for error in payload["errors"]:
            assert error["code"] != "INTERNAL", error
        return payload


@pytest.fixture
async def site(api: Api, world: World) -> Site:
    """alice owns the public `g/p` with issues #1 and #2, linked; bob is a stranger."""
    alice, token = await world.user_with_token("alice")
    bob, bob_token = await world.user_with_token("bob")
    project = await world.project(alice, "g/p", Visibility.PUBLIC)
    await world.issue(alice, project, "One")
    await world.issue(alice, project, "Two")
    site = Site(api, world, alice, token, bob, bob_token)
    created = await site.mutate(
        "createIssueLink",
        {"project": "g/p", "iid": 1, "targetProject": "g/p", "targetIssueIid": 2},
        "link { id databaseId }",
    )
    assert created["errors"] == []
    return site


def links_nest(levels: int, first: int | None = None) -> str:
    args = f"(first: {first})" if first else ""
    inner = "title"
    for _ in range(levels):
        inner = f"links{args} {{ nodes {{ {inner} }} }}"
    return f'{{ issue(project: "g/p", iid: 1) {{ {inner} }} }}'


# -- the shape of the query ------------------------------------------------------------------


async def test_deep_nesting_through_links_past_the_depth_limit_is_refused(site):
    for token, levels in [(None, 8), (site.token, 10), (None, 60)]:
        response = await site.gql(links_nest(levels, first=1), token=token)
        assert response.body["data"] is None
        assert response.codes == ["QUERY_TOO_COMPLEX"], response.body
        assert response.errors[0]["extensions"]["details"]["limit"] == "depth"
    # Deeper still, the parser gives up first (graphql-core bounds its nesting), or the
    # text is over the length limit.
    for levels, code in [(200, "GRAPHQL_PARSE_FAILED"), (1000, "QUERY_TOO_COMPLEX")]:
        response = await site.gql(links_nest(levels, first=1), token=site.token)
        assert response.body["data"] is None
        assert response.codes == [code], response.body


async def test_nesting_deeper_than_the_parser_can_recurse_is_a_coded_error(site):
    for opening in ["{", "{ a ", "{ viewer "]:
        query = opening * (10_000 // len(opening) - 1)
        response = await site.gql(query[:10_000])
        assert response.body["data"] is None
        assert len(response.errors) == 1


async def test_wide_fan_out_is_refused_with_its_estimated_cost(site):
    response = await site.gql(links_nest(3, first=100))
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    details = response.errors[0]["extensions"]["details"]
    assert details["limit"] == "cost"
    assert details["cost"] > details["maxCost"] == 250_000
    # Two levels of the same fan-out are fine.
    assert (await site.gql(links_nest(2, first=100))).data["issue"]["links"]["nodes"]


async def test_fan_out_hidden_in_variables_and_fragments_is_refused_too(site):
    query = """
        query($n: Int) { issue(project: "g/p", iid: 1) { ...L } }
        fragment L on Issue { links(first: $n) { nodes { ...M } } }
        fragment M on Issue { links(first: $n) { edges { node { ... on Issue { ...N } } } } }
        fragment N on Issue { links(first: $n) { nodes { title } } }
    """
    response = await site.gql(query, {"n": 100})
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    assert (await site.gql(query, {"n": 5})).data["issue"]


async def test_alias_flooding_is_refused(site):
    for count in [101, 450]:  # 450 of them fit in the 10,000 characters allowed
        fields = " ".join(f"a{n}: viewer {{ id }}" for n in range(count))
        response = await site.gql(f"{{ {fields} }}")
        assert response.codes == ["QUERY_TOO_COMPLEX"]
        assert response.errors[0]["extensions"]["details"]["aliases"] == count


async def test_repeating_one_field_thousands_of_times_is_answered_or_refused_quickly(site):
    # graphql-core bounds the work of comparing fields that share a response name: past
    # its budget, validation gives up ("Validation aborted."), coded as any validation error.
    started = time.monotonic()
    for query in ["{ viewer { " + "id " * 3_300 + "} }", "{ " + "__typename " * 900 + "}"]:
        response = await site.gql(query)
        assert response.codes == ["GRAPHQL_VALIDATION_FAILED"], response.body
    assert (await site.gql("{ " + "__typename " * 100 + "}")).data == {"__typename": "Query"}
    assert time.monotonic() - started < 5


async def test_circular_fragments_are_a_coded_validation_error(site):
    for query in [
        '{ issue(project: "g/p", iid: 1) { ...A } } fragment A on Issue { links { nodes { ...A } } }',
        (
            '{ issue(project: "g/p", iid: 1) { ...A } } '
            "fragment A on Issue { ...B } fragment B on Issue { ...C } fragment C on Issue { ...A }"
        ),
        "{ ...Q } fragment Q on Query { ...Q }",
    ]:
        response = await site.gql(query)
        assert response.body["data"] is None
        assert response.codes == ["GRAPHQL_VALIDATION_FAILED"], response.body


async def test_fragments_that_double_at_every_step_are_refused_at_once(site):
    steps = 60
    chain = " ".join(f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} }}" for n in range(steps))
    query = f"{{ ...F0 }} {chain} fragment F{steps} on Query {{ viewer {{ id }} }}"
    started = time.monotonic()
    response = await site.gql(query)
    assert time.monotonic() - started < 5
    assert response.codes == ["QUERY_TOO_COMPLEX"]
    assert response.errors[0]["extensions"]["details"]["limit"] == "cost"


async def test_fragment_chains_deeper_than_python_can_recurse_are_coded(site):
    # Fields nested inside a long chain of fragments: thousands of levels in all.
    opening, closing = "a{" * 30, "}" * 30
    chain = "".join(f"fragment F{n} on Query{{{opening}...F{n + 1}{closing}}}" for n in range(80))
    query = f"{{...F0}}{chain}fragment F80 on Query{{viewer{{id}}}}"
    assert len(query) <= 10_000
    response = await site.gql(query)
    assert response.codes == ["QUERY_TOO_COMPLEX"], response.body
    # Fragments that only spread the next one, as many as the text allows.
    count = 300
    chain = "".join(f"fragment F{n} on Query{{...F{n + 1}}}" for n in range(count))
    query = f"{{...F0}}{chain}fragment F{count} on Query{{viewer{{id}}}}"
    assert len(query) <= 10_000
    response = await site.gql(query, token=site.token)
    assert response.errors == [] or len(response.errors) == 1, response.body
    if not response.errors:
        assert response.data == {"viewer": {"id": response.data["viewer"]["id"]}}


async def test_unknown_directives_fields_and_operation_names_are_coded(site):
    cases = [
        ("{ viewer @nope { id } }", None),
        ("{ viewer { id @skip(if: $undefined) } }", None),
        ("{ nope }", None),
        ("query A { viewer { id } } query A { viewer { id } }", None),
        ("subscription { viewer }", None),
    ]
    for query, variables in cases:
        response = await site.gql(query, variables)
        assert response.errors, query
    raw = await site.api.client.post(
        "/graphql", json={"query": "query A { viewer { id } }", "operationName": "Nope"}
    )
    assert raw.status < 500
    body = await raw.json()
    assert [e["extensions"]["code"] for e in body["errors"]]


# -- page sizes and variable values ------------------------------------------------------------


async def test_huge_first_is_coded_as_a_literal_and_as_a_variable(site):
    literal = await site.gql(
        '{ issue(project: "g/p", iid: 1) { links(first: 1099511627776) { totalCount } } }'
    )
    assert literal.codes == ["GRAPHQL_VALIDATION_FAILED"]
    query = 'query($n: Int) { issue(project: "g/p", iid: 1) { links(first: $n) { totalCount } } }'
    for value in [2**40, 2**31, -(2**31) - 1, 10**30, 1.5, "5", True, [], {}]:
        response = await site.gql(query, {"n": value})
        assert response.codes == ["BAD_USER_INPUT"], (value, response.body)
    for value in [0, -1, 101, 2**31 - 1, -(2**31)]:
        response = await site.gql(query, {"n": value})
        assert response.codes == ["BAD_USER_INPUT"], (value, response.body)
        assert response.errors[0]["path"] == ["issue", "links"]


async def test_non_finite_and_exotic_json_numbers_are_coded(site):
    query = 'query($n: Int) { issue(project: "g/p", iid: 1) { links(first: $n) { totalCount } } }'
    for number in ["1e999", "-1e999", "NaN", "Infinity", "1e2", "-0", "100000000000000000000000"]:
        body = '{"query": ' + json.dumps(query) + ', "variables": {"n": ' + number + "}}"
        raw = await site.api.client.post(
            "/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        assert raw.status < 500, number
        parsed = await raw.json()
        assert parsed.get("errors") or parsed["data"]["issue"], (number, parsed)
        for error in parsed.get("errors") or []:
            assert error["extensions"]["code"] != "INTERNAL", (number, error)


async def test_wrong_variable_types_are_bad_user_input(site):
    cases: list[tuple[str, dict[str, Any]]] = [
        ("query($p: ID!) { project(fullPath: $p) { name } }", {"p": {"a": 1}}),
        ("query($p: ID!) { project(fullPath: $p) { name } }", {"p": [1, 2]}),
        ("query($p: ID!) { project(fullPath: $p) { name } }", {"p": None}),
        ("query($p: ID!) { project(fullPath: $p) { name } }", {"p": 1.5}),
        ("query($p: ID!) { project(fullPath: $p) { name } }", {}),
        ('query($i: Int!) { issue(project: "g/p", iid: $i) { title } }', {"i": "1"}),
        (
            'query($s: IssueState) { project(fullPath: "g/p") { issues(state: $s) { totalCount } } }',
            {"s": "opened"},
        ),
        (
            'query($t: [LinkType!]) { issue(project: "g/p", iid: 1) { links(linkTypes: $t) { totalCount } } }',
            {"t": ["BLOCKS", None]},
        ),
        (
            "query($f: IssueRef!) { path(from: $f, to: $f) { length } }",
            {"f": {"project": "g/p", "iid": 1, "extra": True}},
        ),
        ("query($f: IssueRef!) { path(from: $f, to: $f) { length } }", {"f": {"project": "g/p"}}),
        ("query($f: IssueRef!) { path(from: $f, to: $f) { length } }", {"f": "g/p#1"}),
    ]
    for query, variables in cases:
        response = await site.gql(query, variables)
        assert response.codes == ["BAD_USER_INPUT"], (variables, response.body)
        assert response.body["data"] is None


async def test_wrong_types_inside_mutation_inputs_are_bad_user_input(site):
    base = {"project": "g/p", "title": "T"}
    for extra in [
        {"dueDate": "2024-13-45"},
        {"dueDate": "not a date"},
        {"dueDate": 20240101},
        {"weight": "heavy"},
        {"weight": 2**40},
        {"labels": [1, 2]},
        {"confidential": "yes"},
        {"unknownField": 1},
    ]:
        response = await site.mutate("createIssue", {**base, **extra}, "issue { iid }")
        assert isinstance(response, Response), extra
        assert set(response.codes) == {"BAD_USER_INPUT"}, (extra, response.body)
    # A single value where a list is expected is a list of one (GraphQL's input coercion).
    for extra in [{"weight": -1}, {"labels": "one,two"}]:
        payload = await site.mutate("createIssue", {**base, **extra}, "issue { iid }")
        assert payload_codes(payload) == ["BAD_USER_INPUT"], extra


async def test_malformed_request_bodies_are_4xx_with_a_code(site):
    bodies: list[str | bytes] = [
        '{"query": ["{ viewer { id } }"]}',
        '{"query": "{ viewer { id } }", "operationName": 5}',
        '{"query": "{ viewer { id } }", "variables": "x"}',
        '{"query": "{ viewer { id } }", "variables": [1]}',
        '{"query": "{ viewer { id } }"',
        '{"query": "{ viewer { id } }"}{"query": "{ viewer { id } }"}',
        b'\xef\xbb\xbf{"query": "{ viewer { id } }"}',
        b'{"query": "\xc3\x28"}',
        '{"query": "\\ud800"}',
        "[]",
        "[" + ",".join(['{"query": "{ viewer { id } }"}'] * 50) + "]",
    ]
    for body in bodies:
        raw = await site.api.client.post(
            "/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        assert raw.status < 500, body
        assert raw.headers.get("X-Request-Id")
        parsed = await raw.json()
        answers = parsed if isinstance(parsed, list) else [parsed]
        for answer in answers:
            for error in answer.get("errors") or []:
                assert error["extensions"]["code"] != "INTERNAL", (body, error)
                assert error["extensions"]["requestId"] == raw.headers["X-Request-Id"]


async def test_control_characters_and_unicode_in_the_query_text_are_coded(site):
    for query in [
        "{ viewer { id } }\u0000",
        "\u0000{ viewer { id } }",
        "{ viewer { id\u0007 } }",
        "{ viewer { \ud800 } }",
        '{ project(fullPath: "\u0000") { name } }',
        '{ project(fullPath: "\\u0000") { name } }',
        '{ project(fullPath: "\\ud800") { name } }',
        '{ project(fullPath: "🔥") { name } }',
        "{ viewer { id } } # \u202e comment 🔥",
        "\ufeff{ viewer { id } }",
        "{ viewer { id } }" + "\u200b" * 10,
    ]:
        await site.gql(query)
    for path in ["\u0000", "\\u0000", "%00", "\ud800", "g%2Fp%00", "'; drop table projects; --"]:
        raw = await site.api.client.get(
            "/graphql", params={"query": f'{{ project(fullPath: "{path}") {{ name }} }}'}
        )
        assert raw.status < 500, path
        parsed = await raw.json()
        for error in parsed.get("errors") or []:
            assert error["extensions"]["code"] != "INTERNAL", (path, error)


# -- text in every mutation ------------------------------------------------------------------


ISSUE_FIELDS = "issue { iid title description labels milestone }"


async def test_hostile_text_in_issue_fields_is_stored_exactly_or_refused(site):
    for name, text in HOSTILE_TEXT.items():
        sent = {
            "project": "g/p",
            "title": f"t {text}",
            "description": f"d {text}\n{text}",
            "labels": [f"l {text}"],
            "milestone": f"m {text}",
            "clientMutationId": f"c {text}",
        }
        payload = await site.mutate("createIssue", sent, ISSUE_FIELDS)
        if name in SAFE_TEXT:
            assert payload["errors"] == [], (name, payload)
            issue = payload["issue"]
            assert issue["title"] == sent["title"], name
            assert issue["description"] == sent["description"], name
            assert issue["labels"] == sent["labels"], name
            assert issue["milestone"] == sent["milestone"], name
            assert payload["clientMutationId"] == sent["clientMutationId"]
            query = 'query($i: Int!) { issue(project: "g/p", iid: $i) { title description labels milestone } }'
            read = (await site.gql(query, {"i": issue["iid"]})).data["issue"]
            assert read == {k: issue[k] for k in ("title", "description", "labels", "milestone")}
            continue
        assert payload_codes(payload), (name, payload)
        assert set(payload_codes(payload)) == {"BAD_USER_INPUT"}, (name, payload)
        for field, value in sent.items():
            if field in {"project", "clientMutationId"}:
                continue
            alone = {"project": "g/p", "title": "plain", field: value}
            payload = await site.mutate("createIssue", alone, ISSUE_FIELDS)
            assert payload_codes(payload) == ["BAD_USER_INPUT"], (name, field, payload)
            if isinstance(payload, dict):
                assert payload["errors"][0]["path"][-1] == field


async def test_hostile_text_in_issue_updates_is_stored_exactly_or_refused(site):
    for name, text in HOSTILE_TEXT.items():
        for field, value in [
            ("title", f"t {text}"),
            ("description", f"d {text}"),
            ("labels", [f"l {text}"]),
            ("addLabels", [f"a {text}"]),
            ("removeLabels", [f"r {text}"]),
            ("milestone", f"m {text}"),
        ]:
            payload = await site.mutate(
                "updateIssue", {"project": "g/p", "iid": 1, field: value}, ISSUE_FIELDS
            )
            if name in REFUSED_TEXT and field == "removeLabels":
                # Nothing is stored: removing a label no issue can have changes nothing.
                assert payload_codes(payload) in ([], ["BAD_USER_INPUT"]), (name, payload)
                continue
            if name in REFUSED_TEXT:
                assert payload_codes(payload) == ["BAD_USER_INPUT"], (name, field, payload)
                continue
            assert payload["errors"] == [], (name, field, payload)
            issue = payload["issue"]
            if field in {"title", "description", "milestone"}:
                assert issue[field] == value
            elif field in {"labels", "addLabels"}:
                assert value[0] in issue["labels"]
            else:
                assert value[0] not in issue["labels"]


async def test_hostile_text_in_a_link_comment_is_stored_exactly_or_refused(site):
    iids = []
    for n in range(len(HOSTILE_TEXT)):
        payload = await site.mutate(
            "createIssue", {"project": "g/p", "title": f"i{n}"}, "issue { iid }"
        )
        iids.append(payload["issue"]["iid"])
    for iid, (name, text) in zip(iids, HOSTILE_TEXT.items(), strict=True):
        comment = f"because {text}\nreally"
        link = {"project": "g/p", "iid": 1, "targetProject": "g/p", "targetIssueIid": iid}
        payload = await site.mutate("createIssueLink", {**link, "comment": comment}, "link { id }")
        bulk = await site.mutate(
            "createIssueLinks",
            {"links": [{**link, "iid": 2, "comment": comment}]},
            "links { created }",
        )
        if name in REFUSED_TEXT:
            assert set(payload_codes(payload)) == {"BAD_USER_INPUT"}, (name, payload)
            assert set(payload_codes(bulk)) == {"BAD_USER_INPUT"}, (name, bulk)
            continue
        assert payload["errors"] == [], (name, payload)
        assert bulk["errors"] == [], (name, bulk)
    notes = await site.gql(
        '{ issue(project: "g/p", iid: 1) { notes(first: 100) { nodes { body } } } }'
    )
    bodies = [n["body"] for n in notes.data["issue"]["notes"]["nodes"]]
    for text in SAFE_TEXT.values():
        assert f"because {text}\nreally" in bodies


async def test_hostile_text_in_projects_and_user_references_is_refused_or_not_found(site):
    for name, text in HOSTILE_TEXT.items():
        payload = await site.mutate(
            "createProject",
            {"fullPath": f"g/{text}", "name": f"n {text}", "description": f"d {text}"},
            "project { fullPath name description }",
        )
        assert set(payload_codes(payload)) == {"BAD_USER_INPUT"}, (name, payload)
        payload = await site.mutate(
            "createProject",
            {
                "fullPath": f"g/ok-{len(name)}-{name}",
                "name": f"n {text}",
                "description": f"d {text}",
            },
            "project { name description }",
        )
        if name in SAFE_TEXT:
            assert payload["errors"] == [], (name, payload)
            assert payload["project"] == {"name": f"n {text}", "description": f"d {text}"}
        else:
            assert set(payload_codes(payload)) == {"BAD_USER_INPUT"}, (name, payload)
        payload = await site.mutate(
            "addProjectMember", {"project": "g/p", "username": text, "role": "GUEST"}, "user { id }"
        )
        assert payload_codes(payload)[0] in {"BAD_USER_INPUT", "NOT_FOUND"}, (name, payload)
        payload = await site.mutate(
            "createIssue",
            {"project": "g/p", "title": "x", "assigneeUsernames": [text]},
            "issue { iid }",
        )
        assert payload_codes(payload)[0] in {"BAD_USER_INPUT", "NOT_FOUND"}, (name, payload)


async def test_hostile_project_references_are_null_or_not_found(site):
    refs = [
        *HOSTILE_TEXT.values(),
        "99999999999999999999",
        "9223372036854775808",
        "-1",
        "0",
        "1e3",
        "\u0663",  # ARABIC-INDIC DIGIT THREE: a decimal digit to Python
        "%00",
        "g%2Fp%00",
        "%",
        "%%%",
        "%ZZ",
        "g/p/../p",
        " " * 3,
        "",
        "x" * 5_000,
    ]
    for ref in refs:
        response = await site.gql(
            "query($p: ID!) { project(fullPath: $p) { name } issue(project: $p, iid: 1) { title } }",
            {"p": ref},
        )
        assert response.body.get("data") in ({"project": None, "issue": None}, None), (
            ref,
            response.body,
        )
        link = {"project": ref, "iid": 1, "targetProject": "g/p", "targetIssueIid": 2}
        for name, input_ in [
            ("createIssue", {"project": ref, "title": "x"}),
            ("updateIssue", {"project": ref, "iid": 1, "title": "x"}),
            ("createIssueLink", link),
            ("createIssueLinks", {"links": [link]}),
            ("deleteIssue", {"project": ref, "iid": 1}),
            ("addProjectMember", {"project": ref, "username": "bob", "role": "GUEST"}),
            ("deleteIssueLink", {"project": ref, "iid": 1, "linkId": "1"}),
            ("updateIssueLink", {"project": ref, "iid": 1, "linkId": "1", "linkType": "BLOCKS"}),
        ]:
            payload = await site.mutate(name, input_)
            assert payload_codes(payload)[0] in {"BAD_USER_INPUT", "NOT_FOUND"}, (
                ref,
                name,
                payload,
            )


async def test_user_names_with_hostile_text_are_refused_before_the_database(pool):
    for name, text in HOSTILE_TEXT.items():
        with pytest.raises(DomainError) as refused:
            await create_user(pool, f"u{text}")
        assert refused.value.code is ErrorCode.BAD_USER_INPUT
        if name in REFUSED_TEXT:
            with pytest.raises(DomainError) as refused:
                await create_user(pool, f"user{len(name)}", name=f"n {text}")
            assert refused.value.code is ErrorCode.BAD_USER_INPUT
        else:
            user = await create_user(
                pool, f"user{len(name)}x{abs(hash(name)) % 1000}", name=f"n {text}"
            )
            assert user.name == f"n {text}"


# -- ids ---------------------------------------------------------------------------------------


BAD_IDS = [
    "garbage",
    "",
    " ",
    "\u0000",
    "\ud800",
    "🔥",
    "x" * 5_000,
    "=====",
    global_id("garbage"),
    global_id("Issue:abc"),
    global_id("Issue:-1"),
    global_id("Issue:0"),
    global_id("Issue:99999999999999999999"),
    global_id("Issue:9223372036854775808"),
    global_id("Issue:1e3"),
    global_id("Issue:\u0000"),
    global_id("Issue:"),
    global_id(":1"),
    global_id("Issue:1:2"),
    global_id("Nope:1"),
    global_id("__Schema:1"),
    "SXNzdWU6MQ",  # "Issue:1" without its padding
    "99999999999999999999",
    "-1",
    "\u0663",
]


async def test_invalid_global_ids_in_node_are_null_or_bad_user_input(site):
    for value in BAD_IDS:
        response = await site.gql(
            "query($id: ID!) { node(id: $id) { id __typename } }", {"id": value}
        )
        assert response.body.get("data") == {"node": None} or response.codes == [
            "BAD_USER_INPUT"
        ], (
            value,
            response.body,
        )
        assert set(response.codes) <= {"BAD_USER_INPUT"}, (value, response.body)


async def test_invalid_and_foreign_ids_where_a_link_id_is_expected(site):
    user_id = (await site.gql("{ viewer { id } }", token=site.token)).data["viewer"]["id"]
    issue_id = (await site.gql('{ issue(project: "g/p", iid: 1) { id } }')).data["issue"]["id"]
    for value in [*BAD_IDS, user_id, issue_id]:
        response = await site.gql(
            'query($l: ID!) { issueLink(project: "g/p", iid: 1, linkId: $l) { linkType } }',
            {"l": value},
        )
        assert set(response.codes) <= {"BAD_USER_INPUT"}, (value, response.body)
        assert response.body.get("data") in ({"issueLink": None}, None), (value, response.body)
        for name, extra in [("deleteIssueLink", {}), ("updateIssueLink", {"linkType": "BLOCKS"})]:
            payload = await site.mutate(
                name, {"project": "g/p", "iid": 1, "linkId": value, **extra}
            )
            assert payload_codes(payload)[0] in {"BAD_USER_INPUT", "NOT_FOUND"}, (value, payload)
    # The link is still there.
    links = await site.gql('{ issue(project: "g/p", iid: 1) { links { totalCount } } }')
    assert links.data["issue"]["links"]["totalCount"] == 1


async def test_ids_of_other_types_in_node_give_that_type_or_null(site):
    user_id = (await site.gql("{ viewer { id } }", token=site.token)).data["viewer"]["id"]
    node = await site.gql("query($id: ID!) { node(id: $id) { __typename } }", {"id": user_id})
    assert node.data["node"] in ({"__typename": "User"}, None)
    issue = await site.gql(
        "query($id: ID!) { node(id: $id) { ... on Issue { title } ... on User { username } } }",
        {"id": user_id},
        token=site.token,
    )
    assert issue.data["node"] in ({"username": "alice"}, None)


async def test_the_app_answers_hostile_requests_concurrently_without_a_5xx(site):
    queries = [
        (links_nest(3, first=100), None),
        ("{ " + " ".join(f"a{n}: viewer {{ id }}" for n in range(150)) + " }", None),
        (
            'query($n: Int) { issue(project: "g/p", iid: 1) { links(first: $n) { totalCount } } }',
            {"n": 2**40},
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": global_id("Issue:99999999999999999999")},
        ),
        ("query($p: ID!) { project(fullPath: $p) { name } }", {"p": "a\u0000b"}),
    ]
    responses = await asyncio.gather(
        *(site.api.gql(q, v, token=site.token) for q, v in queries * 4)
    )
    for response in responses:
        assert_sane(response)
        # Refused, or a lookup of something that cannot exist: null.
        data = response.body.get("data") or {}
        assert response.errors or all(value is None for value in data.values()), response.body


async def test_members_roles_cannot_be_escalated_through_hostile_roles(site):
    for role in ["ADMIN", "owner", "", "\u0000", 5, None]:
        response = await site.gql(
            'mutation($r: MemberRole!) { addProjectMember(input: {project: "g/p", username: "bob", role: $r}) { errors { code } } }',
            {"r": role},
            token=site.token,
        )
        assert response.codes == ["BAD_USER_INPUT"], (role, response.body)
    assert Role.GUEST < Role.OWNER
