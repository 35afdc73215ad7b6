// A killed worker's jobs are handed back within seconds, never those of a live worker.
import { EventEmitter } from 'node:events';
import { quickAddJob, run } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLockRecovery, type LockRecovery } from '../worker/lock-recovery.ts';
import { createTestDatabase } from './support/stack.ts';
import pg from 'pg';

let owner: pg.Pool;
let workerUrl: string;
const started: LockRecovery[] = [];
const lines: string[] = [];

beforeAll(async () => {
  const db = await createTestDatabase('locks');
  owner = new pg.Pool({ connectionString: db.ownerUrl });
  workerUrl = db.workerUrl;
});
afterAll(async () => {
  for (const r of started) await r.stop();
  await owner?.end();
});

function recovery(): LockRecovery {
  const r = startLockRecovery({ connectionString: workerUrl, intervalMs: 3_600_000, minLockAgeMs: 1_000, log: (l) => lines.push(l) });
  started.push(r);
  return r;
}

/** Queues a job and marks it taken by `workerId` `ageS` seconds ago, as graphile-worker does. */
async function lockedJob(workerId: string, ageS: number): Promise<string> {
  const job = await quickAddJob({ connectionString: workerUrl }, 'purge_expired', { marker: workerId });
  await owner.query(`update graphile_worker._private_jobs set locked_by = $2, locked_at = now() - make_interval(secs => $3) where id = $1`, [job.id, workerId, ageS]);
  return job.id;
}
const lockedBy = async (id: string) =>
  (await owner.query<{ locked_by: string | null }>(`select locked_by from graphile_worker._private_jobs where id = $1`, [id])).rows[0]!.locked_by;

describe('dead-worker lock recovery', () => {
  it('frees the jobs of a worker id no live process holds, and leaves a live one and a fresh lock alone', async () => {
    // A live process: its recovery instance announces worker "worker-live" as graphile-worker would.
    const live = recovery();
    (live.events as unknown as EventEmitter).emit('worker:create', { worker: { workerId: 'worker-live' } });
    await new Promise((r) => setTimeout(r, 300));

    const dead = await lockedJob('worker-dead', 60);
    const alive = await lockedJob('worker-live', 60);
    const fresh = await lockedJob('worker-starting', 0);

    const other = recovery();
    expect(await other.sweep()).toEqual(['worker-dead']);
    expect(await lockedBy(dead)).toBeNull();
    expect(await lockedBy(alive)).toBe('worker-live');
    expect(await lockedBy(fresh)).toBe('worker-starting');
    expect(lines.join('\n')).toMatch(/freed the jobs of 1 dead worker\(s\): worker-dead/);

    // The live process dies (its session ends): now its jobs are freed too.
    await live.stop();
    expect(await other.sweep()).toEqual(['worker-live']);
    expect(await lockedBy(alive)).toBeNull();
  });

  it('never frees a job a live graphile-worker is still running past the minimum lock age, so it runs once', async () => {
    const mine = recovery();
    let runs = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const runner = await run({
      connectionString: workerUrl,
      concurrency: 2,
      noHandleSignals: true,
      pollInterval: 100,
      taskList: { slow_job: async () => void (runs++, await held) },
      events: mine.events,
    });
    try {
      const job = await quickAddJob({ connectionString: workerUrl }, 'slow_job', {});
      // Taken, and older than minLockAgeMs: only the advisory lock of whatever id it is locked by protects it.
      await new Promise((r) => setTimeout(r, 1_800));
      const owner = await lockedBy(job.id);
      expect(owner).not.toBeNull();
      expect(await mine.sweep()).toEqual([]);
      expect(await recovery().sweep()).toEqual([]);
      expect(await lockedBy(job.id)).toBe(owner);
      await new Promise((r) => setTimeout(r, 500));
      expect(runs).toBe(1);
    } finally {
      release();
      await runner.stop();
    }
  });
});
