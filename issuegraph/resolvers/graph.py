"""Root fields of the dependency graph: a path between two issues."""

from __future__ import annotations

from typing import Annotated

import strawberry

from issuegraph.context import Info
from issuegraph.domain import graph
from issuegraph.domain.graph import GraphService
from issuegraph.domain.link_types import LinkType
from issuegraph.schema.graph import IssuePath, IssueRef
from issuegraph.schema.issues import Issue, issue_link


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
        ctx = info.context
        ends = []
        for ref in (from_, to):
            project = await ctx.access.project(str(ref.project))
            issue = await ctx.access.issue(project, ref.iid) if project else None
            if issue is None:
                return None
            ends.append(issue)
        service = GraphService(ctx.loaders)
        found = await service.path(
            ends[0],
            ends[1],
            graph.stored_types([LinkType.BLOCKS] if link_types is None else link_types),
            directed=directed,
            max_depth=max_depth,
        )
        if found is None:
            return None
        ids, links = found
        loaded = await ctx.loaders.issue_by_id.load_many(ids)
        issues = {i.id: Issue.from_model(i) for i in loaded if i is not None}
        return IssuePath(
            issues=[issues[i] for i in ids if i in issues],
            links=[issue_link(link, issues) for link in links],
            length=len(links),
        )
