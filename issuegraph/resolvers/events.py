"""Root fields of the change log: the history of changes the viewer may see."""

from __future__ import annotations

import strawberry

from issuegraph.context import Info
from issuegraph.domain.errors import bad_input, not_found
from issuegraph.models import EventKind
from issuegraph.schema.events import ChangeEventConnection, load_event_page
from issuegraph.schema.issues import EVENT_MAKERS


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="Changes to issues and links, oldest first, from the change log: those "
        "the viewer sees now. `project` (an id or a full path) and `issue` (an iid in that "
        "project) narrow it; `after` resumes from an event's cursor."
    )
    async def events(
        self,
        info: Info,
        project: strawberry.ID | None = None,
        issue: int | None = None,
        kinds: list[EventKind] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ChangeEventConnection:
        access = info.context.access
        project_id = issue_id = None
        if project is not None:
            found = await access.project(str(project))
            if found is None:
                raise not_found("Project", ["project"])
            project_id = found.id
            if issue is not None:
                named = await access.issue(found, issue)
                if named is None:
                    raise not_found("Issue", ["issue"])
                issue_id = named.id
        elif issue is not None:
            raise bad_input("issue needs a project", ["issue"])
        return await load_event_page(
            info,
            EVENT_MAKERS,
            project_id=project_id,
            issue_id=issue_id,
            kinds=kinds,
            first=first,
            after=after,
        )
