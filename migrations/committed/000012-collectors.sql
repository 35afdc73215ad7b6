--! Previous: sha1:724f5fedc37eb1aa3fe009c15b1f4e5eca843d84
--! Hash: sha1:ba27e19809b9140625904dc1ad509277252e0bdc
--! Message: collectors

-- Collectors: where OpenClaw transcripts land beyond the typed columns of 000005.
-- Entry types other than messages, oversized text stored truncated with its full size, the errors
-- the collectors met (visible to staff), and each source's position, committed with its rows.

-- Messages: every transcript entry but the session header is one row; text past the configured
-- limit is stored truncated, its full size kept.
alter table api.messages drop constraint if exists messages_entry_type_check;
alter table api.messages add column if not exists entry_type text not null default 'message';
alter table api.messages add constraint messages_entry_type_check check (entry_type ~ '^[a-z][a-z0-9_.:-]{0,63}$');
comment on column api.messages.entry_type is 'OpenClaw entry type: message for user, assistant and tool results; compaction, model_change, custom, … for the other entries (stored with role system).';
alter table api.messages add column if not exists content_bytes integer check (content_bytes >= 0);
comment on column api.messages.content_bytes is 'Full size of the text in UTF-8 bytes, before any truncation (null when there is no text).';
alter table api.messages add column if not exists content_truncated boolean not null default false;
comment on column api.messages.content_truncated is 'True when content holds only the start of the text: past the ingest limit, or a tool result whose full text is in tool_calls.result.';
alter table api.messages drop constraint if exists messages_source_check;
alter table api.messages add column if not exists source text not null default 'api';
alter table api.messages add constraint messages_source_check check (source in ('api', 'sqlite', 'jsonl', 'gateway'));
comment on column api.messages.source is 'Which source stored the row (api, sqlite, jsonl, gateway); a transcript copy replaces a live Gateway copy of the same entry.';
alter table api.messages add column if not exists run_id text;
comment on column api.messages.run_id is 'OpenClaw run (turn) id, from the entry''s __openclaw.runId: the chat.send idempotency key.';

alter table api.tool_calls add column if not exists result_bytes integer check (result_bytes >= 0);
comment on column api.tool_calls.result_bytes is 'Full size of the result text in UTF-8 bytes, before any truncation.';
alter table api.tool_calls add column if not exists result_truncated boolean not null default false;
comment on column api.tool_calls.result_truncated is 'True when result holds only the start of the text (past the ingest limit).';

-- What the collectors could not take as it was.
create table if not exists api.ingest_errors (
  id          bigint generated always as identity primary key,
  created_at  timestamptz not null default now(),
  source      text not null check (source in ('sqlite', 'jsonl', 'gateway')),
  agent_id    text,
  file        text not null,
  session_id  text,
  position    bigint,
  error       text not null,
  raw_excerpt text
);
comment on table api.ingest_errors is 'Input the collectors could not store as it was (malformed line or row, unknown type, bad UTF-8, oversized entry), with where it was. Ingestion went on; truncated entries are stored too.';
comment on column api.ingest_errors.id is 'Surrogate key; also the keyset cursor for paging.';
comment on column api.ingest_errors.created_at is 'When the collector met it.';
comment on column api.ingest_errors.source is 'jsonl, sqlite or gateway.';
comment on column api.ingest_errors.agent_id is 'Agent whose input it was, when known.';
comment on column api.ingest_errors.file is 'JSONL file or SQLite database (relative to OPENCLAW_STATE_DIR), or the Gateway URL.';
comment on column api.ingest_errors.session_id is 'OpenClaw session id, when known.';
comment on column api.ingest_errors.position is 'Line number (1-based) in a JSONL file, seq in SQLite, or the Gateway event seq.';
comment on column api.ingest_errors.error is 'What was wrong, and what happened to the input.';
comment on column api.ingest_errors.raw_excerpt is 'The start of the offending input (at most 2,000 characters, invalid bytes replaced).';
create unique index if not exists ingest_errors_once_idx
  on api.ingest_errors (source, file, (coalesce(session_id, '')), (coalesce(position, -1)), (md5(error)));
create index if not exists ingest_errors_created_idx on api.ingest_errors (created_at desc);
create index if not exists ingest_errors_agent_idx on api.ingest_errors (agent_id);
do $$ begin
  if not exists (select 1 from pg_policy where polrelid = 'api.ingest_errors'::regclass) then
    perform private.expose('api.ingest_errors', '');
  end if;
end $$;

-- Where each source stopped, written in the same transaction as the rows it read.
create table if not exists private.ingest_checkpoints (
  source     text not null check (source in ('sqlite', 'jsonl', 'gateway')),
  stream     text not null,
  position   jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (source, stream)
);
comment on table private.ingest_checkpoints is 'Collector positions: a JSONL file''s identity and byte offset, a SQLite session''s last seq, a Gateway session''s last message seq. Committed with the rows, so a restart resumes exactly there.';
comment on column private.ingest_checkpoints.source is 'jsonl, sqlite or gateway.';
comment on column private.ingest_checkpoints.stream is 'What is read: a JSONL file path, a SQLite database path plus session id, a Gateway URL plus session key.';
comment on column private.ingest_checkpoints.position is 'Where reading stopped (offset and file identity, seq, message seq), as JSON.';
comment on column private.ingest_checkpoints.updated_at is 'When the position last moved.';
grant select, insert, update, delete on private.ingest_checkpoints to worker;
