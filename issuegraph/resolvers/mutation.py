from __future__ import annotations

import dataclasses
from typing import Any

import strawberry

from issuegraph.context import Info
from issuegraph.domain import issues as issue_service
from issuegraph.domain import projects as project_service
from issuegraph.resolvers.payloads import run_mutation
from issuegraph.schema.mutations import (
    AddProjectMemberInput,
    AddProjectMemberPayload,
    CreateIssueInput,
    CreateProjectInput,
    CreateProjectPayload,
    IssuePayload,
    UpdateIssueInput,
)
from issuegraph.schema.types import Issue, Project, User


def _given(input_: object) -> dict[str, Any]:
    """The fields of an input the client actually sent (UNSET ones left out)."""
    return {
        f.name: getattr(input_, f.name)
        for f in dataclasses.fields(input_)  # type: ignore[arg-type]
        if getattr(input_, f.name) is not strawberry.UNSET and f.name != "client_mutation_id"
    }


@strawberry.type
class IssueMutation:
    @strawberry.mutation(description="Create a project; the viewer becomes its owner.")
    async def create_project(self, info: Info, input: CreateProjectInput) -> CreateProjectPayload:
        ctx = info.context

        def build(project: Any) -> dict[str, Any]:
            ctx.loaders.prime_project(project)
            return {"project": Project.from_model(project)}

        return await run_mutation(
            project_service.create_project(
                ctx.access,
                ctx.pool,
                full_path=input.full_path,
                name=input.name,
                visibility=input.visibility,
                description=input.description,
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
            lambda r: {
                "project": Project.from_model(r[0]),
                "user": User.from_model(r[1], info),
                "role": r[2],
            },
        )

    @strawberry.mutation(description="Create an issue with the project's next iid.")
    async def create_issue(self, info: Info, input: CreateIssueInput) -> IssuePayload:
        ctx = info.context

        def build(issue: Any) -> dict[str, Any]:
            ctx.loaders.prime_issues([issue])
            return {"issue": Issue.from_model(issue)}

        return await run_mutation(
            issue_service.create_issue(
                ctx.access,
                ctx.pool,
                project_ref=str(input.project),
                title=input.title,
                description=input.description,
                labels=input.labels,
                assignee_usernames=input.assignee_usernames,
                confidential=input.confidential,
                weight=input.weight,
                due_date=input.due_date,
                milestone=input.milestone,
            ),
            IssuePayload,
            input.client_mutation_id,
            build,
        )

    @strawberry.mutation(description="Change an issue: text, state, labels, assignees ...")
    async def update_issue(self, info: Info, input: UpdateIssueInput) -> IssuePayload:
        ctx = info.context
        given = _given(input)
        given.pop("project")
        given.pop("iid")
        if "state_event" in given and given["state_event"] is not None:
            given["state_event"] = given["state_event"].value
        changes = issue_service.IssueChanges(given=frozenset(given), **given)

        def build(issue: Any) -> dict[str, Any]:
            ctx.loaders.prime_issues([issue])
            ctx.loaders.forget_assignees(issue.id)
            return {"issue": Issue.from_model(issue)}

        return await run_mutation(
            issue_service.update_issue(
                ctx.access, ctx.pool, project_ref=str(input.project), iid=input.iid, changes=changes
            ),
            IssuePayload,
            input.client_mutation_id,
            build,
        )
