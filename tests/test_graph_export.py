"""`issuegraph graph`: the dependency graph as DOT, Mermaid and JSON, run as a real subprocess
against the test's own database, on the demo data and on a graph built here.

The expected graphs are written out by hand from the data each test creates; the JSON
output is compared exactly, DOT and Mermaid line by line (and DOT through Graphviz's `dot`
when it is installed).
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from strawberry import relay

from issuegraph import demo
from issuegraph.domain import issues as issue_service
from issuegraph.domain.link_types import LinkType
from issuegraph.domain.links import LinkRequest, LinkService
from issuegraph.models import Role, Visibility
from tests.helpers import Api, World

ISSUEGRAPH = Path(sys.executable).with_name("issuegraph")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


async def cli(database_url: str | None, *args: str) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env["ISSUEGRAPH_LOG_LEVEL"] = "WARNING"
    proc = await asyncio.create_subprocess_exec(
        str(ISSUEGRAPH),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def graph(database_url: str, *args: str) -> str:
    run = await cli(database_url, "graph", *args)
    assert run.returncode == 0, run
    assert run.stderr == "", run.stderr
    return run.stdout


async def graph_json(database_url: str, *args: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(await graph(database_url, "--format", "json", *args))
    return document


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


@dataclass
class Catalogue:
    """What the database holds, by reference: to turn hand-written expectations into ids."""

    issues: dict[str, Any]  # "path#iid" -> row
    links: dict[tuple[str, str], Any]  # (source ref, target ref) -> row

    def node(self, ref: str) -> dict[str, Any]:
        row = self.issues[ref]
        return {
            "id": gid("Issue", row["id"]),
            "reference": ref,
            "projectPath": row["full_path"],
            "iid": row["iid"],
            "title": row["title"],
            "state": row["state"].upper(),
            "weight": row["weight"],
        }

    def edge(self, source: str, target: str, link_type: str) -> dict[str, Any]:
        row = self.links[(source, target)]
        return {
            "id": gid("IssueLink", row["id"]),
            "source": gid("Issue", self.issues[source]["id"]),
            "target": gid("Issue", self.issues[target]["id"]),
            "linkType": link_type,
        }

    def expected(self, refs: list[str], edges: list[tuple[str, str, str]]) -> dict[str, Any]:
        """Nodes sorted by (project path, iid); edges by their ends in that order."""
        nodes = sorted(refs, key=lambda r: (self.issues[r]["full_path"], self.issues[r]["iid"]))
        position = {ref: n for n, ref in enumerate(nodes)}
        ordered = sorted(edges, key=lambda e: (position[e[0]], position[e[1]]))
        return {
            "nodes": [self.node(ref) for ref in nodes],
            "edges": [self.edge(*e) for e in ordered],
        }


async def catalogue(pool: Any) -> Catalogue:
    issues = await pool.fetch(
        """
        select i.id, p.full_path, i.iid, p.full_path || '#' || i.iid as ref, i.title,
               i.state::text as state, i.weight
          from issues i join projects p on p.id = i.project_id
        """
    )
    links = await pool.fetch(
        """
        select l.id, l.link_type::text as link_type,
               sp.full_path || '#' || s.iid as source, tp.full_path || '#' || t.iid as target
          from issue_links l
          join issues s on s.id = l.source_id join projects sp on sp.id = s.project_id
          join issues t on t.id = l.target_id join projects tp on tp.id = t.project_id
        """
    )
    return Catalogue(
        issues={r["ref"]: r for r in issues},
        links={(r["source"], r["target"]): r for r in links},
    )


# -- checking DOT and Mermaid text ----------------------------------------------------------------

DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'
DOT_NODE = re.compile(rf"^  ({DOT_STRING}) \[label=({DOT_STRING}), (.+)\];$")
DOT_EDGE = re.compile(rf"^  ({DOT_STRING}) -> ({DOT_STRING}) \[label=({DOT_STRING}), (.+)\];$")
DOT_HEADER = [
    "digraph issuegraph {",
    "  rankdir=LR;",
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
]


def dot_unquote(quoted: str) -> str:
    """The text a DOT label shows: `\\n` a line break, `\\x` the character x, entities read."""
    inner = quoted[1:-1]
    text = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], inner)
    return html.unescape(text)


@dataclass
class Dot:
    nodes: dict[str, tuple[str, str]]  # id -> (label shown, the other attributes)
    edges: list[tuple[str, str, str, str]]  # (source id, target id, label, other attributes)


def parse_dot(text: str) -> Dot:
    """Well formed as this exporter writes DOT: the header, one line per node, then one line
    per edge between declared nodes, braces and brackets balanced outside strings."""
    assert text.endswith("}\n")
    outside_strings = re.sub(DOT_STRING, '""', text)
    assert '"' not in outside_strings.replace('""', "")
    for opening, closing in ("{}", "[]"):
        depth = 0
        for char in outside_strings:
            depth += {opening: 1, closing: -1}.get(char, 0)
            assert depth >= 0
        assert depth == 0, (opening, text)
    lines = text.splitlines()
    assert lines[: len(DOT_HEADER)] == DOT_HEADER
    assert lines[-1] == "}"
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str, str]] = []
    for line in lines[len(DOT_HEADER) : -1]:
        if node := DOT_NODE.match(line):
            assert not edges, "nodes come before edges"
            name = dot_unquote(node[1])
            assert name not in nodes
            nodes[name] = (dot_unquote(node[2]), node[3])
        else:
            edge = DOT_EDGE.match(line)
            assert edge, line
            source, target = dot_unquote(edge[1]), dot_unquote(edge[2])
            assert source in nodes
            assert target in nodes
            edges.append((source, target, dot_unquote(edge[3]), edge[4]))
    return Dot(nodes, edges)


def dot_binary_renders(text: str) -> list[str] | None:
    """The text lines Graphviz draws (SVG), or None when `dot` is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    done = subprocess.run(  # noqa: S603
        [dot, "-Tsvg"], input=text.encode(), capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b"", done.stderr.decode()
    root = ET.fromstring(done.stdout)  # noqa: S314  (our own dot's output)
    return [el.text or "" for el in root.iter("{http://www.w3.org/2000/svg}text")]


MERMAID_NODE = re.compile(r'^    (issue\d+)\["([^"\n]*)"\]:::(opened|closed)$')
MERMAID_EDGE = re.compile(r"^    (issue\d+) (-->|==>|-\.->|-\.-)\|([a-z ]+)\| (issue\d+)$")
MERMAID_LINK_STYLE = re.compile(r"^    linkStyle (\d+(?:,\d+)*) stroke:(#[0-9a-f]{6}),color:\2$")
MERMAID_HEADER = [
    "flowchart LR",
    "    classDef opened fill:#dcffe4,stroke:#28a745,color:#24292e",
    "    classDef closed fill:#f6f8fa,stroke:#959da5,color:#6a737d,stroke-dasharray:5 3",
]
# What the label text may hold as it is; anything else Mermaid reads must be an entity code.
MERMAID_RAW = re.compile(r'^[^"#&:<>`*_~|\\]*$')


def mermaid_unescape(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), text.replace("<br/>", "\n"))


