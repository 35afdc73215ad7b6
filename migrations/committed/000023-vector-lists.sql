--! Previous: sha1:45485f138e8e88456f93236a7ccb2df62736e2dc
--! Hash: sha1:f23e7c92fd36069669c5cd0b56a764f344464d92
--! Message: vector-lists

-- Vector lists (IVF): the Hamming scan of memory_search read every embedded row of the caller,
-- ~0.55 µs a row, so 100k items cost 55-60 ms before any rescoring (bench/search.ts, p95 115 ms).
-- Now the worker partitions the embeddings of a model into about √n lists by their sign bits
-- (k-modes on a sample, worker/memory/vector-lists.ts), every embedded row carries the list it
-- is nearest to, and a query scans only the lists nearest to it, through an index on the list.
-- Rows embedded before lists existed (or while none are trained: small installs) are in list -1,
-- which every query scans, so nothing is ever unsearchable.
--
-- Retraining adds a new generation of lists beside the old one: queries probe both while the
-- worker moves rows over in small batches, then the old generation is dropped. No moment has
-- rows in lists no query looks at, and no agent write waits behind a long transaction.

insert into private.settings (key, value, description) values
  ('vector_probes', '8', 'How many of the nearest vector lists (per generation) memory_search scans for a query: more finds more, slower. The unassigned list -1 is always scanned.'),
  ('vector_lists_min_items', '20000', 'The worker trains vector lists for a model once this many items carry its embedding; below it, memory_search scans all of them (fast enough).')
on conflict (key) do nothing;

create table private.vector_lists (
  list        integer generated always as identity primary key,
  model       text not null,
  generation  integer not null,
  centroid    bit varying not null,
  items       integer not null default 0,
  trained_on  integer not null default 0,
  trained_at  timestamptz not null default now()
);
comment on table private.vector_lists is 'Centroids of the vector lists memory_search probes: per embedding model, one generation in use (two while the worker moves rows to a retrained one).';
comment on column private.vector_lists.list is 'List number, unique across models and generations (search_items.vector_list points here; -1 = no list).';
comment on column private.vector_lists.model is 'Embedding model whose vectors the list partitions.';
comment on column private.vector_lists.generation is 'Training run: the highest generation of a model is the one new rows are assigned to.';
comment on column private.vector_lists.centroid is 'Majority sign bits of the list''s members: a row or query belongs to the list with the least Hamming distance.';
comment on column private.vector_lists.items is 'Members of the training sample assigned to the list (how even the partition is).';
comment on column private.vector_lists.trained_on is 'Embedded rows of the model when the generation was trained: the worker retrains when they have doubled.';
comment on column private.vector_lists.trained_at is 'When the generation was trained.';
create index vector_lists_model_idx on private.vector_lists (model, generation);
grant select, insert, delete on private.vector_lists to worker;

alter table api.search_items add column vector_list integer not null default -1;
comment on column api.search_items.vector_list is 'The vector list (private.vector_lists) nearest the embedding; -1 while none is trained, which every query scans.';

-- The Hamming scan reads this index only (an index-only scan), and within the probed lists only.
drop index api.search_items_vectors_idx;
create index search_items_vectors_idx on api.search_items (agent_id, embedding_model, vector_list)
  include (id, kind, expires_at, embedding_bits) where embedding_bits is not null;

