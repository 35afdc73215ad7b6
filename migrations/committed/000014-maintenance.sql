--! Previous: sha1:1e74909a08dfe8399d12a1c7b1dd4dff967da919
--! Hash: sha1:a7920a315c47cd93de2780a83facf1d40adfdd25
--! Message: maintenance

-- The maintenance sweep's SQL side: batched deletes that never hold an agent's write for long,
-- HOT pruning by the memory rule, session archiving (restorable), and the schedule the dashboard
-- shows. The worker calls these; API roles only read the schedule and the archive list.

insert into private.settings (key, value, description) values
  ('memory_hot_budget_bytes', '16777216', 'Bytes of unpinned HOT memory_kv values each agent may keep; the maintenance sweep prunes the least recently accessed HOT rows past it.');

-- One generic batched delete: each batch its own transaction, rows being written right now skipped.
create procedure private.delete_in_batches(target regclass, condition text, batch_size integer default 1000,
                                           skip_locked boolean default true, inout deleted bigint default 0)
language plpgsql
as $$
-- No SET clause: a procedure with one cannot COMMIT between batches. Callers pass qualified names.
declare
  n bigint;
begin
  deleted := 0;
  loop
    execute format('delete from %s where ctid = any (array(select ctid from %1$s where %s limit %s %s))',
                   target, condition, batch_size, case when skip_locked then 'for update skip locked' else '' end);
    get diagnostics n = row_count;
    deleted := deleted + n;
    commit;
    exit when n < batch_size;
  end loop;
end
$$;
comment on procedure private.delete_in_batches(regclass, text, integer, boolean, bigint) is 'Deletes the rows of target matching condition, batch_size rows per transaction (rows locked by a writer are skipped when skip_locked). Worker only. Run: call private.delete_in_batches(''api.memory_kv'', ''expires_at <= now()'');';
grant execute on procedure private.delete_in_batches(regclass, text, integer, boolean, bigint) to worker;

-- HOT rule (memory issue): per agent, unpinned live HOT rows beyond memory_hot_budget_bytes go,
-- least recently accessed first; pinned rows are never pruned for size.
create procedure private.prune_hot_memory(batch_size integer default 500, inout pruned bigint default 0)
language plpgsql
as $$
declare
  threshold integer := (private.setting('memory_hot_threshold_bytes'))::integer;
  budget bigint := (private.setting('memory_hot_budget_bytes'))::bigint;
  n bigint;
begin
  pruned := 0;
  loop
    delete from api.memory_kv m
    where m.ctid = any (array(
      select k.ctid from api.memory_kv k
      join (select r.agent_id, r.key from (
              select h.agent_id, h.key,
                     sum(h.size_bytes) over (partition by h.agent_id order by h.last_accessed_at desc, h.key) as kept
              from api.memory_kv h
              where h.size_bytes >= threshold and not h.pinned and (h.expires_at is null or h.expires_at > now())
            ) r where r.kept > budget limit batch_size) d on d.agent_id = k.agent_id and d.key = k.key
      for update of k skip locked));
    get diagnostics n = row_count;
    pruned := pruned + n;
    commit;
    exit when n < batch_size;
  end loop;
end
$$;
comment on procedure private.prune_hot_memory(integer, bigint) is 'HOT pruning: for each agent, deletes its least recently accessed unpinned HOT memory_kv rows until the rest fit in memory_hot_budget_bytes. Worker only.';
grant execute on procedure private.prune_hot_memory(integer, bigint) to worker;

-- Archive: sessions idle past the configured age move with their messages and tool calls out of
-- the hot tables into these, and move back with private.restore_session / api.restore_session.
create table private.archived_sessions (like api.sessions including comments);
alter table private.archived_sessions add column archived_at timestamptz not null default now();
alter table private.archived_sessions add primary key (agent_id, id);
comment on table private.archived_sessions is 'Sessions moved out of api.sessions by the maintenance sweep (idle longer than CLAWBASE_ARCHIVE_AFTER_DAYS). Restore one with select api.restore_session(agent_id, id).';
comment on column private.archived_sessions.archived_at is 'When the sweep archived the session.';
create index archived_sessions_archived_idx on private.archived_sessions (archived_at);

create table private.archived_messages (like api.messages including comments);
alter table private.archived_messages add primary key (agent_id, session_id, id);
comment on table private.archived_messages is 'Messages of archived sessions (same columns as api.messages).';

create table private.archived_tool_calls (like api.tool_calls including comments);
alter table private.archived_tool_calls add primary key (agent_id, session_id, id);
comment on table private.archived_tool_calls is 'Tool calls of archived sessions (same columns as api.tool_calls; duration_ms kept as stored).';

grant select, insert, delete on private.archived_sessions, private.archived_messages, private.archived_tool_calls to worker;
grant select on private.archived_sessions, private.archived_messages, private.archived_tool_calls to viewer, operator;