@dataclass
class Mermaid:
    nodes: dict[str, tuple[str, str]]  # id -> (label shown, class)
    edges: list[tuple[str, str, str, str]]  # (source, arrow, label, target)
    link_styles: dict[int, str]  # edge index -> colour


def parse_mermaid(text: str) -> Mermaid:
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[: len(MERMAID_HEADER)] == MERMAID_HEADER
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str, str]] = []
    styles: dict[int, str] = {}
    for line in lines[len(MERMAID_HEADER) :]:
        if node := MERMAID_NODE.match(line):
            assert not edges
            assert MERMAID_RAW.match(re.sub(r"#\d+;|<br/>", "", node[2])), line
            nodes[node[1]] = (mermaid_unescape(node[2]), node[3])
        elif edge := MERMAID_EDGE.match(line):
            assert not styles
            assert edge[1] in nodes
            assert edge[4] in nodes
            edges.append((edge[1], edge[2], edge[3], edge[4]))
        else:
            style = MERMAID_LINK_STYLE.match(line)
            assert style, line
            for index in style[1].split(","):
                assert int(index) not in styles
                styles[int(index)] = style[2]
    assert sorted(styles) == list(range(len(edges)))
    return Mermaid(nodes, edges, styles)


# -- help and usage errors ---------------------------------------------------------------------


