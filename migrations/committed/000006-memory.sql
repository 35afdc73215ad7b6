--! Previous: sha1:6784dee61aa37079c2821cc0573cf918d1beb9cf
--! Hash: sha1:3f7ffa491b0a68f6a282ab7036640bef293db9ae
--! Message: memory

-- The agent's memory: key-value facts with TTL, conversation summaries, knowledge documents.

create table api.memory_kv (
  agent_id         text not null default private.current_agent_id() references api.agents on delete cascade,
  key              text not null check (length(key) between 1 and 512),
  value            jsonb not null,
  size_bytes       integer generated always as (octet_length(value::text)) stored,
  expires_at       timestamptz,
  sliding_ttl      interval check (sliding_ttl > interval '0'),
  pinned           boolean not null default false,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  last_accessed_at timestamptz not null default now(),
  primary key (agent_id, key)
);
comment on table api.memory_kv is 'Key-value memory of each agent. Upsert with POST /memory_kv + Prefer: resolution=merge-duplicates. Expired rows are invisible to agents at once and deleted by the maintenance sweep.';
comment on column api.memory_kv.agent_id is 'Owning agent; defaults to the caller''s agent_id claim.';
comment on column api.memory_kv.key is 'Memory key, unique per agent (1–512 characters).';
comment on column api.memory_kv.value is 'The remembered value, any JSON.';
comment on column api.memory_kv.size_bytes is 'Size of the value as JSON text, in bytes; at or above memory_hot_threshold_bytes the row is HOT.';
comment on column api.memory_kv.expires_at is 'When the row expires (null: never). Expired rows are hidden from agents and purged by private.purge_expired.';
comment on column api.memory_kv.sliding_ttl is 'When set, each read through memory_get pushes expires_at to now() + sliding_ttl.';
comment on column api.memory_kv.pinned is 'Pinned rows are never pruned for size, only by their own expiry.';
comment on column api.memory_kv.created_at is 'When the key was first written.';
comment on column api.memory_kv.updated_at is 'When the value last changed.';
comment on column api.memory_kv.last_accessed_at is 'Last write or memory_get read; HOT pruning removes the least recently accessed first.';
create index memory_kv_expires_idx on api.memory_kv (expires_at) where expires_at is not null;
create index memory_kv_size_idx on api.memory_kv (size_bytes desc);
create trigger register_agent before insert on api.memory_kv for each row execute function private.register_agent();
create trigger touch_updated_at before update on api.memory_kv for each row execute function private.touch_updated_at();

alter table api.memory_kv enable row level security;
grant select, insert, update, delete on api.memory_kv to agent, operator, worker;
grant select on api.memory_kv to viewer;
create policy agent_read_live on api.memory_kv for select to agent
  using (agent_id = (select private.current_agent_id()) and (expires_at is null or expires_at > now()));
comment on policy agent_read_live on api.memory_kv is 'An agent reads only its own rows that have not expired.';
create policy agent_insert on api.memory_kv for insert to agent with check (agent_id = (select private.current_agent_id()));
comment on policy agent_insert on api.memory_kv is 'An agent writes only under its own agent_id.';
create policy agent_update on api.memory_kv for update to agent
  using (agent_id = (select private.current_agent_id())) with check (agent_id = (select private.current_agent_id()));
comment on policy agent_update on api.memory_kv is 'An agent changes only its own rows.';
create policy agent_delete on api.memory_kv for delete to agent using (agent_id = (select private.current_agent_id()));
comment on policy agent_delete on api.memory_kv is 'An agent deletes only its own rows.';
create policy staff_read on api.memory_kv for select to viewer, operator using (true);
comment on policy staff_read on api.memory_kv is 'Viewers and operators read every row, expired ones included until purged.';
create policy operator_write on api.memory_kv for all to operator using (true) with check (true);
comment on policy operator_write on api.memory_kv is 'Operators change any row.';
select private.audit_table('api.memory_kv', 'agent_id,key');

-- An upsert over an expired key must behave like an insert of a fresh key. Without this,
-- ON CONFLICT DO UPDATE meets a row the agent's SELECT policy hides and fails.
create function private.memory_kv_drop_expired() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  delete from api.memory_kv where agent_id = new.agent_id and key = new.key and expires_at <= now();
  return new;
