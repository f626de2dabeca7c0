"""Creating and changing issues."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from issuegraph.db.database import transaction
from issuegraph.db.queries import events as event_queries
from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries import projects as project_queries
from issuegraph.db.queries import users as user_queries
from issuegraph.domain import events, validation
from issuegraph.domain.access import Access
from issuegraph.domain.errors import bad_input, forbidden, not_found
from issuegraph.models import Issue, IssueState, Project, Role, Visibility

MAX_ASSIGNEES = 100


@dataclasses.dataclass(frozen=True, slots=True)
class IssueChanges:
    """What an update sets; a field left as `None` in `given` terms is not touched.

    `given` names the fields the client sent, so that an explicit null (clear the due
    date) differs from an absent field (keep it).
    """

    given: frozenset[str]
    title: str | None = None
    description: str | None = None
    state_event: str | None = None  # "close" | "reopen"
    labels: list[str] | None = None
    add_labels: list[str] | None = None
    remove_labels: list[str] | None = None
    assignee_usernames: list[str] | None = None
    confidential: bool | None = None
    milestone: str | None = None
    due_date: dt.date | None = None
    weight: int | None = None


async def _assignee_ids(
    pool: Any, project: Project, usernames: list[str], path: list[str]
) -> list[int]:
    """Resolve usernames to users who exist, are active and can read the project."""
    if len(usernames) > MAX_ASSIGNEES:
        raise bad_input(f"An issue has at most {MAX_ASSIGNEES} assignees", path)
    if not usernames:
        return []
    wanted = {u.lower() for u in usernames}
    unnameable = sorted(u for u in wanted if not validation.can_name_a_row(u))
    if unnameable:
        raise not_found(f"User {unnameable[0]!r}", path)
    users = await user_queries.users_by_usernames(pool, sorted(wanted))
    missing = wanted - {u.username.lower() for u in users}
    if missing:
        raise not_found(f"User {min(missing)!r}", path)
    inactive = [u.username for u in users if u.state != "active"]
    if inactive:
        raise bad_input(f"User {inactive[0]!r} is blocked and cannot be assigned", path)
    if project.visibility is Visibility.PRIVATE:
        members = await project_queries.member_user_ids(pool, project.id, [u.id for u in users])
        outsiders = [u.username for u in users if u.id not in members and not u.is_admin]
        if outsiders:
            raise bad_input(
                f"User {outsiders[0]!r} cannot see {project.full_path} and cannot be assigned",
                path,
            )
    return sorted(u.id for u in users)


def _milestone(title: str | None) -> str | None:
    if title is None:
        return None
    return validation.single_line(
        title, "milestone", max_length=validation.MAX_NAME, path=["milestone"]
    )


async def create_issue(
    access: Access,
    pool: Any,
    *,
    project_ref: str,
    title: str,
    description: str | None = None,
    labels: list[str] | None = None,
    assignee_usernames: list[str] | None = None,
    confidential: bool = False,
    weight: int | None = None,
    due_date: dt.date | None = None,
    milestone: str | None = None,
) -> Issue:
    """GUEST or higher in the project creates issues; the iid is the project's next one."""
    access.require_writer()
    assert access.viewer.user is not None  # noqa: S101  (require_writer guarantees it)
    project = await access.writable_project(project_ref, Role.GUEST, ["project"], "create issues")
    new = issue_queries.NewIssue(
        project_id=project.id,
        title=validation.single_line(
            title, "title", max_length=validation.MAX_TITLE, path=["title"]
        ),
        description=validation.multi_line(
            description,
            "description",
            max_length=validation.MAX_DESCRIPTION,
            path=["description"],
        ),
        labels=validation.labels(labels or [], ["labels"]),
        author_id=access.viewer.user.id,
        milestone=_milestone(milestone),
        due_date=due_date,
        confidential=confidential,
        weight=validation.weight(weight, ["weight"]),
    )
    assignees = await _assignee_ids(pool, project, assignee_usernames or [], ["assigneeUsernames"])
    async with transaction(pool) as conn:
        issue = await issue_queries.insert_issue(conn, new)
        if assignees:
            await issue_queries.set_assignees(conn, issue.id, assignees)
        await event_queries.append(conn, [events.issue_created(issue, new.author_id)])
    return issue


def _merge_labels(current: tuple[str, ...], changes: IssueChanges) -> list[str]:
    result = list(current) if changes.labels is None else list(changes.labels)
    if changes.add_labels:
        result += changes.add_labels
    result = validation.labels(result, ["labels"])
    if changes.remove_labels:
        removed = {label.strip().lower() for label in changes.remove_labels}
        result = [label for label in result if label.lower() not in removed]
    return result


def _scalar_updates(changes: IssueChanges) -> dict[str, Any]:
    """The validated new values of the plain columns an update names."""
    given = changes.given
    updates: dict[str, Any] = {}
    for field in ("title", "confidential"):
        if field in given and getattr(changes, field) is None:
            raise bad_input(f"{field} must not be null", [field])
    if "title" in given:
        updates["title"] = validation.single_line(
            changes.title or "", "title", max_length=validation.MAX_TITLE, path=["title"]
        )
    if "description" in given:
        updates["description"] = validation.multi_line(
            changes.description,
            "description",
            max_length=validation.MAX_DESCRIPTION,
            path=["description"],
        )
    if "state_event" in given and changes.state_event is not None:
        closing = changes.state_event == "close"
        updates["state"] = IssueState.CLOSED if closing else IssueState.OPENED
    if "confidential" in given:
        updates["confidential"] = changes.confidential
    if "milestone" in given:
        updates["milestone"] = _milestone(changes.milestone)
    if "due_date" in given:
        updates["due_date"] = changes.due_date
    if "weight" in given:
        updates["weight"] = validation.weight(changes.weight, ["weight"])
    return updates


async def update_issue(
    access: Access, pool: Any, *, project_ref: str, iid: int, changes: IssueChanges
) -> Issue:
    """REPORTER or higher, the issue's author, or an admin may change an issue."""
    access.require_writer()
    viewer_id = access.viewer.user_id
    project = await access.project(project_ref)
    if project is None:
        raise not_found("Project", ["project"])
    issue = await access.issue(project, iid)
    if issue is None:
        raise not_found("Issue", ["iid"])
    if not (issue.author_id == viewer_id or await access.has_role(project, Role.REPORTER)):
        raise forbidden("You need the reporter role or higher, or to be its author", ["iid"])

    updates = _scalar_updates(changes)
    labels_change = bool(changes.given & {"labels", "add_labels", "remove_labels"})
    if labels_change:
        _merge_labels(issue.labels, changes)  # reject bad labels before taking any lock
    assignees = None
    if "assignee_usernames" in changes.given:
        assignees = await _assignee_ids(
            pool, project, changes.assignee_usernames or [], ["assigneeUsernames"]
        )

    async with transaction(pool) as conn:
        current = await issue_queries.issue_for_update(conn, issue.id)
        if current is None:  # deleted since we looked
            raise not_found("Issue", ["iid"])
        if labels_change:  # merged under the row lock, so concurrent additions both land
            updates["labels"] = tuple(_merge_labels(current.labels, changes))
        updated = await issue_queries.update_issue(
            conn, dataclasses.replace(current, **updates), closed_by_id=viewer_id
        )
        assigned = None
        if assignees is not None:
            previous = await issue_queries.set_assignees(conn, issue.id, assignees)
            assigned = (previous, assignees)
        event = events.issue_updated(current, updated, viewer_id, assignees=assigned)
        if event is not None:
            await event_queries.append(conn, [event])
    return updated