async def test_graph_help_describes_the_command_and_the_operator_default():
    top, sub = await asyncio.gather(cli(None, "--help"), cli(None, "graph", "--help"))
    assert top.returncode == 0
    assert "graph" in top.stdout
    assert sub.returncode == 0, sub
    assert sub.stdout.startswith("usage: issuegraph graph")
    text = " ".join(sub.stdout.split())
    for option in ("--project", "--issue", "--as", "--format", "--link-types", "--output"):
        assert option in text
    assert "{dot,mermaid,json}" in text
    assert "operator with full access (an admin viewer)" in text


async def test_bad_arguments_are_usage_errors(database_url):
    runs = await asyncio.gather(
        cli(database_url, "graph", "--project", "acme/platform", "--format", "svg"),
        cli(database_url, "graph", "--project", "acme/platform", "--link-types", "blocks,nope"),
        cli(database_url, "graph", "--project", "acme/platform", "--link-types", ","),
        cli(database_url, "graph", "--project", "acme/platform", "--issue", "0"),
        cli(database_url, "graph", "--format", "json"),
    )
    for run in runs:
        assert run.returncode == 2, run
        assert run.stdout == ""
        assert "usage: issuegraph graph" in run.stderr
        assert "Traceback" not in run.stderr
    assert "invalid choice: 'svg'" in runs[0].stderr
    assert "unknown link type 'nope'" in runs[1].stderr
    assert "at least one link type" in runs[2].stderr
    assert "not a positive number" in runs[3].stderr
    assert "--project" in runs[4].stderr


# -- the demo data ---------------------------------------------------------------------------------

PLATFORM = [f"acme/platform#{n}" for n in range(1, 9)]
# The demo's blocks and parent links (demo.LINKS, stored canonically).
DEMO_PARENT = [("acme/platform#1", f"acme/platform#{n}", "PARENT_OF") for n in (3, 4, 6)]
DEMO_BLOCKS = [
    ("acme/platform#2", "acme/platform#3", "BLOCKS"),
    ("acme/platform#3", "acme/platform#4", "BLOCKS"),
    ("acme/platform#4", "acme/platform#5", "BLOCKS"),
    ("acme/platform#6", "acme/platform#5", "BLOCKS"),
    ("acme/platform#7", "acme/platform#6", "BLOCKS"),
    ("acme/platform#4", "acme/tools#1", "BLOCKS"),  # tools#1 IS_BLOCKED_BY platform#4
]