-- Column lists without generated columns (they cannot be inserted).
create function private.insertable_columns(target regclass) returns text
language sql stable
set search_path = ''
as $$
  select string_agg(quote_ident(attname), ', ' order by attnum) from pg_catalog.pg_attribute
  where attrelid = target and attnum > 0 and not attisdropped and attgenerated = ''
$$;
comment on function private.insertable_columns(regclass) is 'Comma-separated quoted columns of a table that an INSERT may set (no generated or dropped ones).';
grant execute on function private.insertable_columns(regclass) to worker;

create procedure private.archive_sessions(older_than interval, batch_sessions integer default 200,
                                          inout archived jsonb default '{}')
language plpgsql
as $$
declare
  s_cols text := private.insertable_columns('api.sessions');
  m_cols text := private.insertable_columns('api.messages');
  -- duration_ms is generated in api.tool_calls and a plain column in the archive: keep its value.
  t_cols text := private.insertable_columns('private.archived_tool_calls');
  keys text[];
  n_sessions bigint := 0;
  n_messages bigint := 0;
  n_tools bigint := 0;
  n bigint;
begin
  perform set_config('clawbase.suppress_events', 'on', false);
  loop
    -- Sessions being written right now are skipped (the next sweep takes them).
    select array_agg(s.agent_id || E'\x1f' || s.id) into keys from (
      select agent_id, id from api.sessions
      where coalesce(last_message_at, started_at) < now() - older_than
      limit batch_sessions for update skip locked) s;
    exit when keys is null;
    execute format('insert into private.archived_tool_calls (%s) select %1$s from api.tool_calls where agent_id || E''\x1f'' || session_id = any ($1) on conflict do nothing', t_cols) using keys;
    get diagnostics n = row_count; n_tools := n_tools + n;
    execute format('insert into private.archived_messages (%s) select %1$s from api.messages where agent_id || E''\x1f'' || session_id = any ($1) on conflict do nothing', m_cols) using keys;
    get diagnostics n = row_count; n_messages := n_messages + n;
    execute format('insert into private.archived_sessions (%s) select %1$s from api.sessions where agent_id || E''\x1f'' || id = any ($1) on conflict do nothing', s_cols) using keys;
    get diagnostics n = row_count; n_sessions := n_sessions + n;
    -- Children first: a cascade would delete them row by row.
    delete from api.tool_calls t using unnest(keys) k where t.agent_id = split_part(k, E'\x1f', 1) and t.session_id = split_part(k, E'\x1f', 2);
    delete from api.messages m using unnest(keys) k where m.agent_id = split_part(k, E'\x1f', 1) and m.session_id = split_part(k, E'\x1f', 2);
    delete from api.sessions s using unnest(keys) k where s.agent_id = split_part(k, E'\x1f', 1) and s.id = split_part(k, E'\x1f', 2);
    commit;
    perform set_config('clawbase.suppress_events', 'on', false);
    exit when cardinality(keys) < batch_sessions;
  end loop;
  perform set_config('clawbase.suppress_events', '', false);
  archived := jsonb_build_object('sessions', n_sessions, 'messages', n_messages, 'tool_calls', n_tools);
end
$$;
comment on procedure private.archive_sessions(interval, integer, jsonb) is 'Moves sessions idle longer than older_than (with their messages and tool calls) into private.archived_*, batch_sessions sessions per transaction. Worker only. Counts returned.';
grant execute on procedure private.archive_sessions(interval, integer, jsonb) to worker;

create function private.restore_session(p_agent_id text, p_session_id text) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  n_sessions bigint;
  n_messages bigint;
  n_tools bigint;
begin
  if not exists (select from private.archived_sessions where agent_id = p_agent_id and id = p_session_id) then
    raise exception 'session %/% is not in the archive', p_agent_id, p_session_id
      using errcode = 'P0002', hint = 'List archived sessions with: select agent_id, id from api.archived_sessions;';
  end if;
  perform set_config('clawbase.suppress_events', 'on', true);
  execute format('insert into api.sessions (%s) select %1$s from private.archived_sessions where agent_id = $1 and id = $2 on conflict do nothing',
                 private.insertable_columns('api.sessions')) using p_agent_id, p_session_id;
  get diagnostics n_sessions = row_count;
  execute format('insert into api.messages (%s) select %1$s from private.archived_messages where agent_id = $1 and session_id = $2 on conflict do nothing',
                 private.insertable_columns('api.messages')) using p_agent_id, p_session_id;
  get diagnostics n_messages = row_count;
  execute format('insert into api.tool_calls (%s) select %1$s from private.archived_tool_calls where agent_id = $1 and session_id = $2 on conflict do nothing',
                 private.insertable_columns('api.tool_calls')) using p_agent_id, p_session_id;
  get diagnostics n_tools = row_count;
  delete from private.archived_tool_calls where agent_id = p_agent_id and session_id = p_session_id;
  delete from private.archived_messages where agent_id = p_agent_id and session_id = p_session_id;
  delete from private.archived_sessions where agent_id = p_agent_id and id = p_session_id;
  perform set_config('clawbase.suppress_events', '', true);
  return jsonb_build_object('sessions', n_sessions, 'messages', n_messages, 'tool_calls', n_tools);
