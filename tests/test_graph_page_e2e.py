"""The dependency-graph page end to end: `issuegraph serve` on the demo data, in headless Chromium.

The browser is Debian's /usr/bin/chromium (`make chromium` installs it), driven by
playwright-core from the playground's own devDependencies: the node script
graphql_playground/e2e/graph-e2e.mjs goes through /graphql/graph (the form with no
parameters, a project's view, a label's, the state and link-type filters, an issue's view,
the exports, signing in and out across tabs, bad addresses) and reports what it saw; this
test compares it with what the API and the export endpoint answer the same viewer.
Screenshots land in test-artifacts/.

Without Chromium, Node.js or the built playground the test is skipped, unless
ISSUEGRAPH_E2E=required (as `make test` sets), which makes that a failure.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope
from issuegraph.playground import CONTENT_SECURITY_POLICY
from tests.e2e import (
    ARTIFACTS,
    LINK_COLOURS,
    PLAYGROUND,
    STATE_COLOURS,
    demo_server,
    drive,
    require_browser,
)

SCRIPT = PLAYGROUND / "e2e" / "graph-e2e.mjs"

PROJECT = "acme/platform"
LABEL = "backend"
IID = 5
LINK_KINDS = ["BLOCKS", "PARENT_OF", "RELATES_TO", "DUPLICATES", "CLONES"]
# The export endpoint's names of the same kinds.
EXPORT_KINDS = {
    "BLOCKS": "blocks",
    "PARENT_OF": "parent",
    "RELATES_TO": "relates",
    "DUPLICATES": "duplicates",
    "CLONES": "clones",
}
# The link-type filter left with only these after unchecking the others.
KEEP = ["BLOCKS"]
CRITICAL_COLOUR = "rgb(255,176,0)"
START_BORDER = "rgb(31,35,40)"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE_LABEL = '<img src=x onerror="window.__owned=1">'
# An issue of the project's view with markup in its title: the SVG export must carry it as text.
HOSTILE_TITLE = '<script>alert(1)</script> & "x"'
SVG = "{http://www.w3.org/2000/svg}"
# Addresses the page refuses with a message (the last two are views that find nothing).
BAD = {
    "?project=acme/platform&iid=x": "The issue number must be a positive whole number",
    "?project=acme/platform&iid=0": "The issue number must be a positive whole number",
    "?project=acme/platform&types=BOGUS": "Unknown link type BOGUS",
    "?project=acme/platform&state=maybe": "The state must be open, closed or all",
    "?project=acme/platform&first=5000": "The bound must be a number from 1 to 1000",
    "?project=acme/platform&iid=999": "no issue acme/platform#999 that you may read",
    "?project=acme/nothing": "no project acme/nothing that you may read",
    # A private project reads as one that does not exist.
    "?project=acme/security": "no project acme/security that you may read",
    "?project=%3Cb%3Ea%3C/b%3E/%22x": 'no project <b>a</b>/"x that you may read',
}


@pytest.fixture
async def server(database_url: str, pool: Any) -> AsyncIterator[str]:
    """`issuegraph serve` on a free port, on this test's database with the demo data."""
    require_browser("graph page end-to-end test", "graph.html")
    async with demo_server(database_url, pool) as base:
        yield base


ISSUE_FIELDS = "reference state title"
PROJECT_GRAPH = f"""
query($project: ID!, $labels: [String!], $states: [IssueState!], $types: [LinkType!],
      $first: Int!) {{
  project(fullPath: $project) {{
    graph(labels: $labels, states: $states, linkTypes: $types, first: $first) {{
      nodes {{ {ISSUE_FIELDS} }}
      edges {{ linkType source {{ reference }} target {{ reference }} }}
      issueCount
      truncated
      hiddenCount
    }}
  }}
}}
"""
DEPENDENCIES = f"""
query($project: ID!, $iid: Int!, $types: [LinkType!]) {{
  issue(project: $project, iid: $iid) {{
    {ISSUE_FIELDS}
    criticalPath {{ issues {{ reference }} }}
    dependencies(direction: BOTH, linkTypes: $types) {{
      nodes {{ issue {{ {ISSUE_FIELDS} }} }}
      edges {{ linkType source {{ reference }} target {{ reference }} }}
      hiddenCount
    }}
  }}
}}
"""


