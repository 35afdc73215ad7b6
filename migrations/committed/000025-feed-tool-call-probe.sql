--! Previous: sha1:e304952c8dd25699c67bec9bcec43a005d287068
--! Hash: sha1:acde43c45fc331b745c064ec9e02d8b7557e6fef
--! Message: feed-tool-call-probe

-- activity_feed.has_tool_calls was an EXISTS sublink, which PostgreSQL 17 plans as a hashed
-- subplan: every "newest 50" request read all of tool_calls first (38 ms of 40 with 1M messages
-- and 33k tool calls, bench/dashboard.ts). A scalar subquery is never hashed: it is one index
-- probe of tool_calls_message_idx per returned row (the same request: 0.9 ms).
create or replace view api.activity_feed with (security_invoker = true) as
  select m.seq, m.agent_id, m.session_id, m.id, m.created_at, m.role, m.channel, m.sender, m.content, m.model,
         m.total_tokens, m.cost_usd, m.is_heartbeat, m.error_message,
         coalesce((select true from api.tool_calls t
                   where t.agent_id = m.agent_id and t.session_id = m.session_id and t.message_id = m.id
                   limit 1), false) as has_tool_calls,
         m.tool_error,
         to_tsvector('simple', coalesce(m.content, '')) as fts
  from api.messages m;
