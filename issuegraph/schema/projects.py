"""The project mutations' inputs and payloads. (The Project type lives with Issue, in
`schema.issues`: each makes the other.)"""

from __future__ import annotations

import strawberry

from issuegraph.models import Role, Visibility
from issuegraph.schema.issues import Project
from issuegraph.schema.payloads import UserError
from issuegraph.schema.users import User


@strawberry.input
class CreateProjectInput:
    full_path: str = strawberry.field(description='Path such as "group/sub/project".')
    name: str | None = strawberry.field(default=None, description="Defaults to the last segment.")
    visibility: Visibility = Visibility.PRIVATE
    description: str | None = None
    key: str | None = strawberry.field(
        default=None,
        description="Jira's project key (KEY of KEY-123): 2-10 letters, digits or '_', "
        "starting with a letter, stored upper-cased. Defaults to one derived from the path.",
    )
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