end
$$;
comment on function private.memory_kv_drop_expired() is 'BEFORE INSERT trigger on memory_kv: an expired row under the same key is deleted so the write starts a fresh key.';
create trigger drop_expired before insert on api.memory_kv for each row execute function private.memory_kv_drop_expired();

create view api.memory_kv_hot with (security_invoker = true) as
  select agent_id, key, size_bytes, pinned, expires_at, last_accessed_at, updated_at
  from api.memory_kv
  where size_bytes >= (select (private.setting('memory_hot_threshold_bytes'))::integer);
comment on view api.memory_kv_hot is 'HOT memory rows: values at or above memory_hot_threshold_bytes (private.settings), largest first by index. Row-level security of memory_kv applies.';
comment on column api.memory_kv_hot.agent_id is 'Owning agent.';
comment on column api.memory_kv_hot.key is 'Memory key.';
comment on column api.memory_kv_hot.size_bytes is 'Size of the value as JSON text, in bytes.';
comment on column api.memory_kv_hot.pinned is 'Pinned rows are never pruned for size.';
comment on column api.memory_kv_hot.expires_at is 'When the row expires (null: never).';
comment on column api.memory_kv_hot.last_accessed_at is 'Last write or memory_get read.';
comment on column api.memory_kv_hot.updated_at is 'When the value last changed.';
grant select on api.memory_kv_hot to agent, viewer, operator, worker;

