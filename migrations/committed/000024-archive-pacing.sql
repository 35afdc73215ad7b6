--! Previous: sha1:c8e9d8ddb99861df71e6ead4a6c977b255dfe31c
--! Hash: sha1:91c57156ae2ff9a23429caa46800d254ae69eade
--! Message: archive-pacing

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
