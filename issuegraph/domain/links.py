"""Issue links: creating (one or many), changing and deleting them under the link rules.

The rules (docs/contract.md, "Link rules"): no self-link; at most one link between two
issues whatever its type or direction; a per-issue limit on both ends; `blocks` links
never form a cycle; `parent` links form a forest at most 8 deep; the viewer reads both
ends and is at least GUEST where the rule says. They hold under concurrency:

- writers of `blocks`/`parent` links take one transaction-scoped advisory lock first;
- every writer then row-locks the issues at both ends, in id order, before counting or
  looking for an existing link, so racing writers of the same pair or issue queue up;
- the database backs each rule itself (unique indexes, a check, a cycle/depth trigger).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from issuegraph.db.database import transaction
from issuegraph.db.queries import events as event_queries
from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries import links as link_queries
from issuegraph.db.queries import notes as note_queries
from issuegraph.domain import events, validation
from issuegraph.domain.errors import (
    DomainError,
    ErrorCode,
    bad_input,
    forbidden,
    not_found,
    raise_if_any,
)
from issuegraph.domain.link_types import LinkType, canonical, seen_from
from issuegraph.models import EventKind, Issue, IssueLink, Project, Role, StoredLinkType

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from issuegraph.domain.access import Access

MAX_BULK_LINKS = 100
MAX_COMMENT = 65_536
MAX_PARENT_DEPTH = 8
GRAPH_TYPES = frozenset({StoredLinkType.BLOCKS, StoredLinkType.PARENT})

CYCLE_SQLSTATE = "IG001"
TOO_DEEP_SQLSTATE = "IG002"


class OnConflict(enum.Enum):
    ERROR = "error"
    RETURN_EXISTING = "return_existing"


@dataclass(frozen=True, slots=True)
class OtherEnd:
    """A link named by the issue at its other end: there is at most one link per pair."""

    project_ref: str
    iid: int


# How an update or a delete names the link: its id, or the issue at its other end.
LinkName: TypeAlias = int | OtherEnd


def _name_path(name: LinkName) -> list[str | int]:
    return ["linkId"] if isinstance(name, int) else ["targetIssueIid"]


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """One link to create, as a client names it: from an issue, to an issue, a type."""

    project_ref: str
    iid: int
    target_project_ref: str
    target_iid: int
    link_type: LinkType = LinkType.RELATES_TO
    on_conflict: OnConflict = OnConflict.ERROR
    comment: str | None = None
    silent: bool = False
    # Where this request sits in the input, to prefix the paths of its errors.
    path: tuple[str | int, ...] = ()


class _Refused(Exception):  # noqa: N818  (internal, never escapes this module)
    """The database refused a write; translated once its transaction has ended."""

    def __init__(self, error: asyncpg.PostgresError, items: Sequence[_Resolved]) -> None:
        super().__init__(str(error))
        self.error = error
        self.items = items


@dataclass(frozen=True, slots=True)
class LinkResult:
    link: IssueLink
    source: Issue
    target: Issue
    created: bool = True


@dataclass(slots=True)
class _Resolved:
    request: LinkRequest
    issue: Issue  # the issue the request names first
    other: Issue
    source: Issue = field(init=False)
    target: Issue = field(init=False)
    stored: StoredLinkType = field(init=False)
    comment: str | None = None

    def __post_init__(self) -> None:
        self.stored, swapped = canonical(self.request.link_type)
        self.source, self.target = (self.other, self.issue) if swapped else (self.issue, self.other)

    @property
    def pair(self) -> frozenset[int]:
        return frozenset((self.source.id, self.target.id))

    def at(self, *path: str | int) -> list[str | int]:
        return [*self.request.path, *path]

    def end_path(self, issue_id: int) -> list[str | int]:
        return self.at("iid") if issue_id == self.issue.id else self.at("targetIssueIid")


def reference(issue: Issue, project: Project | None) -> str:
    return f"{project.full_path}#{issue.iid}" if project else f"#{issue.iid}"


class LinkService:
    """The link write paths for one viewer; `max_links` is the per-issue limit."""

    def __init__(self, access: Access, pool: Any, *, max_links: int) -> None:
        self.access = access
        self.pool = pool
        self.max_links = max_links

    # -- resolving what a request names ----------------------------------------------------

    async def _readable_issue(
        self, project_ref: str, iid: int, path: Sequence[str | int], fields: tuple[str, str]
    ) -> tuple[Project, Issue]:
        project = await self.access.project(project_ref)
        if project is None:
            raise not_found("Project", [*path, fields[0]])
        issue = await self.access.issue(project, iid)
        if issue is None:
            raise not_found("Issue", [*path, fields[1]])
        return project, issue

    async def _require_guest(self, project: Project, path: Sequence[str | int]) -> None:
        if not await self.access.has_role(project, Role.GUEST):
            raise forbidden(
                f"You need the guest role or higher in {project.full_path} to link its issues",
                path,
            )

    async def _resolve(self, request: LinkRequest) -> _Resolved:
        path = request.path
        (project, issue), (target_project, other) = await asyncio.gather(
            self._readable_issue(request.project_ref, request.iid, path, ("project", "iid")),
            self._readable_issue(
                request.target_project_ref,
                request.target_iid,
                path,
                ("targetProject", "targetIssueIid"),
            ),
        )
        await self._require_guest(project, [*path, "project"])
        await self._require_guest(target_project, [*path, "targetProject"])
        if issue.id == other.id:
            raise bad_input("An issue cannot be linked to itself", [*path, "targetIssueIid"])
        comment = None
        if request.comment is not None:
            comment = validation.multi_line(
                request.comment, "comment", max_length=MAX_COMMENT, path=[*path, "comment"]
            )
            if comment is None or not comment.strip():
                raise bad_input("comment must not be blank", [*path, "comment"])
        return _Resolved(request=request, issue=issue, other=other, comment=comment)

    async def _resolve_all(
        self, requests: Sequence[LinkRequest]
    ) -> tuple[list[_Resolved], list[DomainError]]:
        """Resolve every request (the loaders batch their look-ups); collect every failure."""
        outcomes = await asyncio.gather(
            *(self._resolve(r) for r in requests), return_exceptions=True
        )
        errors: list[DomainError] = []
        resolved: list[_Resolved] = []
        seen: dict[frozenset[int], int] = {}
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, DomainError):
                errors.append(outcome)
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            item = outcome
            if item.pair in seen:
                errors.append(
                    DomainError(
                        ErrorCode.CONFLICT,
                        "The same two issues are linked twice in this request",
                        path=item.at("targetIssueIid"),
                        details={"duplicateOf": seen[item.pair]},
                    )
                )
                continue
            seen[item.pair] = index
            resolved.append(item)
        return resolved, errors

    # -- creating --------------------------------------------------------------------------

    async def create(self, requests: Sequence[LinkRequest]) -> list[LinkResult]:
        """Create links, all or none; every rule is checked, all violations reported."""
        self.access.require_writer()
        if not requests:
            raise bad_input("Give at least one link", ["links"])
        if len(requests) > MAX_BULK_LINKS:
            raise bad_input(
                f"At most {MAX_BULK_LINKS} links per request, got {len(requests)}",
                ["links"],
                max=MAX_BULK_LINKS,
            )
        items, errors = await self._resolve_all(requests)
        if not items:
            raise_if_any(errors)
        author = self.access.viewer.user_id
        assert author is not None  # noqa: S101  (require_writer guarantees it)

        async with self._translating(), transaction(self.pool) as conn:
            if any(item.stored in GRAPH_TYPES for item in items):
                await link_queries.take_graph_lock(conn)
            ends = sorted({i for item in items for i in item.pair})
            present = await link_queries.lock_issues(conn, ends)
            errors += [
                not_found("Issue", item.end_path(issue_id))
                for item in items
                for issue_id in (item.issue.id, item.other.id)
                if issue_id not in present
            ]
            existing, conflicts, linked = await self._existing(conn, items)
            new = [item for item in items if item.pair not in linked]
            errors += conflicts
            errors += await self._limit_errors(conn, new)
            errors += await self._parent_errors(conn, new)
            # Every violation of every item (not only those of the first failing check).
            raise_if_any(sorted(errors, key=lambda error: _position(error, requests)))
            created = await self._insert(conn, new, author)
            comments = [item for item in items if item.comment is not None]
            if comments:
                await note_queries.insert_notes(
                    conn,
                    [item.issue.id for item in comments],
                    [item.comment or "" for item in comments],
                    author,
                )
            await event_queries.append(
                conn,
                [
                    events.link_event(
                        EventKind.LINK_CREATED,
                        link,
                        (item.source, item.target),
                        author,
                        silent=item.request.silent,
                    )
                    for item, link in zip(new, created, strict=True)
                ],
            )
        made = dict(zip((item.pair for item in new), created, strict=True))
        return [
            LinkResult(
                link=made.get(item.pair) or existing[item.pair],
                source=item.source,
                target=item.target,
                created=item.pair in made,
            )
            for item in items
        ]

    async def _existing(
        self, conn: Any, items: list[_Resolved]
    ) -> tuple[dict[frozenset[int], IssueLink], list[DomainError], set[frozenset[int]]]:
        """Links the requests would duplicate: returned where asked for, else CONFLICT.

        Also returns every already-linked pair, which no later check should count again.
        """
        found = await link_queries.links_between(
            conn, [i.source.id for i in items], [i.target.id for i in items]
        )
        by_pair = {frozenset((link.source_id, link.target_id)): link for link in found}
        errors: list[DomainError] = []
        reusable: dict[frozenset[int], IssueLink] = {}
        for item in items:
            link = by_pair.get(item.pair)
            if link is None:
                continue
            same = (link.source_id, link.target_id, link.link_type) == (
                item.source.id,
                item.target.id,
                item.stored,
            )
            if same and item.request.on_conflict is OnConflict.RETURN_EXISTING:
                reusable[item.pair] = link
                continue
            existing_type = seen_from(link.link_type, is_source=link.source_id == item.issue.id)
            errors.append(
                DomainError(
                    ErrorCode.CONFLICT,
                    f"These issues are already linked ({existing_type.name})",
                    path=item.at("targetIssueIid"),
                    details={"linkId": link.id, "linkType": existing_type.name},
                )
            )
        return reusable, errors, set(by_pair)

    async def _limit_errors(self, conn: Any, items: list[_Resolved]) -> list[DomainError]:
        if not items:
            return []
        adding = Counter(i for item in items for i in item.pair)
        counts = await link_queries.link_counts(conn, sorted(adding))
        errors: list[DomainError] = []
        reported: set[int] = set()
        for item in items:
            for issue in (item.issue, item.other):
                total = counts.get(issue.id, 0) + adding[issue.id]
                if total > self.max_links and issue.id not in reported:
                    reported.add(issue.id)
                    errors.append(
                        DomainError(
                            ErrorCode.LIMIT_EXCEEDED,
                            f"Issue #{issue.iid} would have {total} links; "
                            f"the limit is {self.max_links}",
                            path=item.end_path(issue.id),
                            details={
                                "limit": self.max_links,
                                "current": counts.get(issue.id, 0),
                                "issueId": issue.id,
                            },
                        )
                    )
        return errors

    async def _parent_errors(self, conn: Any, items: list[_Resolved]) -> list[DomainError]:
        children = [item for item in items if item.stored is StoredLinkType.PARENT]
        if not children:
            return []
        parents = await link_queries.parent_links(conn, [item.target.id for item in children])
        errors: list[DomainError] = []
        claimed: set[int] = set()
        for item in children:
            child = item.target.id
            if child in parents or child in claimed:
                errors.append(
                    DomainError(
                        ErrorCode.CONFLICT,
                        f"Issue #{item.target.iid} already has a parent; an issue has one",
                        path=item.end_path(child),
                        details={"parentLinkId": parents[child].id} if child in parents else None,
                    )
                )
            claimed.add(child)
        return errors

    async def _insert(self, conn: Any, items: list[_Resolved], author: int) -> list[IssueLink]:
        if not items:
            return []
        try:
            return await link_queries.insert_links(
                conn,
                [i.source.id for i in items],
                [i.target.id for i in items],
                [i.stored.value for i in items],
                author,
            )
        except asyncpg.PostgresError as error:
            raise _Refused(error, items) from error

    @contextlib.asynccontextmanager
    async def _translating(self, path: list[str | int] | None = None) -> AsyncIterator[None]:
        """Translate a refusal only after the transaction ended: describing a cycle reads
        through the pool, and the transaction still holds the graph lock that every other
        pooled writer may be waiting for (waiting for a connection then never ends)."""
        try:
            yield
        except _Refused as refused:
            translated = await self._translate(refused.error, refused.items)
            if path is not None:
                translated.path = path
            raise translated from None

    async def _translate(self, error: Exception, items: Sequence[_Resolved]) -> DomainError:
        """Turn the database's own rule enforcement into the coded error of that rule."""
        sqlstate = getattr(error, "sqlstate", None)
        hint = getattr(error, "hint", None) or ""
        pair = frozenset(int(x) for x in hint.split(",") if x.strip().isdigit())
        item = next((i for i in items if i.pair == pair), items[0])
        if sqlstate == CYCLE_SQLSTATE:
            path_ids = [int(x) for x in (getattr(error, "detail", None) or "").split(",") if x]
            return DomainError(
                ErrorCode.CYCLE,
                f"Linking #{item.source.iid} {seen_from(item.stored, is_source=True).name} "
                f"#{item.target.iid} would close a cycle",
                path=item.at("targetIssueIid"),
                details={"path": await self._describe_path(path_ids)},
            )
        if sqlstate == TOO_DEEP_SQLSTATE:
            return DomainError(
                ErrorCode.LIMIT_EXCEEDED,
                f"The parent tree would be deeper than {MAX_PARENT_DEPTH} levels",
                path=item.at("targetIssueIid"),
                details={"maxDepth": MAX_PARENT_DEPTH},
            )
        if isinstance(error, asyncpg.UniqueViolationError):
            return DomainError(
                ErrorCode.CONFLICT,
                "These issues are already linked, or the child already has a parent",
                path=item.at("targetIssueIid"),
            )
        if isinstance(error, asyncpg.ForeignKeyViolationError):
            return not_found("Issue", item.at("targetIssueIid"))
        raise error

    async def _describe_path(self, issue_ids: list[int]) -> list[dict[str, Any] | None]:
        """The existing chain, as the viewer may see it: hidden issues are nulls."""
        issues = await asyncio.gather(*(self.access.issue_by_id(i) for i in issue_ids))
        projects = await asyncio.gather(
            *(self.access.project(i.project_id) if i else _none() for i in issues)
        )
        return [
            {"issueId": issue.id, "iid": issue.iid, "reference": reference(issue, project)}
            if issue
            else None
            for issue, project in zip(issues, projects, strict=True)
        ]

    # -- one existing link, named through one of its ends -----------------------------------

    async def _link_of(
        self, project_ref: str, iid: int, name: LinkName
    ) -> tuple[Project, Issue, IssueLink, Project, Issue]:
        project, issue = await self._readable_issue(project_ref, iid, (), ("project", "iid"))
        if isinstance(name, int):
            link = await self.access.link(name)
        else:
            _, named = await self._readable_issue(
                name.project_ref, name.iid, (), ("targetProject", "targetIssueIid")
            )
            found = await link_queries.links_between(self.pool, [issue.id], [named.id])
            link = found[0] if found else None
        if link is None or not link.touches(issue.id):
            raise not_found("Issue link", _name_path(name))
        other = await self.access.issue_by_id(link.other_end(issue.id))
        if other is None:
            raise not_found("Issue link", _name_path(name))
        other_project = await self.access.project(other.project_id)
        assert other_project is not None  # noqa: S101  (the issue is readable)
        return project, issue, link, other_project, other

    async def delete(
        self, project_ref: str, iid: int, name: LinkName, *, silent: bool = False
    ) -> LinkResult:
        """Delete a link through one of its ends: GUEST or higher in that end's project."""
        self.access.require_writer()
        project, issue, link, _, other = await self._link_of(project_ref, iid, name)
        await self._require_guest(project, ["project"])
        async with transaction(self.pool) as conn:
            deleted = await link_queries.delete_link(conn, link.id)
            if deleted is None:
                raise not_found("Issue link", _name_path(name))
            await event_queries.append(
                conn,
                [
                    events.link_event(
                        EventKind.LINK_DELETED,
                        deleted,
                        (issue, other),
                        self.access.viewer.user_id,
                        silent=silent,
                    )
                ],
            )
        source, target = (issue, other) if deleted.source_id == issue.id else (other, issue)
        return LinkResult(link=deleted, source=source, target=target, created=False)

    async def update(
        self,
        project_ref: str,
        iid: int,
        name: LinkName,
        link_type: LinkType,
        *,
        silent: bool = False,
    ) -> LinkResult:
        """Change a link's type (seen from the named issue); every rule is checked again."""
        self.access.require_writer()
        project, issue, link, other_project, other = await self._link_of(project_ref, iid, name)
        await self._require_guest(project, ["project"])
        await self._require_guest(other_project, _name_path(name))
        item = _Resolved(
            request=LinkRequest(
                project_ref=project_ref,
                iid=iid,
                target_project_ref=str(other.project_id),
                target_iid=other.iid,
                link_type=link_type,
            ),
            issue=issue,
            other=other,
        )
        if (link.source_id, link.target_id, link.link_type) == (
            item.source.id,
            item.target.id,
            item.stored,
        ):
            return LinkResult(link=link, source=item.source, target=item.target, created=False)
        actor = self.access.viewer.user_id
        assert actor is not None  # noqa: S101
        async with self._translating(["linkType"]), transaction(self.pool) as conn:
            if item.stored in GRAPH_TYPES:
                await link_queries.take_graph_lock(conn)
            present = await link_queries.lock_issues(conn, sorted(item.pair))
            if len(present) < 2:  # noqa: PLR2004  (both ends)
                raise not_found("Issue link", _name_path(name))
            if item.stored is StoredLinkType.PARENT:
                parents = await link_queries.parent_links(conn, [item.target.id])
                current = parents.get(item.target.id)
                if current is not None and current.id != link.id:
                    raise DomainError(
                        ErrorCode.CONFLICT,
                        f"Issue #{item.target.iid} already has a parent; an issue has one",
                        path=["linkType"],
                        details={"parentLinkId": current.id},
                    )
            try:
                updated = await link_queries.update_link(
                    conn,
                    link.id,
                    source_id=item.source.id,
                    target_id=item.target.id,
                    link_type=item.stored.value,
                    updated_by=actor,
                )
            except asyncpg.PostgresError as error:
                raise _Refused(error, [item]) from error
            if updated is None:
                raise not_found("Issue link", _name_path(name))
            await event_queries.append(
                conn,
                [
                    events.link_event(
                        EventKind.LINK_UPDATED,
                        updated,
                        (issue, other),
                        actor,
                        silent=silent,
                        before=link,
                    )
                ],
            )
        return LinkResult(link=updated, source=item.source, target=item.target, created=False)

    # -- deleting an issue -------------------------------------------------------------------

    async def delete_issue(self, project_ref: str, iid: int) -> Issue:
        """Admins and project owners delete issues; the issue's links go with it."""
        self.access.require_writer()
        project, issue = await self._readable_issue(project_ref, iid, (), ("project", "iid"))
        if not await self.access.has_role(project, Role.OWNER):
            raise forbidden("Only an owner of the project or an admin can delete issues", ["iid"])
        async with transaction(self.pool) as conn:
            removed = await link_queries.delete_links_of(conn, issue.id)
            deleted = await issue_queries.delete_issue(conn, issue.id)
            if deleted is None:
                raise not_found("Issue", ["iid"])
            others = {link.other_end(issue.id) for link in removed}
            ends = [deleted, *await issue_queries.issues_by_ids(conn, sorted(others))]
            actor = self.access.viewer.user_id
            await event_queries.append(
                conn,
                [
                    *(
                        events.link_event(EventKind.LINK_DELETED, link, ends, actor)
                        for link in removed
                    ),
                    events.issue_deleted(deleted, actor),
                ],
            )
        return issue


async def _none() -> None:
    return None


def _position(error: DomainError, requests: Sequence[LinkRequest]) -> int:
    """The index of the request an error is about: the one its path starts with."""
    path = error.path or []
    for index, request in enumerate(requests):
        if request.path and list(request.path) == path[: len(request.path)]:
            return index
    return 0
