"""Dependency-graph types and the resolvers behind them (Issue, Project and Query fields)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from issuegraph.context import Info
from issuegraph.domain import graph
from issuegraph.domain.graph import Direction, GraphService
from issuegraph.domain.link_types import LinkType
from issuegraph.domain.models import Issue as IssueModel
from issuegraph.domain.models import IssueState
from issuegraph.schema.links import IssueLink
from issuegraph.schema.pagination import Edge, decode_id_cursor, encode_cursor, page_size
from issuegraph.schema.types import Issue, IssueConnection, page_info


@strawberry.type(description="An issue reached by a walk, and how many links away it is.")
class DependencyNode:
    issue: Issue
    distance: int


@strawberry.type(description="The transitive closure of links from an issue.")
class DependencyGraph:
    nodes: list[DependencyNode] = strawberry.field(
        description="Issues reached (the start issue not included), nearest first."
    )
    edges: list[IssueLink] = strawberry.field(
        description="The walked links between the start issue and the nodes."
    )
    depth_reached: int = strawberry.field(description="The largest distance among the nodes.")
    truncated: bool = strawberry.field(description="True when maxDepth or first left issues out.")


@strawberry.type(description="How far along the issues of a closure are (GitHub style).")
class Rollup:
    total: int
    open: int
    completed: int = strawberry.field(description="Closed ones.")
    percent_completed: int = strawberry.field(description="completed * 100 / total, rounded down.")

    @classmethod
    def from_counts(cls, total: int, closed: int) -> Rollup:
        return cls(
            total=total,
            open=total - closed,
            completed=closed,
            percent_completed=closed * 100 // total if total else 0,
        )


@strawberry.type(description="The longest chain of open blockers ending at an issue.")
class CriticalPath:
    issues: list[Issue] = strawberry.field(description="The first blocker first, the issue last.")
    issue_count: int
    total_weight: int = strawberry.field(description="Summed weight (a missing weight is 0).")


@strawberry.type(description="A shortest chain of links between two issues.")
class IssuePath:
    issues: list[Issue] = strawberry.field(description="From the first issue to the last.")
    links: list[IssueLink] = strawberry.field(description="The link of each step.")
    length: int = strawberry.field(description="Number of links.")


@strawberry.input(description="An issue, by its project (numeric id or full path) and iid.")
class IssueRef:
    project: strawberry.ID
    iid: int


def service(info: Info) -> GraphService:
    ctx = info.context
    return GraphService(ctx.pool, ctx.access.read_scope(), ctx.loaders)


async def dependencies(
    info: Info,
    issue: IssueModel,
    direction: Direction,
    link_types: list[LinkType],
    max_depth: int,
    states: list[IssueState] | None,
    first: int | None,
) -> DependencyGraph:
    found = await service(info).dependencies(
        issue,
        types=graph.stored_types(link_types),
        direction=direction,
        max_depth=max_depth,
        states=states,
        first=first,
    )
    return DependencyGraph(
        nodes=[DependencyNode(issue=Issue.from_model(i), distance=d) for i, d in found.nodes],
        edges=[IssueLink.from_model(link) for link in found.edges],
        depth_reached=found.depth_reached,
        truncated=found.truncated,
    )


async def open_blockers(info: Info, issue: IssueModel) -> list[Issue]:
    walk = graph.whole_walk(graph.BLOCKS, Direction.UPSTREAM, [IssueState.OPENED])
    reached = await info.context.loaders.walk(issue.id, walk)
    return [Issue.from_model(r.issue) for r in reached]


async def blocker_rollup(info: Info, issue: IssueModel) -> Rollup:
    walk = graph.whole_walk(graph.BLOCKS, Direction.UPSTREAM)
    return Rollup.from_counts(*await info.context.loaders.rollups.load((issue.id, walk)))


async def children_rollup(info: Info, issue: IssueModel) -> Rollup:
    walk = graph.whole_walk(graph.PARENT, Direction.DOWNSTREAM)
    return Rollup.from_counts(*await info.context.loaders.rollups.load((issue.id, walk)))


async def critical_path(info: Info, issue: IssueModel, *, weighted: bool) -> CriticalPath:
    found = await service(info).critical_path(issue, weighted=weighted)
    return CriticalPath(
        issues=[Issue.from_model(i) for i in found.issues],
        issue_count=len(found.issues),
        total_weight=found.total_weight,
    )


async def ready_issues(
    info: Info, project_id: int, first: int | None, after: str | None
) -> IssueConnection:
    from issuegraph.db.queries import graph as graph_queries  # noqa: PLC0415

    ctx = info.context
    limit = page_size(first)
    after_iid = decode_id_cursor("ready", after, maximum=2**31 - 1)
    scope = ctx.access.read_scope()
    rows = await graph_queries.ready_issues_page(
        ctx.pool, project_id=project_id, scope=scope, after_iid=after_iid, limit=limit + 1
    )
    ctx.loaders.prime_issues(rows, force=False)
    edges = [
        Edge(cursor=encode_cursor("ready", r.iid), node=Issue.from_model(r)) for r in rows[:limit]
    ]

    async def count() -> int:
        return await graph_queries.count_ready_issues(ctx.pool, project_id=project_id, scope=scope)

    return IssueConnection(
        edges=edges, page_info=page_info(edges, len(rows) > limit, after), counter=count
    )


async def dependency_order(
    info: Info, project_id: int, first: int | None, after: str | None
) -> IssueConnection:
    limit = page_size(first)
    offset = decode_id_cursor("order", after) or 0
    ordered = await service(info).dependency_order(project_id)
    window = ordered[offset : offset + limit]
    edges = [
        Edge(cursor=encode_cursor("order", offset + n + 1), node=Issue.from_model(issue))
        for n, issue in enumerate(window)
    ]

    async def count() -> int:
        return len(ordered)

    return IssueConnection(
        edges=edges,
        page_info=page_info(edges, offset + limit < len(ordered), after),
        counter=count,
    )


@strawberry.type
class GraphQuery:
    @strawberry.field(
        description="A shortest chain of links from one issue to another through issues the "
        "viewer may read, or null. `directed` follows links from source to target only."
    )
    async def path(
        self,
        info: Info,
        from_: Annotated[IssueRef, strawberry.argument(name="from")],
        to: IssueRef,
        link_types: list[LinkType] | None = None,
        directed: bool = True,
        max_depth: int = graph.DEFAULT_MAX_DEPTH,
    ) -> IssuePath | None:
        access = info.context.access
        ends = []
        for ref in (from_, to):
            project = await access.project(str(ref.project))
            issue = await access.issue(project, ref.iid) if project else None
            if issue is None:
                return None
            ends.append(issue)
        found = await service(info).path(
            ends[0],
            ends[1],
            graph.stored_types([LinkType.BLOCKS] if link_types is None else link_types),
            directed=directed,
            max_depth=max_depth,
        )
        if found is None:
            return None
        ids, links = found
        issues = await info.context.loaders.issue_by_id_loader.load_many(ids)
        return IssuePath(
            issues=[Issue.from_model(i) for i in issues if i is not None],
            links=[IssueLink.from_model(link) for link in links],
            length=len(links),
        )
