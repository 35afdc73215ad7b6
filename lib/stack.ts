// Starts the whole system in the foreground: PostgreSQL (embedded unless DATABASE_URL is set),
// migrations, PostgREST, the worker, the functions process (functions + file server). A child that dies is reported and restarted with backoff; Ctrl-C stops all.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabaseIfMissing, startEmbeddedPostgres, type RunningPostgres } from '../db/embedded.ts';
import { startPostgrest, type RunningPostgrest } from '../rest/postgrest.ts';
import type { Config } from './config.ts';
import { databaseUrls, redact, withDatabase, type DatabaseUrls } from './database-urls.ts';
import { loadSecrets, type Secrets } from './secrets.ts';
import { stopChild } from './stop-child.ts';
import { prepareWalArchiveDir, walArchiveSettings } from '../worker/backups/wal.ts';

export interface StackState {
  pid: number;
  startedAt: string;
  postgres: { url: string; pid?: number; embedded: boolean };
  rest: { url: string; adminUrl: string; pid?: number };
  worker: { pid?: number };
  functions: { pid?: number; url: string; filesUrl?: string };
  ingest?: { pid?: number };
}

export interface Stack {
  urls: DatabaseUrls;
  secrets: Secrets;
  restUrl: string;
  functionsUrl: string;
  /** The embedded file server, unless CLAWBASE_FILES_PORT=off. */
  filesUrl: string | undefined;
  stop(): Promise<void>;
  /** Resolves when the stack gives up on a crashing child (and has stopped everything). */
  failed: Promise<Error>;
}

export const stateFile = (config: Config) => path.join(config.home, 'run', 'stack.json');

interface Supervised<T extends { exited: Promise<number | null>; stop(): Promise<void> }> {
  current(): T;
  stop(): Promise<void>;
}

/** Set as soon as this process gets SIGINT/SIGTERM, before any shutdown work (see supervise). */
let signalled = false;
const noteSignal = () => (signalled = true);

/** What a supervised child needs up before it can run (the database, for the worker and the rest). */
interface Dependency {
  name: string;
  up(): Promise<boolean>;
}

/**
 * Keeps one child running: on an unexpected exit it logs why and starts it again, backing off;
 * after 5 crashes within a minute it gives up through `onGiveUp`. A child that stops while its
 * dependency is down (the worker while PostgreSQL restarts after a crash) is not crashing: it is
 * started again once the dependency is back, and that exit does not count towards giving up.
 */