class Api:
    """The API and the export endpoint, as one viewer (anonymous without a token)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.base}/graphql",
                json={"query": query, "variables": variables},
                headers=self.headers,
            ) as response,
        ):
            body = await response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def project_graph(
        self,
        labels: list[str] | None = None,
        states: list[str] | None = None,
        types: list[str] | None = None,
        first: int = 300,
    ) -> dict[str, Any]:
        variables = {
            "project": PROJECT,
            "labels": labels,
            "states": states,
            "types": types or LINK_KINDS,
            "first": first,
        }
        graph: dict[str, Any] = (await self.query(PROJECT_GRAPH, variables))["project"]["graph"]
        return graph

    async def dependencies(self, iid: int) -> dict[str, Any]:
        variables = {"project": PROJECT, "iid": iid, "types": LINK_KINDS}
        issue: dict[str, Any] = (await self.query(DEPENDENCIES, variables))["issue"]
        return issue

    async def create_issue(self, title: str) -> None:
        query = """
        mutation($input: CreateIssueInput!) {
          createIssue(input: $input) { errors { message } issue { reference } }
        }
        """
        payload = await self.query(query, {"input": {"project": PROJECT, "title": title}})
        assert payload["createIssue"]["errors"] == [], payload

    async def export(self, **params: str) -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{self.base}/graphql/graph/export",
                params={"project": PROJECT, **params, "format": "dot"},
                headers=self.headers,
            ) as response,
        ):
            text = await response.text()
            assert response.status == 200, text
        return text


def all_kinds() -> str:
    return ",".join(EXPORT_KINDS[k] for k in LINK_KINDS)


async def drive_browser(base: str, token: str) -> dict[str, Any]:
    config = {
        "baseUrl": base,
        "token": token,
        "project": PROJECT,
        "label": LABEL,
        "iid": IID,
        "first": 2,
        "keep": KEEP,
        "uncheck": [k for k in LINK_KINDS if k not in KEEP],
        "bad": [*BAD, "?" + urlencode({"project": PROJECT, "label": HOSTILE_LABEL})],
    }
    return await drive(SCRIPT, config)


def references(graph: dict[str, Any]) -> list[str]:
    return sorted(n["reference"] for n in graph["nodes"])


def edges(graph: dict[str, Any]) -> list[str]:
    return sorted(
        f"{e['source']['reference']} {e['linkType']} {e['target']['reference']}"
        for e in graph["edges"]
    )


def assert_project_drawn(drawn: dict[str, Any], graph: dict[str, Any]) -> None:
    """The project view draws exactly the API's nodes and links for the same viewer."""
    assert drawn["state"] == "ready", drawn["status"]
    assert drawn["view"] == "project"
    assert drawn["nodeCount"] == len(graph["nodes"])
    assert drawn["edgeCount"] == len(graph["edges"])
    assert drawn["references"] == references(graph)
    assert drawn["edges"] == edges(graph)
    assert drawn["colours"] == {n["reference"]: STATE_COLOURS[n["state"]] for n in graph["nodes"]}
    assert drawn["hiddenCount"] == graph["hiddenCount"]