async def test_demo_project_graph_as_the_operator(database_url, pool):
    await demo.seed_demo(pool)
    data = await catalogue(pool)
    # The catalogue agrees with the demo's own table of issues (titles, weights, states).
    for path, title, _, _, _, weight, closed in demo.ISSUES:
        found = [r for r in data.issues.values() if r["full_path"] == path and r["title"] == title]
        assert [(r["weight"], r["state"]) for r in found] == [
            (weight, "closed" if closed else "opened")
        ]

    document = await graph_json(database_url, "--project", "acme/platform")
    # Every issue of the project (closed ones and the confidential #7 too: full access),
    # plus tools#1 one blocks link away; #8 has only a relates link, which is not walked.
    assert document == data.expected([*PLATFORM, "acme/tools#1"], DEMO_PARENT + DEMO_BLOCKS)

    # Inverse and API spellings name the same kinds; a numeric project id works too.
    project_id = await pool.fetchval("select id from projects where full_path = 'acme/platform'")
    same = await graph_json(
        database_url, "--project", str(project_id), "--link-types", "IS_BLOCKED_BY, child_of"
    )
    assert same == document

    relates = await graph_json(
        database_url, "--project", "acme/platform", "--link-types", "relates"
    )
    assert relates == data.expected(
        [*PLATFORM, "acme/tools#3", "acme/security#2"],
        [
            ("acme/platform#8", "acme/platform#1", "RELATES_TO"),
            ("acme/tools#3", "acme/platform#5", "RELATES_TO"),
            ("acme/security#2", "acme/platform#7", "RELATES_TO"),
        ],
    )


async def test_demo_project_graph_as_users_hides_what_they_may_not_read(database_url, pool):
    await demo.seed_demo(pool)
    data = await catalogue(pool)
    types = ("--link-types", "blocks,parent,relates")
    operator, carol, bob, dave = await asyncio.gather(
        graph_json(database_url, "--project", "acme/platform", *types),
        graph_json(database_url, "--project", "acme/platform", *types, "--as", "carol"),
        graph_json(database_url, "--project", "acme/platform", *types, "--as", "BOB"),
        graph_json(database_url, "--project", "acme/platform", *types, "--as", "dave"),
    )

    def refs(document: dict[str, Any]) -> list[str]:
        return [node["reference"] for node in document["nodes"]]

    everything = [*PLATFORM, "acme/security#2", "acme/tools#1", "acme/tools#3"]
    assert refs(operator) == everything
    # carol is a developer in the private acme/security: she sees security#2.
    assert refs(carol) == everything
    assert carol == operator
    # bob is no member of acme/security: its issue is gone, and its link with it.
    assert refs(bob) == [*PLATFORM, "acme/tools#1", "acme/tools#3"]
    assert "acme/security#2" not in str(bob)
    assert bob["edges"] == [
        e for e in operator["edges"] if e["source"] != data.node("acme/security#2")["id"]
    ]
    # dave is a guest in acme/platform: the confidential #7 is hidden, and its links.
    seven = data.node("acme/platform#7")["id"]
    assert refs(dave) == [r for r in refs(bob) if r != "acme/platform#7"]
    assert dave["edges"] == [e for e in bob["edges"] if seven not in (e["source"], e["target"])]

    # The private project itself: readable by the operator, missing for bob, exactly as a
    # project that does not exist.
    security, hidden, missing = await asyncio.gather(
        graph_json(database_url, "--project", "acme/security"),
        cli(database_url, "graph", "--project", "acme/security", "--as", "bob"),
        cli(database_url, "graph", "--project", "acme/nowhere", "--as", "bob"),
    )
    assert security == data.expected(
        ["acme/security#1", "acme/security#2"],
        [("acme/security#1", "acme/security#2", "BLOCKS")],
    )
    for run, path in ((hidden, "acme/security"), (missing, "acme/nowhere")):
        assert run.returncode == 1, run
        assert run.stdout == ""
        assert run.stderr == f"issuegraph: project '{path}' not found\n"


