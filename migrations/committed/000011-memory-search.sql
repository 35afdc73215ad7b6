--! Previous: sha1:1f74333828435884f4c330dfca316ef79837da0c
--! Hash: sha1:724f5fedc37eb1aa3fe009c15b1f4e5eca843d84
--! Message: memory-search

-- Memory search: one index of everything an agent can recall (memory values, conversation
-- summaries, knowledge chunks), kept in step by triggers, embedded by the worker through Ollama,
-- and searched by api.memory_search: full text (+ trigram on titles) fused by reciprocal rank with
-- vector similarity done in plain SQL, so no vector extension is needed.
--
-- Vectors are stored twice, in forms stock PostgreSQL can search fast (see NOTES: 100k × 768):
--   embedding_bits   the sign of every dimension, bit(n): Hamming distance (bit_count(a # b)) over
--                    a narrow column picks candidates at ~0.2 µs a row;
--   embedding_cubes  the unit vector cut into 96-dimension `cube`s: exact cosine of a candidate is
--                    1 − Σ cube_distance² / 2, ~20× faster than unnest over real[].

-- Extensions get a schema of their own that API roles may use (public stays closed to them).
create schema if not exists extensions;
comment on schema extensions is 'Extension objects (cube, pg_trgm, pgcrypto): usable by every role, owned by none of them.';
grant usage on schema extensions to anon, agent, viewer, operator, worker;
create extension if not exists cube schema extensions;
alter extension pg_trgm set schema extensions;
alter extension pgcrypto set schema extensions;
-- Functions created from here on are not executable by PUBLIC (migration 1); cube's must be.
grant execute on all functions in schema extensions to agent, viewer, operator, worker;

-- The chunk table carried placeholders for this; the index below replaces them.
drop index if exists api.knowledge_chunks_tsv_idx;
alter table api.knowledge_chunks drop column if exists tsv, drop column if exists embedding,
  drop column if exists embedding_model, drop column if exists embedded_at;

insert into private.settings (key, value, description) values
  ('embedding_model', '"nomic-embed-text"', 'Ollama model the worker embeds with; items embedded by another model are re-embedded in the background. Set from OLLAMA_EMBED_MODEL at start.'),
  ('knowledge_chunk_chars', '1500', 'Target size of a knowledge chunk in characters (paragraphs are merged up to it, longer ones split).'),
  ('memory_embed_max_chars', '8000', 'Memory values longer than this are embedded by their first characters only (full text search still sees all of it).')
on conflict (key) do nothing;

create table api.search_items (
  id               bigint generated always as identity primary key,
  agent_id         text not null references api.agents on delete cascade,
  kind             text not null check (kind in ('memory', 'summary', 'chunk')),
  memory_key       text,
  summary_id       bigint references api.conversation_summaries on delete cascade,
  chunk_id         bigint references api.knowledge_chunks on delete cascade,
  title            text not null default '',
  content          text not null,
  tsv              tsvector generated always as (
                     setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', content), 'B')) stored,
  expires_at       timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  embedding_model  text,
  embedding_bits   bit varying,
  embedding_cubes  extensions.cube[],
  embedded_at      timestamptz,
  embed_error      text,
  check (num_nonnulls(memory_key, summary_id, chunk_id) = 1),
  check ((kind = 'memory') = (memory_key is not null) and (kind = 'summary') = (summary_id is not null)
         and (kind = 'chunk') = (chunk_id is not null)),
  foreign key (agent_id, memory_key) references api.memory_kv (agent_id, key) on delete cascade on update cascade
);
comment on table api.search_items is 'Everything memory_search can find: one row per memory value, conversation summary and knowledge chunk, maintained by triggers; the worker fills the embedding. Read-only for agents (their own rows) and staff.';
comment on column api.search_items.id is 'Surrogate key.';
comment on column api.search_items.agent_id is 'Owning agent.';
comment on column api.search_items.kind is 'memory (a memory_kv value), summary (a conversation summary) or chunk (a knowledge chunk).';
comment on column api.search_items.memory_key is 'The memory_kv key, for kind memory.';
comment on column api.search_items.summary_id is 'The conversation_summaries row, for kind summary.';
comment on column api.search_items.chunk_id is 'The knowledge_chunks row, for kind chunk.';
comment on column api.search_items.title is 'Short name searched also by trigram similarity (memory key, document title, session id).';
comment on column api.search_items.content is 'The searchable text.';
comment on column api.search_items.tsv is 'English full-text vector: title weighted A, content B.';
comment on column api.search_items.expires_at is 'Copied from the source row: expired items are never returned.';
comment on column api.search_items.created_at is 'When the item was indexed first.';
comment on column api.search_items.updated_at is 'When its text last changed.';
comment on column api.search_items.embedding_model is 'Model of the stored embedding; null while the item waits for one.';
comment on column api.search_items.embedding_bits is 'Sign bits of the embedding (1 = positive): Hamming distance ranks candidates.';
comment on column api.search_items.embedding_cubes is 'The unit-length embedding as cubes of 96 dimensions, for exact cosine rescoring.';
comment on column api.search_items.embedded_at is 'When the embedding was stored.';
comment on column api.search_items.embed_error is 'Last embedding failure (Ollama down, model missing), cleared on success.';
create unique index search_items_memory_idx on api.search_items (agent_id, memory_key) where kind = 'memory';
create unique index search_items_summary_idx on api.search_items (summary_id) where kind = 'summary';
create unique index search_items_chunk_idx on api.search_items (chunk_id) where kind = 'chunk';
create index search_items_agent_idx on api.search_items (agent_id, kind);
create index search_items_tsv_idx on api.search_items using gin (tsv);
create index search_items_title_trgm_idx on api.search_items using gin (title extensions.gin_trgm_ops);
create index search_items_pending_idx on api.search_items (id) where embedding_model is null;
-- The Hamming scan reads only this index (an index-only scan of ~130 bytes a row), not the wide
-- rows with their text and tsvector: 3× less to read per candidate.
create index search_items_vectors_idx on api.search_items (agent_id, embedding_model)
  include (id, kind, expires_at, embedding_bits) where embedding_bits is not null;
select private.expose('api.search_items', 'select');
alter table api.search_items alter column agent_id set default private.current_agent_id();

-- Vector forms ----------------------------------------------------------------------------------

create function private.unit_vector(v real[]) returns float8[]
language sql immutable strict parallel safe
set search_path = ''
as $$
  select array_agg(x / nullif(norm, 0) order by i)
  from (select sqrt(sum(x * x)) as norm from unnest(v::float8[]) x) n, unnest(v::float8[]) with ordinality as t(x, i)
$$;
comment on function private.unit_vector(real[]) is 'The vector scaled to length 1 (so cosine similarity is a dot product).';

create function private.embedding_bits(v real[]) returns bit varying
language sql immutable strict parallel safe
set search_path = ''
as $$ select string_agg(case when x > 0 then '1' else '0' end, '' order by i)::bit varying from unnest(v) with ordinality t(x, i) $$;
comment on function private.embedding_bits(real[]) is 'Binary quantization: one bit per dimension, set where the component is positive.';

create function private.embedding_cubes(v real[]) returns extensions.cube[]
language sql immutable strict parallel safe
set search_path = ''
as $$
  select array_agg(extensions.cube(part) order by g)
  from (select (i - 1) / 96 as g, array_agg(x order by i) as part
        from unnest(private.unit_vector(v)) with ordinality t(x, i) group by 1) parts
$$;
comment on function private.embedding_cubes(real[]) is 'The unit vector cut into cubes of at most 96 dimensions (cube allows 100).';

-- No SET clause and fully qualified names: PostgreSQL inlines it into the calling query instead of
-- starting a function call per candidate.
create function private.cosine(a extensions.cube[], b extensions.cube[]) returns float8
language sql immutable strict parallel safe
as $$ select 1 - sum(extensions.cube_distance(x, y) ^ 2) / 2 from unnest(a, b) t(x, y) $$;
comment on function private.cosine(extensions.cube[], extensions.cube[]) is 'Cosine similarity of two unit vectors stored as cube arrays: 1 − |a − b|² / 2.';

grant execute on function private.unit_vector(real[]), private.embedding_bits(real[]), private.embedding_cubes(real[]),
  private.cosine(extensions.cube[], extensions.cube[]) to agent, viewer, operator, worker;

-- Keeping the index in step ---------------------------------------------------------------------

create function private.search_items_changed() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.content is distinct from old.content or new.title is distinct from old.title then
    new.updated_at := now();
    -- New text, new vector: the worker picks the row up again.
    new.embedding_model := null;
    new.embedding_bits := null;
    new.embedding_cubes := null;
    new.embedded_at := null;
  end if;
  return new;
end
$$;
comment on function private.search_items_changed() is 'BEFORE UPDATE trigger on search_items: changed text drops the stale embedding.';
create trigger changed before update on api.search_items for each row execute function private.search_items_changed();

create function private.enqueue_embedding() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  -- One job per statement; the job embeds every pending item in batches, so a burst of writes
  -- costs one queue row, and concurrent writers never contend on a shared job key.
  if exists (select from new_rows where embedding_model is null) then
    perform graphile_worker.add_job('embed_pending', '{}'::json, max_attempts => 25);
  end if;
  return null;
end
$$;
comment on function private.enqueue_embedding() is 'Statement-level AFTER trigger on search_items: queues an embed_pending job when rows need an embedding.';
create trigger enqueue_embedding_insert after insert on api.search_items referencing new table as new_rows
  for each statement execute function private.enqueue_embedding();
create trigger enqueue_embedding_update after update on api.search_items referencing new table as new_rows
  for each statement execute function private.enqueue_embedding();

create function private.memory_search_text(v jsonb) returns text
language sql immutable strict parallel safe
set search_path = ''
as $$ select case jsonb_typeof(v) when 'string' then v #>> '{}' else v::text end $$;
comment on function private.memory_search_text(jsonb) is 'The text of a memory value as search sees it: a JSON string unquoted, anything else as JSON text.';

-- The index is kept by statement-level triggers: one INSERT … SELECT into search_items per
-- statement on the source table, so a 100,000-row load queues one embedding job, not 100,000.

create function private.index_memory() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into api.search_items (agent_id, kind, memory_key, title, content, expires_at)
    select n.agent_id, 'memory', n.key, n.key, private.memory_search_text(n.value), n.expires_at from new_rows n
    on conflict (agent_id, memory_key) where kind = 'memory'
    do update set content = excluded.content, expires_at = excluded.expires_at;
  else
    -- Reads through memory_get update last_accessed_at only: nothing to index then.
    insert into api.search_items (agent_id, kind, memory_key, title, content, expires_at)
    select n.agent_id, 'memory', n.key, n.key, private.memory_search_text(n.value), n.expires_at
    from new_rows n join old_rows o on o.agent_id = n.agent_id and o.key = n.key
    where n.value is distinct from o.value or n.expires_at is distinct from o.expires_at
    on conflict (agent_id, memory_key) where kind = 'memory'
    do update set content = excluded.content, expires_at = excluded.expires_at;
  end if;
  return null;
end
$$;
comment on function private.index_memory() is 'Statement-level AFTER INSERT/UPDATE trigger on memory_kv: mirrors new and changed values into search_items (a renamed key follows by ON UPDATE CASCADE).';
create trigger index_memory_insert after insert on api.memory_kv referencing new table as new_rows
  for each statement execute function private.index_memory();
create trigger index_memory_update after update on api.memory_kv referencing old table as old_rows new table as new_rows
  for each statement execute function private.index_memory();

create function private.index_summary() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into api.search_items (agent_id, kind, summary_id, title, content, expires_at)
  select n.agent_id, 'summary', n.id, n.session_id, n.summary, n.expires_at from new_rows n
  on conflict (summary_id) where kind = 'summary'
  do update set content = excluded.content, expires_at = excluded.expires_at;
  return null;
end
$$;
comment on function private.index_summary() is 'Statement-level AFTER INSERT/UPDATE trigger on conversation_summaries: mirrors summaries into search_items.';
create trigger index_summary_insert after insert on api.conversation_summaries referencing new table as new_rows
  for each statement execute function private.index_summary();
create trigger index_summary_update after update on api.conversation_summaries referencing new table as new_rows
  for each statement execute function private.index_summary();

create function private.index_chunk() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into api.search_items (agent_id, kind, chunk_id, title, content)
  select n.agent_id, 'chunk', n.id, d.title, n.content from new_rows n join api.knowledge_docs d on d.id = n.doc_id
  on conflict (chunk_id) where kind = 'chunk'
  do update set content = excluded.content, title = excluded.title;
  return null;
end
$$;
comment on function private.index_chunk() is 'Statement-level AFTER INSERT/UPDATE trigger on knowledge_chunks: mirrors chunks (with their document title) into search_items.';
create trigger index_chunk_insert after insert on api.knowledge_chunks referencing new table as new_rows
  for each statement execute function private.index_chunk();
create trigger index_chunk_update after update on api.knowledge_chunks referencing new table as new_rows
  for each statement execute function private.index_chunk();

-- Chunking in SQL, so a document written through PostgREST is searchable without any client work.
create function private.chunk_text(content text, target integer) returns setof text
language plpgsql immutable strict
set search_path = ''
as $$
declare
  para text;
  buf text := '';
  cut integer;
begin
  foreach para in array regexp_split_to_array(content, E'\\n\\s*\\n') loop
    para := btrim(para);
    continue when para = '';
    while length(para) > target loop
      if buf <> '' then return next buf; buf := ''; end if;
      -- Cut at the last space before the target, so no word is split (unless there is none).
      cut := coalesce(nullif(length(left(para, target)) - strpos(reverse(left(para, target)), ' ') + 1, target + 1), target);
      if cut < target / 2 then cut := target; end if;
      return next btrim(left(para, cut));
      para := btrim(substr(para, cut + 1));
    end loop;
    if buf <> '' and length(buf) + length(para) + 2 > target then
      return next buf;
      buf := '';
    end if;
    buf := case when buf = '' then para else buf || E'\n\n' || para end;
  end loop;
  if buf <> '' then return next buf; end if;
end
$$;
comment on function private.chunk_text(text, integer) is 'Splits text into chunks of about `target` characters: paragraphs merged up to it, longer paragraphs cut.';

create function private.rechunk_document() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.content is not distinct from old.content and new.title is not distinct from old.title then
    return null;
  end if;
  delete from api.knowledge_chunks where doc_id = new.id;
  insert into api.knowledge_chunks (doc_id, agent_id, ordinal, content)
  select new.id, new.agent_id, t.n - 1, t.chunk
  from private.chunk_text(new.content, (private.setting('knowledge_chunk_chars'))::integer) with ordinality t(chunk, n);
  return null;
end
$$;
comment on function private.rechunk_document() is 'AFTER INSERT/UPDATE trigger on knowledge_docs: replaces the document''s chunks when its text or title changes.';
create trigger rechunk after insert or update of content, title on api.knowledge_docs
  for each row execute function private.rechunk_document();

-- Reading memory --------------------------------------------------------------------------------

create function api.memory_get(key text) returns api.memory_kv
language sql volatile
set search_path = ''
as $$
  update api.memory_kv m
     set last_accessed_at = now(),
         expires_at = case when m.sliding_ttl is not null then now() + m.sliding_ttl else m.expires_at end
   where m.agent_id = private.current_agent_id() and m.key = memory_get.key
     and (m.expires_at is null or m.expires_at > now())
  returning m.*
$$;
comment on function api.memory_get(text) is 'Reads one of the calling agent''s memories by key (POST /rpc/memory_get {"key": …}): bumps last_accessed_at and, for rows with a sliding_ttl, pushes expires_at to now() + sliding_ttl. Null when absent or expired.';
grant execute on function api.memory_get(text) to agent;

-- Reads bump last_accessed_at (and a sliding expiry): not changes worth an audit row or an
-- updated_at, so only a changed value touches updated_at.
drop trigger touch_updated_at on api.memory_kv;
drop trigger audit_update on api.memory_kv;
create trigger audit_update after update on api.memory_kv referencing old table as old_rows new table as new_rows
  for each statement execute function private.audit_changes('agent_id,key', 'values', 'last_accessed_at');
create trigger touch_updated_at before update on api.memory_kv for each row
  when (old.value is distinct from new.value) execute function private.touch_updated_at();

create function api.memory_search(
  query text,
  query_embedding real[] default null,
  k integer default 10,
  kinds text[] default null,
  candidates integer default 100
) returns table (
  id bigint, kind text, title text, snippet text, memory_key text, summary_id bigint, chunk_id bigint,
  score float8, text_rank integer, vector_rank integer, similarity float8
)
language plpgsql stable
set search_path = ''
-- A misspelt name ("bicylces" for "Bicycles") scores about 0.4 word similarity; 0.6 is the default.
set pg_trgm.word_similarity_threshold = 0.35
as $$
-- Reciprocal rank fusion (k = 60) of up to `candidates` full-text hits and `candidates` vector
-- hits. Vector hits: Hamming distance on the sign bits picks 4 × k candidates, exact cosine on
-- the cube form reorders them. Row-level security of search_items scopes everything to the caller.
declare
  q tsquery := case when coalesce(btrim(query), '') <> '' then websearch_to_tsquery('english', query) end;
  qbits bit varying;
  qcubes extensions.cube[];
  model text := private.setting('embedding_model') #>> '{}';
begin
  if k is null or k < 1 or k > 100 then
    raise exception 'k must be between 1 and 100, not %', k using errcode = '22023';
  end if;
  if coalesce(btrim(query), '') = '' and query_embedding is null then
    raise exception 'memory_search needs a query text or a query_embedding' using errcode = '22023';
  end if;
  if query_embedding is not null then
    qbits := private.embedding_bits(query_embedding);
    qcubes := private.embedding_cubes(query_embedding);
  end if;
  return query
  with text_hits as (
    select s.id, row_number() over (order by ts_rank_cd(s.tsv, q) desc, s.id) as r
    from api.search_items s
    where q is not null and numnode(q) > 0 and s.tsv @@ q and (kinds is null or s.kind = any (kinds)) and (s.expires_at is null or s.expires_at > now())
    order by ts_rank_cd(s.tsv, q) desc, s.id
    limit candidates
  ),
  -- Names and typos: trigram similarity on titles when full text found little.
  fuzzy_hits as (
    select s.id, row_number() over (order by extensions.word_similarity(query, s.title) desc, s.id) as r
    from api.search_items s
    where (select count(*) from text_hits) < k and coalesce(btrim(query), '') <> ''
      and query operator(extensions.<%) s.title and (kinds is null or s.kind = any (kinds))
      and (s.expires_at is null or s.expires_at > now())
    order by extensions.word_similarity(query, s.title) desc, s.id
    limit candidates
  ),
  -- Only ids here: the wide cube values are read for the survivors alone.
  hamming as (
    select s.id
    from api.search_items s
    -- Same model, same dimensions: no length check needed (and none that would keep the planner
    -- from the index-only scan of search_items_vectors_idx).
    where qbits is not null and s.embedding_model = model and s.embedding_bits is not null
      and (kinds is null or s.kind = any (kinds)) and (s.expires_at is null or s.expires_at > now())
    order by bit_count(s.embedding_bits # qbits), s.id
    limit greatest(candidates, 4 * k)
  ),
  vector_hits as (
    select c.id, c.sim, row_number() over (order by c.sim desc, c.id) as r
    from (select h.id, private.cosine(s.embedding_cubes, qcubes) as sim
            from hamming h cross join lateral (select x.embedding_cubes from api.search_items x where x.id = h.id) s) c
  ),
  fused as (
    select coalesce(t.id, f.id, v.id) as id,
           coalesce(1.0 / (60 + t.r), 0) + coalesce(1.0 / (60 + f.r), 0) + coalesce(1.0 / (60 + v.r), 0) as score,
           coalesce(t.r, f.r)::integer as text_rank, v.r::integer as vector_rank, v.sim
    from text_hits t
    full join fuzzy_hits f on f.id = t.id
    full join vector_hits v on v.id = coalesce(t.id, f.id)
  )
  select s.id, s.kind, s.title, left(s.content, 300), s.memory_key, s.summary_id, s.chunk_id,
         top.score::float8, top.text_rank, top.vector_rank, top.sim
  from (select * from fused order by score desc, id limit k) top
  -- k primary-key lookups, never a scan of the caller's whole index
  cross join lateral (select * from api.search_items x where x.id = top.id) s
  order by top.score desc, s.id;
end
$$;
comment on function api.memory_search(text, real[], integer, text[], integer) is 'Hybrid memory search (POST /rpc/memory_search {"query": …, "query_embedding": […], "k": 10}): full text (and trigram on titles) fused with vector similarity by reciprocal rank. query alone is a text-only search. kinds filters memory/summary/chunk. Only the caller''s rows (RLS).';
grant execute on function api.memory_search(text, real[], integer, text[], integer) to agent, viewer, operator;

create view api.embedding_backlog with (security_invoker = true) as
  select kind, count(*) filter (where embedding_model is null) as pending, count(*) as total,
         max(embed_error) as last_error
  from api.search_items group by kind;
comment on view api.embedding_backlog is 'How many search items still wait for an embedding, per kind, and the last embedding error (Ollama down, model missing).';
comment on column api.embedding_backlog.kind is 'memory, summary or chunk.';
comment on column api.embedding_backlog.pending is 'Items without an embedding from the configured model.';
comment on column api.embedding_backlog.total is 'All items of the kind visible to the caller.';
comment on column api.embedding_backlog.last_error is 'An embedding error still on record, if any.';
grant select on api.embedding_backlog to viewer, operator, worker;
