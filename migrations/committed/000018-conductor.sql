--! Previous: sha1:5285268bf0ceb68947dcc288fc98164fce30d1bb
--! Hash: sha1:bc839159eeea833602f72e3b07abea2169c1f773
--! Message: conductor

-- The Conductor dashboard's database side: a keyset cursor on messages (seq, also the live feed's
-- event id), the activity feed view with indexed full text, an hourly usage rollup kept by
-- triggers, operator RPCs (run a scheduled job now, move a kanban card), and the dashboard's own
-- users, refresh tokens and login attempts (private: reached only through the functions server).

-- ───────────────────────────── keyset cursor ─────────────────────────────
alter table api.messages add column seq bigint generated always as identity;
comment on column api.messages.seq is 'Ingest order: a keyset cursor for paging (seq < last seen) and the id of the live feed''s events. Unique, never reused; an archived and restored message keeps its seq.';
create unique index messages_seq_idx on api.messages (seq);
-- The feed filtered by agent, and errors only, both newest first.
create index messages_agent_seq_idx on api.messages (agent_id, seq);
create index messages_errors_seq_idx on api.messages (seq) where error_message is not null;
-- Full-text search of the feed (PostgREST: fts=wfts(simple).word uses it). GIN with its pending
-- list (fastupdate), so ingest pays little per row and the list is merged by autovacuum.
create index messages_fts_idx on api.messages using gin (to_tsvector('simple', coalesce(content, '')));
-- Expanding a feed row (tool_calls?message_id=eq.X or result_message_id=eq.X, entry ids are unique
-- enough on their own) and the feed's tool_error test.
create index tool_calls_message_id_idx on api.tool_calls (message_id);
create index tool_calls_result_message_idx on api.tool_calls (result_message_id);

-- Errors-only by tool failure must be an index scan too: a flag on the message, kept by the
-- rollup triggers below (a tool call failing, or its message arriving after the failure).
alter table api.messages add column tool_error boolean not null default false;
comment on column api.messages.tool_error is 'True when a tool call this message made, or whose result it carries, failed (kept by triggers on tool_calls and messages).';
-- PostgREST sends tool_error=is.true as IS TRUE and eq.true as a plain test; the planner matches each
-- only to its own predicate. Both indexes hold only the flagged rows.
create index messages_tool_errors_seq_idx on api.messages (seq) where tool_error is true;
create index messages_tool_errors_eq_seq_idx on api.messages (seq) where tool_error;
create index tool_calls_errors_session_idx on api.tool_calls (agent_id, session_id) where is_error;
update api.messages m set tool_error = true
where exists (select 1 from api.tool_calls t where t.is_error and t.agent_id = m.agent_id and t.session_id = m.session_id and t.message_id = m.id)
   or exists (select 1 from api.tool_calls t where t.is_error and t.agent_id = m.agent_id and t.session_id = m.session_id and t.result_message_id = m.id);

alter table private.archived_messages add column tool_error boolean not null default false;
comment on column private.archived_messages.tool_error is 'The message''s tool_error flag, given back on restore.';
alter table private.archived_messages add column seq bigint;
-- Messages archived before seq existed get theirs now, from the same identity sequence.
update private.archived_messages set seq = nextval(pg_get_serial_sequence('api.messages', 'seq')) where seq is null;
comment on column private.archived_messages.seq is 'The message''s seq in api.messages, given back on restore (overriding system value).';

