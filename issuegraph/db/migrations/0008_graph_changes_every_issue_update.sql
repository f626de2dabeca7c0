-- Every update of an issue is noted in graph_changes, not only those of the columns the
-- walks read (0007): each process also keeps the models of recently read issues, and a
-- change to any column (a title, a label) must drop its copy (docs/graph-index.md).
create or replace function graph_changes_issues() returns trigger
language plpgsql
as $$
begin
    if tg_op = 'DELETE' then
        insert into graph_changes (issue_ids) select array[o.id] from old_issues o;
    else
        insert into graph_changes (issue_ids) select array[n.id] from new_issues n;
    end if;
    return null;
end
$$;
