// Vector lists (IVF) for memory_search: the embeddings of a model are partitioned into about √n
// lists by their sign bits, so a query scans the few lists nearest to it instead of every row
// (migration 000023 explains the tables). Training is k-modes on a sample: each list's centroid is
// the per-bit majority of its members and membership is the least Hamming distance, the same
// measure the query uses to pick lists and candidates.
import type { Queryable } from '../db.ts';

export interface VectorListOptions {
  model: string;
  /** Train even when not due (the CLI's `--force`, tests). */
  force?: boolean;
  /** Rows of the training sample. */
  sampleSize?: number;
  iterations?: number;
  /** Rows per reassignment transaction: each holds its rows' locks only this long. */
  batch?: number;
  log?: (line: string) => void;
}

export interface VectorListCounts {
  embedded: number;
  lists: number;
  generation: number;
  trained: number;
  reassigned: number;
  dropped_lists: number;
  [key: string]: number;
}

/** Bits of a `bit varying` text ('0110…') packed into 32-bit words. */
function pack(bits: string, words: number): Uint32Array {
  const out = new Uint32Array(words);
  for (let i = 0; i < bits.length; i++) if (bits.charCodeAt(i) === 49) out[i >>> 5]! |= 1 << (i & 31);
  return out;
}

function unpack(v: Uint32Array, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += (v[i >>> 5]! >>> (i & 31)) & 1 ? '1' : '0';
  return s;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Deterministic choice of initial centroids (tests and benchmarks repeat exactly). */
function shuffleIndexes(n: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  let a = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    const j = a % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}

/**
 * k-modes over packed sign bits: `lists` centroids, each the bitwise majority of the points
 * nearest to it. An emptied list is reseeded with the point farthest from its own centroid.
 */
export function trainCentroids(points: Uint32Array[], bitLength: number, lists: number, iterations: number): { centroids: Uint32Array[]; sizes: number[] } {
  const words = points[0]!.length;
  const k = Math.min(lists, points.length);
  const centroids = shuffleIndexes(points.length, 7).slice(0, k).map((i) => Uint32Array.from(points[i]!));
  const assign = new Int32Array(points.length);
  const dist = new Int32Array(points.length);
  let sizes: number[] = [];
  for (let it = 0; it < iterations; it++) {
    let changed = 0;
    for (let p = 0; p < points.length; p++) {
      const v = points[p]!;
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const cv = centroids[c]!;
        let d = 0;
        for (let w = 0; w < words && d < bestD; w++) d += popcount(v[w]! ^ cv[w]!);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      if (it === 0 || assign[p] !== best) changed++;
      assign[p] = best;
      dist[p] = bestD;
    }
    const counts = new Int32Array(k * bitLength);
    sizes = new Array<number>(k).fill(0);
    for (let p = 0; p < points.length; p++) {
      const c = assign[p]!;
      sizes[c]!++;
      const v = points[p]!;
      const base = c * bitLength;
      for (let b = 0; b < bitLength; b++) if ((v[b >>> 5]! >>> (b & 31)) & 1) counts[base + b]!++;
    }
    for (let c = 0; c < k; c++) {
      if (sizes[c] === 0) {
        let far = 0;
        for (let p = 1; p < points.length; p++) if (dist[p]! > dist[far]!) far = p;
        centroids[c] = Uint32Array.from(points[far]!);
        dist[far] = -1;
        continue;
      }
      const next = new Uint32Array(words);
      const base = c * bitLength;
      for (let b = 0; b < bitLength; b++) {
        const ones = counts[base + b]! * 2;
        // A tie keeps the bit the centroid had, so a list never flips on a coin toss.
        const bit = ones > sizes[c]! ? 1 : ones < sizes[c]! ? 0 : (centroids[c]![b >>> 5]! >>> (b & 31)) & 1;
        if (bit) next[b >>> 5]! |= 1 << (b & 31);
      }
      centroids[c] = next;
    }
    if (it > 0 && changed < points.length / 200) break;
  }
  return { centroids, sizes };
}

/** About √n lists: a query probing a fixed few of them then reads ~probes/√n of the rows. */
export const listsFor = (embedded: number) => Math.max(16, Math.min(2048, Math.round(Math.sqrt(embedded))));

/**
 * Keeps the model's lists fit: finishes a retraining a crash interrupted, trains the first
 * generation once `vector_lists_min_items` rows are embedded, and a new one whenever the rows have
 * doubled since; lists of other models (a changed embedding model) are dropped.
 */
export async function maintainVectorLists(db: Queryable, opts: VectorListOptions): Promise<VectorListCounts> {
  const log = opts.log ?? (() => {});
  const counts: VectorListCounts = { embedded: 0, lists: 0, generation: 0, trained: 0, reassigned: 0, dropped_lists: 0 };
  const dropped = await db.query(`delete from private.vector_lists where model <> $1`, [opts.model]);
  counts.dropped_lists += dropped.rowCount ?? 0;

  const { rows: [state] } = await db.query<{ embedded: number; generation: number | null; generations: number; trained_on: number | null; min_items: number }>(
    `select (select count(*) from api.search_items where embedding_model = $1 and embedding_bits is not null)::int as embedded,
            max(generation) as generation, count(distinct generation)::int as generations,
            max(trained_on) filter (where generation = (select max(generation) from private.vector_lists where model = $1)) as trained_on,
            (private.setting('vector_lists_min_items'))::int as min_items
       from private.vector_lists where model = $1`,
    [opts.model],
  );
  counts.embedded = state!.embedded;
  let generation = state!.generation ?? 0;
  const due = opts.force
    ? counts.embedded > 0
    : state!.generation === null
      ? counts.embedded >= state!.min_items
      : counts.embedded >= 2 * (state!.trained_on ?? 0);

  if (due) {
    const lists = listsFor(counts.embedded);
    const sampleSize = Math.min(counts.embedded, opts.sampleSize ?? Math.max(20_000, lists * 32));
    const t0 = performance.now();
    // The sample reads only the bits of every embedded row (~0.1 s per 100k).
    const { rows: sample } = await db.query<{ bits: string }>(
      `select embedding_bits::text as bits from api.search_items
        where embedding_model = $1 and embedding_bits is not null
        order by random() limit $2`,
      [opts.model, sampleSize],
    );
    const bitLength = sample[0]!.bits.length;
    const points = sample.filter((r) => r.bits.length === bitLength).map((r) => pack(r.bits, Math.ceil(bitLength / 32)));
    const { centroids, sizes } = trainCentroids(points, bitLength, lists, opts.iterations ?? 10);
    generation += 1;
    await db.query(
      `insert into private.vector_lists (model, generation, centroid, items, trained_on)
       select $1, $2, c::bit varying, n, $5 from unnest($3::text[], $4::int[]) as t(c, n)`,
      [opts.model, generation, centroids.map((c) => unpack(c, bitLength)), sizes, counts.embedded],
    );
    counts.trained = points.length;
    log(`trained ${centroids.length} lists of ${opts.model} on ${points.length} sampled rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  if (generation > 0 && (due || state!.generations > 1)) {
    counts.reassigned = await reassign(db, opts.model, generation, opts.batch ?? 200, log);
    const old = await db.query(`delete from private.vector_lists where model = $1 and generation < $2`, [opts.model, generation]);
    counts.dropped_lists += old.rowCount ?? 0;
  }
  const { rows: [now] } = await db.query<{ lists: number }>(`select count(*)::int as lists from private.vector_lists where model = $1`, [opts.model]);
  counts.lists = now!.lists;
  counts.generation = generation;
  return counts;
}

/**
 * Moves every embedded row of the model into its nearest list of the newest generation (the one
 * just trained: private.nearest_vector_list, as the trigger assigns new rows), a batch per transaction.
 */
async function reassign(db: Queryable, model: string, generation: number, batch: number, log: (line: string) => void): Promise<number> {
  let after = 0;
  let moved = 0;
  const t0 = performance.now();
  for (;;) {
    const { rows: [r] } = await db.query<{ last: string | null; moved: number }>(
      `with batch as (
         select id from api.search_items
          where embedding_model = $1 and embedding_bits is not null and id > $2 order by id limit $3),
       nearest as (
         select s.id, private.nearest_vector_list($1, s.embedding_bits) as list from batch b join api.search_items s on s.id = b.id),
       moved as (
         update api.search_items s set vector_list = n.list from nearest n
          where s.id = n.id and s.vector_list is distinct from n.list
         returning 1)
       select (select max(id) from batch)::text as last, (select count(*) from moved)::int as moved`,
      [model, after, batch],
    );
    if (r!.last === null) break;
    after = Number(r!.last);
    moved += r!.moved;
  }
  log(`moved ${moved} rows of ${model} to list generation ${generation} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return moved;
}