-- Restore keeps each message's seq: the identity column takes the archived value.
create or replace function private.restore_session(p_agent_id text, p_session_id text) returns jsonb
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
  execute format('insert into api.messages (%s) overriding system value select %1$s from private.archived_messages where agent_id = $1 and session_id = $2 on conflict do nothing',
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
comment on function private.restore_session(text, text) is 'Moves one archived session with its messages (keeping their seq) and tool calls back into the hot tables; returns the counts restored.';

-- ───────────────────────────── activity feed ─────────────────────────────
create view api.activity_feed with (security_invoker = true) as
  select m.seq, m.agent_id, m.session_id, m.id, m.created_at, m.role, m.channel, m.sender, m.content, m.model,
         m.total_tokens, m.cost_usd, m.is_heartbeat, m.error_message,
         exists (select 1 from api.tool_calls t
                 where t.agent_id = m.agent_id and t.session_id = m.session_id and t.message_id = m.id
                 limit 1) as has_tool_calls, -- the limit keeps the planner from hashing all of tool_calls per request
         m.tool_error,
         to_tsvector('simple', coalesce(m.content, '')) as fts
  from api.messages m;
comment on view api.activity_feed is 'The live feed: one row per message, newest by seq. Filter by agent_id, channel, role, created_at; errors only with tool_error=is.true or error_message=not.is.null; search with fts=wfts(simple).<words> (indexed). Expand a row through tool_calls?message_id=eq.<id> or result_message_id=eq.<id>. Agents see only their own rows.';
comment on column api.activity_feed.seq is 'Keyset cursor and live event id (ascending in ingest order).';
comment on column api.activity_feed.agent_id is 'Agent of the message.';
comment on column api.activity_feed.session_id is 'Session of the message.';
comment on column api.activity_feed.id is 'OpenClaw entry id.';
comment on column api.activity_feed.created_at is 'Timestamp of the transcript entry.';
comment on column api.activity_feed.role is 'user, assistant, tool_result or system.';
comment on column api.activity_feed.channel is 'Channel (telegram, webchat, …).';
comment on column api.activity_feed.sender is 'Who sent it.';
comment on column api.activity_feed.content is 'The message text.';
comment on column api.activity_feed.model is 'Model of an assistant message.';
comment on column api.activity_feed.total_tokens is 'Tokens of the message.';
comment on column api.activity_feed.cost_usd is 'Estimated cost in US dollars.';
comment on column api.activity_feed.is_heartbeat is 'An OpenClaw heartbeat turn.';
comment on column api.activity_feed.error_message is 'Error text of a failed turn.';
comment on column api.activity_feed.has_tool_calls is 'The message made tool calls (expand with tool_calls?message_id=eq.<id>).';
comment on column api.activity_feed.tool_error is 'A tool call made by this message, or whose result this message carries, failed (tool_error=is.true is an index scan).';
comment on column api.activity_feed.fts is 'Search vector of the content (simple configuration), backed by the GIN index messages_fts_idx: fts=wfts(simple).<words>.';
grant select on api.activity_feed to agent, viewer, operator, worker;

-- ───────────────────────────── usage rollup ─────────────────────────────
-- Why a rollup table kept incrementally: the health panel and /metrics read a few hundred rows
-- instead of scanning a million messages. Statement-level triggers see a whole ingest batch (COPY
-- included) at once and append its grouped deltas to private.usage_deltas: an insert that takes no
-- row lock, so the collectors' parallel writers never queue on the same agent's hour (an upsert
-- there would serialise them until commit). private.fold_usage() folds the deltas into the rollups:
-- the collectors call it after each batch, /metrics before each scrape, the worker every minute.
-- Usage is a record of what happened: archiving (which sets clawbase.suppress_events) neither
-- subtracts nor, on restore, adds again.
create table api.usage_hourly (
  hour                 timestamptz not null,
  agent_id             text not null,
  messages             bigint not null default 0,
  user_messages        bigint not null default 0,
  assistant_messages   bigint not null default 0,
  tool_result_messages bigint not null default 0,
  system_messages      bigint not null default 0,
  errors               bigint not null default 0,
  tool_calls           bigint not null default 0,
  tool_errors          bigint not null default 0,
  input_tokens         bigint not null default 0,
  output_tokens        bigint not null default 0,
  cache_read_tokens    bigint not null default 0,
  cache_write_tokens   bigint not null default 0,
  total_tokens         bigint not null default 0,
  cost_usd             numeric not null default 0,
  heartbeat_messages   bigint not null default 0,
  heartbeat_tokens     bigint not null default 0,
  heartbeat_cost_usd   numeric not null default 0,
  latency_p50_ms       real,
  latency_p95_ms       real,
  updated_at           timestamptz not null default now(),
  primary key (hour, agent_id)
);
comment on table api.usage_hourly is 'Hourly usage per agent (UTC hours), kept up to date by triggers on messages and tool_calls: the dashboard''s 24 h / 7 d charts and /metrics read this instead of scanning messages.';
comment on column api.usage_hourly.hour is 'Start of the UTC hour (by the message''s created_at, the tool call''s started_at).';
comment on column api.usage_hourly.agent_id is 'Agent.';
comment on column api.usage_hourly.messages is 'Messages of every role.';
comment on column api.usage_hourly.user_messages is 'Messages with role user.';
comment on column api.usage_hourly.assistant_messages is 'Messages with role assistant (model turns).';
comment on column api.usage_hourly.tool_result_messages is 'Messages with role tool_result.';
comment on column api.usage_hourly.system_messages is 'Messages with role system (compactions, model changes, …).';
comment on column api.usage_hourly.errors is 'Assistant turns that failed (error_message set or stop_reason error).';
comment on column api.usage_hourly.tool_calls is 'Tool calls started in the hour.';
comment on column api.usage_hourly.tool_errors is 'Of those, calls whose result is an error.';
comment on column api.usage_hourly.input_tokens is 'Prompt tokens.';
comment on column api.usage_hourly.output_tokens is 'Completion tokens.';
comment on column api.usage_hourly.cache_read_tokens is 'Prompt tokens read from the provider cache.';
comment on column api.usage_hourly.cache_write_tokens is 'Prompt tokens written to the provider cache.';
comment on column api.usage_hourly.total_tokens is 'All tokens.';
comment on column api.usage_hourly.cost_usd is 'Estimated cost in US dollars.';
comment on column api.usage_hourly.heartbeat_messages is 'Messages of OpenClaw heartbeat turns.';
comment on column api.usage_hourly.heartbeat_tokens is 'Tokens of OpenClaw heartbeat turns.';
comment on column api.usage_hourly.heartbeat_cost_usd is 'Cost of OpenClaw heartbeat turns.';
comment on column api.usage_hourly.latency_p50_ms is 'Median tool-call duration (finished_at − started_at) of the hour, from a log histogram with 4 buckets per doubling (within ±10 %); null without finished calls.';
comment on column api.usage_hourly.latency_p95_ms is '95th percentile tool-call duration of the hour, same histogram.';
comment on column api.usage_hourly.updated_at is 'When the row last changed.';
create index usage_hourly_agent_hour_idx on api.usage_hourly (agent_id, hour);
select private.expose('api.usage_hourly', 'select');

create table private.tool_usage_hourly (
  hour     timestamptz not null,
  agent_id text not null,
  tool     text not null,
  calls    bigint not null default 0,
  errors   bigint not null default 0,
  primary key (hour, agent_id, tool)
);
comment on table private.tool_usage_hourly is 'Tool calls and tool errors per UTC hour, agent and tool name (for clawbase_tool_errors_total); kept by triggers on api.tool_calls.';
comment on column private.tool_usage_hourly.hour is 'Start of the UTC hour of started_at.';
comment on column private.tool_usage_hourly.agent_id is 'Agent.';
comment on column private.tool_usage_hourly.tool is 'Tool name.';
comment on column private.tool_usage_hourly.calls is 'Calls started.';
comment on column private.tool_usage_hourly.errors is 'Calls whose result is an error.';
grant select on private.tool_usage_hourly to worker;

create table private.tool_latency_hourly (
  hour     timestamptz not null,
  agent_id text not null,
  bucket   smallint not null check (bucket between 0 and 99),
  calls    bigint not null default 0,
  primary key (hour, agent_id, bucket)
);
comment on table private.tool_latency_hourly is 'Histogram of tool-call durations per UTC hour and agent: bucket b holds durations d with floor(4·log2(1 + d ms)) = b. usage_hourly''s percentiles are read from it.';
comment on column private.tool_latency_hourly.hour is 'Start of the UTC hour of started_at.';
comment on column private.tool_latency_hourly.agent_id is 'Agent.';
comment on column private.tool_latency_hourly.bucket is 'floor(4·log2(1 + duration_ms)), at most 99.';
comment on column private.tool_latency_hourly.calls is 'Finished calls in the bucket.';

create table private.ingest_lag (
  source          text primary key,
  last_created_at timestamptz not null,
  last_ingested_at timestamptz not null,
  lag_seconds     real not null
);
comment on table private.ingest_lag is 'Per message source, the newest entry stored and how long after its own timestamp it was stored (clawbase_ingest_lag_seconds).';
comment on column private.ingest_lag.source is 'api, sqlite, jsonl or gateway.';
comment on column private.ingest_lag.last_created_at is 'created_at of the newest entry of the last batch.';
comment on column private.ingest_lag.last_ingested_at is 'When that batch was stored.';
comment on column private.ingest_lag.lag_seconds is 'last_ingested_at − last_created_at, in seconds.';
grant select on private.ingest_lag to worker;

create function private.latency_bucket(duration_ms integer) returns smallint
language sql immutable
set search_path = ''
as $$ select least(99, floor(4 * log(2.0, 1 + greatest(duration_ms, 0)::numeric)))::smallint $$;
comment on function private.latency_bucket(integer) is 'Histogram bucket of a duration: floor(4·log2(1 + ms)), at most 99.';

create function private.latency_bucket_ms(bucket smallint) returns real
language sql immutable
set search_path = ''
as $$ select (power(2.0, (bucket + 0.5) / 4.0) - 1)::real $$;
comment on function private.latency_bucket_ms(smallint) is 'A bucket''s representative duration in ms (its geometric middle).';

create table private.usage_deltas (
  id                   bigint generated always as identity primary key,
  kind                 "char" not null check (kind in ('m', 't', 'h', 'l')),
  hour                 timestamptz,
  agent_id             text,
  tool                 text,
  bucket               smallint,
  source               text,
  messages             bigint not null default 0,
  user_messages        bigint not null default 0,
  assistant_messages   bigint not null default 0,
  tool_result_messages bigint not null default 0,
  system_messages      bigint not null default 0,
  errors               bigint not null default 0,
  tool_calls           bigint not null default 0,
  tool_errors          bigint not null default 0,
  input_tokens         bigint not null default 0,
  output_tokens        bigint not null default 0,
  cache_read_tokens    bigint not null default 0,
  cache_write_tokens   bigint not null default 0,
  total_tokens         bigint not null default 0,
  cost_usd             numeric not null default 0,
  heartbeat_messages   bigint not null default 0,
  heartbeat_tokens     bigint not null default 0,
  heartbeat_cost_usd   numeric not null default 0,
  last_created_at      timestamptz,
  last_ingested_at     timestamptz
);
comment on table private.usage_deltas is 'Usage not yet folded into the rollups, appended by the triggers on messages and tool_calls (no row locks: parallel writers never wait on each other). private.fold_usage() empties it.';
comment on column private.usage_deltas.id is 'Arrival order.';
comment on column private.usage_deltas.kind is 'm: message counters of an hour and agent; t: tool calls and errors of an hour, agent and tool; h: tool calls of an hour, agent and duration bucket; l: the newest entry of a source (ingest lag).';
comment on column private.usage_deltas.hour is 'UTC hour (m, t, h).';
comment on column private.usage_deltas.agent_id is 'Agent (m, t, h).';
comment on column private.usage_deltas.tool is 'Tool name (t).';
comment on column private.usage_deltas.bucket is 'Duration bucket, see private.latency_bucket (h).';
comment on column private.usage_deltas.source is 'Message source (l).';
comment on column private.usage_deltas.messages is 'Change in messages (m).';
comment on column private.usage_deltas.user_messages is 'Change in user messages (m).';
comment on column private.usage_deltas.assistant_messages is 'Change in assistant messages (m).';
comment on column private.usage_deltas.tool_result_messages is 'Change in tool_result messages (m).';
comment on column private.usage_deltas.system_messages is 'Change in system messages (m).';
comment on column private.usage_deltas.errors is 'Change in failed assistant turns (m).';
comment on column private.usage_deltas.tool_calls is 'Change in tool calls (t), or in calls of the bucket (h).';
comment on column private.usage_deltas.tool_errors is 'Change in failed tool calls (t).';
comment on column private.usage_deltas.input_tokens is 'Change in prompt tokens (m).';
comment on column private.usage_deltas.output_tokens is 'Change in completion tokens (m).';
comment on column private.usage_deltas.cache_read_tokens is 'Change in cache-read tokens (m).';
comment on column private.usage_deltas.cache_write_tokens is 'Change in cache-write tokens (m).';
comment on column private.usage_deltas.total_tokens is 'Change in all tokens (m).';
comment on column private.usage_deltas.cost_usd is 'Change in cost (m).';
comment on column private.usage_deltas.heartbeat_messages is 'Change in heartbeat messages (m).';
comment on column private.usage_deltas.heartbeat_tokens is 'Change in heartbeat tokens (m).';
comment on column private.usage_deltas.heartbeat_cost_usd is 'Change in heartbeat cost (m).';
comment on column private.usage_deltas.last_created_at is 'created_at of the newest entry of the batch (l).';
comment on column private.usage_deltas.last_ingested_at is 'When the batch was stored (l).';

create function private.roll_up_messages() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  source_rows text := case tg_op when 'INSERT' then 'select r.*, 1 as sign from new_rows r'
                       else 'select r.*, 1 as sign from new_rows r union all select r.*, -1 from old_rows r' end;
begin
  if current_setting('clawbase.suppress_events', true) = 'on' then return null; end if;
  execute format($q$
    insert into private.usage_deltas (kind, hour, agent_id, messages, user_messages, assistant_messages, tool_result_messages,
      system_messages, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens, cost_usd,
      heartbeat_messages, heartbeat_tokens, heartbeat_cost_usd)
    select 'm', date_trunc('hour', d.created_at, 'UTC'), d.agent_id, sum(d.sign),
           coalesce(sum(d.sign) filter (where d.role = 'user'), 0), coalesce(sum(d.sign) filter (where d.role = 'assistant'), 0),
           coalesce(sum(d.sign) filter (where d.role = 'tool_result'), 0), coalesce(sum(d.sign) filter (where d.role = 'system'), 0),
           coalesce(sum(d.sign) filter (where d.role = 'assistant' and (d.error_message is not null or d.stop_reason = 'error')), 0),
           sum(d.sign * coalesce(d.input_tokens, 0)), sum(d.sign * coalesce(d.output_tokens, 0)),
           sum(d.sign * coalesce(d.cache_read_tokens, 0)), sum(d.sign * coalesce(d.cache_write_tokens, 0)),
           sum(d.sign * coalesce(d.total_tokens, 0)), sum(d.sign * coalesce(d.cost_usd, 0)),
           coalesce(sum(d.sign) filter (where d.is_heartbeat), 0),
           coalesce(sum(d.sign * coalesce(d.total_tokens, 0)) filter (where d.is_heartbeat), 0),
           coalesce(sum(d.sign * coalesce(d.cost_usd, 0)) filter (where d.is_heartbeat), 0)
    from (%s) d
    group by 2, 3
    -- An update that changed nothing counted here (the tool_error flag, ingested_at) adds nothing.
    having sum(d.sign) <> 0 or sum(d.sign * coalesce(d.total_tokens, 0)) <> 0 or sum(d.sign * coalesce(d.input_tokens, 0)) <> 0
        or sum(d.sign * coalesce(d.output_tokens, 0)) <> 0 or sum(d.sign * coalesce(d.cache_read_tokens, 0)) <> 0
        or sum(d.sign * coalesce(d.cache_write_tokens, 0)) <> 0 or sum(d.sign * coalesce(d.cost_usd, 0)) <> 0
        or sum(d.sign * hashtext(d.role || (d.role = 'assistant' and (d.error_message is not null or d.stop_reason = 'error'))::text || d.is_heartbeat::text)) <> 0$q$,
    source_rows);
  if tg_op = 'INSERT' then
    -- A message stored after its tool call failed (the Gateway reports tool events first).
    update api.messages m set tool_error = true
    from (select distinct t.agent_id, t.session_id, x.mid from api.tool_calls t
          cross join lateral (values (t.message_id), (t.result_message_id)) x(mid)
          where t.is_error and x.mid is not null
            and (t.agent_id, t.session_id) in (select distinct r.agent_id, r.session_id from new_rows r)) e
    where m.agent_id = e.agent_id and m.session_id = e.session_id and m.id = e.mid and not m.tool_error
      and (m.agent_id, m.session_id, m.id) in (select r.agent_id, r.session_id, r.id from new_rows r);
    insert into private.usage_deltas (kind, source, last_created_at, last_ingested_at)
    select distinct on (r.source) 'l', r.source, r.created_at, r.ingested_at
    from new_rows r order by r.source, r.created_at desc;
  end if;
  return null;
end
$$;
comment on function private.roll_up_messages() is 'Statement-level AFTER INSERT/UPDATE trigger on api.messages: appends the batch''s counts, tokens and cost per hour and agent to private.usage_deltas (an update: new minus old) and its newest entry per source, and flags new messages whose tool call already failed.';
create trigger roll_up_insert after insert on api.messages referencing new table as new_rows
  for each statement execute function private.roll_up_messages();
create trigger roll_up_update after update on api.messages referencing old table as old_rows new table as new_rows
  for each statement execute function private.roll_up_messages();

create function private.roll_up_tool_calls() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  source_rows text := case tg_op when 'INSERT' then 'select r.*, 1 as sign from new_rows r'
                       else 'select r.*, 1 as sign from new_rows r union all select r.*, -1 from old_rows r' end;
begin
  if current_setting('clawbase.suppress_events', true) = 'on' then return null; end if;
  execute format($q$
    with d as (select date_trunc('hour', coalesce(r.started_at, r.finished_at), 'UTC') as hour, r.agent_id, r.name,
                      r.is_error, r.duration_ms, r.sign
               from (%s) r where coalesce(r.started_at, r.finished_at) is not null)
    insert into private.usage_deltas (kind, hour, agent_id, tool, bucket, tool_calls, tool_errors)
    select 't', hour, agent_id, name, null::smallint, sum(sign), coalesce(sum(sign) filter (where is_error), 0) from d
    group by 2, 3, 4
    having sum(sign) <> 0 or coalesce(sum(sign) filter (where is_error), 0) <> 0
    union all
    select 'h', hour, agent_id, null, private.latency_bucket(duration_ms), sum(sign), 0 from d where duration_ms is not null
    group by 2, 3, 5
    having sum(sign) <> 0$q$, source_rows);
  -- The feed's tool_error flag of the messages these calls belong to (set, or cleared if no failed call is left).
  execute format($q$
    update api.messages m set tool_error = f.failed
    from (select k.agent_id, k.session_id, k.mid,
                 exists (select 1 from api.tool_calls t where t.is_error and t.agent_id = k.agent_id and t.session_id = k.session_id
                           and (t.message_id = k.mid or t.result_message_id = k.mid)) as failed
          from (select distinct r.agent_id, r.session_id, x.mid from (%s) r
                cross join lateral (values (r.message_id), (r.result_message_id)) x(mid)
                where r.is_error and x.mid is not null) k) f
    where m.agent_id = f.agent_id and m.session_id = f.session_id and m.id = f.mid and m.tool_error <> f.failed$q$, source_rows);
  return null;
end
$$;
comment on function private.roll_up_tool_calls() is 'Statement-level AFTER INSERT/UPDATE trigger on api.tool_calls: appends calls and errors per tool and the duration histogram to private.usage_deltas, and sets messages.tool_error of the messages whose calls failed.';
create trigger roll_up_insert after insert on api.tool_calls referencing new table as new_rows
  for each statement execute function private.roll_up_tool_calls();
create trigger roll_up_update after update on api.tool_calls referencing old table as old_rows new table as new_rows
  for each statement execute function private.roll_up_tool_calls();

create function private.fold_usage() returns bigint
language plpgsql security definer
set search_path = ''
as $$
declare
  folded bigint;
  hours timestamptz[];
  agents text[];
begin
  -- One folder at a time; a caller finding it busy leaves the deltas to that one.
  if not pg_try_advisory_xact_lock(hashtext('clawbase.fold_usage')) then return 0; end if;
  with d as (delete from private.usage_deltas returning *),
  per_hour as (
    insert into api.usage_hourly as u (hour, agent_id, messages, user_messages, assistant_messages, tool_result_messages,
      system_messages, errors, tool_calls, tool_errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
      total_tokens, cost_usd, heartbeat_messages, heartbeat_tokens, heartbeat_cost_usd)
    select hour, agent_id, sum(messages), sum(user_messages), sum(assistant_messages), sum(tool_result_messages),
           sum(system_messages), sum(errors), sum(tool_calls), sum(tool_errors), sum(input_tokens), sum(output_tokens),
           sum(cache_read_tokens), sum(cache_write_tokens), sum(total_tokens), sum(cost_usd), sum(heartbeat_messages),
           sum(heartbeat_tokens), sum(heartbeat_cost_usd)
    from d where kind in ('m', 't') group by 1, 2 order by 1, 2
    on conflict (hour, agent_id) do update set
      messages = u.messages + excluded.messages,
      user_messages = u.user_messages + excluded.user_messages,
      assistant_messages = u.assistant_messages + excluded.assistant_messages,
      tool_result_messages = u.tool_result_messages + excluded.tool_result_messages,
      system_messages = u.system_messages + excluded.system_messages,
      errors = u.errors + excluded.errors,
      tool_calls = u.tool_calls + excluded.tool_calls,
      tool_errors = u.tool_errors + excluded.tool_errors,
      input_tokens = u.input_tokens + excluded.input_tokens,
      output_tokens = u.output_tokens + excluded.output_tokens,
      cache_read_tokens = u.cache_read_tokens + excluded.cache_read_tokens,
      cache_write_tokens = u.cache_write_tokens + excluded.cache_write_tokens,
      total_tokens = u.total_tokens + excluded.total_tokens,
      cost_usd = u.cost_usd + excluded.cost_usd,
      heartbeat_messages = u.heartbeat_messages + excluded.heartbeat_messages,
      heartbeat_tokens = u.heartbeat_tokens + excluded.heartbeat_tokens,
      heartbeat_cost_usd = u.heartbeat_cost_usd + excluded.heartbeat_cost_usd,
      updated_at = now()),
  per_tool as (
    insert into private.tool_usage_hourly as t (hour, agent_id, tool, calls, errors)
    select hour, agent_id, tool, sum(tool_calls), sum(tool_errors) from d where kind = 't' group by 1, 2, 3 order by 1, 2, 3
    on conflict (hour, agent_id, tool) do update set calls = t.calls + excluded.calls, errors = t.errors + excluded.errors),
  per_bucket as (
    insert into private.tool_latency_hourly as h (hour, agent_id, bucket, calls)
    select hour, agent_id, bucket, sum(tool_calls) from d where kind = 'h' group by 1, 2, 3 order by 1, 2, 3
    on conflict (hour, agent_id, bucket) do update set calls = h.calls + excluded.calls),
  lag as (
    insert into private.ingest_lag as l (source, last_created_at, last_ingested_at, lag_seconds)
    select distinct on (source) source, last_created_at, last_ingested_at, extract(epoch from last_ingested_at - last_created_at)
    from d where kind = 'l' order by source, last_ingested_at desc, last_created_at desc
    on conflict (source) do update set last_created_at = excluded.last_created_at, last_ingested_at = excluded.last_ingested_at,
      lag_seconds = excluded.lag_seconds),
  keys as (select distinct hour, agent_id from d where kind = 'h')
  select (select count(*) from d), array_agg(k.hour), array_agg(k.agent_id) into folded, hours, agents from keys k;
  if hours is not null then
    -- Percentiles of the hours whose histogram changed, read back from it (at most 100 rows each).
    update api.usage_hourly u set latency_p50_ms = p.p50, latency_p95_ms = p.p95
    from (select x.hour, x.agent_id,
                 min(private.latency_bucket_ms(x.bucket)) filter (where x.cum >= 0.5 * x.total) as p50,
                 min(private.latency_bucket_ms(x.bucket)) filter (where x.cum >= 0.95 * x.total) as p95
          from (select h.hour, h.agent_id, h.bucket,
                       sum(h.calls) over (partition by h.hour, h.agent_id order by h.bucket) as cum,
                       sum(h.calls) over (partition by h.hour, h.agent_id) as total
                from private.tool_latency_hourly h
                join unnest(hours, agents) k(hour, agent_id) on k.hour = h.hour and k.agent_id = h.agent_id
                where h.calls > 0) x
          group by 1, 2) p
    where u.hour = p.hour and u.agent_id = p.agent_id
      and (u.latency_p50_ms, u.latency_p95_ms) is distinct from (p.p50, p.p95);
  end if;
  return folded;
end
$$;
comment on function private.fold_usage() is 'Folds private.usage_deltas into api.usage_hourly, private.tool_usage_hourly, private.tool_latency_hourly (then the touched hours'' p50/p95) and private.ingest_lag; returns the deltas folded (0 when another fold is running). Called by the collectors after each batch, by /metrics, and by the worker every minute.';
revoke execute on function private.fold_usage() from public;
grant execute on function private.fold_usage() to worker;

-- What existed before this migration.
insert into api.usage_hourly (hour, agent_id, messages, user_messages, assistant_messages, tool_result_messages, system_messages,
  errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens, cost_usd,
  heartbeat_messages, heartbeat_tokens, heartbeat_cost_usd)
select date_trunc('hour', created_at, 'UTC'), agent_id, count(*), count(*) filter (where role = 'user'),
       count(*) filter (where role = 'assistant'), count(*) filter (where role = 'tool_result'), count(*) filter (where role = 'system'),
       count(*) filter (where role = 'assistant' and (error_message is not null or stop_reason = 'error')),
       coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cache_read_tokens), 0),
       coalesce(sum(cache_write_tokens), 0), coalesce(sum(total_tokens), 0), coalesce(sum(cost_usd), 0),
       count(*) filter (where is_heartbeat), coalesce(sum(total_tokens) filter (where is_heartbeat), 0),
       coalesce(sum(cost_usd) filter (where is_heartbeat), 0)
