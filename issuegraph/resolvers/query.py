from __future__ import annotations

import strawberry
from strawberry import relay

from issuegraph.context import Info
from issuegraph.domain.access import parse_project_ref
from issuegraph.domain.errors import bad_input
from issuegraph.domain.validation import can_name_a_row
from issuegraph.schema.links import IssueLink
from issuegraph.schema.types import Issue, Project, User, prefetch_plan

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
        return IssueLink.from_model(link) if link else None
    if gid.type_name == "User":
        user = await info.context.loaders.user_by_id.load(pk)
        return User.from_model(user, info) if user else None
    raise bad_input(
        f"{global_id!r} names type {gid.type_name!r}, which has no global ids here",
        ["id"],
        types=list(NODE_TYPES),
    )


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user, or null for anonymous requests.")
    def viewer(self, info: Info) -> User | None:
        user = info.context.viewer.user
        return User.from_model(user, info) if user else None

    @strawberry.field(
        description="A project by numeric id or (URL-encoded) full path, if the viewer may read it."
    )
    async def project(self, info: Info, full_path: strawberry.ID) -> Project | None:
        project = await info.context.access.project(str(full_path))
        return Project.from_model(project) if project else None

    @strawberry.field(description="An issue by its project and iid, if the viewer may read it.")
    async def issue(self, info: Info, project: strawberry.ID, iid: int) -> Issue | None:
        ref = parse_project_ref(str(project))
        if isinstance(ref, str) and can_name_a_row(ref):
            # The project, the issue, its assignee ids and the users its fields show in
            # one statement; the checks below, and the fields, find them loaded.
            related = prefetch_plan(info, ())
            await info.context.loaders.issue_by_path_iid.load((ref.lower(), iid, related))
        found = await info.context.access.project(str(project))
        if found is None:
            return None
        issue = await info.context.access.issue(found, iid)
        return Issue.from_model(issue) if issue else None

    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return await resolve_node(info, str(id))
