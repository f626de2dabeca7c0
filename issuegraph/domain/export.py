"""A project's dependency graph, or an issue's closure: what `issuegraph graph` prints,
`Project.graph` answers and `GET /graphql/graph/export` sends, all made here.

Each reads as one viewer, through the same rules as the API: an issue the viewer may not
read is never a node, and a walk never passes through one. Only how many such issues
touch the graph is told (`hidden_count`), never which.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from issuegraph.db.queries import export as export_queries
from issuegraph.db.queries import graph as graph_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.domain import validation
from issuegraph.domain.errors import DomainError, ErrorCode, bad_input
from issuegraph.domain.graph import Direction, GraphReads, whole_walk
from issuegraph.domain.link_types import LinkType, canonical
from issuegraph.models import IssueState, StoredLinkType, TokenScope, User, Viewer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from issuegraph.domain.access import Access, Loading
    from issuegraph.models import Issue, IssueLink, Project

DEFAULT_TYPES: tuple[str, ...] = (StoredLinkType.BLOCKS.value, StoredLinkType.PARENT.value)
ALL_TYPES: tuple[str, ...] = tuple(sorted(kind.value for kind in StoredLinkType))
# `Project.graph(first:)`: its default and its bound.
DEFAULT_FIRST = 300
MAX_FIRST = 1000

# Reads with full access, for an operator at the command line (never a stored user).
OPERATOR = Viewer(
    user=User(
        id=0,
        username="operator",
        name="Command-line operator",
        state="active",
        avatar_url=None,
        is_admin=True,
        created_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    ),
    scopes=frozenset({TokenScope.READ_API}),
)


class ExportReads(GraphReads, Protocol):
    """The loaders an export reads through (`loaders.Loaders` has them)."""

    @property
    def project_by_id(self) -> Loading[int, Project | None]: ...


@dataclass(frozen=True, slots=True)
class GraphNode:
    issue: Issue
    project_path: str

    @property
    def reference(self) -> str:
        return f"{self.project_path}#{self.issue.iid}"


@dataclass(frozen=True, slots=True)
class ExportedGraph:
    nodes: list[GraphNode]  # by project path, then iid
    edges: list[IssueLink]  # by source, then target (in node order), then type and id
    # A project's graph: how many of its readable issues pass the filters (the nodes hold
    # the first `first` of them by iid), and whether that left some out.
    issue_count: int = 0
    truncated: bool = False
    # Unreadable issues linked by the graph's types to a node; None when not asked for.
    hidden_count: int | None = None


@dataclass(frozen=True, slots=True)
class GraphFilter:
    """Which of a project's issues a graph shows: every one of `labels` (lower-cased;
    None: any) and a state among `states` (None: any)."""

    labels: tuple[str, ...] | None = None
    states: tuple[IssueState, ...] | None = None


def graph_filter(labels: Sequence[str] | None, states: Sequence[IssueState] | None) -> GraphFilter:
    """The filter of these arguments, or BAD_USER_INPUT (at `labels`, `states`)."""
    wanted: tuple[str, ...] | None = None
    if labels:
        given = validation.labels(labels, ["labels"])
        wanted = tuple(label.lower() for label in given)
    if states is not None and not states:
        raise bad_input("states must name at least one state (or be null for all)", ["states"])
    return GraphFilter(
        labels=wanted,
        states=tuple(sorted(set(states), key=lambda s: s.value)) if states else None,
    )


def link_kinds(link_types: Sequence[LinkType] | None) -> tuple[str, ...]:
    """The stored kinds these API names name (an inverse name its kind); None: every kind."""
    if link_types is None:
        return ALL_TYPES
    if not link_types:
        raise bad_input("linkTypes must name at least one type", ["linkTypes"])
    return tuple(sorted({canonical(t)[0].value for t in link_types}))


def check_first(first: int, maximum: int = MAX_FIRST) -> int:
    if not 1 <= first <= maximum:
        raise bad_input(f"first must be between 1 and {maximum}", ["first"], max=maximum)
    return first


def parse_link_types(text: str) -> tuple[str, ...]:
    """`blocks,parent`: stored kinds (relates, blocks, duplicates, parent, clones) or link
    type names as the API spells them (is_blocked_by, PARENT_OF, ...), which name their kind."""
    names = [part.strip().lower().replace("-", "_") for part in text.split(",")]
    if not any(names):
        raise ValueError("name at least one link type")
    stored = {kind.value for kind in StoredLinkType}
    by_name = {t.value: t for t in LinkType}
    found: set[str] = set()
    for name in filter(None, names):
        if name in stored:
            found.add(name)
        elif name in by_name:
            found.add(canonical(by_name[name])[0].value)
        else:
            choices = ", ".join(kind.value for kind in StoredLinkType)
            raise ValueError(f"unknown link type {name!r} (choose from {choices})")
    return tuple(sorted(found))


async def viewer_for(pool: object, username: str | None) -> Viewer:
    """The viewer to read as: a user by name, or the full-access operator."""
    if username is None:
        return OPERATOR
    users = await user_queries.users_by_usernames(pool, [username])
    if not users:
        raise DomainError(ErrorCode.NOT_FOUND, f"user {username!r} not found")
    user = users[0]
    if user.state != "active":
        raise DomainError(ErrorCode.FORBIDDEN, f"user {user.username!r} is {user.state}")
    return Viewer(user=user, scopes=frozenset({TokenScope.READ_API}))


async def readable_project(access: Access, ref: str) -> Project:
    """The project of a reference (full path or id), or NOT_FOUND, hidden or not."""
    project = await access.project(ref)
    if project is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"project {ref!r} not found")
    return project


async def project_graph(
    access: Access,
    pool: object,
    reads: ExportReads,
    project: Project,
    types: tuple[str, ...],
    *,
    only: GraphFilter | None = None,
    first: int | None = None,
    hidden: bool = False,
) -> ExportedGraph:
    """The project's readable issues that pass `only` (every one without), the first
    `first` of them by iid (all without), and the links of these kinds that touch them,
    with the readable issues of other projects at their far ends. With `hidden`, how many
    unreadable issues those links reach from a node (`hidden_count`). Two statements, three
    with `hidden`, whatever the project's size: the bound is applied in the first."""
    only = only or GraphFilter()
    found = await export_queries.project_graph_issues(
        pool,
        project.id,
        types,
        access.read_scope(),
        labels=list(only.labels) if only.labels is not None else None,
        states=[s.value for s in only.states] if only.states is not None else None,
        limit=first,
    )
    issues = found.issues
    own = {issue.id for issue in issues if issue.project_id == project.id}
    ids = [issue.id for issue in issues]
    links = await graph_queries.links_among(pool, ids, types) if ids else []
    touching = [link for link in links if link.source_id in own or link.target_id in own]
    hidden_count = None
    if hidden:
        hidden_count = 0
        if ids:
            hidden_count = await reads.hidden_count_by_issues.load((frozenset(ids), types))
    graph = await _assemble(reads, issues, touching)
    return ExportedGraph(
        nodes=graph.nodes,
        edges=graph.edges,
        issue_count=found.matching,
        truncated=first is not None and found.matching > first,
        hidden_count=hidden_count,
    )


