-- Walking the dependency graph inside PostgreSQL.
--
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

-- Breadth-first walk from a set of issues over links of the given stored types: downstream
-- follows source -> target, upstream target -> source (both when both are set). Level by
-- level, one set-based statement per level; every issue is visited once, at its shortest
-- distance. It only steps onto issues the viewer may read, in `p_states` (all when null),
-- so it never passes through a hidden one. The start issues are not returned.
create function issue_graph_walk(
    p_start bigint[], p_types link_type[], p_downstream boolean, p_upstream boolean,
    p_max_depth integer, p_states issue_state[], p_viewer bigint, p_admin boolean
)
returns table (issue_id bigint, distance integer)
language plpgsql stable
as $$
declare
    seen bigint[] := p_start;
    frontier bigint[] := p_start;
    next_ids bigint[];
    depth integer := 0;
begin
    while cardinality(frontier) > 0 and depth < p_max_depth loop
        depth := depth + 1;
        select coalesce(array_agg(n.id), '{}') into next_ids
          from (select l.target_id as id from issue_links l
                 where p_downstream and l.source_id = any(frontier) and l.link_type = any(p_types)
                union
                select l.source_id from issue_links l
                 where p_upstream and l.target_id = any(frontier) and l.link_type = any(p_types)
               ) n
          join issues i on i.id = n.id
         where not exists (select 1 from unnest(seen) s(id) where s.id = n.id)
           and (p_states is null or i.state = any(p_states))
           and issue_visible(i, p_viewer, p_admin);
        exit when cardinality(next_ids) = 0;
        seen := seen || next_ids;
        frontier := next_ids;
        return query select unnest(next_ids), depth;
    end loop;
end;
$$;

-- A shortest chain of links (as issue ids, both ends included) from p_from to p_to, or
-- null: breadth-first like issue_graph_walk, remembering how each issue was reached.
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

-- The cycle guard now uses the general search (as an admin: it must see every issue).
create or replace function issue_links_guard() returns trigger
language plpgsql
as $$
declare
    path bigint[];
begin
    if new.link_type not in ('blocks', 'parent') then
        return null;
    end if;
    perform issue_links_graph_lock();
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

drop function issue_link_path(bigint, bigint, link_type, integer);
