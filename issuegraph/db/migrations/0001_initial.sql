-- The foundation: users and tokens, projects and members, issues, notes, issue links.

create type project_visibility as enum ('public', 'internal', 'private');
-- Declared in ascending order of power: enum comparison is role comparison.
create type member_role as enum ('guest', 'reporter', 'developer', 'maintainer', 'owner');
create type issue_state as enum ('opened', 'closed');
-- Stored in the canonical direction only; inverse names are a view from the target.
create type link_type as enum ('relates', 'blocks', 'duplicates', 'parent', 'clones');

create table users (
    id bigint generated always as identity primary key,
    username text not null,
    name text not null,
    state text not null default 'active',
    avatar_url text,
    is_admin boolean not null default false,
    created_at timestamptz not null default now(),
    constraint users_username_format check (username ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$'),
    constraint users_state_known check (state in ('active', 'blocked')),
    constraint users_name_length check (char_length(name) between 1 and 255)
);
create unique index users_username_key on users (lower(username));

create table personal_access_tokens (
    id bigint generated always as identity primary key,
    user_id bigint not null references users on delete cascade,
    name text not null,
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_digest bytea not null unique,
    scopes text[] not null,
    expires_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    constraint pat_scopes_known check (
        cardinality(scopes) > 0 and scopes <@ array['read_api', 'api']::text[]
    )
);
create index personal_access_tokens_user on personal_access_tokens (user_id);

create table projects (
    id bigint generated always as identity primary key,
    full_path text not null,
    name text not null,
    description text,
    visibility project_visibility not null default 'private',
    -- Last iid handed out; bumped under the row lock when an issue is created.
    last_issue_iid integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint projects_full_path_format check (
        char_length(full_path) <= 255
        and full_path ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$'
    ),
    constraint projects_name_length check (char_length(name) between 1 and 255)
);
create unique index projects_full_path_key on projects (lower(full_path));

create table project_members (
    project_id bigint not null references projects on delete cascade,
    user_id bigint not null references users on delete cascade,
    role member_role not null,
    created_at timestamptz not null default now(),
    primary key (project_id, user_id)
);
create index project_members_user on project_members (user_id);

create table issues (
    id bigint generated always as identity primary key,
    project_id bigint not null references projects on delete cascade,
    iid integer not null,
    title text not null,
    description text,
    state issue_state not null default 'opened',
    labels text[] not null default '{}',
    author_id bigint not null references users,
    milestone text,
    due_date date,
    confidential boolean not null default false,
    weight integer,
    closed_at timestamptz,
    closed_by_id bigint references users on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint issues_iid_per_project unique (project_id, iid),
    constraint issues_iid_positive check (iid > 0),
    constraint issues_title_length check (char_length(title) between 1 and 255),
    constraint issues_description_length check (char_length(description) <= 1048576),
    constraint issues_weight_non_negative check (weight >= 0),
    constraint issues_closed_at_matches_state check ((state = 'closed') = (closed_at is not null))
);
create index issues_project_state_iid on issues (project_id, state, iid);
create index issues_author on issues (author_id);

create table issue_assignees (
    issue_id bigint not null references issues on delete cascade,
    user_id bigint not null references users on delete cascade,
    primary key (issue_id, user_id)
);
create index issue_assignees_user on issue_assignees (user_id);

create table notes (
    id bigint generated always as identity primary key,
    issue_id bigint not null references issues on delete cascade,
    author_id bigint references users on delete set null,
    body text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint notes_body_length check (char_length(body) between 1 and 1048576)
);
create index notes_issue on notes (issue_id, id);

create table issue_links (
    id bigint generated always as identity primary key,
    source_id bigint not null references issues on delete cascade,
    target_id bigint not null references issues on delete cascade,
    link_type link_type not null default 'relates',
    author_id bigint references users on delete set null,
    updated_by_id bigint references users on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint issue_links_not_self check (source_id <> target_id)
);
-- At most one link between two issues, whatever its type or direction.
create unique index issue_links_one_per_pair
    on issue_links (least(source_id, target_id), greatest(source_id, target_id));
-- The parent tree: an issue has at most one parent.
create unique index issue_links_one_parent on issue_links (target_id) where link_type = 'parent';
create index issue_links_source on issue_links (source_id, created_at, id);
create index issue_links_target on issue_links (target_id, created_at, id);