def assert_issue_drawn(drawn: dict[str, Any], issue: dict[str, Any]) -> None:
    """One node per issue of the `dependencies` walk plus the start issue, coloured by state
    and link type, the critical path marked."""
    assert drawn["state"] == "ready", drawn["status"]
    assert drawn["view"] == "issue"
    nodes = issue["dependencies"]["nodes"]
    assert drawn["nodeCount"] == len(nodes) + 1
    assert drawn["edgeCount"] == len(issue["dependencies"]["edges"])
    assert drawn["references"] == sorted(
        [issue["reference"], *(n["issue"]["reference"] for n in nodes)]
    )
    states = {n["issue"]["reference"]: n["issue"]["state"] for n in nodes}
    states[issue["reference"]] = issue["state"]
    assert drawn["colours"] == {ref: STATE_COLOURS[state] for ref, state in states.items()}
    kinds = {e["linkType"] for e in issue["dependencies"]["edges"]}
    assert drawn["edgeColours"] == {kind: LINK_COLOURS[kind] for kind in kinds}
    critical = [i["reference"] for i in issue["criticalPath"]["issues"]]
    assert sorted(drawn["critical"]) == sorted(critical if len(critical) > 1 else [])
    assert drawn["hiddenCount"] == issue["dependencies"]["hiddenCount"]


def words(text: str) -> str:
    """Text as one line: a flex box's innerText puts each child on a line of its own."""
    return " ".join(text.split())


def hidden_notice(count: int, *, anonymous: bool) -> str:
    return f"{count} linked issues are hidden from you" + (
        "; sign in to see more." if anonymous else "."
    )


def assert_stayed_on(server: str, seen: dict[str, Any]) -> None:
    """Every request stayed on the server's origin; nothing was refused, thrown or logged."""
    assert seen["requests"], "no request was recorded"
    assert seen["foreign"] == []
    assert all(url.startswith(f"{server}/") for url in seen["requests"]), seen["requests"]
    assert seen["cspViolations"] == []
    assert seen["pageErrors"] == []
    assert seen["consoleErrors"] == []


def parse_svg(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (the page's own export of the test's data)
    assert root.tag == f"{SVG}svg", root.tag
    return root


def svg_node_shapes(svg: str) -> dict[str, int]:
    """The SVG's filled shapes by issue-state colour: one per issue drawn."""
    root = parse_svg(svg)
    fills: dict[str, int] = {}
    for element in root.iter():
        fill = (element.get("fill") or "").replace(" ", "")
        for state, colour in STATE_COLOURS.items():
            if fill == colour and element.tag.rsplit("}", 1)[-1] in {"path", "rect"}:
                fills[state] = fills.get(state, 0) + 1
    return fills


def svg_links(svg: str) -> dict[str, int]:
    """The SVG's link lines by link-type colour: one per link drawn."""
    kinds = {colour: kind for kind, colour in LINK_COLOURS.items()}
    drawn: dict[str, int] = {}
    for path in parse_svg(svg).iter(f"{SVG}path"):
        if path.get("class") == "ig-edge":
            kind = kinds[(path.get("stroke") or "").replace(" ", "")]
            drawn[kind] = drawn.get(kind, 0) + 1
    return drawn


def svg_node_labels(svg: str) -> list[str]:
    """Each issue's label in the SVG as one line of text (its wrapped lines joined)."""
    return sorted(
        words(" ".join(span.text or "" for span in text.iter(f"{SVG}tspan")))
        for text in parse_svg(svg).iter(f"{SVG}text")
        if text.get("class") == "ig-node-label"
    )


def node_label(issue: dict[str, Any]) -> str:
    """The label graph.js gives an issue: its reference (#iid in the project), its title
    cut at 48 characters."""
    reference = issue["reference"]
    own = reference.startswith(f"{PROJECT}#")
    title = issue["title"] if len(issue["title"]) <= 48 else f"{issue['title'][:47]}…"
    return words(f"{'#' + reference.rsplit('#', 1)[1] if own else reference} {title}")


def svg_critical(svg: str) -> dict[str, int]:
    """The SVG's amber underlays (the critical path's outline) by what they outline."""
    outlined = {"rect": 0, "path": 0}
    for element in parse_svg(svg).iter():
        tag = element.tag.removeprefix(SVG)
        if element.get("class") == "underlay" and tag in outlined:
            colour = element.get("fill" if tag == "rect" else "stroke") or ""
            assert colour.replace(" ", "") == CRITICAL_COLOUR, element.attrib
            outlined[tag] += 1
    return outlined


def assert_svg_fits(svg: str) -> None:
    """The viewBox holds every issue's shape."""
    root = parse_svg(svg)
    x, y, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    shapes = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "ig-node-shape"]
    assert shapes
    for rect in shapes:
        left, top = float(rect.get("x", "nan")), float(rect.get("y", "nan"))
        right = left + float(rect.get("width", "nan"))
        bottom = top + float(rect.get("height", "nan"))
        assert x <= left, rect.attrib
        assert right <= x + width, rect.attrib
        assert y <= top, rect.attrib
        assert bottom <= y + height, rect.attrib


