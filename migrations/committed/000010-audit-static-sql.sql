--! Previous: sha1:88e6f35983fd4c6860e05bd34be50c024e1e5cd0
--! Hash: sha1:1f74333828435884f4c330dfca316ef79837da0c
--! Message: audit-static-sql

-- Audit triggers with static SQL: cached plans per audited table, and no work for an empty
-- transition table (INSERT … ON CONFLICT fires both the insert and the update statement trigger).

create or replace function private.audit_changes() returns trigger
language plpgsql security definer
set search_path = ''
as $$
-- Static SQL only: PL/pgSQL caches one plan per statement and per audited table, where the
-- previous EXECUTE-based version parsed and planned every statement anew (half the cost of a
-- single-row upsert). An INSERT … ON CONFLICT fires both the insert and the update statement
-- triggers, usually with one transition table empty: return before any work then.
declare
  pk text[] := string_to_array(tg_argv[0], ',');
  keep_values boolean := coalesce(tg_argv[1], 'values') = 'values';
  -- Bookkeeping columns (e.g. last_accessed_at): an update that changes nothing else is not audited.
  ignored text[] := string_to_array(coalesce(tg_argv[2], ''), ',');
  table_name text := format('%I.%I', tg_table_schema, tg_table_name);
  actor text := private.current_actor();
  actor_agent text := private.current_agent_id();
begin
  if tg_op = 'INSERT' then
    if not exists (select from new_rows) then return null; end if;
    insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, new_values)
    select actor, actor_agent, table_name, 'INSERT',
           (select jsonb_object_agg(c, r.j -> c) from unnest(pk) c), case when keep_values then r.j end
    from (select to_jsonb(n) as j from new_rows n) r;
  elsif tg_op = 'DELETE' then
    if not exists (select from old_rows) then return null; end if;
    insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, old_values)
    select actor, actor_agent, table_name, 'DELETE',
           (select jsonb_object_agg(c, r.j -> c) from unnest(pk) c), case when keep_values then r.j end
    from (select to_jsonb(o) as j from old_rows o) r;
  else
    if not exists (select from new_rows) then return null; end if;
    -- Pair the before and after images by key (a hash join on the key object); a row whose key
    -- changed appears on both sides unpaired.
    insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, old_values, new_values)
    select actor, actor_agent, table_name, 'UPDATE', coalesce(n.k, o.k),
           case when keep_values then o.j end, case when keep_values then n.j end
    from (select j, (select jsonb_object_agg(c, j -> c) from unnest(pk) c) as k
          from (select to_jsonb(x) as j from old_rows x) s) o
    full join (select j, (select jsonb_object_agg(c, j -> c) from unnest(pk) c) as k
               from (select to_jsonb(x) as j from new_rows x) s) n on o.k = n.k
    where o.k is null or n.k is null or (o.j - ignored) is distinct from (n.j - ignored);
  end if;
  return null;
end
$$;
comment on function private.audit_changes() is 'Statement-level AFTER trigger writing api.audit_log from the transition tables. Args: primary-key columns (comma-separated), ''values'' or ''keys'', and optionally columns whose change alone is not audited (comma-separated).';
