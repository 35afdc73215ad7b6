// COPY … FROM STDIN in PostgreSQL's text format: the fastest way rows get into a table.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | boolean | null;

const needsEscape = /[\\\n\r\t]/;
const escapes: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function field(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return needsEscape.test(v) ? v.replace(/[\\\n\r\t]/g, (c) => escapes[c]!) : v;
}

/** Rows as COPY text: tab-separated fields, one line per row. */
export function copyText(rows: CopyValue[][]): string {
  let out = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < row.length; i++) line += (i ? '\t' : '') + field(row[i]!);
    out += line + '\n';
  }
  return out;
}

/** COPY `text` (or its pieces, in order) into `table (columns)`; resolves with the number of rows copied. */
export async function copyInto(client: pg.ClientBase, table: string, columns: readonly string[], text: string | readonly string[]): Promise<number> {
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
  // Feed in slices so a large batch does not sit in the socket buffer twice.
  const chunk = 1 << 20;
  const parts = function* () {
    for (const piece of typeof text === 'string' ? [text] : text) {
      const buf = Buffer.from(piece, 'utf8');
      for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
    }
  };
  await pipeline(Readable.from(parts()), stream);
  return stream.rowCount ?? 0;
}
