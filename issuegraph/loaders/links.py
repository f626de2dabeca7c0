"""Links: by id; each issue's page of linked issues, their count, whether an open issue
blocks it. Every list is read from the issue's side and leaves out what the viewer may
not read."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from issuegraph.db.queries import links as link_queries
from issuegraph.domain.link_types import LinkType, directions
from issuegraph.loaders.core import RequestLoader, by_shape
from issuegraph.models import Related

if TYPE_CHECKING:
    from issuegraph.db.queries.links import LinkedIssue
    from issuegraph.models import IssueLink

# (issue id, the link types asked for or None for all, rows asked for (the page size and
# one more, to know whether a next page exists), the (created at, link id) cursor after
# which the page starts or None, what the page's issues' fields read)
LinkPageKey = tuple[int, frozenset[LinkType] | None, int, tuple[dt.datetime, int] | None, Related]
# (issue id, the link types counted or None for all)
LinkCountKey = tuple[int, frozenset[LinkType] | None]


class LinkByIdLoader(RequestLoader[int, "IssueLink | None"]):
    async def batch(self, keys: list[int]) -> list[IssueLink | None]:
        found = {link.id: link for link in await link_queries.links_by_ids(self.pool, keys)}
        return [found.get(i) for i in keys]


class LinkedIssuesByIssueLoader(RequestLoader[LinkPageKey, "list[LinkedIssue]"]):
    """One statement per distinct (types, page size, cursor, related), paged per issue
    in SQL; primes the issues, links, assignee ids, users and projects it read."""

    async def batch(self, keys: list[LinkPageKey]) -> list[list[LinkedIssue]]:
        primer = self.primer
        pages: dict[LinkPageKey, list[LinkedIssue]] = {}
        for (types, limit, after, related), anchors in by_shape(keys).items():
            outward, inward = directions(types)
            found = await link_queries.linked_issues_page(
                self.pool,
                anchors=sorted(anchors),
                outward=outward,
                inward=inward,
                viewer_id=self.scope.viewer_id,
                admin=self.scope.admin,
                after=after,
                limit=limit,
                related=related,
            )
            rows = found.rows
            for anchor in anchors:
                pages[(anchor, types, limit, after, related)] = []
            for row in rows:
                pages[(row.anchor_id, types, limit, after, related)].append(row)
            primer.prime_issues([row.issue for row in rows], force=False)
            primer.prime_links([row.link for row in rows])
            if related.assignees:
                primer.prime_assignee_ids(
                    {r.issue.id: r.assignee_ids for r in rows if r.assignee_ids is not None}
                )
            primer.prime_related(found.related)
        return [pages[key] for key in keys]


class LinkCountByIssueLoader(RequestLoader[LinkCountKey, int]):
    """How many readable issues each issue links to (of the types), one statement per
    distinct type set."""

    async def batch(self, keys: list[LinkCountKey]) -> list[int]:
        counts: dict[LinkCountKey, int] = {}
        for (types,), anchors in by_shape(keys).items():
            outward, inward = directions(types)
            found = await link_queries.linked_issue_counts(
                self.pool,
                anchors=sorted(anchors),
                outward=outward,
                inward=inward,
                viewer_id=self.scope.viewer_id,
                admin=self.scope.admin,
            )
            for anchor in anchors:
                counts[(anchor, types)] = found.get(anchor, 0)
        return [counts[key] for key in keys]


class OpenBlockerFlagByIssueLoader(RequestLoader[int, bool]):
    """Whether an open issue the viewer may read blocks each issue."""

    async def batch(self, keys: list[int]) -> list[bool]:
        blocked = await link_queries.open_blocker_flags(
            self.pool, anchors=keys, viewer_id=self.scope.viewer_id, admin=self.scope.admin
        )
        return [i in blocked for i in keys]
