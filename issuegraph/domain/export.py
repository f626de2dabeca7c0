"""What `issuegraph graph` exports: a project's dependency graph, or an issue's closure.

Both read as one viewer, through the same rules as the API: an issue the viewer may not
read is never a node, and a walk never passes through one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from issuegraph.db.queries import export as export_queries
from issuegraph.db.queries import graph as graph_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.domain.errors import DomainError, ErrorCode
from issuegraph.domain.graph import Direction, GraphReads, whole_walk
from issuegraph.domain.link_types import LinkType, canonical
from issuegraph.models import StoredLinkType, TokenScope, User, Viewer

if TYPE_CHECKING:
    from issuegraph.domain.access import Access, Loading
    from issuegraph.models import Issue, IssueLink, Project

DEFAULT_TYPES: tuple[str, ...] = (StoredLinkType.BLOCKS.value, StoredLinkType.PARENT.value)

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


async def _readable_project(access: Access, ref: str) -> Project:
    project = await access.project(ref)
    if project is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"project {ref!r} not found")
    return project


async def project_graph(
    access: Access, pool: object, reads: ExportReads, project_ref: str, types: tuple[str, ...]
) -> ExportedGraph:
    """The project's issues (every state) and the links of these kinds that touch them,
    with the issues of other projects at their far ends."""
    project = await _readable_project(access, project_ref)
    issues = await export_queries.project_graph_issues(pool, project.id, types, access.read_scope())
    own = {issue.id for issue in issues if issue.project_id == project.id}
    links = await graph_queries.links_among(pool, [issue.id for issue in issues], types)
    touching = [link for link in links if link.source_id in own or link.target_id in own]
    return await _assemble(reads, issues, touching)


async def issue_graph(
    access: Access, reads: ExportReads, project_ref: str, iid: int, types: tuple[str, ...]
) -> ExportedGraph:
    """The issue and its whole closure over these kinds, both ways (the `dependencies`
    field with direction BOTH and no depth bound), with the links among them."""
    project = await _readable_project(access, project_ref)
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
