"""Inputs and payloads of the mutations. Every payload carries `errors` as data."""

from __future__ import annotations

import datetime as dt

import strawberry

from issuegraph.domain.models import Role, Visibility
from issuegraph.schema.enums import IssueStateEvent
from issuegraph.schema.types import Issue, Project, User, UserError


@strawberry.input
class CreateProjectInput:
    full_path: str = strawberry.field(description='Path such as "group/sub/project".')
    name: str | None = strawberry.field(default=None, description="Defaults to the last segment.")
    visibility: Visibility = Visibility.PRIVATE
    description: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class CreateProjectPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    project: Project | None = None


@strawberry.input
class AddProjectMemberInput:
    project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    username: str
    role: Role
    client_mutation_id: str | None = None


@strawberry.type
class AddProjectMemberPayload:
    client_mutation_id: str | None
    errors: list[UserError]
    project: Project | None = None
    user: User | None = None
    role: Role | None = None


@strawberry.input
class CreateIssueInput:
    project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    title: str
    description: str | None = None
    labels: list[str] | None = None
    assignee_usernames: list[str] | None = None
    confidential: bool = False
    weight: int | None = None
    due_date: dt.date | None = None
    milestone: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class IssuePayload:
    client_mutation_id: str | None
    errors: list[UserError]
    issue: Issue | None = None


@strawberry.input(description="Fields left out are not changed; null clears a nullable field.")
class UpdateIssueInput:
    project: strawberry.ID = strawberry.field(description="Numeric id or full path.")
    iid: int
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    state_event: IssueStateEvent | None = strawberry.UNSET
    labels: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all labels."
    )
    add_labels: list[str] | None = strawberry.UNSET
    remove_labels: list[str] | None = strawberry.UNSET
    assignee_usernames: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all assignees; [] unassigns everyone."
    )
    confidential: bool | None = strawberry.UNSET
    milestone: str | None = strawberry.UNSET
    due_date: dt.date | None = strawberry.UNSET
    weight: int | None = strawberry.UNSET
    client_mutation_id: str | None = None
