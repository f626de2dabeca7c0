-- Webhooks: registrations, the deliveries they are owed, each attempt, and the durable
-- position up to which the change log has been turned into deliveries (docs/events.md,
-- "Webhooks").

create table webhooks (
    id bigint generated always as identity primary key,
    project_id bigint not null references projects (id) on delete cascade,
    creator_id bigint not null references users (id),
    url text not null,
    -- Standard Webhooks secret ("whsec_" + base64); the signing key, never shown again.
    secret text not null,
    kinds text[] not null,
    enabled boolean not null default true,
    disabled_reason text,
    disabled_at timestamptz,
    consecutive_failures integer not null default 0,
    -- Events at or after this position (a reader starting "now" when the hook was
    -- made) are delivered; older ones only on request (redelivery).
    start_xid xid8 not null default pg_snapshot_xmin(pg_current_snapshot()),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint webhooks_kinds_named check (cardinality(kinds) between 1 and 8)
);
create index webhooks_project on webhooks (project_id);

-- One row: the log position the dispatcher has turned into deliveries. Dispatchers of
-- every process lock it, so each event is dispatched once.
create table webhook_cursor (
    singleton boolean primary key default true constraint webhook_cursor_one check (singleton),
    xid xid8 not null,
    id bigint not null
);
insert into webhook_cursor (xid, id) values (pg_snapshot_xmin(pg_current_snapshot()), 0);

create table webhook_deliveries (
    id bigint generated always as identity primary key,
    webhook_id bigint not null references webhooks (id) on delete cascade,
    -- Events are never deleted.
    event_id bigint not null references events (id),
    -- The Standard Webhooks message id: the same across retries and redeliveries.
    message_id text not null,
    redelivery boolean not null default false,
    status text not null default 'pending',
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- A sender's claim; once past, a claim whose sender died is due again.
    leased_until timestamptz,
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    constraint webhook_deliveries_status check (
        status in ('pending', 'delivered', 'failed', 'skipped')
    )
);
-- The dispatcher makes at most one delivery of an event to a hook.
create unique index webhook_deliveries_once on webhook_deliveries (webhook_id, event_id)
    where not redelivery;
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
    where status = 'pending';
create index webhook_deliveries_log on webhook_deliveries (webhook_id, id);

create table webhook_attempts (
    id bigint generated always as identity primary key,
    delivery_id bigint not null references webhook_deliveries (id) on delete cascade,
    attempted_at timestamptz not null default now(),
    response_status integer,
    duration_ms double precision not null,
    error text
);
create index webhook_attempts_delivery on webhook_attempts (delivery_id, id);
