// clawbase sweep / clawbase health as a user runs them, and the git step's push: a push that fails
// is an error (the step is retried) and the commit stays; once the remote answers, it is pushed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { commitWorkspace } from '../worker/maintenance/git.ts';
import { git, gitInit, makeFolders, type Folders } from './support/maintenance.ts';
import { createTestDatabase } from './support/stack.ts';

const root = path.resolve(import.meta.dirname, '..');
let db: { name: string; ownerUrl: string };
let owner: pg.Pool;
let folders: Folders;

beforeAll(async () => {
  db = await createTestDatabase('maint_cli');
  owner = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  folders = makeFolders('cli');
});
afterAll(async () => {
  await owner?.end();
  if (folders) fs.rmSync(folders.root, { recursive: true, force: true });
});

function clawbase(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/clawbase.mjs', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      DATABASE_URL: db.ownerUrl,
      CLAWBASE_WORKER_PASSWORD: inject('cluster').workerPassword,
      CLAWBASE_HOME: path.join(folders.root, 'home'),
      CLAWBASE_LOG_DIRS: folders.transcripts,
      OPENCLAW_WORKSPACE: folders.workspace,
      OLLAMA_HOST: 'http://127.0.0.1:9',
      CLAWBASE_REST_ADMIN_PORT: '9',
    },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('clawbase sweep and health', () => {
  it('sweep --help lists the steps; an unknown step says which exist', () => {
    const help = clawbase('sweep', '--help');
    expect(help.code).toBe(0);
    for (const s of ['memory', 'summaries', 'log_flush', 'git', 'health', 'cleanup']) expect(help.out).toContain(s);
    const bad = clawbase('sweep', '--step', 'vacuum');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown step "vacuum": use one of memory, summaries/);
  });

  it('sweep --step memory --step cleanup prints progress per step and records the run', async () => {
    await owner.query(`insert into api.memory_kv (agent_id, key, value, expires_at) values ('c1', 'old', '1', now() - interval '1 hour')`);
    const { rows: stale } = await owner.query(`insert into api.cron_runs (name, started_at) values ('maintenance_sweep', now() - interval '7 hours') returning id`);
    const r = clawbase('sweep', '--step', 'memory', '--step', 'cleanup');
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[1\/2\] memory … ok \(\d+\.\d s\) \{"expired_memory":1,/);
    expect(r.out).toMatch(/\[2\/2\] cleanup … ok/);
    expect(r.out).toMatch(/maintenance sweep \d+: succeeded/);
    const { rows } = await owner.query(`select status, counts from api.cron_runs where name = 'maintenance_sweep' and parent_id is null order by id desc limit 1`);
    expect(rows[0]).toEqual({ status: 'succeeded', counts: { memory: 'succeeded', cleanup: 'succeeded' } });
    expect((await owner.query(`select count(*)::int as n from api.memory_kv where agent_id = 'c1'`)).rows[0].n).toBe(0);
    // The run a killed process left "running" is closed by cleanup, with the reason.
    const { rows: closed } = await owner.query(`select status, error from api.cron_runs where id = $1`, [stale[0].id]);
    expect(closed[0].status).toBe('failed');
    expect(closed[0].error).toMatch(/^abandoned: /);
  });

  it('health prints one line per service and exits 1 when something is down', () => {
    const r = clawbase('health');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^postgres\s+up/m);
    expect(r.out).toMatch(/^ollama\s+down/m);
    expect(r.out).toMatch(/^postgrest\s+down/m);
    expect(r.out).toMatch(/^redis\s+not_configured\s+set REDIS_URL/m);
    const json = JSON.parse(clawbase('health', '--json').out) as Array<{ service: string; status: string; metrics: Record<string, unknown> }>;
    const host = json.find((p) => p.service === 'host')!;
    expect(host.status).toBe('up');
    expect(host.metrics).toHaveProperty('memUsedPercent');
    expect(host.metrics).toHaveProperty('disk');
  });
});

describe('git step push', () => {
  it('pushes to origin; a failing push throws, keeps the commit, and the next run pushes it', async () => {
    const repo = path.join(folders.root, 'ws-push');
    const remote = path.join(folders.root, 'remote.git');
    fs.mkdirSync(repo);
    gitInit(repo);
    git(folders.root, 'init', '-q', '--bare', remote);
    git(repo, 'remote', 'add', 'origin', remote);
    fs.writeFileSync(path.join(repo, 'notes.md'), 'one\n');
    expect(await commitWorkspace(owner, repo)).toEqual({ committed_files: 1, refused_secrets: 0, pushed: 'ok' });
    expect(git(remote, 'log', '--format=%s', '-1', 'main')).toMatch(/Maintenance sweep: 1 file/);

    git(repo, 'remote', 'set-url', 'origin', path.join(folders.root, 'gone.git'));
    fs.writeFileSync(path.join(repo, 'notes.md'), 'two\n');
    await expect(commitWorkspace(owner, repo)).rejects.toThrow(/git push to origin failed \(the commit is kept locally/);
    expect(git(repo, 'log', '--format=%s%n%b', '-1')).toContain('changed notes.md');
    expect(git(repo, 'status', '--porcelain')).toBe('');

    git(repo, 'remote', 'set-url', 'origin', remote);
    expect(await commitWorkspace(owner, repo)).toEqual({ committed_files: 0, refused_secrets: 0, pushed: 'ok' });
    expect(git(remote, 'log', '--format=%H', '-1', 'main')).toBe(git(repo, 'log', '--format=%H', '-1'));
  });
});
