-- The change log: one row per change to an issue or a link, written by the transaction
-- that makes the change (docs/events.md).
--
-- Readers order events by (xid, id) and read only below the horizon
-- pg_snapshot_xmin(pg_current_snapshot()): every transaction whose id is below it has
-- ended, and every transaction still to write one gets a larger id, so no event can
-- appear later before a position already read. Ordering by id alone would not do: a
-- transaction that took its id first may commit after one that took a later id.

create table events (
    id bigint generated always as identity primary key,
    xid xid8 not null default pg_current_xact_id(),
    kind text not null,
    actor_id bigint,
    occurred_at timestamptz not null default now(),
    -- What the event is about, for filtering: the issues' projects, the issues (an issue
    -- event names one, a link event its source and its target), the link.
    project_ids bigint[] not null,
    issue_ids bigint[] not null,
    link_id bigint,
    link_type link_type,
    -- Written with the SourceCraft `silent` flag: kept in the log, never pushed.
    silent boolean not null default false,
    -- The issues as they were (to describe a deleted one), and what changed.
    data jsonb not null,
    constraint events_kind_known check (kind in (
        'issue_created', 'issue_updated', 'issue_closed', 'issue_reopened', 'issue_deleted',
        'link_created', 'link_updated', 'link_deleted'
    )),
    constraint events_issues_named check (cardinality(issue_ids) between 1 and 2)
);
create index events_position on events (xid, id);
create index events_projects on events using gin (project_ids);
create index events_issues on events using gin (issue_ids);

-- Wakes every LISTEN-ing process once per writing statement; the payload is empty, as
-- readers read the log itself (and a NOTIFY can be lost while a listener reconnects).
create function events_notify() returns trigger
language plpgsql
as $$
begin
    perform pg_notify('issuegraph_events', '');
    return null;
end
$$;
create trigger events_notify after insert on events
    for each statement execute function events_notify();