async def test_demo_issue_closure_both_ways_matches_the_dependencies_field(
    database_url, pool, api: Api, world: World
):
    await demo.seed_demo(pool)
    data = await catalogue(pool)
    blocks_only = await graph_json(
        database_url, "--project", "acme/platform", "--issue", "4", "--link-types", "blocks"
    )
    # Upstream 3 <- 2; downstream 5 and tools#1; then 6 (blocks 5) and 7 (blocks 6).
    assert blocks_only == data.expected(
        ["acme/platform#2", *PLATFORM[2:7], "acme/tools#1"], DEMO_BLOCKS
    )
    default = await graph_json(database_url, "--project", "acme/platform", "--issue", "4")
    assert default == data.expected([*PLATFORM[:7], "acme/tools#1"], DEMO_PARENT + DEMO_BLOCKS)

    # The same closure as GraphQL's `dependencies(direction: BOTH)`, for an admin.
    token = await world.token("root")
    query = """
      query($p: ID!, $iid: Int!, $types: [LinkType!]) {
        issue(project: $p, iid: $iid) {
          reference
          dependencies(direction: BOTH, linkTypes: $types, maxDepth: 100) {
            nodes { issue { reference } } edges { id }
          }
        }
      }
    """
    cases = [
        ("acme/platform", 4, ["BLOCKS"], "blocks"),
        ("acme/platform", 8, ["RELATES_TO"], "relates"),
        ("acme/tools", 2, ["DUPLICATES", "RELATES_TO"], "duplicates,relates"),
        ("acme/security", 1, ["BLOCKS", "PARENT_OF", "RELATES_TO"], "blocks,parent,relates"),
    ]
    for path, iid, api_types, cli_types in cases:
        response = await api.gql(query, {"p": path, "iid": iid, "types": api_types}, token=token)
        found = response.data["issue"]
        document = await graph_json(
            database_url, "--project", path, "--issue", str(iid), "--link-types", cli_types
        )
        expected_refs = {found["reference"]} | {
            n["issue"]["reference"] for n in found["dependencies"]["nodes"]
        }
        assert {n["reference"] for n in document["nodes"]} == expected_refs, path
        assert {e["id"] for e in document["edges"]} == {
            e["id"] for e in found["dependencies"]["edges"]
        }


async def test_unknown_or_hidden_issue_and_unknown_user_fail_with_a_message(database_url, pool):
    await demo.seed_demo(pool)
    runs = await asyncio.gather(
        cli(database_url, "graph", "--project", "acme/platform", "--issue", "99"),
        # The confidential #7 for a guest: the same answer as for an issue that is not there.
        cli(database_url, "graph", "--project", "acme/platform", "--issue", "7", "--as", "dave"),
        cli(database_url, "graph", "--project", "acme/nowhere", "--issue", "1"),
        cli(database_url, "graph", "--project", "acme/platform", "--as", "nobody"),
    )
    assert [(r.returncode, r.stdout, r.stderr) for r in runs] == [
        (1, "", "issuegraph: issue acme/platform#99 not found\n"),
        (1, "", "issuegraph: issue acme/platform#7 not found\n"),
        (1, "", "issuegraph: project 'acme/nowhere' not found\n"),
        (1, "", "issuegraph: user 'nobody' not found\n"),
    ]
    # Readable by someone who may: carol is the assignee of #7.
    ok = await graph_json(
        database_url, "--project", "acme/platform", "--issue", "7", "--as", "carol"
    )
    assert "acme/platform#7" in [n["reference"] for n in ok["nodes"]]


# -- a graph built here --------------------------------------------------------------------------

TRICKY = 'Fix "quoted" [bracket] {brace} (paren) <b>tag</b> &amp; #1; \\N back\\slash |pipe| *x* _y_ `z` a:b; c'


