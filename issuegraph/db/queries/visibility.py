"""The read rule of `domain.access`, as SQL, for reads that filter whole sets at once."""

from __future__ import annotations


def readable_issue(issue: str, viewer: str, admin: str) -> str:
    """A predicate: may the viewer read the `issues` row aliased `issue`?

    `viewer` and `admin` are the placeholders ($n) of the viewer's user id (null when
    anonymous) and admin flag. `issue_visible` (migration 0003) is the same rule as
    `Access.can_read_issue`; being a one-statement SQL function, the planner inlines it.
    """
    return f"issue_visible({issue}, {viewer}::bigint, {admin}::boolean)"
