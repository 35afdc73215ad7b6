// Vector lists (IVF) behind memory_search: training on clustered embeddings, every row in a list of
// the newest generation, the same answers as the exhaustive scan, new embeddings joining a list at
// write, a retraining interrupted half-way finished by the next run, and lists dropped with their model.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listsFor, maintainVectorLists, trainCentroids } from '../worker/memory/vector-lists.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

const dims = 96;
const model = 'test-model';
let stack: TestStack;
let worker: pg.Pool;

/** Deterministic clustered unit vectors: related items are near each other, as real embeddings are. */
function clustered(count: number, clusters: number, seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dims }, normal));
  return Array.from({ length: count }, () => {
    const c = centres[Math.floor(next() * clusters)]!;
    const v = c.map((x) => x + 0.45 * normal());
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
}

const items = clustered(2500, 40, 1);
const queries = clustered(20, 40, 1).map((q, i) => q.map((x, d) => x + 0.01 * Math.sin(i + d)));

async function search(embedding: number[]): Promise<number[]> {
  const res = await fetch(`${stack.restUrl}/rpc/memory_search`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await stack.token('agent', 'vera')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: '', query_embedding: embedding, k: 10 }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: number }[]).map((r) => r.id);
}

/** Stores vectors the way worker/memory/embed.ts does, as the worker login. */
async function embed(ids: number[], vectors: number[][]) {
  for (let i = 0; i < ids.length; i += 500) {
    const payload = ids.slice(i, i + 500).map((id, j) => ({ id, v: vectors[i + j] }));
    await worker.query(
      `update api.search_items s set embedding_model = $2, embedding_bits = private.embedding_bits(x.v),
              embedding_cubes = private.embedding_cubes(x.v), embedded_at = now()
         from jsonb_to_recordset($1::jsonb) as x(id bigint, v real[]) where s.id = x.id`,
      [JSON.stringify(payload), model],
    );
  }
}

async function listState() {
  const { rows } = await stack.sql.query(
    `select (select count(*) from private.vector_lists where model = $1)::int as lists,
            (select count(distinct generation) from private.vector_lists where model = $1)::int as generations,
            (select count(*) from api.search_items s where s.embedding_model = $1 and not exists (
               select from private.vector_lists l where l.list = s.vector_list
                 and l.generation = (select max(generation) from private.vector_lists where model = $1)))::int as outside_newest`,
    [model],
  );
  return rows[0] as { lists: number; generations: number; outside_newest: number };
}

let chunkIds: number[] = [];

beforeAll(async () => {
  stack = await startTestStack('vector_lists');
  worker = new pg.Pool({ connectionString: stack.workerUrl, max: 2 });
  await stack.sql.query(`update private.settings set value = to_jsonb($1::text) where key = 'embedding_model'`, [model]);
  await stack.sql.query(`update private.settings set value = '1000' where key = 'vector_lists_min_items'`);
  await stack.sql.query(`insert into api.agents (id) values ('vera'), ('wes')`);
  const { rows: [doc] } = await stack.sql.query(`insert into api.knowledge_docs (agent_id, title, content) values ('vera', 'corpus', 'x') returning id`);
  await stack.sql.query(`delete from api.knowledge_chunks where doc_id = $1`, [doc.id]);
  await stack.sql.query(
    `insert into api.knowledge_chunks (doc_id, agent_id, ordinal, content) select $1, 'vera', g, 'chunk ' || g from generate_series(0, $2 - 1) g`,
    [doc.id, items.length],
  );
  const { rows } = await stack.sql.query(`select s.id from api.search_items s join api.knowledge_chunks c on c.id = s.chunk_id where c.doc_id = $1 order by c.ordinal`, [doc.id]);
  chunkIds = rows.map((r) => Number(r.id));
  await embed(chunkIds, items);
}, 120_000);

afterAll(async () => {
  await worker?.end();
  await stack?.stop();
});

