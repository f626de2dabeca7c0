-- The link rules the database enforces itself, whoever writes: `blocks` links never form a
-- cycle, `parent` links form a forest no deeper than 8 links. Both checks run under one
-- transaction-scoped advisory lock, so two transactions racing to close a cycle are
-- serialised and the second one sees the first one's link.

-- Violations raise SQLSTATE IG001 (cycle; DETAIL holds the existing path as issue ids) or
-- IG002 (too deep); HINT holds "source_id,target_id" of the offending link.

-- The read rule of the access model (domain/access.py) as one SQL function, inlined by the
-- planner wherever a query filters a set of issues by what the viewer may read.
create function issue_visible(p_issue issues, p_viewer bigint, p_admin boolean)
returns boolean
language sql stable
as $$
    select p_admin or exists (
        select 1 from projects vp
        left join project_members vm on vm.project_id = vp.id and vm.user_id = p_viewer
        where vp.id = p_issue.project_id
          and (vp.visibility = 'public'
               or (vp.visibility = 'internal' and p_viewer is not null)
               or vm.role is not null)
          and (not p_issue.confidential
               or vm.role >= 'reporter'
               or p_issue.author_id = p_viewer
               or exists (select 1 from issue_assignees va
                          where va.issue_id = p_issue.id and va.user_id = p_viewer))
    )
$$;

-- A shortest chain of links (as issue ids, both ends included) from p_from to p_to, or
-- null: breadth-first, one set-based statement per level, remembering how each issue was
-- reached; it steps only onto issues the viewer may read.
create function issue_graph_path(
    p_from bigint, p_to bigint, p_types link_type[], p_directed boolean,
    p_max_depth integer, p_viewer bigint, p_admin boolean
)
returns bigint[]
language plpgsql stable
as $$
declare
    seen_ids bigint[] := array[p_from];
    seen_prev bigint[] := array[null::bigint];
    frontier bigint[] := array[p_from];
    next_ids bigint[];
    next_prev bigint[];
    depth integer := 0;
    cur bigint;
    path bigint[];
begin
    if p_from = p_to then
        return array[p_from];
    end if;
    while cardinality(frontier) > 0 and depth < p_max_depth loop
        depth := depth + 1;
        select coalesce(array_agg(n.id order by n.id), '{}'),
               coalesce(array_agg(n.prev order by n.id), '{}')
          into next_ids, next_prev
          from (select distinct on (e.id) e.id, e.prev
                  from (select l.target_id as id, l.source_id as prev from issue_links l
                         where l.source_id = any(frontier) and l.link_type = any(p_types)
                        union all
                        select l.source_id, l.target_id from issue_links l
                         where not p_directed and l.target_id = any(frontier)
                           and l.link_type = any(p_types)
                       ) e
                  join issues i on i.id = e.id
                 where not exists (select 1 from unnest(seen_ids) s(id) where s.id = e.id)
                   and issue_visible(i, p_viewer, p_admin)
                 order by e.id, e.prev) n;
        exit when cardinality(next_ids) = 0;
        seen_ids := seen_ids || next_ids;
        seen_prev := seen_prev || next_prev;
        if p_to = any(next_ids) then
            path := array[p_to];
            cur := p_to;
            loop
                cur := seen_prev[array_position(seen_ids, cur)];
                exit when cur is null;
                path := cur || path;
            end loop;
            return path;
        end if;
        frontier := next_ids;
    end loop;
    return null;
end;
$$;

-- Links above an issue in the parent tree (0 for a root) and below it (0 for a leaf).
create function issue_parent_depth(p_issue bigint) returns integer
language sql stable
as $$
    with recursive up(id, n) as (
        select p_issue, 0
        union all
        select l.source_id, up.n + 1 from issue_links l join up on l.target_id = up.id
         where l.link_type = 'parent' and up.n < 64
    )
    select max(n) from up;
$$;

create function issue_parent_height(p_issue bigint) returns integer
language sql stable
as $$
    with recursive down(id, n) as (
        select p_issue, 0
        union all
        select l.target_id, down.n + 1 from issue_links l join down on l.source_id = down.id
         where l.link_type = 'parent' and down.n < 64
    )
    select max(n) from down;
$$;

-- The same key the service takes before it checks these rules itself.
create function issue_links_graph_lock() returns void
language sql
as $$ select pg_advisory_xact_lock(1554627001) $$;

create function issue_links_guard() returns trigger
language plpgsql
as $$
declare
    path bigint[];
begin
    if new.link_type not in ('blocks', 'parent') then
        return null;
    end if;
    perform issue_links_graph_lock();
    -- As an admin: the rule holds whoever can see which issue.
    path := issue_graph_path(new.target_id, new.source_id, array[new.link_type], true,
                             100000, null, true);
    if path is not null then
        raise exception 'issue link % -> % (%) would close a cycle', new.source_id,
            new.target_id, new.link_type
            using errcode = 'IG001', detail = array_to_string(path, ','),
                  hint = new.source_id || ',' || new.target_id;
    end if;
    if new.link_type = 'parent'
       and issue_parent_depth(new.target_id) + issue_parent_height(new.target_id) > 8 then
        raise exception 'parent link % -> % makes the tree deeper than 8', new.source_id,
            new.target_id
            using errcode = 'IG002', hint = new.source_id || ',' || new.target_id;
    end if;
    return null;
end;
$$;

-- Deferred to the end of the statement, so a multi-row insert is checked as a whole.
create constraint trigger issue_links_no_cycle
    after insert or update of source_id, target_id, link_type on issue_links
    for each row execute function issue_links_guard();