async def assert_links_answer(links: list[dict[str, str]], server: str) -> None:
    """Every link of a details panel opens a real page of this server."""
    assert links
    async with aiohttp.ClientSession() as session:
        for link in links:
            assert link["href"].startswith(f"{server}/"), link
            async with session.get(link["href"], headers={"Accept": "text/html"}) as response:
                assert response.status == 200, link


def text_of(download: dict[str, Any]) -> str:
    return base64.b64decode(download["base64"]).decode()


async def expectations(server: str, root_token: str) -> dict[str, Any]:
    """What the API and the export endpoint answer for each view the browser visits."""
    anonymous, root = Api(server), Api(server, root_token)
    keep = ",".join(EXPORT_KINDS[k] for k in KEEP)
    return {
        "project": await anonymous.project_graph(),
        "typesOnly": await anonymous.project_graph(types=KEEP),
        "filtered": await anonymous.project_graph(states=["OPENED"], types=KEEP),
        "label": await anonymous.project_graph(labels=[LABEL]),
        "truncated": await anonymous.project_graph(first=2),
        "issue": await anonymous.dependencies(IID),
        # Any issue the issue view may be centred on.
        "issues": {iid: await anonymous.dependencies(iid) for iid in range(1, 9)},
        "rootIssue": await root.dependencies(IID),
        "rootProject": await root.project_graph(),
        "dot": {
            "project": await anonymous.export(types=all_kinds()),
            "filtered": await anonymous.export(types=keep, state="opened"),
            "label": await anonymous.export(types=all_kinds(), label=LABEL),
            "issue": await anonymous.export(iid=str(IID), types=all_kinds()),
            "root": await root.export(types=all_kinds()),
        },
    }


async def test_graph_page_views_filters_exports_and_sign_in(server, pool):
    _, root_token = await create_token(pool, "root", scopes=[TokenScope.API])
    await Api(server, root_token).create_issue(HOSTILE_TITLE)
    expected = await expectations(server, root_token)
    for picture in ("graph-project.png", "graph-issue.png"):
        (ARTIFACTS / picture).unlink(missing_ok=True)

    report = await drive_browser(server, root_token)
    assert_stayed_on(server, report["seen"])

    # No parameters: the form and a hint, nothing drawn (never some issue by default).
    empty = report["empty"]
    assert empty["httpStatus"] == 200
    assert empty["csp"] == CONTENT_SECURITY_POLICY
    assert empty["state"] == "empty"
    assert empty["nodeCount"] == 0
    assert empty["references"] == []
    assert "Choose a project" in empty["canvasText"]
    assert empty["form"]["project"] == ""
    assert report["noProject"]["state"] == "error"
    assert report["noProject"]["status"] == "Give a project, such as acme/platform."

    await assert_project_views(server, report, expected)
    for name, export in (("project", report["exports"]["svg"]), ("issue", report["issueSvg"])):
        (ARTIFACTS / f"graph-{name}.svg").write_bytes(base64.b64decode(export["base64"]))
    assert_exports(report, expected)
    await assert_issue_views(server, report, expected)
    assert_signing_in(report, expected, root_token)
    assert_refused(report["bad"])
    for picture in ("graph-project.png", "graph-issue.png"):
        assert (ARTIFACTS / picture).stat().st_size > 10_000, picture