describe('vector lists', () => {
  it('k-modes splits separated groups of sign bits into one list each', () => {
    const words = (bits: string) => {
      const w = new Uint32Array(2);
      for (let i = 0; i < bits.length; i++) if (bits[i] === '1') w[i >>> 5]! |= 1 << (i & 31);
      return w;
    };
    const a = '1'.repeat(32) + '0'.repeat(32);
    const b = '0'.repeat(32) + '1'.repeat(32);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === '1' ? '0' : '1') + s.slice(i + 1);
    const points = [...Array.from({ length: 20 }, (_, i) => words(flip(a, i))), ...Array.from({ length: 20 }, (_, i) => words(flip(b, i + 40)))];
    const { centroids, sizes } = trainCentroids(points, 64, 2, 10);
    expect(sizes.sort()).toEqual([20, 20]);
    expect(centroids.map((c) => Array.from(c)).sort()).toEqual([Array.from(words(a)), Array.from(words(b))].sort());
  });

  let exhaustive: number[][] = [];

  it('trains once enough items are embedded, puts every row in a list, and finds what the full scan finds', async () => {
    expect(await listState()).toEqual({ lists: 0, generations: 0, outside_newest: items.length });
    exhaustive = [];
    for (const q of queries) exhaustive.push(await search(q));
    expect(exhaustive.every((r) => r.length === 10)).toBe(true);

    const counts = await maintainVectorLists(worker, { model });
    expect(counts).toMatchObject({ embedded: items.length, lists: listsFor(items.length), generation: 1, trained: items.length, reassigned: items.length });
    expect(await listState()).toEqual({ lists: listsFor(items.length), generations: 1, outside_newest: 0 });

    let overlap = 0;
    for (const [i, q] of queries.entries()) {
      const found = new Set(await search(q));
      overlap += exhaustive[i]!.filter((id) => found.has(id)).length / 10;
    }
    expect(overlap / queries.length).toBeGreaterThanOrEqual(0.95);
  });

  it('reports the exact cosine for a query of any length, and refuses a zero vector', async () => {
    const query = queries[3]!.map((x) => 3 * x); // not unit length: the cosine must not care
    const res = await fetch(`${stack.restUrl}/rpc/memory_search`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await stack.token('agent', 'vera')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '', query_embedding: query, k: 3 }),
    });
    const hits = (await res.json()) as { id: number; similarity: number }[];
    expect(hits).toHaveLength(3);
    const norm = Math.hypot(...query);
    for (const hit of hits) {
      const v = items[chunkIds.indexOf(hit.id)]!;
      const cosine = v.reduce((s, x, d) => s + x * query[d]!, 0) / norm;
      expect(hit.similarity).toBeCloseTo(cosine, 4);
    }
    const zero = await fetch(`${stack.restUrl}/rpc/memory_search`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await stack.token('agent', 'vera')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '', query_embedding: new Array(dims).fill(0) }),
    });
    expect(zero.status).toBe(400);
    expect(((await zero.json()) as { message: string }).message).toMatch(/no direction/);
  });

  it('does nothing more until the items have doubled', async () => {
    const counts = await maintainVectorLists(worker, { model });
    expect(counts).toMatchObject({ trained: 0, reassigned: 0, dropped_lists: 0, generation: 1 });
  });

  it('assigns a new embedding to its nearest list when it is written, and a changed text leaves it unassigned until re-embedded', async () => {
    const { rows: [chunk] } = await stack.sql.query(
      `insert into api.knowledge_chunks (doc_id, agent_id, ordinal, content)
       select doc_id, agent_id, 100000, 'a late chunk' from api.knowledge_chunks limit 1 returning id`,
    );
    const { rows: [item] } = await stack.sql.query(`select id, vector_list from api.search_items where chunk_id = $1`, [chunk.id]);
    expect(item.vector_list).toBe(-1);
    await embed([Number(item.id)], [items[0]!]);
    const { rows: [after] } = await stack.sql.query(`select vector_list from api.search_items where id = $1`, [item.id]);
    const { rows: [first] } = await stack.sql.query(`select vector_list from api.search_items where id = $1`, [chunkIds[0]]);
    expect(after.vector_list).toBe(first.vector_list);
    expect(after.vector_list).toBeGreaterThan(0);
    await stack.sql.query(`update api.knowledge_chunks set content = 'a rewritten chunk' where id = $1`, [chunk.id]);
    const { rows: [rewritten] } = await stack.sql.query(`select vector_list, embedding_bits from api.search_items where id = $1`, [item.id]);
    expect(rewritten).toEqual({ vector_list: -1, embedding_bits: null });
    const found = await search(items[0]!);
    expect(found).toContain(chunkIds[0]);
  });

  it('finishes a retraining a crash left half-done: rows move to the newest generation, the old one goes', async () => {
    // A second generation whose rows were never moved, as a crash after training leaves it.
    await stack.sql.query(
      `insert into private.vector_lists (model, generation, centroid, items, trained_on)
       select model, generation + 1, centroid, items, trained_on from private.vector_lists where model = $1`,
      [model],
    );
    const before = await listState();
    expect(before).toMatchObject({ generations: 2, outside_newest: items.length });
    // Meanwhile queries probe both generations, so nothing is missed.
    const found = new Set(await search(queries[0]!));
    expect(exhaustive[0]!.filter((id) => found.has(id)).length).toBeGreaterThanOrEqual(9);

    const counts = await maintainVectorLists(worker, { model, batch: 300 });
    expect(counts).toMatchObject({ generation: 2, trained: 0, reassigned: items.length, dropped_lists: listsFor(items.length) });
    expect(await listState()).toEqual({ lists: listsFor(items.length), generations: 1, outside_newest: 0 });
  });

  it('keeps the centroids from agents (they summarise every agent’s vectors)', async () => {
    const client = await stack.sql.connect();
    try {
      await client.query('begin');
      await client.query(`set local role agent`);
      await expect(client.query('select * from private.vector_lists')).rejects.toThrow(/permission denied/);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('drops the lists of a model no longer configured', async () => {
    const counts = await maintainVectorLists(worker, { model: 'another-model' });
    expect(counts).toMatchObject({ embedded: 0, lists: 0, trained: 0, dropped_lists: listsFor(items.length) });
    expect((await listState()).lists).toBe(0);
  });
});