from api.messages group by 1, 2;
insert into private.tool_usage_hourly (hour, agent_id, tool, calls, errors)
select date_trunc('hour', coalesce(started_at, finished_at), 'UTC'), agent_id, name, count(*), count(*) filter (where is_error)
from api.tool_calls where coalesce(started_at, finished_at) is not null group by 1, 2, 3;
insert into private.tool_latency_hourly (hour, agent_id, bucket, calls)
select date_trunc('hour', coalesce(started_at, finished_at), 'UTC'), agent_id, private.latency_bucket(duration_ms), count(*)
from api.tool_calls where coalesce(started_at, finished_at) is not null and duration_ms is not null group by 1, 2, 3;
insert into api.usage_hourly as u (hour, agent_id, tool_calls, tool_errors)
select hour, agent_id, sum(calls), sum(errors) from private.tool_usage_hourly group by 1, 2
on conflict (hour, agent_id) do update set tool_calls = excluded.tool_calls, tool_errors = excluded.tool_errors;

update api.usage_hourly u set latency_p50_ms = p.p50, latency_p95_ms = p.p95
from (select x.hour, x.agent_id,
             min(private.latency_bucket_ms(x.bucket)) filter (where x.cum >= 0.5 * x.total) as p50,
             min(private.latency_bucket_ms(x.bucket)) filter (where x.cum >= 0.95 * x.total) as p95
      from (select h.hour, h.agent_id, h.bucket,
                   sum(h.calls) over (partition by h.hour, h.agent_id order by h.bucket) as cum,
                   sum(h.calls) over (partition by h.hour, h.agent_id) as total
            from private.tool_latency_hourly h where h.calls > 0) x
      group by 1, 2) p
