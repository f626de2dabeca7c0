"""The read rule of `domain.access`, as SQL, for reads that filter whole sets at once."""

from __future__ import annotations


def readable_issue(issue: str, viewer: str, admin: str) -> str:
    """A predicate: may the viewer read the `issues` row aliased `issue`?

    `viewer` and `admin` are the placeholders ($n) of the viewer's user id (null when
    anonymous) and admin flag. It is the rule of `Access.can_read_issue`, and the body of
    the SQL function `issue_visible` (migration 0002) that the PL/pgSQL walks call.
    Written out here rather than called: PostgreSQL never inlines a SQL function whose
    body holds a sub-select, so the call would cost a function call per row and hide the
    rule from the planner (a third of an issue page's SQL time).
    `tests/test_access.py` holds the two to the Python rule.
    """
    user = f"{viewer}::bigint"
    return f"""({admin}::boolean or exists (
        select 1 from projects vp
        left join project_members vm on vm.project_id = vp.id and vm.user_id = {user}
        where vp.id = {issue}.project_id
          and (vp.visibility = 'public'
               or (vp.visibility = 'internal' and {user} is not null)
               or vm.role is not null)
          and (not {issue}.confidential
               or vm.role >= 'reporter'
               or {issue}.author_id = {user}
               or exists (select 1 from issue_assignees va
                          where va.issue_id = {issue}.id and va.user_id = {user}))))"""
