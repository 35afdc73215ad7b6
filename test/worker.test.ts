// The worker runs as the least-privileged `worker` login and records every run in cron_runs.
import { quickAddJob, type Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerContext } from '../worker/context.ts';
import { startWorker } from '../worker/main.ts';
import { createTestDatabase } from './support/stack.ts';
import pg from 'pg';

let owner: pg.Pool;
let runner: Runner;
let workerUrl: string;

beforeAll(async () => {
  const db = await createTestDatabase('worker');
  owner = new pg.Pool({ connectionString: db.ownerUrl });
  workerUrl = db.workerUrl;
  const ollama = { host: 'http://127.0.0.1:9', embedModel: 'nomic-embed-text', chatModel: 'llama3.2', timeoutMs: 1000 };
  runner = await startWorker({ connectionString: workerUrl, context: workerContext({ ollama, workspace: '/nonexistent', workspaceAgent: 'main' }), log: () => {} });
});
afterAll(async () => {
  await runner?.stop();
  await owner?.end();
});

async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('worker', () => {
  it('purge_expired deletes expired memory and records the run with its counts', async () => {
    await owner.query(`insert into api.memory_kv (agent_id, key, value, expires_at) values
      ('w1', 'gone', '1', now() - interval '1 minute'), ('w1', 'kept', '2', now() + interval '1 day')`);
    await quickAddJob({ connectionString: workerUrl }, 'purge_expired', {});
    const run = await waitFor(async () => {
      const { rows } = await owner.query(`select status, counts, error, duration_ms from api.cron_runs where name = 'purge_expired' and status <> 'running'`);
      return rows[0];
    });
    expect(run).toMatchObject({ status: 'succeeded', counts: { memory_kv: 1, conversation_summaries: 0, audit_log: 0 }, error: null });
    expect(run.duration_ms).toBeGreaterThanOrEqual(0);
    const { rows } = await owner.query(`select key from api.memory_kv where agent_id = 'w1'`);
    expect(rows).toEqual([{ key: 'kept' }]);
  });

  it('queues one waiting embedding job however many writes need one, behind the operational jobs (priority 10 vs 0)', async () => {
    // A database no worker runs against: its crontab and retries would add jobs of their own.
    const quiet = new pg.Client({ connectionString: (await createTestDatabase('embed-queue')).ownerUrl });
    await quiet.connect();
    try {
      await quiet.query('begin');
      const waiting = `select t.identifier, j.priority from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
                        where t.identifier in ('embed_pending', 'health_check') and j.locked_at is null and j.attempts = 0 order by t.identifier`;
      for (let i = 0; i < 3; i++) await quiet.query(`insert into api.memory_kv (agent_id, key, value) values ('prio-agent', $1, '"something to embed"')`, [`prio-key-${i}`]);
      await quiet.query(`select graphile_worker.add_job('health_check', '{}'::json)`);
      expect((await quiet.query(waiting)).rows).toEqual([
        { identifier: 'embed_pending', priority: 10 },
        { identifier: 'health_check', priority: 0 },
      ]);
    } finally {
      await quiet.query('rollback');
      await quiet.end();
    }
  });

  it('the worker login cannot touch what is not its job', async () => {
    const w = new pg.Client({ connectionString: workerUrl });
    await w.connect();
    try {
      await expect(w.query(`create table api.sneaky (id int)`)).rejects.toThrow(/permission denied/);
      await expect(w.query(`update api.audit_log set actor_role = 'x'`)).rejects.toThrow(/permission denied/);
      await expect(w.query(`drop table graphile_worker._private_jobs`)).rejects.toThrow(/must be owner/);
    } finally {
      await w.end();
    }
  });
});
