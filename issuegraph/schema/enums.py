"""GraphQL enums; the domain's own enums, exposed under their schema names."""

from __future__ import annotations

import enum

import strawberry

from issuegraph.domain.errors import ErrorCode
from issuegraph.domain.graph import Direction
from issuegraph.domain.link_types import LinkType
from issuegraph.domain.links import OnConflict
from issuegraph.models import IssueState, Role, Visibility

ErrorCodeEnum = strawberry.enum(
    ErrorCode, name="ErrorCode", description="Why a mutation's rule said no: a UserError's code."
)
IssueStateEnum = strawberry.enum(IssueState, name="IssueState")
VisibilityEnum = strawberry.enum(
    Visibility,
    name="Visibility",
    description="PUBLIC: anyone; INTERNAL: any signed-in user; PRIVATE: members only.",
)
LinkTypeEnum = strawberry.enum(
    LinkType,
    name="LinkType",
    description="A link's type as seen from one of its issues: BLOCKS read from the "
    "blocking issue is IS_BLOCKED_BY read from the blocked one.",
)
OnConflictEnum = strawberry.enum(
    OnConflict,
    name="OnConflict",
    description="ERROR: a second link between two issues is CONFLICT. RETURN_EXISTING: "
    "return the existing link when it has the same type and direction (Jira).",
)
DirectionEnum = strawberry.enum(
    Direction,
    name="DependencyDirection",
    description="UPSTREAM follows links backwards (what blocks this, what must happen first); "
    "DOWNSTREAM forwards (what this blocks); BOTH, either way.",
)
MemberRoleEnum = strawberry.enum(
    Role, name="MemberRole", description="Project roles, from least to most powerful."
)


@strawberry.enum(description="Order of an issue list.")
class IssueSort(enum.Enum):
    CREATED_ASC = "created_asc"
    CREATED_DESC = "created_desc"


@strawberry.enum(description="Close or reopen an issue.")
class IssueStateEvent(enum.Enum):
    CLOSE = "close"
    REOPEN = "reopen"
