-- What changed in the link graph, for the in-memory index each process keeps of it
-- (docs/graph-index.md). Statement triggers on issue_links, issues and issue_assignees note
-- every link and issue a statement touched, whoever wrote it (a mutation, a REST call, a
-- cascade, plain SQL), in the writer's own transaction. Readers take the changes past
-- their position in (xid, id) order, below the horizon pg_snapshot_xmin(...), as with the
-- change log (0004), and read the rows they name as they are now.

create table graph_changes (
    id bigint generated always as identity primary key,
    xid xid8 not null default pg_current_xact_id(),
    -- A link change names the link and both its issues; an issue change names the issue.
    link_id bigint,
    issue_ids bigint[] not null
);
create index graph_changes_position on graph_changes (xid, id);

create function graph_changes_links() returns trigger
language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        insert into graph_changes (link_id, issue_ids)
        select n.id, array[n.source_id, n.target_id] from new_links n;
    else  -- UPDATE keeps the pair (a new type or direction), DELETE removes it
        insert into graph_changes (link_id, issue_ids)
        select o.id, array[o.source_id, o.target_id] from old_links o;
    end if;
    return null;
end
$$;

create trigger graph_changes_links_insert after insert on issue_links
    referencing new table as new_links
    for each statement execute function graph_changes_links();
create trigger graph_changes_links_update after update on issue_links
    referencing old table as old_links
    for each statement execute function graph_changes_links();
create trigger graph_changes_links_delete after delete on issue_links
    referencing old table as old_links
    for each statement execute function graph_changes_links();

-- Issues: what the walks read of them (project, state, confidentiality, author).
create function graph_changes_issues() returns trigger
language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        insert into graph_changes (issue_ids) select array[n.id] from new_issues n;
    elsif tg_op = 'DELETE' then
        insert into graph_changes (issue_ids) select array[o.id] from old_issues o;
    else
        insert into graph_changes (issue_ids)
        select array[n.id] from new_issues n join old_issues o on o.id = n.id
         where (n.project_id, n.state, n.confidential, n.author_id)
               is distinct from (o.project_id, o.state, o.confidential, o.author_id);
    end if;
    return null;
end
$$;

create trigger graph_changes_issues_insert after insert on issues
    referencing new table as new_issues
    for each statement execute function graph_changes_issues();
create trigger graph_changes_issues_update after update on issues
    referencing old table as old_issues new table as new_issues
    for each statement execute function graph_changes_issues();
create trigger graph_changes_issues_delete after delete on issues
    referencing old table as old_issues
    for each statement execute function graph_changes_issues();

-- Assignees matter to the read rule of confidential issues.
create function graph_changes_assignees() returns trigger
language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        insert into graph_changes (issue_ids)
        select distinct array[n.issue_id] from new_assignees n;
    else
        insert into graph_changes (issue_ids)
        select distinct array[o.issue_id] from old_assignees o;
    end if;
    return null;
end
$$;

create trigger graph_changes_assignees_insert after insert on issue_assignees
    referencing new table as new_assignees
    for each statement execute function graph_changes_assignees();
create trigger graph_changes_assignees_delete after delete on issue_assignees
    referencing old table as old_assignees
    for each statement execute function graph_changes_assignees();
