// Embeds search items that have no vector from the configured model: read a batch without locks,
// ask Ollama for all of them in one call, then store each vector only if the text is still the
// one that was embedded (an agent's write is never blocked behind an Ollama call).
import type { Ollama } from 'ollama';
import type { Queryable } from '../db.ts';
import { describeOllamaError } from './ollama.ts';

export interface EmbedOptions {
  model: string;
  host: string;
  batchSize?: number;
  /** Characters of an item's text sent to the model (full text search still sees everything). */
  maxChars?: number;
  /** Stop after this many batches (the next job goes on). */
  maxBatches?: number;
}

export interface EmbedCounts {
  embedded: number;
  skipped: number;
  batches: number;
  [key: string]: number;
}

export class OllamaUnavailableError extends Error {
  override name = 'OllamaUnavailableError';
}

export async function embedPending(db: Queryable, ollama: Ollama, opts: EmbedOptions): Promise<EmbedCounts> {
  const batchSize = opts.batchSize ?? 32;
  const maxChars = opts.maxChars ?? 8000;
  const counts: EmbedCounts = { embedded: 0, skipped: 0, batches: 0 };
  let afterId = 0;
  for (let batch = 0; batch < (opts.maxBatches ?? 1000); batch++) {
    // Items never embedded come first through the partial index; then those of another model.
    const { rows } = await db.query<{ id: string; title: string; content: string; digest: string }>(
      `(select id, title, content, md5(title || content) as digest from api.search_items
         where embedding_model is null and id > $1 order by id limit $2)
       union all
       (select id, title, content, md5(title || content) from api.search_items
         where embedding_model <> $3 and id > $1 order by id limit $2)
       order by id limit $2`,
      [afterId, batchSize, opts.model],
    );
    if (!rows.length) break;
    afterId = Number(rows.at(-1)!.id);
    let vectors: number[][];
    try {
      const res = await ollama.embed({ model: opts.model, input: rows.map((r) => `${r.title}\n${r.content}`.slice(0, maxChars)) });
      vectors = res.embeddings;
      if (vectors.length !== rows.length) throw new Error(`asked for ${rows.length} embeddings, got ${vectors.length}`);
    } catch (err) {
      const reason = describeOllamaError(err, opts.host);
      await db.query(`update api.search_items set embed_error = $2 where id = any ($1::bigint[])`, [rows.map((r) => r.id), reason]);
      throw new OllamaUnavailableError(reason, { cause: err });
    }
    const payload = rows.map((r, i) => ({ id: Number(r.id), digest: r.digest, v: vectors[i] }));
    // Rows another transaction holds (the sweep deleting expired memory, which cascades here, or
    // the workspace sync rewriting a document) are skipped, never waited for: waiting on them in
    // the update's join order while they wait on ours was a deadlock (seen in CI under load). A
    // skipped row that still exists is embedded by the next run (the crontab runs one every minute).
    const { rowCount } = await db.query(
      `with free as (
         select id from api.search_items where id = any ($3::bigint[]) order by id for update skip locked
       )
       update api.search_items s
          set embedding_model = $2, embedding_bits = private.embedding_bits(x.v), embedding_cubes = private.embedding_cubes(x.v),
              embedded_at = now(), embed_error = null
         from jsonb_to_recordset($1::jsonb) as x(id bigint, digest text, v real[]), free
        where s.id = x.id and s.id = free.id and md5(s.title || s.content) = x.digest`,
      [JSON.stringify(payload), opts.model, payload.map((p) => p.id)],
    );
    counts.embedded += rowCount ?? 0;
    counts.skipped += rows.length - (rowCount ?? 0);
    counts.batches++;
  }
  return counts;
}
