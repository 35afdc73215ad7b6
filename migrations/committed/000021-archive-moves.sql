--! Previous: sha1:e62bf3a39f627ea21906460cb28ca77c6ec19d88
--! Hash: sha1:cabe66348e539c9c1532a19371555faca40f69ae
--! Message: archive-moves

-- Archiving is a move, and was priced like a million deletions: the full-size sweep bench
-- (1M messages, 10k sessions over 60 days) spent 49 of its 54 s here. Two causes:
--  1. the batch lookups matched `agent_id || E'\x1f' || session_id = any (keys)`, which no index
--     serves, so every batch of 200 sessions scanned all of api.messages and api.tool_calls;
--  2. every moved message and tool call wrote an audit row (500k rows of the 90-day log for data
--     that still exists, in private.archived_*).
-- Now the batch joins on (agent_id, session_id) through the primary keys, and the move is audited
-- once per session: a DELETE row for the session with its values and how many messages and tool
-- calls went with it, where to. Row-by-row deletes by anyone else are audited as before.

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
  -- The archive move audits itself, one row per session (private.archive_sessions). The setting
  -- alone is not enough: only a worker login (which may delete audit rows for retention anyway)
  -- can skip row auditing this way; anyone else setting it is audited as usual.
  if tg_op = 'DELETE' and current_setting('clawbase.audit_moves', true) = 'archive'
     and pg_has_role(session_user, 'worker', 'member') then
    return null;
  end if;
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
comment on function private.audit_changes() is 'Statement-level AFTER trigger writing api.audit_log from the transition tables. Args: primary-key columns (comma-separated), ''values'' or ''keys'', and optionally columns whose change alone is not audited (comma-separated). The archive move (private.archive_sessions) writes its own per-session rows instead.';

-- The procedure commits per batch, so it cannot be security definer, and the worker may not
-- write api.audit_log itself: this narrow definer function writes the per-session rows.
create function private.audit_archive_move(gone jsonb) returns void
language sql security definer
set search_path = ''
as $$
  insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, old_values)
  select session_user, null, 'api.sessions', 'DELETE', jsonb_build_object('agent_id', e ->> 'agent_id', 'id', e ->> 'id'), e
  from jsonb_array_elements(gone) e
$$;
comment on function private.audit_archive_move(jsonb) is 'Audit rows of one archive batch: a DELETE of api.sessions per archived session, its values plus what moved with it. Called by private.archive_sessions only.';
revoke execute on function private.audit_archive_move(jsonb) from public;
grant execute on function private.audit_archive_move(jsonb) to worker;

-- The archive move writes ~1 KB of heap and WAL per message as fast as the disk takes it; an agent
-- commit meanwhile waits for its WAL fsync behind that queue (bench/sweep.ts: upserts waited
-- 0.2-0.3 s in IO/WalSync while archive_sessions ran). What fixed it on this machine was handing
-- dirty pages to the kernel early (backend_flush_after, db/embedded.ts); the move also goes in
-- smaller batches now, and a slower disk can make it rest after each (sweep_write_pace): at 1 the
-- full-size sweep took 22 s instead of 16 s and its longest upsert wait was 57 ms instead of 63 ms.

insert into private.settings (key, value, description) values
  ('sweep_write_pace', '0', 'After each archive batch the maintenance sweep rests this multiple of the batch''s own time (1 = half the disk time left to agents; 0 = no rest). Raise it when agent writes stall during the sweep on a slow disk.')
on conflict (key) do nothing;

create or replace procedure private.archive_sessions(older_than interval, batch_sessions integer default 50,
                                                     inout archived jsonb default '{}')
language plpgsql
as $$
declare
  s_cols text := private.insertable_columns('api.sessions');
  m_cols text := private.insertable_columns('api.messages');
  -- duration_ms is generated in api.tool_calls and a plain column in the archive: keep its value.
  t_cols text := private.insertable_columns('private.archived_tool_calls');
  agents text[];
  ids text[];
  n_sessions bigint := 0;
  n_messages bigint := 0;
  n_tools bigint := 0;
  n bigint;
  moved jsonb;
  started timestamptz;
  pace float8 := coalesce((private.setting('sweep_write_pace'))::float8, 0);