async def build(pool: Any, world: World) -> dict[str, Any]:
    """team/app (public) #1..#5, team/other (internal) #1..#3, team/secret (private) #1:

    other#1 -blocks-> app#1 -blocks-> app#2 -parent-> app#3 (closed) -blocks-> secret#1
    app#1 -relates- app#4 -duplicates-> other#2 <-blocks- other#1; app#5 and other#3 unlinked.
    """
    alice = await world.user("alice")
    olga = await world.user("olga")  # signed in, member of nothing
    sam = await world.user("sam")
    app = await world.project(alice, "team/app", Visibility.PUBLIC)
    other = await world.project(alice, "team/other", Visibility.INTERNAL)
    secret = await world.project(alice, "team/secret", Visibility.PRIVATE)
    await world.member(secret, sam, Role.GUEST)
    for title, weight in (("First", 3), ("Second", None), ("Third", 1), ("Fourth", 2)):
        await world.issue(alice, app, title, weight=weight)
    await world.issue(alice, app, TRICKY)
    for title in ("Other one", "Other two", "Other three"):
        await world.issue(alice, other, title)
    await world.issue(alice, secret, "Secret one")
    await issue_service.update_issue(
        world.access(alice),
        pool,
        project_ref="team/app",
        iid=3,
        changes=issue_service.IssueChanges(given=frozenset({"state_event"}), state_event="close"),
    )
    links = [
        ("team/other", 1, LinkType.BLOCKS, "team/app", 1),
        ("team/app", 2, LinkType.IS_BLOCKED_BY, "team/app", 1),
        ("team/app", 2, LinkType.PARENT_OF, "team/app", 3),
        ("team/app", 3, LinkType.BLOCKS, "team/secret", 1),
        ("team/app", 1, LinkType.RELATES_TO, "team/app", 4),
        ("team/app", 4, LinkType.DUPLICATES, "team/other", 2),
        ("team/other", 1, LinkType.BLOCKS, "team/other", 2),
    ]
    await LinkService(world.access(alice), pool, max_links=100).create(
        [LinkRequest(sp, si, tp, ti, link_type=t) for sp, si, t, tp, ti in links]
    )
    return {"alice": alice, "olga": olga, "sam": sam}


APP = [f"team/app#{n}" for n in range(1, 6)]
BUILT_DEFAULT = [
    ("team/other#1", "team/app#1", "BLOCKS"),
    ("team/app#1", "team/app#2", "BLOCKS"),
    ("team/app#2", "team/app#3", "PARENT_OF"),
    ("team/app#3", "team/secret#1", "BLOCKS"),
]


async def test_built_project_graph_in_json(database_url, pool, world: World):
    await build(pool, world)
    data = await catalogue(pool)
    operator, olga, sam, every_type = await asyncio.gather(
        graph_json(database_url, "--project", "team/app"),
        graph_json(database_url, "--project", "team/app", "--as", "olga"),
        graph_json(database_url, "--project", "team/app", "--as", "sam"),
        graph_json(
            database_url,
            "--project",
            "team/app",
            "--link-types",
            "blocks,parent,relates,duplicates,clones",
        ),
    )
    assert operator == data.expected([*APP, "team/other#1", "team/secret#1"], BUILT_DEFAULT)
    assert operator["nodes"][2]["state"] == "CLOSED"
    assert operator["nodes"][1]["weight"] is None
    assert operator["nodes"][4]["title"] == TRICKY
    # olga may not read the private project: its issue and the link to it are gone.
    assert olga == data.expected([*APP, "team/other#1"], BUILT_DEFAULT[:3])
    # sam, a guest there, may.
    assert sam == operator
    # Links between two issues of other projects (other#1 blocks other#2) are not the
    # project's: other#2 is in only through app#4's duplicates link.
    assert every_type == data.expected(
        [*APP, "team/other#1", "team/other#2", "team/secret#1"],
        [
            *BUILT_DEFAULT,
            ("team/app#1", "team/app#4", "RELATES_TO"),
            ("team/app#4", "team/other#2", "DUPLICATES"),
        ],
    )


async def test_built_issue_closure_in_json(database_url, pool, world: World):
    await build(pool, world)
    data = await catalogue(pool)
    closure, as_olga, from_other = await asyncio.gather(
        graph_json(database_url, "--project", "team/app", "--issue", "2"),
        graph_json(database_url, "--project", "team/app", "--issue", "2", "--as", "olga"),
        graph_json(
            database_url, "--project", "team/other", "--issue", "2", "--link-types", "blocks"
        ),
    )
    # Both ways from app#2, then onwards: other#1 also blocks other#2, which is in the closure.
    whole = [*BUILT_DEFAULT, ("team/other#1", "team/other#2", "BLOCKS")]
    refs = ["team/app#1", "team/app#2", "team/app#3", "team/other#1", "team/other#2"]
    assert closure == data.expected([*refs, "team/secret#1"], whole)
    # The walk never steps onto secret#1 for olga.
    assert as_olga == data.expected(refs, [e for e in whole if e[1] != "team/secret#1"])
    # Over blocks only, from other#2 the parent link app#2 -> app#3 is not walked.
    assert from_other == data.expected(
        ["team/app#1", "team/app#2", "team/other#1", "team/other#2"],
        [e for e in whole if e[2] == "BLOCKS" and e[1] != "team/secret#1"],
    )


