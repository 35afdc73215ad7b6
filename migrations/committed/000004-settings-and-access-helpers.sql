--! Previous: sha1:76b44250c3f63839844c6f49162e8d3f3c403326
--! Hash: sha1:ba1d600e79162d23ddbc6a6ba39c1dc2f55e3e47
--! Message: settings-and-access-helpers

-- Tunables that SQL reads (thresholds, retention) and the helpers every API table uses
-- for its grants and policies, so the access rules are stated once and read the same everywhere.

create table private.settings (
  key         text primary key,
  value       jsonb not null,
  description text not null
);
comment on table private.settings is 'Tunables read by SQL functions and the worker. Change with: update private.settings set value = ''…'' where key = ''…''.';
comment on column private.settings.key is 'Setting name.';
comment on column private.settings.value is 'Setting value as JSON (a number, string or object).';
comment on column private.settings.description is 'What the setting controls, and its unit.';
grant select on private.settings to agent, viewer, operator, worker;

insert into private.settings (key, value, description) values
  ('memory_hot_threshold_bytes', '65536', 'A memory_kv value at least this large (bytes of JSON text) is HOT: listed in memory_kv_hot and pruned first.'),
  ('summary_ttl', '"30 days"', 'Default lifetime of a conversation summary (a PostgreSQL interval).'),
  ('audit_retention', '"90 days"', 'How long audit_log rows are kept (a PostgreSQL interval).');

create function private.setting(name text) returns jsonb
language sql stable
set search_path = ''
as $$ select value from private.settings where key = name $$;
comment on function private.setting(text) is 'The value of one private.settings row (null when absent).';
grant execute on function private.setting(text) to agent, viewer, operator, worker;

create function private.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$ begin new.updated_at := now(); return new; end $$;
comment on function private.touch_updated_at() is 'BEFORE UPDATE trigger keeping updated_at true.';

create function private.register_agent() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if new.agent_id is not null and not exists (select 1 from api.agents where id = new.agent_id) then
    insert into api.agents (id) values (new.agent_id) on conflict do nothing;
  end if;
  return new;
end
$$;
comment on function private.register_agent() is 'BEFORE INSERT trigger: an agent''s first write registers it in api.agents (rolled back with the write if the write fails).';

-- Grants and policies of one API table, from its access matrix:
--   agent_privileges     what an agent may do to rows whose agent_id equals its claim ('' for nothing);
--   operator_privileges  what an operator may do to any row (viewers always read, never write);
-- the worker (collectors, maintenance) gets full DML and bypasses RLS.
create function private.expose(target regclass, agent_privileges text, operator_privileges text default 'select') returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('alter table %s enable row level security', target);
  execute format('grant select, insert, update, delete on %s to worker', target);
  execute format('grant select on %s to viewer', target);
  execute format('create policy staff_read on %s for select to viewer, operator using (true)', target);
  execute format('comment on policy staff_read on %s is %L', target, 'Viewers and operators read every row.');
  execute format('grant %s on %s to operator', operator_privileges, target);
  if operator_privileges <> 'select' then
    execute format('create policy operator_write on %s for all to operator using (true) with check (true)', target);
    execute format('comment on policy operator_write on %s is %L', target, 'Operators change any row (' || operator_privileges || ').');
  end if;
  if agent_privileges <> '' then
    execute format('grant %s on %s to agent', agent_privileges, target);
    execute format('create policy agent_own on %s for all to agent using (agent_id = (select private.current_agent_id())) with check (agent_id = (select private.current_agent_id()))', target);
    execute format('comment on policy agent_own on %s is %L', target, 'An agent sees and writes only rows whose agent_id is its JWT agent_id claim (' || agent_privileges || ').');
  end if;
end
$$;
comment on function private.expose(regclass, text, text) is 'Migration helper: enable RLS on an API table and apply the standard agent/viewer/operator/worker access matrix.';