where u.hour = p.hour and u.agent_id = p.agent_id;

create view api.usage_hourly_total with (security_invoker = true) as
  select hour, sum(messages) as messages, sum(errors) as errors, sum(tool_calls) as tool_calls, sum(tool_errors) as tool_errors,
         sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, sum(total_tokens) as total_tokens,
         sum(cost_usd) as cost_usd, sum(heartbeat_cost_usd) as heartbeat_cost_usd,
         max(latency_p50_ms) as latency_p50_ms, max(latency_p95_ms) as latency_p95_ms, count(*) as agents
  from api.usage_hourly group by hour;
comment on view api.usage_hourly_total is 'usage_hourly summed over the agents the caller may see, one row per UTC hour (168 rows for a 7-day chart): usage_hourly_total?hour=gte.<t>&order=hour.';
comment on column api.usage_hourly_total.hour is 'Start of the UTC hour.';
comment on column api.usage_hourly_total.messages is 'Messages of every role.';
comment on column api.usage_hourly_total.errors is 'Failed assistant turns.';
comment on column api.usage_hourly_total.tool_calls is 'Tool calls started.';
comment on column api.usage_hourly_total.tool_errors is 'Tool calls that failed.';
comment on column api.usage_hourly_total.input_tokens is 'Prompt tokens.';
comment on column api.usage_hourly_total.output_tokens is 'Completion tokens.';
comment on column api.usage_hourly_total.total_tokens is 'All tokens.';
comment on column api.usage_hourly_total.cost_usd is 'Estimated cost in US dollars.';
comment on column api.usage_hourly_total.heartbeat_cost_usd is 'Cost of OpenClaw heartbeat turns.';
comment on column api.usage_hourly_total.latency_p50_ms is 'The highest per-agent median tool-call duration of the hour.';
comment on column api.usage_hourly_total.latency_p95_ms is 'The highest per-agent 95th percentile tool-call duration of the hour (the slowest agent).';
comment on column api.usage_hourly_total.agents is 'Agents active in the hour.';
grant select on api.usage_hourly_total to agent, viewer, operator, worker;