async def test_built_project_graph_in_dot(database_url, pool, world: World):
    await build(pool, world)
    data = await catalogue(pool)
    text = await graph(
        database_url, "--project", "team/app", "--link-types", "blocks,parent,relates,duplicates"
    )
    dot = parse_dot(text)
    refs = [*APP, "team/other#1", "team/other#2", "team/secret#1"]
    assert list(dot.nodes) == refs
    for ref, (label, attrs) in dot.nodes.items():
        assert label == f"{ref} {data.issues[ref]['title']}"
        if ref == "team/app#3":  # closed
            assert 'style="rounded,filled,dashed"' in attrs
            assert 'fillcolor="#f6f8fa"' in attrs
        else:
            assert "dashed" not in attrs
            assert 'fillcolor="#dcffe4"' in attrs
    assert [(s, t, label) for s, t, label, _ in dot.edges] == [
        ("team/app#1", "team/app#2", "blocks"),
        ("team/app#1", "team/app#4", "relates to"),
        ("team/app#2", "team/app#3", "parent of"),
        ("team/app#3", "team/secret#1", "blocks"),
        ("team/app#4", "team/other#2", "duplicates"),
        ("team/other#1", "team/app#1", "blocks"),
    ]
    styles = {label: attrs for _, _, label, attrs in dot.edges}
    assert styles["blocks"] == 'color="#d73a49", fontcolor="#d73a49", style=solid'
    assert styles["parent of"] == 'color="#6f42c1", fontcolor="#6f42c1", style=bold'
    assert styles["relates to"] == 'color="#6a737d", fontcolor="#6a737d", style=dotted, dir=none'
    assert styles["duplicates"] == 'color="#e36209", fontcolor="#e36209", style=dashed'
    assert len(text.splitlines()) == len(DOT_HEADER) + len(refs) + len(dot.edges) + 1

    drawn = dot_binary_renders(text)
    if drawn is not None:  # Graphviz is installed: it reads the file and draws every label
        for ref in refs:
            assert f"{ref} {data.issues[ref]['title']}" in drawn


async def test_built_project_graph_in_mermaid(database_url, pool, world: World):
    await build(pool, world)
    data = await catalogue(pool)
    text = await graph(
        database_url,
        "--project",
        "team/app",
        "--format",
        "mermaid",
        "--link-types",
        "blocks,parent,relates,duplicates",
    )
    chart = parse_mermaid(text)
    refs = [*APP, "team/other#1", "team/other#2", "team/secret#1"]
    ids = {ref: f"issue{data.issues[ref]['id']}" for ref in refs}
    assert list(chart.nodes) == [ids[ref] for ref in refs]
    for ref in refs:
        label, state = chart.nodes[ids[ref]]
        assert label == f"{ref} {data.issues[ref]['title']}"
        assert state == data.issues[ref]["state"]
    assert chart.edges == [
        (ids["team/app#1"], "-->", "blocks", ids["team/app#2"]),
        (ids["team/app#1"], "-.-", "relates to", ids["team/app#4"]),
        (ids["team/app#2"], "==>", "parent of", ids["team/app#3"]),
        (ids["team/app#3"], "-->", "blocks", ids["team/secret#1"]),
        (ids["team/app#4"], "-.->", "duplicates", ids["team/other#2"]),
        (ids["team/other#1"], "-->", "blocks", ids["team/app#1"]),
    ]
    assert chart.link_styles == {
        0: "#d73a49",
        1: "#6a737d",
        2: "#6f42c1",
        3: "#d73a49",
        4: "#e36209",
        5: "#d73a49",
    }
    # olga's chart has no trace of the private project.
    hidden = await graph(
        database_url, "--project", "team/app", "--format", "mermaid", "--as", "olga"
    )
    assert "secret" not in hidden
    assert ids["team/secret#1"] not in hidden
    assert len(parse_mermaid(hidden).nodes) == len(APP) + 1