async def issue_graph(
    access: Access, reads: ExportReads, project_ref: str, iid: int, types: tuple[str, ...]
) -> ExportedGraph:
    """The issue and its whole closure over these kinds, both ways (the `dependencies`
    field with direction BOTH and no depth bound), with the links among them."""
    project = await readable_project(access, project_ref)
    issue = await access.issue(project, iid)
    if issue is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"issue {project.full_path}#{iid} not found")
    reached = await reads.walk_by_issue.load((issue.id, whole_walk(types, Direction.BOTH)))
    issues = [issue, *(r.issue for r in reached)]
    links = await reads.links_among_issues.load((frozenset(i.id for i in issues), types))
    return await _assemble(reads, issues, links)


async def _assemble(
    reads: ExportReads, issues: list[Issue], links: list[IssueLink]
) -> ExportedGraph:
    project_ids = sorted({issue.project_id for issue in issues})
    projects = await asyncio.gather(*(reads.project_by_id.load(pid) for pid in project_ids))
    paths = {p.id: p.full_path for p in projects if p is not None}
    nodes = sorted(
        (GraphNode(issue=i, project_path=paths[i.project_id]) for i in issues),
        key=lambda n: (n.project_path, n.issue.iid, n.issue.id),
    )
    position = {node.issue.id: n for n, node in enumerate(nodes)}
    edges = sorted(
        (link for link in links if link.source_id in position and link.target_id in position),
        key=lambda e: (position[e.source_id], position[e.target_id], e.link_type.value, e.id),
    )
    return ExportedGraph(nodes=nodes, edges=edges)
