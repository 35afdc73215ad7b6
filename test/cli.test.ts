// The system as a user runs it: `npm start` on a fresh CLAWBASE_HOME, the CLI, a restart.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './support/ports.ts';

const root = path.resolve(import.meta.dirname, '..');
const children: ChildProcess[] = [];

function cli(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, ['bin/clawbase.mjs', ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

/** `npm start` as a user types it; resolves once it says it is ready. */
async function npmStart(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    // The first start of a checkout also builds the dashboard (scripts/ensure-web-build.mjs).
    const timer = setTimeout(() => reject(new Error(`not ready after 150 s:\n${out}`)), 150_000);
    child.stdout!.on('data', () => out.includes('Clawbase is ready') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited with ${code}:\n${out}`))));
  });
  return { child, output: () => out };
}

/** Ctrl-C on the whole process group, as a terminal sends it (npm itself then dies of the signal). */
async function interrupt(child: ChildProcess): Promise<void> {
  // The pipes close only when every process holding them (npm and the node it started) is gone.
  const closed = Promise.all([child.stdout!, child.stderr!].map((s) => new Promise((resolve) => s.once('close', resolve))));
  process.kill(-child.pid!, 'SIGINT');
  await closed;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A home and free loopback ports for every service `npm start` runs (tests run side by side). */
async function servicePorts(home: string): Promise<Record<string, string>> {
  const workspace = path.join(home, 'workspace');
  fs.mkdirSync(path.join(workspace, 'docs'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(workspace, 'docs', 'hello.md'), '# hello\n', { mode: 0o644 });
  return {
    CLAWBASE_HOME: home,
    CLAWBASE_PG_PORT: String(await freePort()),
    CLAWBASE_REST_PORT: String(await freePort()),
    CLAWBASE_REST_ADMIN_PORT: String(await freePort()),
    CLAWBASE_FUNCTIONS_PORT: String(await freePort()),
    CLAWBASE_FILES_PORT: String(await freePort()),
    OPENCLAW_WORKSPACE: workspace,
  };
}

afterAll(() => {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('clawbase CLI', () => {
  it.each(['start', 'token', 'migrate', 'psql', 'status', 'worker', 'ingest', 'functions'])('%s --help explains itself', (command) => {
    const res = cli([command, '--help'], {});
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^Usage: clawbase ${command}`));
  });

  it('lists its commands and rejects an unknown one', () => {
    expect(cli(['--help'], {}).stdout).toMatch(/Commands:[\s\S]*token[\s\S]*migrate/);
    const res = cli(['frobnicate'], {});
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('says what to do about a JWT secret that PostgREST would silently reject', () => {
    const res = cli(['token', '--role', 'viewer'], { JWT_SECRET: 'short' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/at least 32 characters/);
  });
});

describe('npm start', () => {
  it('runs the system from a fresh home, keeps data across a restart, and stops cleanly on Ctrl-C', async () => {
    const home = path.join(inject('cluster').tmpRoot, `home-${process.pid}`);
    const restPort = await freePort();
    // The OpenClaw state folder does not exist yet: the collectors must start anyway and wait for it.
    const env: Record<string, string> = { ...(await servicePorts(home)), CLAWBASE_REST_PORT: String(restPort), OPENCLAW_STATE_DIR: path.join(home, 'no-openclaw-yet') };

    const first = await npmStart(env);
    expect(first.output()).toMatch(/Collectors reading .*no-openclaw-yet \(Gateway observer off: OPENCLAW_GATEWAY_TOKEN unset\)/);
    expect(first.output()).toMatch(/PostgreSQL 17 \(embedded\)/);
    expect(fs.statSync(path.join(home, 'secrets.json')).mode & 0o777).toBe(0o600);

    const token = cli(['token', '--role', 'agent', '--agent', 'main', '--ttl', '10m'], env).stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const api = `http://127.0.0.1:${restPort}`;
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Prefer: 'resolution=merge-duplicates' };
    const put = await fetch(`${api}/memory_kv`, { method: 'POST', headers, body: JSON.stringify({ key: 'favourite', value: { colour: 'teal' } }) });
    expect(put.status).toBe(201);

    expect(cli(['status'], env).status).toBe(0);
    const psql = cli(['psql', '-At', '-c', "select value->>'colour' from api.memory_kv where agent_id = 'main' and key = 'favourite'"], env);
    expect(psql.stderr).toBe('');
    expect(psql.stdout.trim()).toBe('teal');
    const state = JSON.parse(fs.readFileSync(path.join(home, 'run', 'stack.json'), 'utf8'));
    const version = await fetch(`http://127.0.0.1:${env.CLAWBASE_FUNCTIONS_PORT}/functions/v1/version`);
    expect(((await version.json()) as { name: string }).name).toBe('clawbase');
    // npm start builds the dashboard when the checkout has no build, and the functions server serves it.
    const dashboard = await fetch(`http://127.0.0.1:${env.CLAWBASE_FUNCTIONS_PORT}/`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('<cb-app');
    const file = await fetch(`http://127.0.0.1:${env.CLAWBASE_FILES_PORT}/docs/hello.md`);
    expect(await file.text()).toBe('# hello\n');
    expect(cli(['status'], env).stdout).toMatch(/functions .* answering/);
    await interrupt(first.child);
    expect(first.output()).toMatch(/SIGINT: stopping…\nStopped cleanly\./);
    expect(alive(state.postgres.pid)).toBe(false);
    expect(alive(state.rest.pid)).toBe(false);
    expect(alive(state.worker.pid)).toBe(false);
    expect(alive(state.functions.pid)).toBe(false);
    expect(alive(state.ingest.pid)).toBe(false);
    expect(cli(['status'], env).status).toBe(1);

    const second = await npmStart(env);
    const read = await fetch(`${api}/memory_kv?key=eq.favourite&select=value`, { headers });
    expect(await read.json()).toEqual([{ value: { colour: 'teal' } }]);
    await interrupt(second.child);
    expect(second.output()).toMatch(/Stopped cleanly/);
  });

  it('reports a crashed PostgREST and brings it back', async () => {
    const home = path.join(inject('cluster').tmpRoot, `home-crash-${process.pid}`);
    const restPort = await freePort();
    const env: Record<string, string> = { ...(await servicePorts(home)), CLAWBASE_REST_PORT: String(restPort), OPENCLAW_STATE_DIR: path.join(home, 'openclaw') };
    const run = await npmStart(env);
    const { rest } = JSON.parse(fs.readFileSync(path.join(home, 'run', 'stack.json'), 'utf8'));
    process.kill(rest.pid, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while (!run.output().includes('PostgREST is running again') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(run.output()).toMatch(/PostgREST exited unexpectedly/);
    expect(run.output()).toMatch(/PostgREST is running again/);
    expect((await fetch(`http://127.0.0.1:${restPort}/`)).status).toBeLessThan(500);
    await interrupt(run.child);
    expect(run.output()).toMatch(/Stopped cleanly/);
  });

  it('survives a kill -9 of PostgreSQL: the database recovers, the children that lost it wait and come back, no write is lost', async () => {
    const home = path.join(inject('cluster').tmpRoot, `home-pgcrash-${process.pid}`);
    const restPort = await freePort();
    const env: Record<string, string> = { ...(await servicePorts(home)), CLAWBASE_REST_PORT: String(restPort), OPENCLAW_STATE_DIR: path.join(home, 'openclaw') };
    const run = await npmStart(env);
    const token = cli(['token', '--role', 'agent', '--agent', 'main', '--ttl', '10m'], env).stdout.trim();
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Prefer: 'resolution=merge-duplicates' };
    const write = (key: string) => fetch(`http://127.0.0.1:${restPort}/memory_kv`, { method: 'POST', headers, body: JSON.stringify({ key, value: key }) });
    expect((await write('before-crash')).status).toBe(201);
    const before = JSON.parse(fs.readFileSync(path.join(home, 'run', 'stack.json'), 'utf8'));
    process.kill(before.postgres.pid, 'SIGKILL');

    const deadline = Date.now() + 90_000;
    // Backends outlive a killed postmaster for a moment and may still answer; write only once the
    // supervisor has seen the crash, so the write below really goes to the restarted server.
    while (Date.now() < deadline && !/PostgreSQL exited unexpectedly/.test(run.output())) await new Promise((r) => setTimeout(r, 100));
    expect(run.output(), run.output()).toMatch(/PostgreSQL exited unexpectedly/);
    let after: { status: number } | undefined;
    while (Date.now() < deadline) {
      after = await write('after-crash').catch(() => undefined);
      if (after?.status === 201) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(after?.status).toBe(201);
    // The worker and the others either kept their connections' retry loops or were restarted
    // once PostgreSQL was back; either way the stack did not give up.
    while (Date.now() < deadline && !alive(JSON.parse(fs.readFileSync(path.join(home, 'run', 'stack.json'), 'utf8')).worker.pid)) await new Promise((r) => setTimeout(r, 100));
    const state = JSON.parse(fs.readFileSync(path.join(home, 'run', 'stack.json'), 'utf8'));
    expect(state.postgres.pid).not.toBe(before.postgres.pid);
    for (const pid of [state.postgres.pid, state.rest.pid, state.worker.pid, state.ingest.pid, state.functions.pid]) expect(alive(pid)).toBe(true);
    expect(run.output()).not.toMatch(/keeps crashing|could not be restarted/);
    const psql = cli(['psql', '-At', '-c', "select string_agg(key, ',' order by key) from api.memory_kv where agent_id = 'main'"], env);
    expect(psql.stdout.trim()).toBe('after-crash,before-crash');
    expect(cli(['status'], env).status).toBe(0);
    await interrupt(run.child);
    expect(run.output()).toMatch(/Stopped cleanly/);
  });
});