create table api.conversation_summaries (
  id               bigint generated always as identity primary key,
  agent_id         text not null default private.current_agent_id(),
  session_id       text not null,
  version          integer not null default 0 check (version >= 0),
  summary          text not null,
  method           text not null default 'llm' check (method in ('llm', 'extractive', 'manual')),
  model            text,
  first_message_id text,
  last_message_id  text,
  first_message_at timestamptz,
  last_message_at  timestamptz,
  message_count    integer check (message_count >= 0),
  created_at       timestamptz not null default now(),
  expires_at       timestamptz not null default now() + (private.setting('summary_ttl') #>> '{}')::interval,
  unique (agent_id, session_id, version),
  foreign key (agent_id, session_id) references api.sessions on delete cascade
);
comment on table api.conversation_summaries is 'Summaries of session windows, versioned: a newer version supersedes an older one, which stays until it expires (30 days by default).';
comment on column api.conversation_summaries.id is 'Surrogate key.';
comment on column api.conversation_summaries.agent_id is 'Owning agent; defaults to the caller''s agent_id claim.';
comment on column api.conversation_summaries.session_id is 'The summarised session.';
comment on column api.conversation_summaries.version is 'Version of the summary within its session, from 1; the highest is current. Left out (0) on insert, the next one is assigned.';
comment on column api.conversation_summaries.summary is 'The summary text.';
comment on column api.conversation_summaries.method is 'llm (Ollama chat), extractive (fallback when no model answered) or manual.';
comment on column api.conversation_summaries.model is 'Model that wrote an llm summary.';
comment on column api.conversation_summaries.first_message_id is 'First message covered.';
comment on column api.conversation_summaries.last_message_id is 'Last message covered.';
comment on column api.conversation_summaries.first_message_at is 'Timestamp of the first message covered.';
comment on column api.conversation_summaries.last_message_at is 'Timestamp of the last message covered.';
comment on column api.conversation_summaries.message_count is 'How many messages the summary covers.';
comment on column api.conversation_summaries.created_at is 'When the summary was written.';
comment on column api.conversation_summaries.expires_at is 'When the summary is purged (default: summary_ttl after creation).';
create index conversation_summaries_expires_idx on api.conversation_summaries (expires_at);

create function private.conversation_summaries_next_version() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if new.version = 0 then
    new.version := coalesce((select max(version) from api.conversation_summaries
                             where agent_id = new.agent_id and session_id = new.session_id), 0) + 1;
  end if;
  return new;
end
$$;
comment on function private.conversation_summaries_next_version() is 'BEFORE INSERT trigger: a summary inserted without a version becomes the next version of its session (superseding, not overwriting, the previous one).';
create trigger next_version before insert on api.conversation_summaries for each row execute function private.conversation_summaries_next_version();
select private.expose('api.conversation_summaries', 'select, insert, update, delete', 'select, insert, update, delete');
select private.audit_table('api.conversation_summaries', 'id');

-- convert_to() is only STABLE (it reads the client encoding); the database encoding is fixed at
-- creation (UTF8), so hashing its bytes is immutable and may feed a generated column.
create function private.sha256_hex(content text) returns text
language sql immutable strict parallel safe
set search_path = ''
as $$ select encode(sha256(convert_to(content, 'UTF8')), 'hex') $$;
comment on function private.sha256_hex(text) is 'SHA-256 of a text''s UTF-8 bytes, as 64 hex digits.';
grant execute on function private.sha256_hex(text) to agent, viewer, operator, worker;

create table api.knowledge_docs (
  id           bigint generated always as identity primary key,
  agent_id     text not null default private.current_agent_id() references api.agents on delete cascade,
  title        text not null,
  source       text not null default 'api' check (source in ('api', 'workspace', 'research', 'upload')),
  source_path  text,
  content      text not null,
  content_hash text generated always as (private.sha256_hex(content)) stored,
  metadata     jsonb not null default '{}',
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  unique (id, agent_id),
  unique (agent_id, source_path)
);
comment on table api.knowledge_docs is 'Documents an agent can search (markdown notes, research, the workspace''s MEMORY.md and memory/*.md), chunked into knowledge_chunks.';
comment on column api.knowledge_docs.id is 'Surrogate key.';
comment on column api.knowledge_docs.agent_id is 'Owning agent; defaults to the caller''s agent_id claim.';
comment on column api.knowledge_docs.title is 'Document title.';
comment on column api.knowledge_docs.source is 'Where it came from: api, workspace (synced file), research or upload.';
comment on column api.knowledge_docs.source_path is 'Workspace-relative path of a synced file; unique per agent.';
comment on column api.knowledge_docs.content is 'Full document text.';
comment on column api.knowledge_docs.content_hash is 'SHA-256 of the content (hex): an unchanged file is not re-synced or re-embedded.';
comment on column api.knowledge_docs.metadata is 'Free-form attributes (tags, url, …).';
comment on column api.knowledge_docs.created_at is 'When the document was first stored.';
comment on column api.knowledge_docs.updated_at is 'When its content last changed.';
create trigger register_agent before insert on api.knowledge_docs for each row execute function private.register_agent();
create trigger touch_updated_at before update on api.knowledge_docs for each row execute function private.touch_updated_at();
select private.expose('api.knowledge_docs', 'select, insert, update, delete', 'select, insert, update, delete');
select private.audit_table('api.knowledge_docs', 'id');

create table api.knowledge_chunks (
  id              bigint generated always as identity primary key,
  doc_id          bigint not null,
  agent_id        text not null default private.current_agent_id(),
  ordinal         integer not null check (ordinal >= 0),
  content         text not null,
  tsv             tsvector generated always as (to_tsvector('english', content)) stored,
  embedding       real[],
  embedding_model text,
  embedded_at     timestamptz,
  unique (doc_id, ordinal),
  foreign key (doc_id, agent_id) references api.knowledge_docs (id, agent_id) on delete cascade
);
comment on table api.knowledge_chunks is 'Search units of knowledge_docs: full-text indexed, with an embedding once the worker has made one.';
comment on column api.knowledge_chunks.id is 'Surrogate key.';
comment on column api.knowledge_chunks.doc_id is 'The document this chunk is part of.';
comment on column api.knowledge_chunks.agent_id is 'Owning agent (always the document''s).';
comment on column api.knowledge_chunks.ordinal is 'Position of the chunk in its document, from 0.';
comment on column api.knowledge_chunks.content is 'Chunk text.';
comment on column api.knowledge_chunks.tsv is 'English full-text vector of the content.';
comment on column api.knowledge_chunks.embedding is 'Embedding vector (null until embedded).';
comment on column api.knowledge_chunks.embedding_model is 'Model that made the embedding; a different configured model triggers re-embedding.';
comment on column api.knowledge_chunks.embedded_at is 'When the embedding was made.';
create index knowledge_chunks_agent_idx on api.knowledge_chunks (agent_id);
create index knowledge_chunks_tsv_idx on api.knowledge_chunks using gin (tsv);
select private.expose('api.knowledge_chunks', 'select, insert, update, delete', 'select, insert, update, delete');
select private.audit_table('api.knowledge_chunks', 'id', 'keys');
