-- Walking the dependency graph inside PostgreSQL (issue_visible and issue_graph_path come
-- with the link rules, migration 0002).

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
