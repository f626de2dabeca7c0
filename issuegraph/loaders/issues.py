"""Issues: by id, by (project, iid), by (project path, iid); their assignees; a project's
pages of issues and their count."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from issuegraph.db.queries import issues as issue_queries
from issuegraph.db.queries.issues import IssuesPage
from issuegraph.loaders.core import RequestLoader
from issuegraph.models import Related

if TYPE_CHECKING:
    from issuegraph.models import Issue, IssueState

# (lowercased project path, iid, what the issue's fields read)
IssuePathKey = tuple[str, int, Related]
# (project id, state or None, the iid the page starts after or None, ascending, rows asked
# for, what the page's issues' fields read)
IssuePageKey = tuple[int, "IssueState | None", int | None, bool, int, Related]
IssueCountKey = tuple[int, "IssueState | None"]


class IssueByIdLoader(RequestLoader[int, "Issue | None"]):
    async def batch(self, keys: list[int]) -> list[Issue | None]:
        found = {i.id: i for i in await issue_queries.issues_by_ids(self.pool, keys)}
        self.primer.prime_issues(list(found.values()), force=False)
        return [found.get(i) for i in keys]


class IssueByIidLoader(RequestLoader[tuple[int, int], "Issue | None"]):
    """Keys are (project id, iid)."""

    async def batch(self, keys: list[tuple[int, int]]) -> list[Issue | None]:
        rows = await issue_queries.issues_by_project_iids(
            self.pool, [k[0] for k in keys], [k[1] for k in keys]
        )
        self.primer.prime_issues(rows, force=False)
        found = {(i.project_id, i.iid): i for i in rows}
        return [found.get(k) for k in keys]


class IssueByPathIidLoader(RequestLoader[IssuePathKey, "Issue | None"]):
    """An issue by its project's path, with its project, its assignee ids and the users its
    fields show, in one statement per distinct `Related`; fills the loaders of each."""

    async def batch(self, keys: list[IssuePathKey]) -> list[Issue | None]:
        primer = self.primer
        groups: dict[Related, list[tuple[str, int]]] = defaultdict(list)
        for path, iid, related in keys:
            groups[related].append((path, iid))
        issues: dict[IssuePathKey, Issue | None] = {}
        for related, asked in groups.items():
            found = await issue_queries.issues_by_paths_and_iids(
                self.pool, [path for path, _ in asked], [iid for _, iid in asked], related
            )
            primer.prime_projects([one.project for one in found])
            primer.prime_issues([one.issue for one in found if one.issue is not None], force=False)
            primer.prime_missing_issues((one.project.id, one.iid) for one in found if not one.issue)
            primer.prime_assignee_ids(
                {one.issue.id: one.assignee_ids for one in found if one.issue is not None}
            )
            primer.prime_users([user for one in found for user in one.users])
            for one in found:
                issues[(one.project.full_path.lower(), one.iid, related)] = one.issue
            found_paths = {path for path, _, _ in issues}
            primer.prime_missing_project_paths(p for p, _ in asked if p not in found_paths)
        return [issues.get(key) for key in keys]


class AssigneeIdsByIssueLoader(RequestLoader[int, "list[int]"]):
    async def batch(self, keys: list[int]) -> list[list[int]]:
        found = await issue_queries.assignee_ids_by_issue_ids(self.pool, keys)
        return [found.get(i, []) for i in keys]


class IssuePageByProjectLoader(RequestLoader[IssuePageKey, IssuesPage]):
    """A page of a project's issues (keyset by iid), as the viewer may read them, with
    what `Related` names of them; primes the issues, their assignee ids, users and
    projects. One statement per key: no field lists more than one project."""

    async def batch(self, keys: list[IssuePageKey]) -> list[IssuesPage]:
        pages = []
        for project_id, state, after_iid, ascending, limit, related in keys:
            page = await issue_queries.project_issues_page(
                self.pool,
                project_id=project_id,
                scope=self.scope,
                state=state,
                after_iid=after_iid,
                ascending=ascending,
                limit=limit,
                related=related,
            )
            self.primer.prime_issues(page.issues)
            self.primer.prime_assignee_ids(page.assignee_ids)
            self.primer.prime_related(page.related)
            pages.append(page)
        return pages


class IssueCountByProjectLoader(RequestLoader[IssueCountKey, int]):
    """How many of a project's issues (of a state, or all) the viewer may read."""

    async def batch(self, keys: list[IssueCountKey]) -> list[int]:
        return [
            await issue_queries.count_project_issues(
                self.pool, project_id=project_id, scope=self.scope, state=state
            )
            for project_id, state in keys
        ]
