"""The read rule of `domain.access`, as SQL, for reads that filter whole sets at once."""

from __future__ import annotations


def readable_issue(issue: str, viewer: str, admin: str) -> str:
    """A predicate: may the viewer read issue row `issue`?

    `viewer` and `admin` are the placeholders ($n) of the viewer's user id (null when
    anonymous) and admin flag. Same rule as `Access.can_read_issue`: project visibility
    or membership, then for confidential issues REPORTER+, the author or an assignee.
    """
    return f"""(
        {admin}::boolean
        or exists (
            select 1 from projects vp
            left join project_members vm on vm.project_id = vp.id and vm.user_id = {viewer}::bigint
            where vp.id = {issue}.project_id
              and (vp.visibility = 'public'
                   or (vp.visibility = 'internal' and {viewer}::bigint is not null)
                   or vm.role is not null)
              and (not {issue}.confidential
                   or vm.role >= 'reporter'
                   or {issue}.author_id = {viewer}::bigint
                   or exists (select 1 from issue_assignees va
                              where va.issue_id = {issue}.id and va.user_id = {viewer}::bigint))
        )
    )"""
