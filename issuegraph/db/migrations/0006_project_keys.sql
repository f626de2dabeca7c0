-- Project keys: the KEY of Jira's issue keys (KEY-123). Unique, 2-10 of [A-Z0-9_] starting
-- with a letter; given when the project is created, or derived from the last segment of
-- its path (upper-cased, other characters dropped), numbered when the plain form is taken.

alter table projects add column key text;

create function project_key_from_path(path text) returns text
language plpgsql
as $$
declare
    base text := upper(regexp_replace(regexp_replace(path, '^.*/', ''), '[^A-Za-z0-9_]', '', 'g'));
    candidate text;
    n integer := 1;
begin
    base := left(regexp_replace(base, '^[^A-Z]+', ''), 10);
    if base = '' then
        base := 'PROJECT';
    end if;
    if length(base) < 2 then
        base := base || 'P';
    end if;
    candidate := base;
    while exists (select 1 from projects where key = candidate) loop
        n := n + 1;
        candidate := left(base, 10 - length(n::text)) || n::text;
    end loop;
    return candidate;
end
$$;

-- Every insert takes one transaction-scoped lock first, so that a derived key never races
-- another project's key: the second writer waits, then sees the first one's key.
create function projects_set_key() returns trigger
language plpgsql
as $$
begin
    perform pg_advisory_xact_lock(1554627002);
    if new.key is null then
        new.key := project_key_from_path(new.full_path);
    end if;
    return new;
end
$$;

do $$
declare
    project record;
begin
    for project in select id, full_path from projects order by id loop
        update projects set key = project_key_from_path(project.full_path) where id = project.id;
    end loop;
end
$$;

alter table projects
    alter column key set not null,
    add constraint projects_key_format check (key ~ '^[A-Z][A-Z0-9_]{1,9}$');
create unique index projects_key_key on projects (key);

create trigger projects_key before insert on projects
    for each row execute function projects_set_key();