insert into private.schedules (name, cron, every, description) values
  ('fold_usage', '*/1 * * * *', '1 minute', 'Folds the usage the triggers recorded into usage_hourly (the collectors also fold after each batch).');

-- ───────────────────────────── operator RPCs ─────────────────────────────
create function api.run_cron_job(name text) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  job_id bigint;
begin
  if not exists (select 1 from private.schedules s where s.name = run_cron_job.name) then
    raise exception 'there is no scheduled job named "%"', run_cron_job.name
      using errcode = '22023', hint = 'The scheduled jobs are listed in maintenance_schedule (GET /maintenance_schedule?select=name).';
  end if;
  select (graphile_worker.add_job(run_cron_job.name, '{}'::json, max_attempts => 5)).id into job_id;
  insert into api.audit_log (actor_role, actor_agent_id, table_name, operation, row_key, new_values)
  values (private.current_actor(), private.current_agent_id(), 'graphile_worker.jobs', 'INSERT',
          jsonb_build_object('id', job_id), jsonb_build_object('task', run_cron_job.name, 'action', 'run_cron_job',
          'email', private.jwt_claims() ->> 'email'));
  return jsonb_build_object('job_id', job_id, 'task', run_cron_job.name);
end
$$;
comment on function api.run_cron_job(text) is 'Operators: run a scheduled job (a name in maintenance_schedule) now, by queueing it for the worker; audited. POST /rpc/run_cron_job {"name": "health_check"}.';
revoke execute on function api.run_cron_job(text) from public;
grant execute on function api.run_cron_job(text) to operator;

