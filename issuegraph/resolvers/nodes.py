"""The `node(id:)` root field: any object by its global id."""

from __future__ import annotations

import strawberry
from strawberry import relay

from issuegraph.context import Info
from issuegraph.domain.errors import bad_input
from issuegraph.domain.validation import can_name_a_row
from issuegraph.schema.issues import Issue, Project
from issuegraph.schema.links import IssueLink
from issuegraph.schema.users import user_or_none

NODE_TYPES = ("User", "Project", "Issue", "IssueLink")


async def resolve_node(info: Info, global_id: str) -> relay.Node | None:
    """The object behind a global id, or None when it is missing or hidden from the viewer."""
    try:
        gid = relay.GlobalID.from_id(global_id)
        pk = int(gid.node_id)
    except ValueError:
        raise bad_input(f"{global_id!r} is not a valid global id", ["id"]) from None
    access = info.context.access
    if gid.type_name in NODE_TYPES and not can_name_a_row(pk):
        return None
    if gid.type_name == "Issue":
        issue = await access.issue_by_id(pk)
        return Issue.from_model(issue) if issue else None
    if gid.type_name == "Project":
        project = await access.project(pk)
        return Project.from_model(project) if project else None
    if gid.type_name == "IssueLink":
        link = await access.link(pk)
        if link is None:
            return None
        # access.link read both ends: they are loaded
        source = await access.issue_by_id(link.source_id)
        target = await access.issue_by_id(link.target_id)
        assert source is not None  # noqa: S101
        assert target is not None  # noqa: S101
        return IssueLink.from_model(link, Issue.from_model(source), Issue.from_model(target))
    if gid.type_name == "User":
        return user_or_none(await info.context.loaders.user_by_id.load(pk), info)
    raise bad_input(
        f"{global_id!r} names type {gid.type_name!r}, which has no global ids here",
        ["id"],
        types=list(NODE_TYPES),
    )


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return await resolve_node(info, str(id))
