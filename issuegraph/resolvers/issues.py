"""Root fields of issues: the issue query, creating, changing and deleting issues."""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry

from issuegraph.context import Info
from issuegraph.domain import issues as issue_service
from issuegraph.domain.access import parse_project_ref
from issuegraph.domain.links import LinkService
from issuegraph.domain.validation import can_name_a_row
from issuegraph.resolvers.payloads import run_mutation
from issuegraph.schema.issues import (
    CreateIssueInput,
    DeleteIssueInput,
    DeleteIssuePayload,
    Issue,
    IssuePayload,
    UpdateIssueInput,
)
from issuegraph.schema.lookahead import related


def _given(input_: object) -> dict[str, Any]:
    """The fields of an input the client actually sent (UNSET ones left out)."""
    return {
        f.name: getattr(input_, f.name)
        for f in dataclasses.fields(input_)  # type: ignore[arg-type]
        if getattr(input_, f.name) is not strawberry.UNSET and f.name != "client_mutation_id"
    }


def _written(info: Info, issue: Any) -> dict[str, Any]:
    """The payload's fields of an issue just created or changed; the loaders learn it."""
    info.context.loaders.issue_written(issue)
    return {"issue": Issue.from_model(issue)}


@strawberry.type
class IssueQuery:
    @strawberry.field(description="An issue by its project and iid, if the viewer may read it.")
    async def issue(self, info: Info, project: strawberry.ID, iid: int) -> Issue | None:
        ref = parse_project_ref(str(project))
        if isinstance(ref, str) and can_name_a_row(ref):
            # The project, the issue, its assignee ids and the users its fields show in
            # one statement; the checks below, and the fields, find them loaded.
            plan = related(info, ())
            await info.context.loaders.issue_by_path_iid.load((ref.lower(), iid, plan))
        found = await info.context.access.project(str(project))
        if found is None:
            return None
        issue = await info.context.access.issue(found, iid)
        return Issue.from_model(issue) if issue else None


@strawberry.type
class IssueMutation:
    @strawberry.mutation(description="Create an issue with the project's next iid.")
    async def create_issue(self, info: Info, input: CreateIssueInput) -> IssuePayload:
        ctx = info.context

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
            lambda issue: _written(info, issue),
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

        return await run_mutation(
            issue_service.update_issue(
                ctx.access, ctx.pool, project_ref=str(input.project), iid=input.iid, changes=changes
            ),
            IssuePayload,
            input.client_mutation_id,
            lambda issue: _written(info, issue),
        )

    @strawberry.mutation(description="Delete an issue and its links (admins, project owners).")
    async def delete_issue(self, info: Info, input: DeleteIssueInput) -> DeleteIssuePayload:
        ctx = info.context

        def build(issue: Any) -> dict[str, Any]:
            ctx.loaders.issue_deleted(issue)
            return {"issue": Issue.from_model(issue)}

        service = LinkService(ctx.access, ctx.pool, max_links=ctx.settings.max_links_per_issue)
        return await run_mutation(
            service.delete_issue(str(input.project), input.iid),
            DeleteIssuePayload,
            input.client_mutation_id,
            build,
        )
