"""Writing a dependency graph out: Graphviz DOT, a Mermaid flowchart, or JSON.

Every format lists the nodes and edges in the order `domain.export` sorted them (by
project path and iid; edges by their ends), so the same graph always gives the same text.
Titles are free text: each format escapes them its own way.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from issuegraph.domain.link_types import seen_from
from issuegraph.models import IssueState, StoredLinkType

if TYPE_CHECKING:
    from collections.abc import Callable

    from issuegraph.domain.export import ExportedGraph, GraphNode

FORMATS = ("dot", "mermaid", "json")


@dataclass(frozen=True, slots=True)
class EdgeStyle:
    label: str
    color: str
    dot_style: str  # solid, bold, dashed, dotted
    mermaid_arrow: str  # -->, ==>, -.->, -.-
    directed: bool  # relates_to has no direction


EDGE_STYLES: dict[StoredLinkType, EdgeStyle] = {
    StoredLinkType.BLOCKS: EdgeStyle("blocks", "#d73a49", "solid", "-->", directed=True),
    StoredLinkType.PARENT: EdgeStyle("parent of", "#6f42c1", "bold", "==>", directed=True),
    StoredLinkType.RELATES: EdgeStyle("relates to", "#6a737d", "dotted", "-.-", directed=False),
    StoredLinkType.DUPLICATES: EdgeStyle("duplicates", "#e36209", "dashed", "-.->", directed=True),
    StoredLinkType.CLONES: EdgeStyle("clones", "#0366d6", "dashed", "-.->", directed=True),
}

# (fill, border, text) per state; closed issues are greyed out with a dashed border.
STATE_COLORS: dict[IssueState, tuple[str, str, str]] = {
    IssueState.OPENED: ("#dcffe4", "#28a745", "#24292e"),
    IssueState.CLOSED: ("#f6f8fa", "#959da5", "#6a737d"),
}


def render(graph: ExportedGraph, fmt: str) -> str:
    renderers: dict[str, Callable[[ExportedGraph], str]] = {
        "dot": to_dot,
        "mermaid": to_mermaid,
        "json": to_json,
    }
    return renderers[fmt](graph)


def global_id(type_name: str, pk: int) -> str:
    """The id the GraphQL API gives the same object (`Issue.id`, `IssueLink.id`)."""
    from strawberry import relay  # noqa: PLC0415  (keeps `issuegraph --help` fast)

    return str(relay.GlobalID(type_name, str(pk)))


def label(node: GraphNode) -> str:
    return f"{node.reference} {node.issue.title}"


# -- JSON ----------------------------------------------------------------------------------------


def to_json(graph: ExportedGraph) -> str:
    ids = {node.issue.id: global_id("Issue", node.issue.id) for node in graph.nodes}
    document = {
        "nodes": [
            {
                "id": ids[node.issue.id],
                "reference": node.reference,
                "projectPath": node.project_path,
                "iid": node.issue.iid,
                "title": node.issue.title,
                "state": node.issue.state.name,
                "weight": node.issue.weight,
            }
            for node in graph.nodes
        ],
        "edges": [
            {
                "id": global_id("IssueLink", link.id),
                "source": ids[link.source_id],
                "target": ids[link.target_id],
                "linkType": seen_from(link.link_type, is_source=True).name,
            }
            for link in graph.edges
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# -- Graphviz DOT --------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _normalise(text: str) -> str:
    """Every line break as LF; other control characters as spaces."""
    return _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))


def dot_string(text: str) -> str:
    """A DOT double-quoted string on one line: backslashes doubled (so Graphviz's own
    escapes, \\N or \\l, never apply), quotes escaped, a line break as `\\n`."""
    escaped = _normalise(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dot_label(text: str) -> str:
    """A label that shows `text` as it is: Graphviz reads HTML entities (&lt;) in every
    label, so `&` is written `&amp;`."""
    return dot_string(text.replace("&", "&amp;"))


def _dot_attrs(attrs: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in attrs.items())


def to_dot(graph: ExportedGraph) -> str:
    lines = [
        "digraph issuegraph {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    refs = {node.issue.id: dot_string(node.reference) for node in graph.nodes}
    for node in graph.nodes:
        fill, border, text = STATE_COLORS[node.issue.state]
        attrs = {
            "label": dot_label(label(node)),
            "fillcolor": f'"{fill}"',
            "color": f'"{border}"',
            "fontcolor": f'"{text}"',
        }
        if node.issue.state is IssueState.CLOSED:
            attrs["style"] = '"rounded,filled,dashed"'
        lines.append(f"  {refs[node.issue.id]} [{_dot_attrs(attrs)}];")
    for link in graph.edges:
        style = EDGE_STYLES[link.link_type]
        attrs = {
            "label": dot_label(style.label),
            "color": f'"{style.color}"',
            "fontcolor": f'"{style.color}"',
            "style": style.dot_style,
        }
        if not style.directed:
            attrs["dir"] = "none"
        lines.append(f"  {refs[link.source_id]} -> {refs[link.target_id]} [{_dot_attrs(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid -------------------------------------------------------------------------------------

# Characters Mermaid would read as syntax, HTML or Markdown inside a quoted label: written as
# its entity codes (`#34;`), which it shows as the character itself.
_MERMAID_SPECIAL = frozenset('"#&:<>`*_~|\\')


def mermaid_text(text: str) -> str:
    """A label's text for `id["..."]`: specials as entity codes, line breaks as <br/>."""
    out: list[str] = []
    for char in _normalise(text):
        if char == "\n":
            out.append("<br/>")
        elif char in _MERMAID_SPECIAL:
            out.append(f"#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def mermaid_id(node: GraphNode) -> str:
    return f"issue{node.issue.id}"


def to_mermaid(graph: ExportedGraph) -> str:
    lines = ["flowchart LR"]
    for state, (fill, border, text) in STATE_COLORS.items():
        dashes = ",stroke-dasharray:5 3" if state is IssueState.CLOSED else ""
        lines.append(f"    classDef {state.value} fill:{fill},stroke:{border},color:{text}{dashes}")
    ids = {node.issue.id: mermaid_id(node) for node in graph.nodes}
    for node in graph.nodes:
        text = mermaid_text(label(node))
        lines.append(f'    {ids[node.issue.id]}["{text}"]:::{node.issue.state.value}')
    by_type: dict[StoredLinkType, list[int]] = defaultdict(list)
    for n, link in enumerate(graph.edges):
        style = EDGE_STYLES[link.link_type]
        source, target = ids[link.source_id], ids[link.target_id]
        lines.append(f"    {source} {style.mermaid_arrow}|{style.label}| {target}")
        by_type[link.link_type].append(n)
    for link_type in sorted(by_type, key=lambda t: t.value):
        color = EDGE_STYLES[link_type].color
        indexes = ",".join(str(n) for n in by_type[link_type])
        lines.append(f"    linkStyle {indexes} stroke:{color},color:{color}")
    return "\n".join(lines) + "\n"