async function supervise<T extends { exited: Promise<number | null>; stop(): Promise<void> }>(
  name: string,
  start: () => Promise<T>,
  log: (line: string) => void,
  onGiveUp: (err: Error) => void,
  onRestart: (child: T) => void,
  dependency?: Dependency,
): Promise<Supervised<T>> {
  let child = await start();
  let stopping = false;
  const crashes: number[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const restart = async (why: string): Promise<void> => {
    if (dependency && !(await dependency.up())) {
      log(`${name} ${why} while ${dependency.name} is unavailable; starting it again when ${dependency.name} is back.`);
      while (!stopping && !signalled && !(await dependency.up())) await sleep(500);
    } else {
      crashes.push(Date.now());
      while (crashes.length && crashes[0]! < Date.now() - 60_000) crashes.shift();
      log(`${name} ${why}; restart ${crashes.length} of 5 within a minute.`);
      if (crashes.length >= 5) return onGiveUp(new Error(`${name} keeps crashing; see its log under CLAWBASE_HOME/logs.`));
      await sleep(250 * 2 ** (crashes.length - 1));
    }
    if (stopping || signalled) return;
    try {
      const next = await start();
      if (stopping || signalled) return void (await next.stop());
      child = next;
      onRestart(child);
      log(`${name} is running again.`);
      watch(child);
    } catch (err) {
      await restart(`could not be started again (${(err as Error).message.split('\n')[0]})`);
    }
  };
  const watch = (c: T) => {
    void c.exited.then(async (code) => {
      // Ctrl-C in a terminal reaches the whole process group: the child may see it before our
      // own handler has run. Give that handler a moment before calling the exit a crash.
      await sleep(300);
      if (stopping || signalled) return;
      await restart(`exited unexpectedly (code ${code})`);
    });
  };
  watch(child);
  return {
    current: () => child,
    async stop() {
      stopping = true;
      await child.stop();
    },
  };
}

export async function startStack(config: Config, log: (line: string) => void = console.log): Promise<Stack> {
  const secrets = loadSecrets(config);
  const urls = databaseUrls(config, secrets);
  process.on('SIGINT', noteSignal).on('SIGTERM', noteSignal);
  const logs = path.join(config.home, 'logs');
  const runDir = path.join(config.home, 'run');
  let giveUp!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (giveUp = resolve));
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch((err: Error) => log(`stop failed: ${err.message}`));
    started.length = 0;
    fs.rmSync(stateFile(config), { force: true });
    process.off('SIGINT', noteSignal).off('SIGTERM', noteSignal);
  };
  const fail = (err: Error) => {
    log(err.message);
    void stopAll().then(() => giveUp(err));
  };

  // Rewritten once every child is up; restarts before that have no state file to update.
  let writeState = () => {};
  try {
    let db: Supervised<RunningPostgres> | undefined;
    if (!config.databaseUrl) {
      const t0 = performance.now();
      // With a backup bucket, every closed WAL segment goes to a local archive the worker ships.
      if (config.backups.bucket) prepareWalArchiveDir(config.backups.walArchiveDir);
      const archive = config.backups.bucket ? walArchiveSettings(config.backups.walArchiveDir) : {};
      db = await supervise(
        'PostgreSQL',
        () =>
          startEmbeddedPostgres({
            dataDir: path.join(config.home, 'pg'),
            port: config.pgPort,
            superuserPassword: secrets.superuserPassword,
            logFile: path.join(logs, 'postgres.log'),
            databases: [config.database],
            settings: archive,
          }),
        log,
        fail,
        () => writeState(),
      );
      started.push(db);
      log(`PostgreSQL 17 (embedded) on 127.0.0.1:${config.pgPort}, data in ${path.join(config.home, 'pg')} (${Math.round(performance.now() - t0)} ms)`);
    } else {
      await assertReachable(urls.owner);
      log(`PostgreSQL at ${redact(urls.owner)} (DATABASE_URL)`);
    }

    const t1 = performance.now();
    await migrateInChild();
    log(`Migrations applied (${Math.round(performance.now() - t1)} ms)`);

    const t2 = performance.now();
    const rest = await supervise(
      'PostgREST',
      () =>
        startPostgrest({
          dbUri: urls.authenticator,
          jwtSecret: secrets.jwtSecret,
          jwtAudience: config.jwtAudience,
          port: config.restPort,
          adminPort: config.restAdminPort,
          maxRows: config.restMaxRows,
          pool: config.restPool,
          runDir,
          logFile: path.join(logs, 'postgrest.log'),
          jwtCacheSeconds: 300,
        }),
      log,
      fail,
      () => writeState(),
    );
    started.push(rest);
    log(`PostgREST 12.0.2 on ${rest.current().url} (schema api; ${Math.round(performance.now() - t2)} ms)`);

    // A long-lived `clawbase <command>` child, restarted on a crash, its output in logs/<command>.log.
    const database: Dependency = { name: 'PostgreSQL', up: () => canConnect(urls.owner) };
    const service = async (command: string, readyLine: string) => {
      const running = await supervise(command, () => startClawbaseService([command], readyLine, path.join(logs, `${command}.log`)), log, fail, () => writeState(), database);
      started.push(running);
      return running;
    };

    const worker = await service('worker', 'worker ready');
    log(`Worker (graphile-worker) running, log in ${path.join(logs, 'worker.log')}`);

    // The collectors: OpenClaw transcripts and Gateway events (they wait for a missing state folder).
    const ingest = await service('ingest', 'ingest ready');
    log(`Collectors reading ${config.openclawStateDir}${config.gatewayToken ? ` and the Gateway at ${config.gatewayUrl}` : ' (Gateway observer off: OPENCLAW_GATEWAY_TOKEN unset)'}, log in ${path.join(logs, 'ingest.log')}`);

    const functions = await service('functions', 'functions ready');
    const host = config.functionsHost.includes(':') ? `[${config.functionsHost}]` : config.functionsHost;
    const functionsUrl = `http://${host}:${config.functionsPort}`;
    const filesUrl = config.filesPort === undefined ? undefined : `http://${host}:${config.filesPort}`;
    log(`Functions on ${functionsUrl}/functions/v1/` + (filesUrl ? `, workspace files (read-only) on ${filesUrl}/` : '') + `, log in ${path.join(logs, 'functions.log')}`);

    writeState = () => {
      const state: StackState = {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        postgres: { url: redact(urls.owner), pid: db?.current().pid, embedded: !config.databaseUrl },
        rest: { url: rest.current().url, adminUrl: rest.current().adminUrl, pid: rest.current().pid },
        worker: { pid: worker.current().pid },
        functions: { pid: functions.current().pid, url: functionsUrl, filesUrl },
        ingest: { pid: ingest.current().pid },
      };
      fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(stateFile(config), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    };
    writeState();
    return { urls, secrets, restUrl: rest.current().url, functionsUrl, filesUrl, stop: stopAll, failed };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

const clawbaseBin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'clawbase.mjs');

/**
 * graphile-migrate keeps its own pg pool with an error handler that calls process.exit(1); in a
 * long-running supervisor a database restart would then kill everything. Run it in a child.
 */
async function migrateInChild(): Promise<void> {
  const child = spawn(process.execPath, [clawbaseBin, 'migrate'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`Migrations failed (clawbase migrate exited ${code}):\n${output.trim()}`);
}

export interface RunningService {
  pid: number | undefined;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Runs a long-lived `clawbase <command>` child (worker, functions) with its output in `logFile`;
 * resolves once it prints `readyLine`.
 */
export async function startClawbaseService(args: string[], readyLine: string, logFile: string): Promise<RunningService> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [clawbaseBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(readyLine)) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => reject(new Error(`clawbase ${args.join(' ')} exited with ${code} before it was ready:\n${seen.slice(-2000)}`)));
  });
  return {
    pid: child.pid,
    exited,
    async stop() {
      await stopChild(child, exited, 10_000);
      log.end();
    },
  };
}

async function assertReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`Cannot connect to DATABASE_URL (${redact(url)}): ${(err as Error).message}. Check that the server runs and the URL is right, or unset DATABASE_URL to use the embedded PostgreSQL.`, { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}

/** For `clawbase migrate` against the embedded cluster when nothing is running: start it just for the job. */
export async function withRunningDatabase<T>(config: Config, job: (urls: DatabaseUrls, secrets: Secrets) => Promise<T>): Promise<T> {
  const secrets = loadSecrets(config);
  const urls = databaseUrls(config, secrets);
  if (config.databaseUrl || (await canConnect(urls.owner))) return job(urls, secrets);
  const db = await startEmbeddedPostgres({
    dataDir: path.join(config.home, 'pg'),
    port: config.pgPort,
    superuserPassword: secrets.superuserPassword,
    logFile: path.join(config.home, 'logs', 'postgres.log'),
  });
  try {
    await createDatabaseIfMissing(withDatabase(urls.owner, 'postgres'), config.database);
    return await job(urls, secrets);
  } finally {
    await db.stop();
  }
}

export async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
