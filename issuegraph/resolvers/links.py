"""Link queries and mutations: thin, they call `domain.links` and the loaders."""

from __future__ import annotations

from typing import Any

import strawberry

from issuegraph.context import Info
from issuegraph.domain.errors import bad_input
from issuegraph.domain.link_types import KINDS, seen_from
from issuegraph.domain.links import LinkName, LinkRequest, LinkResult, LinkService, OtherEnd
from issuegraph.resolvers.payloads import run_mutation
from issuegraph.schema.ids import parse_id_of
from issuegraph.schema.issues import Issue
from issuegraph.schema.links import (
    CreatedIssueLink,
    CreateIssueLinkInput,
    CreateIssueLinksInput,
    CreateIssueLinksPayload,
    DeleteIssueLinkInput,
    IssueLink,
    IssueLinkDetails,
    IssueLinkInput,
    IssueLinkPayload,
    IssueLinkType,
    UpdateIssueLinkInput,
)


def _link_name(given: DeleteIssueLinkInput | UpdateIssueLinkInput) -> LinkName:
    """The link an update or a delete names: by `linkId`, or by the issue at its other end."""
    by_end = (given.target_project, given.target_issue_iid)
    if given.link_id is not None:
        if by_end != (None, None):
            raise bad_input(
                "Name the link by linkId or by targetProject and targetIssueIid, not both",
                ["linkId"],
            )
        return parse_id_of("IssueLink", str(given.link_id), "linkId")
    if given.target_project is None or given.target_issue_iid is None:
        missing = "targetProject" if given.target_project is None else "targetIssueIid"
        raise bad_input(
            "Name the link by linkId, or by targetProject and targetIssueIid", [missing]
        )
    return OtherEnd(str(given.target_project), given.target_issue_iid)


def _service(info: Info) -> LinkService:
    ctx = info.context
    return LinkService(ctx.access, ctx.pool, max_links=ctx.settings.max_links_per_issue)


def _request(item: IssueLinkInput, path: tuple[str | int, ...] = ()) -> LinkRequest:
    return LinkRequest(
        project_ref=str(item.project),
        iid=item.iid,
        target_project_ref=str(item.target_project),
        target_iid=item.target_issue_iid,
        link_type=item.link_type,
        on_conflict=item.on_conflict,
        comment=item.comment,
        silent=item.silent,
        path=path,
    )


def _fields(info: Info, result: LinkResult, *, deleted: bool = False) -> dict[str, Any]:
    """The payload fields of one link; also refreshes what this request had cached."""
    loaders = info.context.loaders
    if deleted:
        loaders.link_deleted(result.link)
    else:
        loaders.link_written(result.link)
    source, target = Issue.from_model(result.source), Issue.from_model(result.target)
    return {
        "link": IssueLink.from_model(result.link, source, target),
        "source_issue": source,
        "target_issue": target,
        "link_type": seen_from(result.link.link_type, is_source=True),
        "created": result.created,
    }


@strawberry.type
class LinkQuery:
    @strawberry.field(description="Every link type with its Jira-style name and phrases.")
    def issue_link_types(self) -> list[IssueLinkType]:
        return [IssueLinkType.from_kind(kind) for kind in KINDS]

    @strawberry.field(
        description="A link of an issue (GitLab's GET .../links/:issue_link_id): null unless "
        "the link touches that issue and the viewer reads both ends. `linkId` is the "
        "link's global id or its databaseId."
    )
    async def issue_link(
        self, info: Info, project: strawberry.ID, iid: int, link_id: strawberry.ID
    ) -> IssueLinkDetails | None:
        access = info.context.access
        found = await access.project(str(project))
        issue = await access.issue(found, iid) if found else None
        if issue is None:
            return None
        link = await access.link(parse_id_of("IssueLink", str(link_id), "linkId"))
        if link is None or not link.touches(issue.id):
            return None
        source = await access.issue_by_id(link.source_id)
        target = await access.issue_by_id(link.target_id)
        assert source is not None  # noqa: S101  (access.link checked both ends)
        assert target is not None  # noqa: S101
        ends = Issue.from_model(source), Issue.from_model(target)
        return IssueLinkDetails(
            link=IssueLink.from_model(link, *ends),
            source_issue=ends[0],
            target_issue=ends[1],
            link_type=seen_from(link.link_type, is_source=True),
        )


@strawberry.type
class LinkMutation:
    @strawberry.mutation(
        description="Link two issues (GitLab's POST .../links). An inverse type such as "
        "IS_BLOCKED_BY stores the canonical link with the ends swapped."
    )
    async def create_issue_link(self, info: Info, input: CreateIssueLinkInput) -> IssueLinkPayload:
        async def action() -> LinkResult:
            (result,) = await _service(info).create([_request(input)])
            return result

        return await run_mutation(
            action(), IssueLinkPayload, input.client_mutation_id, lambda r: _fields(info, r)
        )

    @strawberry.mutation(
        description="Create up to 100 links at once: all of them, or none and every error."
    )
    async def create_issue_links(
        self, info: Info, input: CreateIssueLinksInput
    ) -> CreateIssueLinksPayload:
        requests = [_request(item, ("links", n)) for n, item in enumerate(input.links)]
        return await run_mutation(
            _service(info).create(requests),
            CreateIssueLinksPayload,
            input.client_mutation_id,
            lambda results: {
                "links": [CreatedIssueLink(**_fields(info, r)) for r in results],
            },
        )

    @strawberry.mutation(
        description="Remove a link through one of its issues (GitLab's DELETE); returns what "
        "was deleted."
    )
    async def delete_issue_link(self, info: Info, input: DeleteIssueLinkInput) -> IssueLinkPayload:
        async def action() -> LinkResult:
            return await _service(info).delete(
                str(input.project), input.iid, _link_name(input), silent=input.silent
            )

        return await run_mutation(
            action(),
            IssueLinkPayload,
            input.client_mutation_id,
            lambda r: _fields(info, r, deleted=True),
        )

    @strawberry.mutation(description="Change a link's type; every rule is checked again.")
    async def update_issue_link(self, info: Info, input: UpdateIssueLinkInput) -> IssueLinkPayload:
        async def action() -> LinkResult:
            return await _service(info).update(
                str(input.project),
                input.iid,
                _link_name(input),
                input.link_type,
                silent=input.silent,
            )

        return await run_mutation(
            action(), IssueLinkPayload, input.client_mutation_id, lambda r: _fields(info, r)
        )
