"""Link types: IssueLink, the edges of an issue's link list, link-type descriptions."""

from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry import relay

from issuegraph.context import Info
from issuegraph.domain import link_types, models
from issuegraph.domain.link_types import LinkType
from issuegraph.schema.execution import in_place
from issuegraph.schema.objects import built
from issuegraph.schema.pagination import Connection, PageInfo, encode_link_cursor
from issuegraph.schema.types import Issue, User, load_user


@strawberry.type(description="A kind of link, Jira style: its name and its two readings.")
class IssueLinkType:
    name: str
    outward: str = strawberry.field(description='Read from the source: "blocks".')
    inward: str = strawberry.field(description='Read from the target: "is blocked by".')
    link_type: LinkType = strawberry.field(description="The type as seen from the source.")
    inverse_link_type: LinkType = strawberry.field(description="As seen from the target.")

    @classmethod
    def from_kind(cls, kind: link_types.LinkKind) -> Self:
        return cls(
            name=kind.name,
            outward=kind.outward_phrase,
            inward=kind.inward_phrase,
            link_type=kind.outward,
            inverse_link_type=kind.inward,
        )


@strawberry.type(description="A link between two issues, stored source -> target.")
class IssueLink(relay.Node):
    pk: relay.NodeID[int]
    database_id: int = strawberry.field(description="The REST `issue_link_id`.")
    link_type: LinkType = strawberry.field(description="The type as seen from the source.")
    created_at: dt.datetime
    updated_at: dt.datetime
    model: strawberry.Private[models.IssueLink]

    @classmethod
    def from_model(cls, link: models.IssueLink) -> Self:
        return built(
            cls,
            {
                "pk": link.id,
                "database_id": link.id,
                "link_type": link_types.seen_from(link.link_type, is_source=True),
                "created_at": link.created_at,
                "updated_at": link.updated_at,
                "model": link,
            },
        )

    @strawberry.field
    async def source(self, info: Info) -> Issue:
        return await _end(info, self.model.source_id)

    @strawberry.field
    async def target(self, info: Info) -> Issue:
        return await _end(info, self.model.target_id)

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        return await load_user(info, self.model.author_id)

    @strawberry.field(description="Who last changed the link's type; null until someone does.")
    async def updated_by(self, info: Info) -> User | None:
        return await load_user(info, self.model.updated_by_id)


async def _end(info: Info, issue_id: int) -> Issue:
    # A link is only handed out when the viewer reads both ends, so both load.
    issue = await info.context.loaders.issue_by_id(issue_id)
    assert issue is not None  # noqa: S101
    return Issue.from_model(issue)


def _cursor(edge: LinkedIssueEdge) -> str:
    return encode_link_cursor(edge.link_created_at, edge.link.pk)


# The cursors are written when asked for: most pages select no edge's cursor, and lists
# below a list of issues seldom select their pageInfo.


@in_place
def _edge_cursor(root: LinkedIssueEdge, info: Info) -> str:  # noqa: ARG001  (in_place: takes info)
    return _cursor(root)


@in_place
def _page_info(root: LinkedIssueConnection, info: Info) -> PageInfo:  # noqa: ARG001  (as above)
    edges = root.edges
    return PageInfo(
        has_next_page=root.has_next_page,
        has_previous_page=root.has_previous_page,
        start_cursor=_cursor(edges[0]) if edges else None,
        end_cursor=_cursor(edges[-1]) if edges else None,
    )


@strawberry.type(description="One linked issue, seen from the issue whose list this is.")
class LinkedIssueEdge:
    cursor: str = strawberry.field(resolver=_edge_cursor)
    node: Issue = strawberry.field(description="The issue at the other end of the link.")
    link: IssueLink
    link_type: LinkType = strawberry.field(description="The link's type read from this side.")
    link_created_at: dt.datetime
    link_updated_at: dt.datetime


@strawberry.type
class LinkedIssueConnection(Connection[Issue]):
    edges: list[LinkedIssueEdge]  # type: ignore[assignment]  # edges that carry the link
    page_info: PageInfo = strawberry.field(resolver=_page_info)
    has_next_page: strawberry.Private[bool]
    has_previous_page: strawberry.Private[bool]


@strawberry.type(description="A link as GitLab's GET .../links/:id shows it.")
class IssueLinkDetails:
    link: IssueLink
    source_issue: Issue
    target_issue: Issue
    link_type: LinkType = strawberry.field(description="The type as seen from the source.")
