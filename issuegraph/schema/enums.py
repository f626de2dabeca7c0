"""GraphQL enums; the domain's own enums, exposed under their schema names."""

from __future__ import annotations

import enum

import strawberry

from issuegraph.domain.errors import ErrorCode
from issuegraph.domain.models import IssueState, Role, Visibility

ErrorCodeEnum = strawberry.enum(ErrorCode, name="ErrorCode", description="Why a request failed.")
IssueStateEnum = strawberry.enum(IssueState, name="IssueState")
VisibilityEnum = strawberry.enum(
    Visibility,
    name="Visibility",
    description="PUBLIC: anyone; INTERNAL: any signed-in user; PRIVATE: members only.",
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
