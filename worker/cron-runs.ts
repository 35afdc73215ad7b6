// Every scheduled job and sweep step leaves a row in api.cron_runs: started, finished, status, counts.
import type { PoolClient } from 'pg';

export type Counts = Record<string, number | string | boolean>;

export interface RunRecord {
  name: string;
  /** The schedule slot (graphile-worker's cron payload `_cron.ts`), kept for backfilled runs. */
  scheduledFor?: string;
  parentId?: number;
}

type Querier = Pick<PoolClient, 'query'>;

/**
 * Runs `work` as one recorded run: a `running` row first, then `succeeded` with its counts or
 * `failed` with the error, which is rethrown so graphile-worker retries the job.
 */
export async function recordRun<T extends Counts>(db: Querier, run: RunRecord, work: (runId: number) => Promise<T>): Promise<T> {
  const { rows } = await db.query<{ id: string }>(
    `insert into api.cron_runs (name, parent_id, scheduled_for) values ($1, $2, $3) returning id`,
    [run.name, run.parentId ?? null, run.scheduledFor ?? null],
  );
  const id = Number(rows[0]!.id);
  try {
    const counts = await work(id);
    await db.query(`update api.cron_runs set status = 'succeeded', finished_at = clock_timestamp(), counts = $2 where id = $1`, [id, counts]);
    return counts;
  } catch (err) {
    await db.query(`update api.cron_runs set status = 'failed', finished_at = clock_timestamp(), error = $2 where id = $1`, [id, (err as Error).message]);
    throw err;
  }
}

/** The schedule slot graphile-worker puts into a cron job's payload, if any. */
export function cronSlot(payload: unknown): string | undefined {
  const cron = (payload as { _cron?: { ts?: string } } | null)?._cron;
  return cron?.ts;
}
