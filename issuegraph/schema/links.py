"""Links: IssueLink, an issue's list of linked issues, link-type descriptions, and the
inputs and payloads of the link mutations.

A link's ends (`source`, `target`) and an edge's `node` are plain attributes, given when
the link is made: whoever makes one holds both issues already (a page of links holds its
issue and the linked one). This module refers to `Issue` by annotation only
(`schema.issues` makes the pages), so the two import in one direction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

from issuegraph import models
from issuegraph.context import Info
from issuegraph.domain import link_types
from issuegraph.domain.link_types import LinkType
from issuegraph.domain.links import OnConflict
from issuegraph.schema.execution import in_place, reads_model
from issuegraph.schema.objects import built
from issuegraph.schema.pagination import Connection, PageInfo, encode_link_cursor
from issuegraph.schema.payloads import UserError
from issuegraph.schema.users import User, load_user

# Issue (`schema.issues`) makes these types and refers to them; they name it lazily, and
# Strawberry finds it when it builds the schema. Not imported here, not even for the type
# checker (which sees Any): the two modules import in one direction only.
if TYPE_CHECKING:
    LazyIssue = Any
else:
    LazyIssue = Annotated["Issue", strawberry.lazy("issuegraph.schema.issues")]  # noqa: F821


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
    source: LazyIssue
    target: LazyIssue
    model: strawberry.Private[models.IssueLink]

    @classmethod
    def from_model(cls, link: models.IssueLink, source: LazyIssue, target: LazyIssue) -> Self:
        """The link, with its ends (the issues `link.source_id`, `link.target_id`)."""
        return built(
            cls,
            {
                "pk": link.id,
                "database_id": link.id,
                "link_type": _seen_from_source(link),
                "created_at": link.created_at,
                "updated_at": link.updated_at,
                "source": source,
                "target": target,
                "model": link,
            },
        )

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        return await load_user(info, self.model.author_id)

    @strawberry.field(description="Who last changed the link's type; null until someone does.")
    async def updated_by(self, info: Info) -> User | None:
        return await load_user(info, self.model.updated_by_id)


def _seen_from_source(link: models.IssueLink) -> LinkType:
    return link_types.seen_from(link.link_type, is_source=True)


# What `from_model` gives each field, read from the link (see `Models`).
reads_model(
    IssueLink,
    models.IssueLink,
    pk="id",
    database_id="id",
    link_type=_seen_from_source,
    created_at="created_at",
    updated_at="updated_at",
)


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
    node: LazyIssue = strawberry.field(description="The issue at the other end of the link.")
    link: IssueLink
    link_type: LinkType = strawberry.field(description="The link's type read from this side.")
    link_created_at: dt.datetime
    link_updated_at: dt.datetime


@strawberry.type
class LinkedIssueConnection(Connection[LazyIssue]):
    edges: list[LinkedIssueEdge]  # type: ignore[assignment]  # edges that carry the link
    page_info: PageInfo = strawberry.field(resolver=_page_info)
    has_next_page: strawberry.Private[bool]
    has_previous_page: strawberry.Private[bool]


@strawberry.type(description="A link as GitLab's GET .../links/:id shows it.")
class IssueLinkDetails:
    link: IssueLink
    source_issue: LazyIssue
    target_issue: LazyIssue
    link_type: LinkType = strawberry.field(description="The type as seen from the source.")


# -- the link mutations' inputs and payloads ------------------------------------------------


@strawberry.input(description="A link from one issue (project + iid) to another.")
class IssueLinkInput:
    project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    iid: int
    target_project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    target_issue_iid: int
    link_type: LinkType = strawberry.field(
        default=LinkType.RELATES_TO, description="As seen from the first issue."
    )
    on_conflict: OnConflict = OnConflict.ERROR
    comment: str | None = strawberry.field(
        default=None, description="Stored as a note on the first issue (Jira)."
    )
    silent: bool = strawberry.field(
        default=False, description="Emit no change event for this link (SourceCraft)."
    )


@strawberry.input
class CreateIssueLinkInput(IssueLinkInput):
    client_mutation_id: str | None = None


@strawberry.type
class IssueLinkPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    link: IssueLink | None = None
    source_issue: LazyIssue | None = strawberry.field(
        default=None, description="The link's stored source (GitLab's source_issue)."
    )
    target_issue: LazyIssue | None = strawberry.field(
        default=None, description="The link's stored target (GitLab's target_issue)."
    )
    link_type: LinkType | None = strawberry.field(
        default=None, description="The link's type as seen from its source."
    )
    created: bool | None = strawberry.field(
        default=None, description="False when RETURN_EXISTING returned an existing link."
    )


@strawberry.type(description="One link of a bulk creation.")
class CreatedIssueLink:
    link: IssueLink
    source_issue: LazyIssue
    target_issue: LazyIssue
    link_type: LinkType
    created: bool = strawberry.field(
        description="False when RETURN_EXISTING returned an existing link."
    )


@strawberry.input
class CreateIssueLinksInput:
    links: list[IssueLinkInput] = strawberry.field(description="1 to 100 links, all or none.")
    client_mutation_id: str | None = None


@strawberry.input
class DeleteIssueLinkInput:
    project: strawberry.ID
    iid: int
    link_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The link's global id or databaseId; or name it by its other end "
        "(targetProject and targetIssueIid).",
    )
    target_project: strawberry.ID | None = strawberry.field(
        default=None, description="The project of the issue at the link's other end."
    )
    target_issue_iid: int | None = strawberry.field(
        default=None,
        description="The issue at the link's other end (there is at most one link per pair).",
    )
    silent: bool = False
    client_mutation_id: str | None = None


@strawberry.input
class UpdateIssueLinkInput:
    project: strawberry.ID
    iid: int
    link_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The link's global id or databaseId; or name it by its other end "
        "(targetProject and targetIssueIid).",
    )
    target_project: strawberry.ID | None = strawberry.field(
        default=None, description="The project of the issue at the link's other end."
    )
    target_issue_iid: int | None = strawberry.field(
        default=None,
        description="The issue at the link's other end (there is at most one link per pair).",
    )
    link_type: LinkType = strawberry.field(description="The new type, as seen from this issue.")
    silent: bool = False
    client_mutation_id: str | None = None


@strawberry.type
class CreateIssueLinksPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    links: list[CreatedIssueLink] | None = None
