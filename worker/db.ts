import type { Pool, PoolClient } from 'pg';

/** A pool or one of its clients: the worker's modules only send queries. */
export type Queryable = Pool | PoolClient;

/**
 * Runs one self-contained statement (or transaction) again when PostgreSQL chose it as the victim
 * of a deadlock (40P01) or a serialization failure (40001): the other side has gone on, so the
 * retry succeeds. For idempotent writes only (upserts, deletes by key).
 */
export async function retryOnConflict<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (i >= attempts || (code !== '40P01' && code !== '40001')) throw err;
      await new Promise((r) => setTimeout(r, 20 * i + Math.random() * 30));
    }
  }
}