create function api.move_task(id bigint, status text, before_id bigint default null, after_id bigint default null) returns api.tasks
language plpgsql
set search_path = ''
as $$
declare
  below numeric;
  above numeric;
  moved api.tasks;
begin
  -- The card goes after after_id (below it) and before before_id (above it); both null: to the bottom.
  if after_id is not null then
    select t.position into above from api.tasks t where t.id = move_task.after_id and t.status = move_task.status;
    if not found then raise exception 'task % is not in column %', after_id, status using errcode = '22023'; end if;
  end if;
  if before_id is not null then
    select t.position into below from api.tasks t where t.id = move_task.before_id and t.status = move_task.status;
    if not found then raise exception 'task % is not in column %', before_id, status using errcode = '22023'; end if;
  end if;
  if above is not null and below is null then
    select min(t.position) into below from api.tasks t where t.status = move_task.status and t.position > above and t.id <> move_task.id;
  elsif below is not null and above is null then
    select max(t.position) into above from api.tasks t where t.status = move_task.status and t.position < below and t.id <> move_task.id;
  end if;
  update api.tasks t set status = move_task.status,
    position = case
      when above is not null and below is not null then (above + below) / 2
      when above is not null then above + 1
      when below is not null then below - 1
      else coalesce((select max(x.position) from api.tasks x where x.status = move_task.status and x.id <> move_task.id), 0) + 1 end
  where t.id = move_task.id
  returning t.* into moved;
  if moved.id is null then
    raise exception 'task % does not exist or may not be changed by you', id using errcode = 'P0002';
  end if;
  return moved;
