-- graph_changes is pruned (docs/graph-index.md, "Pruning"): rows older than the retention
-- go, and `graph_changes_pruned.below` says up to where: every removed change had an xid
-- below it. A process whose index position is below it may have missed one, and builds
-- its index again.
alter table graph_changes add column at timestamptz not null default now();

create table graph_changes_pruned (
    only_row boolean primary key default true check (only_row),
    below xid8 not null
);
insert into graph_changes_pruned (below) values ('0');
