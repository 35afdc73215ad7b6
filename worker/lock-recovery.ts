// Jobs of a killed worker must not wait out graphile-worker's 4-hour lock timeout.
//
// Each worker process holds a session-level advisory lock per graphile-worker pool and worker id,
// on one connection of its own. PostgreSQL drops those locks the moment the process dies (its
// session ends), so any worker that can take the lock of a job's `locked_by` knows the owner is
// gone and hands the job back with graphile_worker.force_unlock_workers(). Several workers can
// run side by side: each only frees what no live process holds. Jobs locked in the last few
// seconds are left alone, which covers the moment between a worker's creation and its lock.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { WorkerEvents } from 'graphile-worker';

export interface LockRecovery {
  /** Pass to graphile-worker's `run({ events })`: it tells us the ids of our own workers. */
  events: WorkerEvents;
  /** Frees the jobs of dead workers now; returns the worker ids it freed. */
  sweep(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface LockRecoveryOptions {
  connectionString: string;
  /** How often to look for jobs of dead workers. */
  intervalMs?: number;
  /** Jobs locked more recently than this are never touched. */
  minLockAgeMs?: number;
  log: (line: string) => void;
}

/** The advisory lock key of a graphile-worker worker id (64-bit hash; the seed keeps it apart from other users). */
const lockKey = 'hashtextextended($1::text, 7301)';

export function startLockRecovery(opts: LockRecoveryOptions): LockRecovery {
  const events = new EventEmitter() as WorkerEvents;
  const ours = new Set<string>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let stopped = false;

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: opts.connectionString, application_name: 'clawbase worker locks' });
      c.on('error', (err) => {
        // The server restarted or the connection broke: our locks are gone with it; take them again.
        opts.log(`[worker] lock connection lost (${err.message}); re-taking worker locks`);
        if (client === c) client = undefined;
        c.end().catch(() => {});
      });
      await c.connect();
      for (const id of ours) await c.query(`select pg_advisory_lock(${lockKey})`, [id]);
      client = c;
      return c;
    })().finally(() => (connecting = undefined));
    return connecting;
  }

  const own = (id: string) => {
    if (ours.has(id)) return;
    ours.add(id);
    void connection()
      .then((c) => c.query(`select pg_advisory_lock(${lockKey})`, [id]))
      .catch((err: Error) => opts.log(`[worker] could not lock worker id ${id}: ${err.message}`));
  };
  // graphile-worker 0.18 takes jobs in the name of the pool (locked_by = the pool's id), not of
  // the worker that runs them: both ids are held, or a live pool's long job (over minLockAgeMs)
  // would look abandoned, be freed and run a second time beside the first.
  events.on('pool:create', ({ workerPool }) => own(workerPool.id));
  events.on('worker:create', ({ worker }) => own(worker.workerId));

  async function sweep(): Promise<string[]> {
    const c = await connection();
    const { rows } = await c.query<{ locked_by: string }>(
      `select distinct locked_by from graphile_worker._private_jobs
        where locked_by is not null and locked_at < now() - make_interval(secs => $1)`,
      [(opts.minLockAgeMs ?? 10_000) / 1000],
    );
    const freed: string[] = [];
    for (const { locked_by: id } of rows) {
      if (ours.has(id)) continue;
      const { rows: [got] } = await c.query<{ ok: boolean }>(`select pg_try_advisory_lock(${lockKey}) as ok`, [id]);
      if (!got!.ok) continue; // a live process holds it
      try {
        await c.query('select graphile_worker.force_unlock_workers($1::text[])', [[id]]);
        freed.push(id);
      } finally {
        await c.query(`select pg_advisory_unlock(${lockKey})`, [id]);
      }
    }
    if (freed.length) opts.log(`[worker] freed the jobs of ${freed.length} dead worker(s): ${freed.join(', ')}`);
    return freed;
  }

  const timer = setInterval(() => {
    if (!stopped) sweep().catch((err: Error) => opts.log(`[worker] dead-worker check failed: ${err.message}`));
  }, opts.intervalMs ?? 15_000);
  timer.unref();
  // A restarted worker frees what its predecessor held as soon as it can.
  setTimeout(() => {
    if (!stopped) sweep().catch((err: Error) => opts.log(`[worker] dead-worker check failed: ${err.message}`));
  }, (opts.minLockAgeMs ?? 10_000) + 500).unref();

  return {
    events,
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      const c = client ?? (await connecting?.catch(() => undefined));
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
