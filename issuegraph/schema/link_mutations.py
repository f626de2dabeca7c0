"""Inputs and payloads of the link mutations."""

from __future__ import annotations

import strawberry

from issuegraph.domain.link_types import LinkType
from issuegraph.domain.links import OnConflict
from issuegraph.schema.links import IssueLink
from issuegraph.schema.types import Issue, UserError


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
    source_issue: Issue | None = strawberry.field(
        default=None, description="The link's stored source (GitLab's source_issue)."
    )
    target_issue: Issue | None = strawberry.field(
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
    source_issue: Issue
    target_issue: Issue
    link_type: LinkType
    created: bool = strawberry.field(
        description="False when RETURN_EXISTING returned an existing link."
    )


@strawberry.input
class CreateIssueLinksInput:
    links: list[IssueLinkInput] = strawberry.field(description="1 to 100 links, all or none.")
    client_mutation_id: str | None = None


@strawberry.type
class CreateIssueLinksPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    links: list[CreatedIssueLink] | None = None


@strawberry.type
class DeleteIssuePayload:
    client_mutation_id: str | None
    errors: list[UserError]
    issue: Issue | None = strawberry.field(default=None, description="The issue as it was.")


@strawberry.input
class DeleteIssueLinkInput:
    project: strawberry.ID
    iid: int
    link_id: strawberry.ID = strawberry.field(description="The link's global id or databaseId.")
    silent: bool = False
    client_mutation_id: str | None = None


@strawberry.input
class UpdateIssueLinkInput:
    project: strawberry.ID
    iid: int
    link_id: strawberry.ID = strawberry.field(description="The link's global id or databaseId.")
    link_type: LinkType = strawberry.field(description="The new type, as seen from this issue.")
    silent: bool = False
    client_mutation_id: str | None = None


@strawberry.input
class DeleteIssueInput:
    project: strawberry.ID
    iid: int
    client_mutation_id: str | None = None