async def assert_project_views(
    server: str, report: dict[str, Any], expected: dict[str, Any]
) -> None:
    """The project view, anonymous: the API's nodes and links, how many are hidden; the
    filters; a label; a bound."""
    drawn, project = report["project"], expected["project"]
    assert drawn["httpStatus"] == 200
    assert drawn["csp"] == CONTENT_SECURITY_POLICY
    assert_project_drawn(drawn, project)
    assert drawn["nodeCount"] > 5
    assert project["hiddenCount"] > 0
    assert drawn["notice"] == hidden_notice(project["hiddenCount"], anonymous=True)
    assert f"{len(project['nodes'])} issues, {len(project['edges'])} links" in drawn["summary"]
    await assert_links_answer(report["projectDetails"]["links"], server)

    # The filters re-query: blocking links only, then open issues only.
    types_only, filtered = report["typesOnly"], report["filtered"]
    assert_project_drawn(types_only, expected["typesOnly"])
    assert types_only["edgeCount"] < drawn["edgeCount"]
    assert {e.split()[1] for e in types_only["edges"]} == set(KEEP)
    assert_project_drawn(filtered, expected["filtered"])
    assert filtered["nodeCount"] < types_only["nodeCount"]
    assert set(filtered["states"].values()) == {"OPENED"}
    assert filtered["form"]["state"] == "open"
    assert filtered["form"]["types"] == ",".join(KEEP)
    assert "state=open" in filtered["url"]

    # A label's view, and a bound that leaves issues out says so.
    assert_project_drawn(report["label"], expected["label"])
    assert f"label={LABEL}" in report["label"]["url"]
    assert report["label"]["nodeCount"] < drawn["nodeCount"]
    bounded = expected["truncated"]
    assert bounded["truncated"] is True
    assert_project_drawn(report["truncated"], bounded)
    own = sum(1 for n in bounded["nodes"] if n["reference"].startswith(f"{PROJECT}#"))
    assert (
        f"Showing {own} of {bounded['issueCount']} issues; narrow by label or state."
        in report["truncated"]["summary"]
    )


def assert_exports(report: dict[str, Any], expected: dict[str, Any]) -> None:
    """SVG with a shape per issue, PNG, and the export endpoint's DOT text, as the viewer."""
    exports, dot = report["exports"], expected["dot"]
    assert exports["svg"]["filename"] == "acme-platform-graph.svg"
    states = [n["state"] for n in expected["project"]["nodes"]]
    svg = text_of(exports["svg"])
    assert svg_node_shapes(svg) == {s: states.count(s) for s in set(states)}
    kinds = [e["linkType"] for e in expected["project"]["edges"]]
    assert svg_links(svg) == {k: kinds.count(k) for k in set(kinds)}
    assert sum(svg_links(svg).values()) == report["project"]["edgeCount"]
    labels = svg_node_labels(svg)
    assert labels == sorted(node_label(n) for n in expected["project"]["nodes"])
    # The hostile title is text: escaped in the file, one label, no element of its own.
    assert words(HOSTILE_TITLE) in " | ".join(labels)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in svg
    assert "<script" not in svg
    assert not any(e.tag.endswith("script") for e in parse_svg(svg).iter())
    assert_svg_fits(svg)
    assert exports["png"]["filename"] == "acme-platform-graph.png"
    assert base64.b64decode(exports["png"]["base64"]).startswith(PNG_SIGNATURE)
    assert exports["png"]["size"] > 10_000
    assert dot["project"].startswith("digraph")
    assert text_of(exports["dot"]) == dot["project"]
    assert text_of(report["filteredDot"]) == dot["filtered"]
    assert text_of(report["labelDot"]) == dot["label"]
    assert dot["label"] != dot["project"]
    assert text_of(report["issueDot"]) == dot["issue"]
    assert text_of(report["signedInDot"]) == dot["root"]
    assert dot["root"] != dot["project"]


