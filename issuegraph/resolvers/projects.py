"""Root fields of projects: the project query, creating projects, adding members."""

from __future__ import annotations

from typing import Any

import strawberry

from issuegraph.context import Info
from issuegraph.domain import projects as project_service
from issuegraph.resolvers.payloads import run_mutation
from issuegraph.schema.issues import Project
from issuegraph.schema.projects import (
    AddProjectMemberInput,
    AddProjectMemberPayload,
    CreateProjectInput,
    CreateProjectPayload,
)
from issuegraph.schema.users import User


@strawberry.type
class ProjectQuery:
    @strawberry.field(
        description="A project by numeric id or (URL-encoded) full path, if the viewer may read it."
    )
    async def project(self, info: Info, full_path: strawberry.ID) -> Project | None:
        project = await info.context.access.project(str(full_path))
        return Project.from_model(project) if project else None


@strawberry.type
class ProjectMutation:
    @strawberry.mutation(description="Create a project; the viewer becomes its owner.")
    async def create_project(self, info: Info, input: CreateProjectInput) -> CreateProjectPayload:
        ctx = info.context

        def build(project: Any) -> dict[str, Any]:
            ctx.loaders.project_written(project)
            return {"project": Project.from_model(project)}

        return await run_mutation(
            project_service.create_project(
                ctx.access,
                ctx.pool,
                full_path=input.full_path,
                name=input.name,
                visibility=input.visibility,
                description=input.description,
                key=input.key,
            ),
            CreateProjectPayload,
            input.client_mutation_id,
            build,
        )

    @strawberry.mutation(description="Add a user to a project with a role (maintainers, owners).")
    async def add_project_member(
        self, info: Info, input: AddProjectMemberInput
    ) -> AddProjectMemberPayload:
        ctx = info.context

        def build(added: Any) -> dict[str, Any]:
            project, user, role = added
            ctx.loaders.project_written(project)
            return {
                "project": Project.from_model(project),
                "user": User.from_model(user, info),
                "role": role,
            }

        return await run_mutation(
            project_service.add_member(
                ctx.access,
                ctx.pool,
                project_ref=str(input.project),
                username=input.username,
                role=input.role,
            ),
            AddProjectMemberPayload,
            input.client_mutation_id,
            build,
        )