end
$$;
comment on function private.restore_session(text, text) is 'Moves one archived session with its messages and tool calls back into the hot tables; returns the counts restored.';
revoke execute on function private.restore_session(text, text) from public;
grant execute on function private.restore_session(text, text) to worker;

create function api.restore_session(agent_id text, session_id text) returns jsonb
language sql security definer
set search_path = ''
as $$ select private.restore_session(agent_id, session_id) $$;
comment on function api.restore_session(text, text) is 'Operators: bring one archived session (messages, tool calls) back into the hot tables. POST /rpc/restore_session {"agent_id": "…", "session_id": "…"}.';
revoke execute on function api.restore_session(text, text) from public;
grant execute on function api.restore_session(text, text) to operator;

create view api.archived_sessions with (security_invoker = true) as
  select agent_id, id, channel, model, started_at, last_message_at, ended_at, archived_at,
         (select count(*) from private.archived_messages m where m.agent_id = s.agent_id and m.session_id = s.id) as message_count
  from private.archived_sessions s;
comment on view api.archived_sessions is 'Sessions the maintenance sweep archived (staff only); restore one with POST /rpc/restore_session.';
comment on column api.archived_sessions.agent_id is 'Owning agent.';
comment on column api.archived_sessions.id is 'Session id.';
comment on column api.archived_sessions.channel is 'Channel of the session.';
comment on column api.archived_sessions.model is 'Model of the session.';
comment on column api.archived_sessions.started_at is 'When the session started.';
comment on column api.archived_sessions.last_message_at is 'Its last message.';
comment on column api.archived_sessions.ended_at is 'When it ended.';
comment on column api.archived_sessions.archived_at is 'When the sweep archived it.';
comment on column api.archived_sessions.message_count is 'Messages kept in the archive.';
grant select on api.archived_sessions to viewer, operator, worker;

-- The crontab, as the dashboard needs it: each scheduled job, its interval, the next slot and the last run.
create table private.schedules (
  name        text primary key,
  cron        text not null,
  every       interval not null check (every > interval '0'),
  description text not null
);
comment on table private.schedules is 'Mirror of worker/crontab for the interval jobs (a test keeps the two equal): what runs, how often (UTC slots).';
comment on column private.schedules.name is 'Task name as in the crontab.';
comment on column private.schedules.cron is 'The crontab time expression.';
comment on column private.schedules.every is 'Interval between slots (slots are aligned to the epoch, UTC).';
comment on column private.schedules.description is 'What the job does.';
grant select on private.schedules to viewer, operator, worker;
insert into private.schedules (name, cron, every, description) values
  ('maintenance_sweep', '*/30 * * * *', '30 minutes', 'The maintenance sweep: memory, summaries, log flush, git, health snapshot, cleanup.'),
  ('health_check', '*/5 * * * *', '5 minutes', 'Health probes and alert rules.'),
  ('sync_workspace_memory', '*/5 * * * *', '5 minutes', 'Workspace memory files into knowledge_docs and back.');

create view api.maintenance_schedule with (security_invoker = true) as
  select s.name, s.cron, s.every, s.description,
         date_bin(s.every, now(), timestamptz '2000-01-01 00:00:00+00') + s.every as next_run_at,
         r.started_at as last_started_at, r.finished_at as last_finished_at, r.status as last_status, r.error as last_error
  from private.schedules s
  left join lateral (select started_at, finished_at, status, error from api.cron_runs c
                     where c.name = s.name and c.parent_id is null order by c.started_at desc limit 1) r on true;
comment on view api.maintenance_schedule is 'Each scheduled job with its next planned run (next_run_at, UTC) and its last run (the dashboard shows both).';
comment on column api.maintenance_schedule.name is 'Task name.';
comment on column api.maintenance_schedule.cron is 'Crontab time expression (UTC).';
comment on column api.maintenance_schedule.every is 'Interval between runs.';
comment on column api.maintenance_schedule.description is 'What it does.';
comment on column api.maintenance_schedule.next_run_at is 'Next planned run.';
comment on column api.maintenance_schedule.last_started_at is 'Start of the last run.';
comment on column api.maintenance_schedule.last_finished_at is 'End of the last run (null while running).';
comment on column api.maintenance_schedule.last_status is 'Status of the last run.';
comment on column api.maintenance_schedule.last_error is 'Error of the last run, if it failed.';
grant select on api.maintenance_schedule to viewer, operator, worker;

-- Temporary-file and churn bookkeeping: the cleanup step VACUUMs what the sweep touched.
grant maintain on api.memory_kv, api.conversation_summaries, api.messages, api.tool_calls, api.sessions,
  api.audit_log, api.search_items, api.health_checks, api.cron_runs to worker;
grant maintain on private.archived_sessions, private.archived_messages, private.archived_tool_calls to worker;