end
$$;
comment on function api.move_task(bigint, text, bigint, bigint) is 'Move a kanban card into column status, after the card after_id and before the card before_id (either may be null; both null: to the bottom); its position becomes the midpoint of its neighbours. Runs with the caller''s rights. POST /rpc/move_task {"id": 1, "status": "in_progress", "after_id": 7}.';
revoke execute on function api.move_task(bigint, text, bigint, bigint) from public;
grant execute on function api.move_task(bigint, text, bigint, bigint) to operator;

-- ───────────────────────────── dashboard users ─────────────────────────────
insert into private.settings (key, value, description) values
  ('login_window', '"15 minutes"', 'Window in which failed dashboard logins are counted (a PostgreSQL interval).'),
  ('login_max_failures_per_account', '5', 'Failed logins for one email within login_window before further attempts get 429.'),
  ('login_max_failures_per_ip', '20', 'Failed logins from one address within login_window before further attempts get 429.'),
  ('refresh_token_ttl', '"30 days"', 'Lifetime of a dashboard refresh token (a PostgreSQL interval); each use replaces it.');

create table private.dashboard_users (
  id            bigint generated always as identity primary key,
  email         text not null check (email = lower(email) and email ~ '^[^@\s]+@[^@\s]+$' and length(email) <= 254),
  password_hash text not null,
  role          text not null check (role in ('viewer', 'operator')),
  disabled      boolean not null default false,
  created_at    timestamptz not null default now(),
  last_login_at timestamptz
);
comment on table private.dashboard_users is 'People who log in to the Conductor dashboard (clawbase user add). Never exposed through PostgREST; the functions server checks passwords through private.dashboard_login.';
comment on column private.dashboard_users.id is 'Surrogate key (the sub claim of their tokens).';
comment on column private.dashboard_users.email is 'Login name, stored lower-case, unique.';
comment on column private.dashboard_users.password_hash is 'bcrypt hash (pgcrypto crypt with gen_salt(''bf'', 10)); never the password.';
comment on column private.dashboard_users.role is 'viewer (read-only) or operator (read-write): the role claim of their access tokens.';
comment on column private.dashboard_users.disabled is 'A disabled user cannot log in or refresh.';
comment on column private.dashboard_users.created_at is 'When the user was added.';
comment on column private.dashboard_users.last_login_at is 'Last successful login.';
create unique index dashboard_users_email_idx on private.dashboard_users (email);
select private.audit_table('private.dashboard_users', 'id,email', 'keys');

create table private.refresh_tokens (
  id          bigint generated always as identity primary key,
  user_id     bigint not null references private.dashboard_users on delete cascade,
  family_id   uuid not null,
  token_hash  text not null,
  issued_at   timestamptz not null default now(),
  expires_at  timestamptz not null,
  used_at     timestamptz,
  revoked_at  timestamptz,
  revoked_reason text
);
comment on table private.refresh_tokens is 'Dashboard refresh tokens, by SHA-256 hash only. Each is single use: refreshing marks it used and issues the next of its family; presenting a used one again revokes the whole family.';
comment on column private.refresh_tokens.id is 'Surrogate key.';
comment on column private.refresh_tokens.user_id is 'The user it was issued to.';
comment on column private.refresh_tokens.family_id is 'All tokens descending from one login share it; reuse or logout revokes the family.';
comment on column private.refresh_tokens.token_hash is 'Hex SHA-256 of the token (the token itself is never stored).';
comment on column private.refresh_tokens.issued_at is 'When it was issued.';
comment on column private.refresh_tokens.expires_at is 'After this it is refused.';
comment on column private.refresh_tokens.used_at is 'When it was exchanged for the next one.';
comment on column private.refresh_tokens.revoked_at is 'When its family was revoked (logout, reuse, disabled user).';
comment on column private.refresh_tokens.revoked_reason is 'logout, reuse or disabled.';
create unique index refresh_tokens_hash_idx on private.refresh_tokens (token_hash);
create index refresh_tokens_user_idx on private.refresh_tokens (user_id);
create index refresh_tokens_family_idx on private.refresh_tokens (family_id);
select private.audit_table('private.refresh_tokens', 'id,user_id,family_id', 'keys');

create table private.login_attempts (
  id      bigint generated always as identity primary key,
  at      timestamptz not null default now(),
  email   text not null,
  ip      text not null,
  outcome text not null check (outcome in ('succeeded', 'invalid', 'rate_limited'))
);
comment on table private.login_attempts is 'Every dashboard login attempt (audited), for rate limiting per account and per address. Rows older than a day are deleted as new ones arrive.';
comment on column private.login_attempts.id is 'Surrogate key.';
comment on column private.login_attempts.at is 'When it was made.';
comment on column private.login_attempts.email is 'The email given (lower-case), whether or not such a user exists.';
comment on column private.login_attempts.ip is 'The client address the functions server saw.';
comment on column private.login_attempts.outcome is 'succeeded, invalid (wrong email or password, or disabled) or rate_limited (refused unchecked).';
create index login_attempts_email_at_idx on private.login_attempts (email, at);
create index login_attempts_ip_at_idx on private.login_attempts (ip, at);
create index login_attempts_at_idx on private.login_attempts (at);
select private.audit_table('private.login_attempts', 'id', 'values');

create function private.dashboard_user_add(p_email text, p_password text, p_role text) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  new_id bigint;
begin
  if length(coalesce(p_password, '')) < 12 then
    raise exception 'the password must be at least 12 characters' using errcode = '22023';
  end if;
  insert into private.dashboard_users (email, password_hash, role)
  values (lower(trim(p_email)), extensions.crypt(p_password, extensions.gen_salt('bf', 10)), p_role)
  returning id into new_id;
  return new_id;
end
$$;
comment on function private.dashboard_user_add(text, text, text) is 'Adds a dashboard user with a bcrypt-hashed password (clawbase user add). Owner only.';
revoke execute on function private.dashboard_user_add(text, text, text) from public;