begin
  loop
    started := clock_timestamp();
    perform set_config('clawbase.suppress_events', 'on', true);
    perform set_config('clawbase.audit_moves', 'archive', true);
    -- Sessions being written right now are skipped (the next sweep takes them).
    select array_agg(s.agent_id), array_agg(s.id) into agents, ids from (
      select agent_id, id from api.sessions
      where coalesce(last_message_at, started_at) < now() - older_than
      limit batch_sessions for update skip locked) s;
    exit when agents is null;
    -- unnest(agents, ids) pairs them up: every lookup below is a primary-key range scan.
    execute format('insert into private.archived_tool_calls (%s) select %1$s from api.tool_calls
                    where (agent_id, session_id) in (select * from unnest($1, $2)) on conflict do nothing', t_cols)
      using agents, ids;
    get diagnostics n = row_count; n_tools := n_tools + n;
    execute format('insert into private.archived_messages (%s) select %1$s from api.messages
                    where (agent_id, session_id) in (select * from unnest($1, $2)) on conflict do nothing', m_cols)
      using agents, ids;
    get diagnostics n = row_count; n_messages := n_messages + n;
    execute format('insert into private.archived_sessions (%s) select %1$s from api.sessions
                    where (agent_id, id) in (select * from unnest($1, $2)) on conflict do nothing', s_cols)
      using agents, ids;
    get diagnostics n = row_count; n_sessions := n_sessions + n;
    -- Children first (a cascade would delete them row by row), counting per session for the audit.
    with gone_tools as (
      delete from api.tool_calls t where (t.agent_id, t.session_id) in (select * from unnest(agents, ids))
      returning t.agent_id, t.session_id),
    gone_messages as (
      delete from api.messages m where (m.agent_id, m.session_id) in (select * from unnest(agents, ids))
      returning m.agent_id, m.session_id),
    per_session as (
      select agent_id, session_id, count(*) filter (where is_message) as messages, count(*) filter (where not is_message) as tool_calls
      from (select agent_id, session_id, true as is_message from gone_messages
            union all select agent_id, session_id, false from gone_tools) g
      group by 1, 2)
    select coalesce(jsonb_object_agg(agent_id || E'\x1f' || session_id,
                                     jsonb_build_object('messages', messages, 'tool_calls', tool_calls)), '{}')
      into moved from per_session;
    with gone as (
      delete from api.sessions s where (s.agent_id, s.id) in (select * from unnest(agents, ids)) returning s.*)
    select coalesce(jsonb_agg(to_jsonb(g) || jsonb_build_object('archived', jsonb_build_object('to', 'private.archived_sessions')
             || coalesce(moved -> (g.agent_id || E'\x1f' || g.id), '{"messages": 0, "tool_calls": 0}'))), '[]')
      into moved from gone g;
    perform private.audit_archive_move(moved);
    commit;
    exit when cardinality(agents) < batch_sessions;
    -- Rest in proportion to the batch's own time: the disk drains, and agents' commits (which
    -- must fsync the WAL behind them) stop queueing behind this bulk write.
    if pace > 0 then
      perform pg_sleep(least(extract(epoch from clock_timestamp() - started) * pace, 5));
    end if;
  end loop;
  archived := jsonb_build_object('sessions', n_sessions, 'messages', n_messages, 'tool_calls', n_tools);
end
$$;
comment on procedure private.archive_sessions(interval, integer, jsonb) is 'Moves sessions idle longer than older_than (with their messages and tool calls) into private.archived_*, batch_sessions sessions per transaction with a rest of sweep_write_pace × the batch''s time after each, audited as one DELETE row per session (its values and the counts moved with it). Worker only. Counts returned.';
