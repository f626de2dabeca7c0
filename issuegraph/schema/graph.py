"""Dependency-graph results: walks, rollups, the critical path, a path between issues.

`schema.issues` makes them (the fields are Issue's and Project's); this module refers to
`Issue` by annotation only."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from issuegraph.schema.execution import reads_model
from issuegraph.schema.links import IssueLink

# Issue (`schema.issues`) makes these types and refers to them; they name it lazily, and
# Strawberry finds it when it builds the schema. Not imported here, not even for the type
# checker (which sees Any): the two modules import in one direction only.
if TYPE_CHECKING:
    LazyIssue = Any
else:
    LazyIssue = Annotated["Issue", strawberry.lazy("issuegraph.schema.issues")]  # noqa: F821


@strawberry.type(description="An issue reached by a walk, and how many links away it is.")
class DependencyNode:
    issue: LazyIssue
    distance: int


# A node made of the walk's (issue, distance) pair: its issue is made of the first.
reads_model(DependencyNode, tuple, issue=itemgetter(0), distance=itemgetter(1))


@strawberry.type(description="The transitive closure of links from an issue.")
class DependencyGraph:
    nodes: list[DependencyNode] = strawberry.field(
        description="Issues reached (the start issue not included), nearest first."
    )
    edges: list[IssueLink] = strawberry.field(
        description="The walked links between the start issue and the nodes."
    )
    depth_reached: int = strawberry.field(description="The largest distance among the nodes.")
    truncated: bool = strawberry.field(description="True when maxDepth or first left issues out.")
    hidden_count: int = strawberry.field(
        description="How many distinct issues the viewer may not read are linked, by the "
        "walked link types (either way), to this issue or to one of the nodes: a number "
        "only, never which ones. Worked out only when selected."
    )


@strawberry.type(
    description="A project's dependency graph: its issues that pass the filters (the first "
    "`first` by iid), the readable issues of other projects they link to, and the links."
)
class ProjectGraph:
    nodes: list[LazyIssue] = strawberry.field(
        description="The project's selected issues and, at the far end of their links, the "
        "readable issues of other projects; by project path, then iid."
    )
    edges: list[IssueLink] = strawberry.field(
        description="The links of the asked types with both ends among the nodes and at least "
        "one among the project's selected issues."
    )
    issue_count: int = strawberry.field(
        description="How many of the project's issues the viewer may read pass the filters."
    )
    truncated: bool = strawberry.field(description="issueCount > first: some were left out.")
    hidden_count: int = strawberry.field(
        description="How many distinct issues the viewer may not read are linked, by the "
        "asked types, to one of the nodes: a number only, never which ones. Worked out only "
        "when selected."
    )


@strawberry.type(description="How far along the issues of a closure are (GitHub style).")
class Rollup:
    total: int
    open: int
    completed: int = strawberry.field(description="Closed ones.")
    percent_completed: int = strawberry.field(description="completed * 100 / total, rounded down.")

    @classmethod
    def from_counts(cls, total: int, closed: int) -> Rollup:
        return cls(
            total=total,
            open=total - closed,
            completed=closed,
            percent_completed=closed * 100 // total if total else 0,
        )


@strawberry.type(description="The longest chain of open blockers ending at an issue.")
class CriticalPath:
    issues: list[LazyIssue] = strawberry.field(
        description="The first blocker first, the issue last."
    )
    issue_count: int
    total_weight: int = strawberry.field(description="Summed weight (a missing weight is 0).")


@strawberry.type(description="A shortest chain of links between two issues.")
class IssuePath:
    issues: list[LazyIssue] = strawberry.field(description="From the first issue to the last.")
    links: list[IssueLink] = strawberry.field(description="The link of each step.")
    length: int = strawberry.field(description="Number of links.")


@strawberry.input(description="An issue, by its project (numeric id or full path) and iid.")
class IssueRef:
    project: strawberry.ID
    iid: int