create function private.dashboard_login(p_email text, p_password text, p_ip text)
returns table (outcome text, user_id bigint, email text, role text, retry_after integer)
language plpgsql security definer
set search_path = ''
as $$
declare
  e text := lower(trim(coalesce(p_email, '')));
  window_ interval := (private.setting('login_window') #>> '{}')::interval;
  max_account integer := (private.setting('login_max_failures_per_account'))::integer;
  max_ip integer := (private.setting('login_max_failures_per_ip'))::integer;
  last_success timestamptz;
  account_fails integer;
  account_oldest timestamptz;
  ip_fails integer;
  ip_oldest timestamptz;
  wait_until timestamptz;
  u private.dashboard_users;
begin
  if random() < 0.01 then delete from private.login_attempts a where a.at < now() - interval '1 day'; end if;
  select max(a.at) into last_success from private.login_attempts a where a.email = e and a.outcome = 'succeeded' and a.at > now() - window_;
  select count(*), min(a.at) into account_fails, account_oldest from private.login_attempts a
    where a.email = e and a.outcome = 'invalid' and a.at > greatest(now() - window_, coalesce(last_success, '-infinity'));
  select count(*), min(a.at) into ip_fails, ip_oldest from private.login_attempts a
    where a.ip = p_ip and a.outcome = 'invalid' and a.at > now() - window_;
  if account_fails >= max_account or ip_fails >= max_ip then
    wait_until := greatest(case when account_fails >= max_account then account_oldest + window_ end,
                           case when ip_fails >= max_ip then ip_oldest + window_ end);
    insert into private.login_attempts (email, ip, outcome) values (e, p_ip, 'rate_limited');
    return query select 'rate_limited'::text, null::bigint, e, null::text, greatest(1, ceil(extract(epoch from wait_until - now())))::integer;
    return;
  end if;
  select * into u from private.dashboard_users d where d.email = e;
  if u.id is null then
    -- Same bcrypt cost whether or not the account exists, so timing does not tell.
    perform extensions.crypt(coalesce(p_password, ''), extensions.gen_salt('bf', 10));
  end if;
  if u.id is null or u.disabled or u.password_hash <> extensions.crypt(coalesce(p_password, ''), u.password_hash) then
    insert into private.login_attempts (email, ip, outcome) values (e, p_ip, 'invalid');
    return query select 'invalid'::text, null::bigint, e, null::text, null::integer;
    return;
  end if;
  insert into private.login_attempts (email, ip, outcome) values (e, p_ip, 'succeeded');
  update private.dashboard_users d set last_login_at = now() where d.id = u.id;
  return query select 'ok'::text, u.id, u.email, u.role, null::integer;
end
$$;
comment on function private.dashboard_login(text, text, text) is 'Checks a dashboard login (rate limits per account and per address first, then the bcrypt hash) and records the attempt. outcome: ok, invalid or rate_limited (with retry_after seconds). The functions server''s login only.';
revoke execute on function private.dashboard_login(text, text, text) from public;
grant execute on function private.dashboard_login(text, text, text) to worker;

create function private.issue_refresh_token(p_user_id bigint, p_family uuid default null) returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  token text := translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_');
begin
  insert into private.refresh_tokens (user_id, family_id, token_hash, expires_at)
  values (p_user_id, coalesce(p_family, gen_random_uuid()), encode(sha256(convert_to(token, 'UTF8')), 'hex'),
          now() + (private.setting('refresh_token_ttl') #>> '{}')::interval);
  return token;
end
$$;
comment on function private.issue_refresh_token(bigint, uuid) is 'Issues a refresh token (returned once, stored as its hash) for a user, in a new family or the given one. The functions server only.';
revoke execute on function private.issue_refresh_token(bigint, uuid) from public;
grant execute on function private.issue_refresh_token(bigint, uuid) to worker;

create function private.dashboard_refresh(p_token text, p_ip text)
returns table (outcome text, user_id bigint, email text, role text, refresh_token text)
language plpgsql security definer
set search_path = ''
as $$
declare
  t private.refresh_tokens;
  u private.dashboard_users;
begin
  select * into t from private.refresh_tokens r where r.token_hash = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex') for update;
  if t.id is null then
    return query select 'invalid'::text, null::bigint, null::text, null::text, null::text;
    return;
  end if;
  if t.revoked_at is not null then
    return query select 'revoked'::text, t.user_id, null::text, null::text, null::text;
    return;
  end if;
  if t.used_at is not null then
    -- A used token presented again: stolen or replayed. Revoke every token of the family.
    update private.refresh_tokens r set revoked_at = now(), revoked_reason = 'reuse' where r.family_id = t.family_id and r.revoked_at is null;
    insert into api.audit_log (actor_role, table_name, operation, row_key, new_values)
    values (private.current_actor(), 'private.refresh_tokens', 'UPDATE', jsonb_build_object('family_id', t.family_id),
            jsonb_build_object('event', 'refresh_token_reuse', 'user_id', t.user_id, 'token_id', t.id, 'ip', p_ip));
    return query select 'reused'::text, t.user_id, null::text, null::text, null::text;
    return;
  end if;
  if t.expires_at <= now() then
    return query select 'expired'::text, t.user_id, null::text, null::text, null::text;
    return;
  end if;
  select * into u from private.dashboard_users d where d.id = t.user_id;
  if u.disabled then
    update private.refresh_tokens r set revoked_at = now(), revoked_reason = 'disabled' where r.family_id = t.family_id and r.revoked_at is null;
    return query select 'disabled'::text, t.user_id, null::text, null::text, null::text;
    return;
  end if;
  update private.refresh_tokens r set used_at = now() where r.id = t.id;
  return query select 'ok'::text, u.id, u.email, u.role, private.issue_refresh_token(u.id, t.family_id);
end
$$;
comment on function private.dashboard_refresh(text, text) is 'Exchanges a refresh token for the next of its family (single use). outcome: ok, invalid, expired, revoked, disabled, or reused (the whole family is then revoked and audited). The functions server only.';
revoke execute on function private.dashboard_refresh(text, text) from public;
grant execute on function private.dashboard_refresh(text, text) to worker;

create function private.dashboard_logout(p_token text) returns boolean
language sql security definer
set search_path = ''
as $$
  with t as (select family_id from private.refresh_tokens where token_hash = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex')),
  revoked as (update private.refresh_tokens r set revoked_at = now(), revoked_reason = 'logout'
              from t where r.family_id = t.family_id and r.revoked_at is null returning 1)
  select exists (select 1 from revoked)
$$;
comment on function private.dashboard_logout(text) is 'Revokes the family of a refresh token (logout); true when anything was revoked. The functions server only.';
revoke execute on function private.dashboard_logout(text) from public;
grant execute on function private.dashboard_logout(text) to worker;

-- The functions server's /metrics and /health read these as the worker login.
grant select on api.usage_hourly to worker;