create function private.nearest_vector_list(model text, bits bit varying) returns integer
language sql stable strict security definer
set search_path = ''
as $$
  select coalesce((
    select l.list from private.vector_lists l
    where l.model = nearest_vector_list.model
      and l.generation = (select max(g.generation) from private.vector_lists g where g.model = nearest_vector_list.model)
      and length(l.centroid) = length(bits)
    order by bit_count(l.centroid # bits), l.list limit 1), -1)
$$;
comment on function private.nearest_vector_list(text, bit varying) is 'The list of the newest generation whose centroid is nearest to these sign bits (-1 when the model has no lists).';
grant execute on function private.nearest_vector_list(text, bit varying) to worker;

create function private.vector_probe_lists(model text, bits bit varying, probes integer) returns integer[]
language sql stable security definer
set search_path = ''
as $$
  select array_agg(p.list) || -1
  from (select l.list, row_number() over (partition by l.generation order by bit_count(l.centroid # bits), l.list) as n
        from private.vector_lists l
        where l.model = vector_probe_lists.model and length(l.centroid) = length(bits)) p
  where p.n <= greatest(probes, 1)
$$;
comment on function private.vector_probe_lists(text, bit varying, integer) is 'The lists a query scans: the `probes` nearest of each generation of the model, and -1 (rows in no list).';
grant execute on function private.vector_probe_lists(text, bit varying, integer) to agent, viewer, operator, worker;

create function private.assign_vector_list() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.embedding_bits is null then
    new.vector_list := -1;
  elsif tg_op = 'INSERT' or new.embedding_bits is distinct from old.embedding_bits
        or new.embedding_model is distinct from old.embedding_model then
    new.vector_list := private.nearest_vector_list(new.embedding_model, new.embedding_bits);
  end if;
  return new;
end
$$;
comment on function private.assign_vector_list() is 'BEFORE INSERT/UPDATE trigger on search_items: a new or changed embedding joins its nearest vector list (runs after "changed", which drops stale embeddings).';
create trigger vector_list before insert or update on api.search_items
  for each row execute function private.assign_vector_list();

-- Rescoring. With the lists, a 10k-row search took 9-10 ms (bench/search.ts), the Hamming scan
-- 1.5 ms of it; most of the rest was normalising the query vector (unit_vector 2.3 ms and
-- embedding_cubes 6 ms in all, row by row over 768 elements). The query needs no normalising: for
-- a unit candidate a and any query q, |a − q|² = 1 + |q|² − 2 a·q, so
--   cosine(a, q) = (1 + |q|² − Σ cube_distance²) / (2 |q|)
-- over the query cut into raw pieces by array slices. The candidates are rescored in one
-- set-based pass instead of a call of private.cosine each (an SQL function with a FROM clause is
-- never inlined). Stored vectors keep their unit form, now also cut by slices.

create or replace function private.embedding_cubes(v real[]) returns extensions.cube[]
language sql immutable strict parallel safe
set search_path = ''
as $$
  select array_agg(extensions.cube(u.unit[g * 96 + 1 : least(g * 96 + 96, cardinality(u.unit))]) order by g)
  from (select private.unit_vector(v) as unit) u,
       generate_series(0, (cardinality(u.unit) - 1) / 96) as g
$$;

create function private.embedding_pieces(v real[]) returns extensions.cube[]
language sql immutable strict parallel safe
set search_path = ''
as $$
  select array_agg(extensions.cube(v[g * 96 + 1 : least(g * 96 + 96, cardinality(v))]::float8[]) order by g)
  from generate_series(0, (cardinality(v) - 1) / 96) as g
$$;
comment on function private.embedding_pieces(real[]) is 'The vector as it is (not normalised) cut into cubes of at most 96 dimensions: the query side of memory_search''s cosine.';
grant execute on function private.embedding_pieces(real[]) to agent, viewer, operator, worker;

create or replace function api.memory_search(
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
-- hits. Vector hits: Hamming distance on the sign bits, within the vector lists nearest the query
-- (all rows while no lists are trained), picks the candidates; exact cosine on the cube form
-- reorders them. Row-level security of search_items scopes everything to the caller.
declare
  q tsquery := case when coalesce(btrim(query), '') <> '' then websearch_to_tsquery('english', query) end;
  qbits bit varying;
  qcubes extensions.cube[];
  qnorm2 float8;
  model text := private.setting('embedding_model') #>> '{}';
  lists integer[];
begin
  if k is null or k < 1 or k > 100 then
    raise exception 'k must be between 1 and 100, not %', k using errcode = '22023';
  end if;
  if coalesce(btrim(query), '') = '' and query_embedding is null then
    raise exception 'memory_search needs a query text or a query_embedding' using errcode = '22023';
  end if;
  if query_embedding is not null then
    qbits := private.embedding_bits(query_embedding);
    qcubes := private.embedding_pieces(query_embedding);
    qnorm2 := (select sum(extensions.cube_distance(c, extensions.cube(array_fill(0::float8, array[extensions.cube_dim(c)]))) ^ 2)
               from unnest(qcubes) c);
    if qnorm2 is null or qnorm2 = 0 then
      raise exception 'query_embedding has no direction (all zeros)' using errcode = '22023';
    end if;
    lists := private.vector_probe_lists(model, qbits, (private.setting('vector_probes'))::integer);
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
      and s.vector_list = any (lists)
      and (kinds is null or s.kind = any (kinds)) and (s.expires_at is null or s.expires_at > now())
    order by bit_count(s.embedding_bits # qbits), s.id
    limit greatest(candidates, 4 * k)
  ),
  -- Exact cosine of the candidates (unit vectors) with the raw query, in one set-based pass.
  vector_hits as (
    select c.id, c.sim, row_number() over (order by c.sim desc, c.id) as r
    from (select h.id, (1 + qnorm2 - sum(extensions.cube_distance(x, y) ^ 2)) / (2 * sqrt(qnorm2)) as sim
            from hamming h
            join api.search_items s on s.id = h.id
            cross join lateral unnest(s.embedding_cubes, qcubes) as t(x, y)
           group by h.id) c
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
-- (grants and comment of memory_search are unchanged: same signature)

insert into private.schedules (name, cron, every, slot_offset, description) values
  ('maintain_vector_lists', '41 */1 * * *', '1 hour', '41 minutes', 'Trains the vector lists memory_search probes once enough items are embedded, and retrains them when the items have doubled.');
