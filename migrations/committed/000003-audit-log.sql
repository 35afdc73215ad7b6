--! Previous: sha1:48c0a118044bfa3c996f1b4b5d94a8242d0ddbe3
--! Hash: sha1:76b44250c3f63839844c6f49162e8d3f3c403326
--! Message: audit-log

-- The audit log: one row per inserted, updated or deleted row of every audited table,
-- written by a statement-level trigger (set-based, so a 5,000-row ingest batch costs one
-- INSERT … SELECT, not 5,000 trigger calls). API roles can read it at most; nobody can
-- change it through the API. Retention: 90 days (private.purge_expired).

create table api.audit_log (
  id          bigint generated always as identity primary key,
  at          timestamptz not null default now(),
  actor_role  text not null,
  actor_agent_id text,
  db_user     text not null default session_user,
  table_name  text not null,
  operation   text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
  row_key     jsonb not null,
  old_values  jsonb,
  new_values  jsonb
);
comment on table api.audit_log is 'Who changed what: one row per row written to an audited table. Read-only for staff, invisible to agents, kept 90 days.';
comment on column api.audit_log.id is 'Sequential id; also the keyset cursor for paging.';
comment on column api.audit_log.at is 'When the changing statement ran (transaction time).';
comment on column api.audit_log.actor_role is 'The JWT role of an HTTP request (agent, operator, …) or the database login for direct connections.';
comment on column api.audit_log.actor_agent_id is 'The agent_id claim when an agent made the change.';
comment on column api.audit_log.db_user is 'The database login the change came through (authenticator for HTTP requests).';
comment on column api.audit_log.table_name is 'The changed table, schema-qualified.';
comment on column api.audit_log.operation is 'INSERT, UPDATE or DELETE.';
comment on column api.audit_log.row_key is 'The primary key of the changed row, as a JSON object.';
comment on column api.audit_log.old_values is 'The row before an UPDATE or DELETE (null for high-volume telemetry tables, whose rows are their own record).';
comment on column api.audit_log.new_values is 'The row after an INSERT or UPDATE (null for high-volume telemetry tables).';

create index audit_log_at_idx on api.audit_log using brin (at);
create index audit_log_table_key_idx on api.audit_log (table_name, row_key);

alter table api.audit_log enable row level security;
create policy audit_log_staff_read on api.audit_log for select to viewer, operator using (true);
comment on policy audit_log_staff_read on api.audit_log is 'Viewers and operators read the whole log; agents have no grant at all.';
grant select on api.audit_log to viewer, operator;
grant select, delete on api.audit_log to worker;

-- Trigger arguments: (1) the primary-key columns, comma-separated; (2) 'values' to keep the
-- old/new row images, 'keys' to keep only the key (append-only telemetry that is its own record).
create function private.audit_changes() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  pk text[] := string_to_array(tg_argv[0], ',');
  keep_values boolean := coalesce(tg_argv[1], 'values') = 'values';
  table_name text := format('%I.%I', tg_table_schema, tg_table_name);
  key_of text;
  join_on text;
begin
  key_of := (select format('jsonb_build_object(%s)', string_agg(format('%L, r.%I', c, c), ', ')) from unnest(pk) c);
  if tg_op = 'UPDATE' then
    -- Whole-row values of transition tables cannot be passed through coalesce() (their record
    -- type is not registered), so the key is taken column by column from whichever side exists.
    key_of := (select format('jsonb_build_object(%s)', string_agg(format('%L, coalesce(n.%I, o.%I)', c, c, c), ', ')) from unnest(pk) c);
  end if;
  if tg_op = 'INSERT' then
    execute format($q$insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, new_values)
      select private.current_actor(), private.current_agent_id(), $1, 'INSERT', %s, case when $2 then to_jsonb(r) end
      from new_rows r$q$, key_of)
    using table_name, keep_values;
  elsif tg_op = 'DELETE' then
    execute format($q$insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, old_values)
      select private.current_actor(), private.current_agent_id(), $1, 'DELETE', %s, case when $2 then to_jsonb(r) end
      from old_rows r$q$, key_of)
    using table_name, keep_values;
  else
    -- Pair the before and after images by key; a row whose key changed appears on both sides unpaired.
    join_on := (select string_agg(format('o.%I = n.%I', c, c), ' and ') from unnest(pk) c);
    execute format($q$insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, old_values, new_values)
      select private.current_actor(), private.current_agent_id(), $1, 'UPDATE',
             %s, case when $2 then to_jsonb(o) end, case when $2 then to_jsonb(n) end
      from old_rows o full join new_rows n on %s$q$,
      key_of, join_on)
    using table_name, keep_values;
  end if;
  return null;
end
$$;
comment on function private.audit_changes() is 'Statement-level AFTER trigger writing api.audit_log from the transition tables. Args: primary-key columns (comma-separated), then ''values'' or ''keys''.';

-- Attaches the three audit triggers to a table in one call, so every audited table is audited the same way.
create function private.audit_table(target regclass, key_columns text, keep text default 'values') returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('create trigger audit_insert after insert on %s referencing new table as new_rows for each statement execute function private.audit_changes(%L, %L)', target, key_columns, keep);
  execute format('create trigger audit_update after update on %s referencing old table as old_rows new table as new_rows for each statement execute function private.audit_changes(%L, %L)', target, key_columns, keep);
  execute format('create trigger audit_delete after delete on %s referencing old table as old_rows for each statement execute function private.audit_changes(%L, %L)', target, key_columns, keep);
end
$$;
comment on function private.audit_table(regclass, text, text) is 'Migration helper: audit every insert, update and delete of a table (see private.audit_changes).';
