"""The dependency graph: walks and rollups from each issue, the links among a set of
issues, a project's ready issues (open, no open blocker) and their count."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from issuegraph.db.queries import graph as graph_queries
from issuegraph.loaders.core import RequestLoader, by_shape

if TYPE_CHECKING:
    from issuegraph.db.queries.graph import Reached, Walk
    from issuegraph.models import Issue, IssueLink

WalkKey = tuple[int, "Walk"]
# (issue ids, stored link types)
AmongKey = tuple[frozenset[int], tuple[str, ...]]
# (project id, the iid the page starts after or None, rows asked for)
ReadyPageKey = tuple[int, int | None, int]


class WalkByIssueLoader(RequestLoader[WalkKey, "list[Reached]"]):
    """One statement per distinct walk, for every issue that asked for it."""

    async def batch(self, keys: list[WalkKey]) -> list[list[Reached]]:
        found: dict[WalkKey, list[Reached]] = {key: [] for key in keys}
        for (walk,), anchors in by_shape(keys).items():
            reached = await graph_queries.walk_from(self.pool, anchors, walk, self.scope)
            for one in reached:
                found[(one.anchor_id, walk)].append(one)
            self.primer.prime_issues([one.issue for one in reached], force=False)
        return [found[key] for key in keys]


class RollupByIssueLoader(RequestLoader[WalkKey, tuple[int, int]]):
    """(issues reached, closed ones among them), one statement per distinct walk."""

    async def batch(self, keys: list[WalkKey]) -> list[tuple[int, int]]:
        found: dict[WalkKey, tuple[int, int]] = {}
        for (walk,), anchors in by_shape(keys).items():
            counts = await graph_queries.rollups(self.pool, anchors, walk, self.scope)
            for anchor in anchors:
                found[(anchor, walk)] = counts.get(anchor, (0, 0))
        return [found[key] for key in keys]


class LinksAmongIssuesLoader(RequestLoader[AmongKey, "list[IssueLink]"]):
    """Links inside each set of issues: one statement per link-type set, over the union."""

    async def batch(self, keys: list[AmongKey]) -> list[list[IssueLink]]:
        by_types: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for ids, types in keys:
            by_types[types] |= ids
        links = {
            types: await graph_queries.links_among(self.pool, sorted(ids), types)
            for types, ids in by_types.items()
        }
        return [
            [link for link in links[types] if link.source_id in ids and link.target_id in ids]
            for ids, types in keys
        ]


class ReadyIssuePageByProjectLoader(RequestLoader[ReadyPageKey, "list[Issue]"]):
    """A page of a project's open issues that no open, readable issue blocks, by iid."""

    async def batch(self, keys: list[ReadyPageKey]) -> list[list[Issue]]:
        pages = []
        for project_id, after_iid, limit in keys:
            rows = await graph_queries.ready_issues_page(
                self.pool, project_id=project_id, scope=self.scope, after_iid=after_iid, limit=limit
            )
            self.primer.prime_issues(rows, force=False)
            pages.append(rows)
        return pages


class ReadyIssueCountByProjectLoader(RequestLoader[int, int]):
    async def batch(self, keys: list[int]) -> list[int]:
        return [
            await graph_queries.count_ready_issues(self.pool, project_id=p, scope=self.scope)
            for p in keys
        ]
