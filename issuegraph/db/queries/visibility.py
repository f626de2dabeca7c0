"""The read rule of `domain.access`, as SQL, for reads that filter whole sets at once."""

from __future__ import annotations


def readable_issue(issue: str, viewer: str, admin: str) -> str:
    """A predicate: may the viewer read the `issues` row aliased `issue`?

    `viewer` and `admin` are the placeholders ($n) of the viewer's user id (null when
    anonymous) and admin flag. It is the rule of `Access.can_read_issue`, and the body of
    the SQL function `issue_visible` (`ISSUE_VISIBLE_DEFINITION`) that the PL/pgSQL walks
    call. Written out here rather than called: PostgreSQL never inlines a SQL function
    whose body holds a sub-select, so the call would cost a function call per row and
    hide the rule from the planner (see docs/read-rule.md for the figures).
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


# The SQL function the PL/pgSQL graph walks call (`issue_graph_path`, migration 0002;
# `issue_graph_walk`, migration 0003): `readable_issue` with the function's parameters for
# its placeholders. Migration 0002 created it with a copy of the rule; `db.migrate.migrate`
# replaces that body with this one, after the numbered migrations, whenever the database's
# differs. Same signature, result, volatility (stable) and strictness (not strict: an
# anonymous viewer is a null p_viewer, and the rule still answers true or false).
ISSUE_VISIBLE_SIGNATURE = "issue_visible(issues, bigint, boolean)"
ISSUE_VISIBLE_BODY = f"\n    select {readable_issue('p_issue', 'p_viewer', 'p_admin')}\n"
ISSUE_VISIBLE_DEFINITION = f"""\
create or replace function issue_visible(p_issue issues, p_viewer bigint, p_admin boolean)
returns boolean
language sql stable
as $read_rule${ISSUE_VISIBLE_BODY}$read_rule$"""
