--! Previous: sha1:623475155e598905109c920f04731c51709cd5c1
--! Hash: sha1:381708ae614cd247184994b2486a12779f72479b
--! Message: embedding-cubes-once

-- The worker's embedding update cost 4.6 ms a row on an idle machine, 4.2 of it here, and under
-- the soak it was the statement PostgreSQL spent most of its time in (86 ms a call, sampled): as
-- an SQL function its subquery was flattened, so the unit vector was recomputed for every
-- reference to it, once per 96-dimension piece. Computed once into a variable, the same cubes
-- (identical text) bring the update to 0.8 ms a row. The query side (embedding_pieces,
-- embedding_bits) was not affected.
create or replace function private.embedding_cubes(v real[]) returns extensions.cube[]
language plpgsql immutable strict parallel safe
set search_path = ''
as $$
declare
  unit constant float8[] := private.unit_vector(v);
  n constant integer := cardinality(v);
  cubes extensions.cube[] := '{}';
begin
  for g in 0 .. (n - 1) / 96 loop
    cubes := cubes || extensions.cube(unit[g * 96 + 1 : least(g * 96 + 96, n)]);
  end loop;
  return cubes;
end
$$;
comment on function private.embedding_cubes(real[]) is 'The unit vector cut into cubes of at most 96 dimensions (cube allows 100): the stored side of memory_search''s exact cosine.';