async def assert_issue_views(server: str, report: dict[str, Any], expected: dict[str, Any]) -> None:
    """The issue view, anonymous; a click shows an issue with working links, a double click
    draws its graph, back returns."""
    issue = expected["issue"]
    assert_issue_drawn(report["issue"], issue)
    assert [i["reference"] for i in issue["criticalPath"]["issues"]] == [
        "acme/platform#3",
        "acme/platform#4",
        "acme/platform#5",
    ]
    assert "acme/platform#3 → acme/platform#4 → acme/platform#5" in report["issue"]["summary"]
    hidden = issue["dependencies"]["hiddenCount"]
    assert hidden > 0
    assert report["issue"]["notice"] == hidden_notice(hidden, anonymous=True)
    # Its SVG: the critical path outlined in amber (three issues, the two links between
    # them), the start issue's dark border.
    svg = text_of(report["issueSvg"])
    assert svg_critical(svg) == {"rect": 3, "path": 2}
    assert sum(svg_links(svg).values()) == report["issue"]["edgeCount"]
    borders = [
        r.get("stroke-width")
        for r in parse_svg(svg).iter(f"{SVG}rect")
        if (r.get("stroke") or "").replace(" ", "") == START_BORDER
    ]
    assert borders == ["4"]
    assert_svg_fits(svg)
    clicked = report["clicked"]["reference"]
    assert report["clicked"]["details"].startswith(clicked)
    clicked_iid = int(clicked.rsplit("#", 1)[1])
    assert report["recentred"]["url"].endswith(f"?project=acme%2Fplatform&iid={clicked_iid}")
    assert_issue_drawn(report["recentred"], expected["issues"][clicked_iid])
    assert_issue_drawn(report["back"], issue)
    texts = [link["text"] for link in report["clicked"]["links"]]
    assert texts[-3:] == ["Open the issue", "Graph of this issue", f"Graph of {PROJECT}"]
    await assert_links_answer(report["issueDetails"]["links"], server)
    await assert_links_answer(report["clicked"]["links"], server)


def assert_signing_in(report: dict[str, Any], expected: dict[str, Any], root_token: str) -> None:
    """Signed in as root: more issues, nothing hidden, no notice. One token for every page
    and tab: another tab is signed in, GraphiQL holds the same token, and a sign-out there
    redraws this tab for an anonymous viewer."""
    signed_in, root_issue, root_project = (
        report["signedIn"],
        expected["rootIssue"],
        expected["rootProject"],
    )
    refused = report["refusedToken"]
    assert refused["sessionState"] == "anonymous"
    assert refused["stored"] is None
    assert "Not signed in:" in refused["session"]
    assert all("401 (Unauthorized)" in e for e in refused["console"]), refused["console"]

    assert "signed in as root" in words(signed_in["session"])
    assert_issue_drawn(signed_in, root_issue)
    assert signed_in["nodeCount"] > report["back"]["nodeCount"]
    assert root_issue["dependencies"]["hiddenCount"] == 0
    assert signed_in["notice"] is None
    assert_project_drawn(report["signedInProject"], root_project)
    assert root_project["hiddenCount"] == 0
    assert report["signedInProject"]["notice"] is None
    assert "signed in as root" in words(report["signedInProject"]["session"])

    assert "signed in as root" in words(report["otherTab"]["session"])
    assert report["otherTab"]["graphiqlToken"] == root_token
    signed_out = report["signedOut"]
    assert signed_out["sessionState"] == "anonymous"
    assert_project_drawn(signed_out, expected["project"])
    assert signed_out["notice"] == hidden_notice(expected["project"]["hiddenCount"], anonymous=True)


def assert_refused(bad: list[dict[str, Any]]) -> None:
    """Bad addresses: a clear message each, nothing drawn; a hostile label is only text."""
    *refused, hostile = bad
    for shown, (search, message) in zip(refused, BAD.items(), strict=True):
        assert shown["state"] == "error", shown
        assert message in shown["status"], (search, shown["status"])
        assert shown["nodeCount"] == 0
    assert hostile["state"] == "ready", hostile["status"]
    assert hostile["nodeCount"] == 0
    assert HOSTILE_LABEL in hostile["summary"]
    assert hostile["owned"] is None
