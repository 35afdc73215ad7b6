// Where each source stopped. Read once at start; written only by the writer, in the same
// transaction as the rows (see writer.ts), so what is loaded here is exactly what is stored.
import pg from 'pg';
import type { Source } from './records.ts';

export type Positions = Map<string, Record<string, unknown>>;

export interface Checkpoints {
  jsonl: Positions;
  sqlite: Positions;
  gateway: Positions;
}

export async function loadCheckpoints(connectionString: string): Promise<Checkpoints> {
  const client = new pg.Client({ connectionString, application_name: 'clawbase ingest' });
  await client.connect();
  try {
    const { rows } = await client.query<{ source: Source; stream: string; position: Record<string, unknown> }>(
      'select source, stream, position from private.ingest_checkpoints',
    );
    const out: Checkpoints = { jsonl: new Map(), sqlite: new Map(), gateway: new Map() };
    for (const r of rows) out[r.source].set(r.stream, r.position);
    return out;
  } finally {
    await client.end();
  }
}
