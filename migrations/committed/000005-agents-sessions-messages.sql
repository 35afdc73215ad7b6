--! Previous: sha1:ba1d600e79162d23ddbc6a6ba39c1dc2f55e3e47
--! Hash: sha1:6784dee61aa37079c2821cc0573cf918d1beb9cf
--! Message: agents-sessions-messages

-- What OpenClaw did: agents, their sessions, every message and every tool call.
-- Keys are OpenClaw's own (agent id, session id, entry id), so the same entry arriving from
-- the SQLite store, a JSONL file and the Gateway stream is stored once.

create table api.agents (
  id           text primary key check (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  display_name text,
  created_at   timestamptz not null default now(),
  metadata     jsonb not null default '{}'
);
comment on table api.agents is 'OpenClaw agents known to Clawbase. An agent is registered by its first write or by the collectors.';
comment on column api.agents.id is 'OpenClaw agent id (e.g. main); the agent_id claim of its JWTs.';
comment on column api.agents.display_name is 'Human-friendly name for the dashboard.';
comment on column api.agents.created_at is 'When Clawbase first saw the agent.';
comment on column api.agents.metadata is 'Free-form attributes (workspace path, owner, …).';
alter table api.agents enable row level security;
grant select, insert, update, delete on api.agents to worker;
grant select on api.agents to agent, viewer, operator;
create policy agent_self on api.agents for select to agent using (id = (select private.current_agent_id()));
comment on policy agent_self on api.agents is 'An agent sees only its own agents row.';
create policy staff_read on api.agents for select to viewer, operator using (true);
comment on policy staff_read on api.agents is 'Viewers and operators read every row.';

create table api.sessions (
  agent_id        text not null references api.agents on delete cascade,
  id              text not null check (length(id) between 1 and 200),
  session_key     text,
  channel         text,
  provider        text,
  model           text,
  source          text not null default 'api' check (source in ('api', 'sqlite', 'jsonl', 'gateway')),
  started_at      timestamptz not null default now(),
  last_message_at timestamptz,
  ended_at        timestamptz,
  metadata        jsonb not null default '{}',
  primary key (agent_id, id)
);
comment on table api.sessions is 'One OpenClaw session (a conversation thread) of one agent.';
comment on column api.sessions.agent_id is 'Owning agent; defaults to the caller''s agent_id claim.';
comment on column api.sessions.id is 'OpenClaw session id (a UUID in current versions).';
comment on column api.sessions.session_key is 'OpenClaw session key, e.g. agent:main:main or agent:main:telegram:123.';
comment on column api.sessions.channel is 'Where the conversation happens (telegram, webchat, cli, …).';
comment on column api.sessions.provider is 'Model provider last used in the session.';
comment on column api.sessions.model is 'Model last used in the session.';
comment on column api.sessions.source is 'How the session reached Clawbase: api, sqlite, jsonl or gateway.';
comment on column api.sessions.started_at is 'Timestamp of the session''s first entry.';
comment on column api.sessions.last_message_at is 'Timestamp of the newest message seen.';
comment on column api.sessions.ended_at is 'When the session was closed or reset, if known.';
comment on column api.sessions.metadata is 'Other session attributes from OpenClaw (counters, labels).';
alter table api.sessions alter column agent_id set default private.current_agent_id();
create index sessions_last_message_idx on api.sessions (last_message_at desc nulls last);
create trigger register_agent before insert on api.sessions for each row execute function private.register_agent();
select private.expose('api.sessions', 'select, insert, update');
select private.audit_table('api.sessions', 'agent_id,id');

create table api.messages (
  agent_id           text not null default private.current_agent_id(),
  session_id         text not null,
  id                 text not null check (length(id) between 1 and 200),
  parent_id          text,
  role               text not null check (role in ('user', 'assistant', 'tool_result', 'system')),
  channel            text,
  sender             text,
  content            text,
  provider           text,
  model              text,
  input_tokens       integer check (input_tokens >= 0),
  output_tokens      integer check (output_tokens >= 0),
  cache_read_tokens  integer check (cache_read_tokens >= 0),
  cache_write_tokens integer check (cache_write_tokens >= 0),
  total_tokens       integer check (total_tokens >= 0),
  cost_usd           numeric(14, 8) check (cost_usd >= 0),
  stop_reason        text,
  error_message      text,
  is_heartbeat       boolean not null default false,
  created_at         timestamptz not null default now(),
  ingested_at        timestamptz not null default now(),
  raw                jsonb,
  primary key (agent_id, session_id, id),
  foreign key (agent_id, session_id) references api.sessions on delete cascade
);
comment on table api.messages is 'Every user, assistant and tool-result message of every session, with token usage and cost on assistant messages.';
comment on column api.messages.agent_id is 'Owning agent; defaults to the caller''s agent_id claim.';
comment on column api.messages.session_id is 'The session this message belongs to.';
comment on column api.messages.id is 'OpenClaw transcript entry id (stable across SQLite, JSONL and Gateway sources).';
comment on column api.messages.parent_id is 'Entry id of the previous entry in the transcript tree.';
comment on column api.messages.role is 'user, assistant, tool_result or system.';
comment on column api.messages.channel is 'Channel the message came through (telegram, webchat, …).';
comment on column api.messages.sender is 'Who sent it (a user handle, the agent id, a tool name).';
comment on column api.messages.content is 'The message text (text blocks joined); tool calls are in tool_calls.';
comment on column api.messages.provider is 'Model provider that produced an assistant message.';
comment on column api.messages.model is 'Model that produced an assistant message.';
comment on column api.messages.input_tokens is 'Prompt tokens billed for this assistant message.';
comment on column api.messages.output_tokens is 'Completion tokens of this assistant message.';
comment on column api.messages.cache_read_tokens is 'Prompt tokens served from the provider''s cache.';
comment on column api.messages.cache_write_tokens is 'Prompt tokens written to the provider''s cache.';
comment on column api.messages.total_tokens is 'All tokens of this message as the provider counted them.';
comment on column api.messages.cost_usd is 'Estimated cost in US dollars (OpenClaw''s configured per-million prices; 0 for local models).';
comment on column api.messages.stop_reason is 'Why generation stopped: stop, length, toolUse, error or aborted.';
comment on column api.messages.error_message is 'Provider or runtime error text when the turn failed.';
comment on column api.messages.is_heartbeat is 'True for OpenClaw''s own heartbeat turns (not Clawbase''s maintenance sweep), so their spend can be shown apart.';
comment on column api.messages.created_at is 'Timestamp of the transcript entry.';
comment on column api.messages.ingested_at is 'When Clawbase stored the row.';
comment on column api.messages.raw is 'The original transcript entry, so nothing is lost when a typed column misses a field.';
create index messages_agent_created_idx on api.messages (agent_id, created_at desc);
create index messages_created_idx on api.messages (created_at desc);
create index messages_session_created_idx on api.messages (agent_id, session_id, created_at);
select private.expose('api.messages', 'select, insert');
select private.audit_table('api.messages', 'agent_id,session_id,id', 'keys');

create table api.tool_calls (
  agent_id          text not null default private.current_agent_id(),
  session_id        text not null,
  id                text not null check (length(id) between 1 and 200),
  message_id        text,
  result_message_id text,
  name              text not null,
  arguments         jsonb,
  result            text,
  is_error          boolean,
  started_at        timestamptz,
  finished_at       timestamptz,
  duration_ms       integer generated always as ((extract(epoch from (finished_at - started_at)) * 1000)::integer) stored,
  primary key (agent_id, session_id, id),
  foreign key (agent_id, session_id) references api.sessions on delete cascade
);
comment on table api.tool_calls is 'Every tool call an assistant made, joined to its result. Join to messages on (agent_id, session_id, message_id).';
comment on column api.tool_calls.agent_id is 'Owning agent; defaults to the caller''s agent_id claim.';
comment on column api.tool_calls.session_id is 'The session of the call.';
comment on column api.tool_calls.id is 'OpenClaw tool call id.';
comment on column api.tool_calls.message_id is 'Entry id of the assistant message that made the call (no foreign key: the Gateway reports a tool start before the message is persisted).';
comment on column api.tool_calls.result_message_id is 'Entry id of the tool_result message carrying the result.';
comment on column api.tool_calls.name is 'Tool name (read, exec, write, browser, …).';
comment on column api.tool_calls.arguments is 'Arguments the model passed, as JSON.';
comment on column api.tool_calls.result is 'Result text returned to the model.';
comment on column api.tool_calls.is_error is 'True when the tool reported an error; null while the call has no result.';
comment on column api.tool_calls.started_at is 'When the call started (the assistant message time, or the Gateway start event).';
comment on column api.tool_calls.finished_at is 'When the result arrived.';
comment on column api.tool_calls.duration_ms is 'finished_at − started_at in milliseconds.';
create index tool_calls_message_idx on api.tool_calls (agent_id, session_id, message_id);
create index tool_calls_started_idx on api.tool_calls (started_at desc);
create index tool_calls_errors_idx on api.tool_calls (started_at desc) where is_error;
select private.expose('api.tool_calls', 'select, insert');
select private.audit_table('api.tool_calls', 'agent_id,session_id,id', 'keys');
