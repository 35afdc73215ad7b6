--! Previous: sha1:bd304e9e1577009ad5091c854f3000a0d11e0c7a
--! Hash: sha1:c10a0654f847d25db9f9c61dd8328f04bde29ef0
--! Message: tool-error-flag-per-batch

-- When messages arrive, roll_up_messages flags those whose tool call already failed. It looked
-- through every failed call of the batch's sessions, so a batch's cost grew with the session:
-- 20 messages into a session of 50,000 took 41 ms, of 200,000 took 203 ms (a long-lived main
-- session is the normal case; the soak caught a collectors' COPY spending 0.75 s on the CPU
-- here). Now each new message looks up its own calls, by message and by result, in two indexes of
-- failed calls that lead with the message (or result) id, so a lookup reads only that message's
-- calls: the cost follows the batch, not the session. (With the session first, the planner, which
-- expects a session to hold about one failed call, used either index for either lookup and read
-- all of the session's failures again.) The tool_calls trigger's lookup, when a call fails or is
-- corrected, uses the same two.
drop index api.tool_calls_errors_session_idx;
create index tool_calls_failed_message_idx on api.tool_calls (message_id, agent_id, session_id) where is_error;
create index tool_calls_failed_result_idx on api.tool_calls (result_message_id, agent_id, session_id) where is_error;

create or replace function private.roll_up_messages() returns trigger
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
    from new_rows r
    where m.agent_id = r.agent_id and m.session_id = r.session_id and m.id = r.id and not m.tool_error
      and (exists (select from api.tool_calls t
                   where t.agent_id = r.agent_id and t.session_id = r.session_id and t.message_id = r.id and t.is_error)
           or exists (select from api.tool_calls t
                      where t.result_message_id = r.id and t.agent_id = r.agent_id and t.session_id = r.session_id and t.is_error));
    insert into private.usage_deltas (kind, source, last_created_at, last_ingested_at)
    select distinct on (r.source) 'l', r.source, r.created_at, r.ingested_at
    from new_rows r order by r.source, r.created_at desc;
  end if;
  return null;
end
$$;
comment on function private.roll_up_messages() is 'Statement-level AFTER INSERT/UPDATE trigger on api.messages: appends the batch''s counts, tokens and cost per hour and agent to private.usage_deltas (an update: new minus old) and its newest entry per source, and flags new messages whose tool call already failed.';

-- The same lookup when a call fails or is corrected: one test per index instead of one OR that
-- only the session part of an index could serve.
create or replace function private.roll_up_tool_calls() returns trigger
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
                 exists (select from api.tool_calls t where t.is_error and t.message_id = k.mid and t.agent_id = k.agent_id and t.session_id = k.session_id)
                 or exists (select from api.tool_calls t where t.is_error and t.result_message_id = k.mid and t.agent_id = k.agent_id and t.session_id = k.session_id) as failed
          from (select distinct r.agent_id, r.session_id, x.mid from (%s) r
                cross join lateral (values (r.message_id), (r.result_message_id)) x(mid)
                where r.is_error and x.mid is not null) k) f
    where m.agent_id = f.agent_id and m.session_id = f.session_id and m.id = f.mid and m.tool_error <> f.failed$q$, source_rows);
  return null;
end
$$;
comment on function private.roll_up_tool_calls() is 'Statement-level AFTER INSERT/UPDATE trigger on api.tool_calls: appends calls and errors per tool and the duration histogram to private.usage_deltas, and sets messages.tool_error of the messages whose calls failed.';
