// Runs `clawbase ingest` as a real child process against a test database, as `clawbase start` would.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

/** A CLAWBASE_HOME whose secrets are the test cluster's, so the CLI logs in as its `worker`. */
export function collectorEnv(ownerUrl: string, stateDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const cluster = inject('cluster');
  const home = fs.mkdtempSync(path.join(cluster.tmpRoot, 'collector-home-'));
  fs.writeFileSync(path.join(home, 'secrets.json'), JSON.stringify({
    jwtSecret: cluster.jwtSecret, superuserPassword: cluster.superuserPassword,
    authenticatorPassword: cluster.authenticatorPassword, workerPassword: cluster.workerPassword,
  }), { mode: 0o600 });
  return { ...process.env, CLAWBASE_HOME: home, DATABASE_URL: ownerUrl, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_TOKEN: '', ...extra };
}

export interface Collector {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export async function startCollector(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Collector> {
  const child = spawn(process.execPath, ['bin/clawbase.mjs', 'ingest', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ingest not ready after 120 s:\n${out}`)), 120_000);
    child.stdout!.on('data', () => out.includes('ingest ready') && (clearTimeout(timer), resolve()));
    void exited.then((code) => (clearTimeout(timer), reject(new Error(`ingest exited with ${code}:\n${out}`))));
  });
  return { child, output: () => out, exited };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined | false;
  for (;;) {
    last = await probe();
    if (last !== undefined && last !== false) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function count(sql: pg.Pool | pg.Client, query: string, params: unknown[] = []): Promise<number> {
  const { rows } = await sql.query<{ n: string }>(query, params);
  return Number(rows[0]!.n);
}