async def test_titles_are_escaped_in_every_format(database_url, pool, world: World):
    await build(pool, world)
    # The API refuses line breaks in titles; rows written some other way may still hold them.
    title = TRICKY + '\nsecond "line"\r\nthird\\'
    await pool.execute(
        "update issues set title = $1 where iid = 5 and project_id = "
        "(select id from projects where full_path = 'team/app')",
        title,
    )
    args = ("--project", "team/app", "--issue", "5")
    document, dot_text, mermaid_text = await asyncio.gather(
        graph_json(database_url, *args),
        graph(database_url, *args, "--format", "dot"),
        graph(database_url, *args, "--format", "mermaid"),
    )
    assert [n["title"] for n in document["nodes"]] == [title]
    shown = "team/app#5 " + title.replace("\r\n", "\n")

    dot = parse_dot(dot_text)
    assert dot.nodes["team/app#5"][0] == shown
    line = dot_text.splitlines()[len(DOT_HEADER)]
    assert '\\"quoted\\"' in line
    assert "&amp;amp;" in line
    assert "\\\\N back\\\\slash" in line
    assert '\\nsecond \\"line\\"\\nthird\\\\"' in line
    drawn = dot_binary_renders(dot_text)
    if drawn is not None:
        assert drawn == shown.split("\n")

    chart = parse_mermaid(mermaid_text)
    assert list(chart.nodes.values()) == [(shown, "opened")]
    node_line = mermaid_text.splitlines()[len(MERMAID_HEADER)]
    assert "#34;quoted#34; [bracket] {brace} (paren) #60;b#62;tag#60;/b#62;" in node_line
    assert "<br/>second #34;line#34;<br/>third#92;" in node_line


async def test_output_file_and_deterministic_output(database_url, pool, world: World, tmp_path):
    await build(pool, world)
    target = tmp_path / "graph.dot"
    nowhere = tmp_path / "no" / "x"
    written, unwritable, *runs = await asyncio.gather(
        cli(database_url, "graph", "--project", "team/app", "--output", str(target)),
        cli(database_url, "graph", "--project", "team/app", "--output", str(nowhere)),
        *(
            graph(database_url, "--project", "team/app", "--format", fmt)
            for fmt in ("dot", "dot", "json", "json", "mermaid", "mermaid")
        ),
    )
    assert written.returncode == 0, written
    assert (written.stdout, written.stderr) == ("", "")
    assert target.read_text(encoding="utf-8") == runs[0]
    assert runs[0::2] == runs[1::2]  # the same graph, the same text
    assert unwritable.returncode == 1
    assert unwritable.stdout == ""
    assert unwritable.stderr.startswith(f"issuegraph: cannot write {nowhere}")


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "json"])
async def test_an_empty_project_gives_an_empty_graph(database_url, world: World, fmt):
    owner = await world.user("owner")
    await world.project(owner, "team/empty", Visibility.PUBLIC)
    text = await graph(database_url, "--project", "team/empty", "--format", fmt)
    if fmt == "dot":
        assert text == "\n".join([*DOT_HEADER, "}"]) + "\n"
    elif fmt == "mermaid":
        assert text == "\n".join(MERMAID_HEADER) + "\n"
    else:
        assert text == '{\n  "nodes": [],\n  "edges": []\n}\n'
