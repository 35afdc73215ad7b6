// The worker runs as the least-privileged `worker` login and records every run in cron_runs.
import fs from 'node:fs';
import { parseCrontab, quickAddJob, type Job, type Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWorkerArgs } from '../cli/worker.ts';
import { workerContext } from '../worker/context.ts';
import { crontabPath, startWorker } from '../worker/main.ts';
import { makeTaskList, taskGroups, type TaskSelection } from '../worker/tasks/index.ts';
import { createTestDatabase } from './support/stack.ts';
import pg from 'pg';

let owner: pg.Pool;
let runner: Runner;
let workerUrl: string;
const ollama = { host: 'http://127.0.0.1:9', embedModel: 'nomic-embed-text', chatModel: 'llama3.2', timeoutMs: 1000 };
const context = () => workerContext({ ollama, workspace: '/nonexistent', workspaceAgent: 'main' });

beforeAll(async () => {
  const db = await createTestDatabase('worker');
  owner = new pg.Pool({ connectionString: db.ownerUrl });
  workerUrl = db.workerUrl;
  runner = await startWorker({ connectionString: workerUrl, context: context(), log: () => {} });
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

describe('a worker limited to some tasks (clawbase worker --only/--without)', () => {
  it('reads --only GROUP and --without GROUP, and refuses anything else', () => {
    expect(parseWorkerArgs([])).toBeUndefined();
    expect(parseWorkerArgs(['--only', 'database-backups'])).toEqual({ only: 'database-backups' });
    expect(parseWorkerArgs(['--without=database-backups'])).toEqual({ without: 'database-backups' });
    const refused: Array<[string[], RegExp]> = [
      [['--only'], /--only needs a task group \(database-backups\), got nothing/],
      [['--only', 'backup'], /--only needs a task group \(database-backups\), got "backup"/],
      [['--without', 'constructor'], /--without needs a task group/],
      [['--only', 'database-backups', '--without', 'database-backups'], /give --only or --without once/],
      [['--all'], /unknown option --all/],
    ];
    for (const [args, message] of refused) expect(() => parseWorkerArgs(args), args.join(' ')).toThrow(message);
  });

  it('two processes with complementary selections split the queue and the crontab: each runs and schedules only its own tasks', async () => {
    const db = await createTestDatabase('worker-split');
    const sql = new pg.Pool({ connectionString: db.ownerUrl });
    const group = new Set<string>(taskGroups['database-backups']);
    const runners: Runner[] = [];
    const started = new Map<string, Array<{ id: string; task: string }>>();
    const start = async (name: string, tasks: TaskSelection) => {
      const r = await startWorker({ connectionString: db.workerUrl, context: context(), tasks, log: () => {} });
      runners.push(r);
      started.set(name, []);
      r.events.on('job:start', ({ job }) => started.get(name)!.push({ id: job.id, task: job.task_identifier }));
    };
    const knownCrontabs = async () => (await sql.query<{ identifier: string }>(`select identifier from graphile_worker._private_known_crontabs order by 1`)).rows.map((r) => r.identifier);
    const crontab = parseCrontab(fs.readFileSync(crontabPath, 'utf8')).map((c) => c.identifier);
    try {
      // Jobs of both sides wait in the queue before either process starts.
      const jobs: Job[] = [];
      for (const task of ['backup_wal', 'purge_expired', 'backup_base', 'fold_usage']) jobs.push(await quickAddJob({ connectionString: db.workerUrl }, task, {}));
      const queued = async (of: Job[]) =>
        (await sql.query<{ id: string; attempts: number; locked: boolean }>(`select id::text, attempts, locked_at is not null as locked from graphile_worker._private_jobs where id = any($1) order by id`, [of.map((j) => j.id)])).rows;
      const gone = (of: Job[]) => waitFor(async () => ((await queued(of)).length === 0 ? true : undefined));
      const [backupJobs, otherJobs] = [jobs.filter((j) => group.has(j.task_identifier)), jobs.filter((j) => !group.has(j.task_identifier))];

      await start('backups', { only: 'database-backups' });
      // It registers (and so schedules) only its own crontab lines…
      const own = await waitFor(async () => ((await knownCrontabs()).length ? knownCrontabs() : undefined));
      expect(own).toEqual(crontab.filter((c) => group.has(c)).sort());
      // …and runs its own jobs, passing over the others queued between them.
      await gone(backupJobs);
      expect(await queued(otherJobs)).toEqual(otherJobs.map((j) => ({ id: String(j.id), attempts: 0, locked: false })));

      await start('rest', { without: 'database-backups' });
      expect(await waitFor(async () => ((await knownCrontabs()).length === crontab.length ? knownCrontabs() : undefined))).toEqual([...crontab].sort());
      await gone(otherJobs);
      const ran = (name: string) => started.get(name)!;
      for (const job of jobs) {
        const by = [...started.keys()].filter((name) => ran(name).some((s) => s.id === job.id));
        expect(by, job.task_identifier).toEqual([group.has(job.task_identifier) ? 'backups' : 'rest']);
      }
      // Nothing else they ran (cron, follow-up jobs) crossed over either.
      expect(ran('backups').filter((s) => !group.has(s.task))).toEqual([]);
      expect(ran('rest').filter((s) => group.has(s.task))).toEqual([]);
      expect(Object.keys(makeTaskList(context())).filter((t) => group.has(t)).sort()).toEqual([...group].sort());
    } finally {
      for (const r of runners) await r.stop();
      await sql.end();
    }
  });
});
