--! Previous: sha1:91c57156ae2ff9a23429caa46800d254ae69eade
--! Hash: sha1:3d97e2b7cbf346560d0b3d90edfebf59f7595ae4
--! Message: fast-rescoring

-- memory_search after vector lists (bench/search.ts, 10k rows: p50 9-10 ms, of which the Hamming
-- scan 1.5 ms): most of the rest was normalising the query vector (unit_vector 2.3 ms and
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
