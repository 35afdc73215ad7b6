// `npm run soak -- --minutes N [--faults] [--rate R]`: the whole system as `npm start` runs it, under
// a mixed agent workload at 80% of the sustained maximum measured first: memory upserts and reads
// through PostgREST, hybrid searches through the functions server, a growing OpenClaw transcript
// and a real OpenClaw Gateway the collectors follow, and the dashboard's live feed (SSE) connected
// throughout. Reports throughput and latency over time, errors, the backlog the load leaves behind,
// each process's CPU and memory, and whether the feed delivered every message exactly once. With
// --faults it then kills -9, in turn, PostgreSQL, PostgREST, the worker, the collectors and the
// functions server, takes the Gateway, Ollama and S3 away, and checks after each that the system
// came back by itself and that no acknowledged write was lost or duplicated. Loopback only; writes
// bench/SOAK.md (and SOAK.json), which `npm run bench` copies into RESULTS.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Pool as HttpPool } from 'undici';
import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import type { StackState } from '../lib/stack.ts';
import { startFakeOllama, type FakeOllama } from '../test/fixtures/fake-ollama.ts';
import { sessionEntries } from '../test/support/openclaw-corpus.ts';
import { freePort } from '../test/support/ports.ts';
import { startS3, type TestS3 } from '../test/support/s3.ts';
import { machine, percentile } from './lib.ts';
import { connectLiveFeed, type LiveFeedClient } from './live-feed-client.ts';
import { installOpenClaw, startGateway, type OpenClawGateway } from '../test/support/openclaw-gateway.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number, got "${args[i + 1]}"`);
  return v;
};
if (flag('help')) {
  console.log(`Usage: npm run soak -- [--minutes N] [--faults] [--rate R] [--concurrency C] [--max-seconds S] [--keys K] [--no-gateway]

Starts the whole system on a fresh temporary home and loopback ports (with a real OpenClaw Gateway
from scripts/install-openclaw.sh when it installs), seeds K memory keys per agent (default 1000),
measures the sustained maximum mixed rate (C callers, default 16, in a closed loop for S seconds,
default 60, counting the second half and capped where the embeddings fall behind), then holds 80%
of it (or --rate R requests/s) for N minutes (default 2), the dashboard's live feed connected.
--faults      afterwards kill -9 each process in turn and take the Gateway, Ollama and S3 away;
              check recovery, alerts, and that every acknowledged write survived exactly once
--no-gateway  run without an OpenClaw Gateway (its fault is skipped)
Writes bench/SOAK.md and bench/SOAK.json.`);
  process.exit(0);
}
const minutes = option('minutes', 2);
const concurrency = option('concurrency', 16);
const maxSeconds = option('max-seconds', 60);
const withFaults = flag('faults');
const agents = ['soak-a1', 'soak-a2', 'soak-a3', 'soak-a4'];
/** A process may grow this much over the soak before it counts as growth (caches and pools warm up). */
const rssBound = { ratio: 1.5, slackMiB: 64 };

const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

// ---------------------------------------------------------------- the system, as a user starts it
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-soak-'));
// As root, the embedded PostgreSQL runs as `postgres`, which must be able to pass through.
fs.chmodSync(home, 0o711);
const stateDir = path.join(home, 'openclaw');
const workspace = path.join(home, 'workspace');
fs.mkdirSync(workspace, { recursive: true });
const ollama: FakeOllama = await startFakeOllama();
// A real OpenClaw Gateway for the collectors to follow (and for the Gateway fault), unless it cannot be installed.
const withGateway = !flag('no-gateway');
const openclaw = withGateway ? await installOpenClaw(root) : { skip: 'not started (--no-gateway)' };
let gatewaySkip = 'skip' in openclaw ? openclaw.skip : undefined;
const gateway: OpenClawGateway | undefined =
  'skip' in openclaw
    ? undefined
    : await startGateway(openclaw, path.join(home, 'gateway-state')).catch((err: Error) => void (gatewaySkip = `the Gateway did not start: ${err.message.slice(0, 300)}`));
if (gatewaySkip) log(`no OpenClaw Gateway in this soak: ${gatewaySkip}`);
// The log flush ships old logs here; the S3 fault stops it (s3rver is the test suite's S3).
const s3: TestS3 = await startS3('soak-logs');
const logsDir = path.join(home, 'flushed-logs');
fs.mkdirSync(logsDir, { recursive: true });
const env: NodeJS.ProcessEnv = {
  ...process.env,
  CLAWBASE_HOME: home,
  CLAWBASE_PG_PORT: String(await freePort()),
  CLAWBASE_REST_PORT: String(await freePort()),
  CLAWBASE_REST_ADMIN_PORT: String(await freePort()),
  CLAWBASE_FUNCTIONS_PORT: String(await freePort()),
  CLAWBASE_FILES_PORT: 'off',
  OLLAMA_HOST: ollama.url,
  OPENCLAW_STATE_DIR: stateDir,
  OPENCLAW_WORKSPACE: workspace,
  OPENCLAW_GATEWAY_URL: gateway?.url ?? '',
  OPENCLAW_GATEWAY_TOKEN: gateway?.token ?? '',
  S3_ENDPOINT: s3.settings.endpoint,
  S3_REGION: s3.settings.region,
  S3_BUCKET_LOGS: 'soak-logs',
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER',
  S3_FORCE_PATH_STYLE: 'true',
  CLAWBASE_LOG_DIRS: logsDir,
  CLAWBASE_LOG_FLUSH_AFTER_DAYS: '1',
};
const config = loadConfig(env);

let stackProcess: ChildProcess | undefined;
let stackOutput = '';
async function startSystem(): Promise<void> {
  const child = spawn(process.execPath, ['bin/clawbase.mjs', 'start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  stackProcess = child;
  child.stdout!.on('data', (d) => (stackOutput += d));
  child.stderr!.on('data', (d) => (stackOutput += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`clawbase start not ready after 120 s:\n${stackOutput}`)), 120_000);
    child.stdout!.on('data', () => stackOutput.includes('Clawbase is ready') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`clawbase start exited with ${code}:\n${stackOutput}`))));
  });
}
async function stopSystem(): Promise<void> {
  const child = stackProcess;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGINT');
  await Promise.race([exited, sleep(30_000)]);
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}
const stackState = (): StackState => JSON.parse(fs.readFileSync(path.join(home, 'run', 'stack.json'), 'utf8')) as StackState;

function token(role: string, agent?: string): string {
  const res = spawnSync(process.execPath, ['bin/clawbase.mjs', 'token', '--role', role, ...(agent ? ['--agent', agent] : []), '--ttl', '24h'], { cwd: root, env, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`clawbase token failed: ${res.stderr}`);
  return res.stdout.trim();
}

// ---------------------------------------------------------------- the workload
interface Sample {
  at: number;
  ms: number;
  ok: boolean;
  kind: string;
}
const samples: Sample[] = [];
const errorsSeen = new Map<string, number>();
/**
 * Each agent's memory is a fixed set of keys, written over and over: the data (and so the cost of a
 * search, which ranks every match) stays the size it was seeded at, as an agent's memory does, and
 * the maximum measured first still holds at the end. Every rewrite changes the text, so every
 * upsert leaves an embedding to compute, as a new key would.
 */
const keysPerAgent = option('keys', 1000);
const keyOf = (agent: string, n: number) => `soak/${agent}/${n % keysPerAgent}`;
/** The newest write PostgREST acknowledged (2xx) per key: what must be in the database at the end. */
const acknowledged = new Map<string, { agent: string; n: number }>();
const acknowledgedByAgent = new Map<string, string[]>();
let acknowledgedWrites = 0;
let writeSeq = 0;
function acknowledge(agent: string, key: string, n: number): void {
  acknowledgedWrites++;
  const before = acknowledged.get(key);
  if (before && before.n > n) return;
  acknowledged.set(key, { agent, n });
  if (!before) {
    const keys = acknowledgedByAgent.get(agent) ?? [];
    keys.push(key);
    acknowledgedByAgent.set(agent, keys);
  }
}

let rest!: HttpPool;
let functions!: HttpPool;
const tokens = new Map<string, string>();

async function op(i: number): Promise<void> {
  const agent = agents[i % agents.length]!;
  const auth = { authorization: `Bearer ${tokens.get(agent)}`, 'content-type': 'application/json' };
  const pick = i % 10;
  const t0 = performance.now();
  let kind = 'read';
  let ok = false;
  try {
    if (pick < 4) {
      kind = 'upsert';
      const n = ++writeSeq;
      const key = keyOf(agent, n);
      const res = await rest.request({
        method: 'POST',
        path: '/memory_kv',
        headers: { ...auth, prefer: 'resolution=merge-duplicates,return=minimal' },
        body: JSON.stringify({ key, value: { n, note: `soak write ${n} about deployment notes and backups` } }),
      });
      await res.body.dump();
      ok = res.statusCode < 300;
      if (ok) acknowledge(agent, key, n);
      else note(`upsert ${res.statusCode}`);
    } else if (pick < 9) {
      kind = 'read';
      const keys = acknowledgedByAgent.get(agent) ?? [];
      const key = keys.length ? keys[(i * 7919) % keys.length]! : `soak/${agent}/none`;
      const res = await rest.request({ method: 'GET', path: `/memory_kv?key=eq.${encodeURIComponent(key)}&select=key,value`, headers: auth });
      const rows = (await res.body.json()) as Array<{ value: { n: number } }>;
      ok = res.statusCode === 200 && (!keys.length || rows.length === 1);
      if (!ok) note(`read ${res.statusCode} rows=${Array.isArray(rows) ? rows.length : '?'}`);
    } else {
      kind = 'search';
      const res = await functions.request({ method: 'POST', path: '/functions/v1/memory/search', headers: auth, body: JSON.stringify({ query: 'deployment notes', k: 5 }) });
      await res.body.dump();
      ok = res.statusCode === 200;
      if (!ok) note(`search ${res.statusCode}`);
    }
  } catch (err) {
    note(`${kind} ${(err as Error & { code?: string }).code ?? (err as Error).message}`);
  }
  samples.push({ at: Date.now(), ms: performance.now() - t0, ok, kind });
}
function note(what: string): void {
  errorsSeen.set(what, (errorsSeen.get(what) ?? 0) + 1);
}

/** Closed loop: as fast as `concurrency` callers go, for `seconds`; returns ops/s. */
async function closedLoop(seconds: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await op(i++);
        done++;
      }
    }),
  );
  return done / seconds;
}

interface Maximum {
  /** What the system sustains: the request rate of the loop's second half, or less if the embedder fell behind. */
  sustained: number;
  /** ops/s over the second half of the closed loop. */
  requests: number;
  /** Acknowledged upserts/s and search items embedded/s over the second half. */
  upserts: number;
  embedded: number;
  /** ops/s over its first 10 s: a burst, before the work left behind catches up with it. */
  burst: number;
  seconds: number;
  errors: number;
  /** Queued jobs and search items without a vector at the middle and at the end of the loop. */
  middle: Awaited<ReturnType<typeof backlog>>;
  end: Awaited<ReturnType<typeof backlog>>;
  cpu: Record<string, number>;
}

/**
 * The maximum the soak's percentage refers to: a closed loop long enough for the work each request
 * leaves behind (embedding jobs, search item updates, autovacuum, the collectors following the
 * transcript) to run beside it, counting only its second half. A 10-second burst measures a rate
 * that this work only catches up with later.
 */
async function sustainedMaximum(seconds: number): Promise<Maximum> {
  const from = Date.now();
  const mid = from + (seconds * 1000) / 2;
  const transcriptTimer = setInterval(() => appendTranscript(20), 500);
  let middle: Maximum['middle'] | undefined;
  let cpuMid: ReturnType<typeof cpuSeconds> | undefined;
  const atMiddle = setTimeout(() => {
    cpuMid = cpuSeconds();
    void backlog().then((b) => (middle = b));
  }, mid - from);
  await closedLoop(seconds);
  clearInterval(transcriptTimer);
  clearTimeout(atMiddle);
  const to = Date.now();
  const cpu = cpuMid ? cpuPercent(cpuMid, cpuSeconds(), (to - mid) / 1000) : {};
  const end = await backlog();
  const second = samples.filter((s) => s.at >= mid && s.at < to);
  const halfSeconds = (to - mid) / 1000;
  const requests = second.length / halfSeconds;
  // Every upsert leaves an embedding to compute. When the embedder fell behind over the second half,
  // the requests alone were not sustainable: the maximum is the request rate whose embeddings the
  // embedder kept up with (measured while the loop competed with it, so it errs low).
  const upserts = second.filter((s) => s.kind === 'upsert' && s.ok).length / halfSeconds;
  const growth = (end.unembedded - (middle ?? end).unembedded) / halfSeconds;
  const embedded = upserts - growth;
  const upsertShare = second.length ? second.filter((s) => s.kind === 'upsert').length / second.length : 0.4;
  const sustained = growth > 0 ? Math.min(requests, embedded / upsertShare) : requests;
  return {
    sustained,
    requests,
    upserts,
    embedded,
    burst: samples.filter((s) => s.at < from + 10_000).length / 10,
    seconds,
    errors: second.filter((s) => !s.ok).length,
    middle: middle ?? end,
    end,
    cpu,
  };
}

/** Open loop at `rate` ops/s until `until()` says stop: arrivals do not wait for earlier answers. */
async function openLoop(rate: number, until: () => boolean): Promise<void> {
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  let i = 0;
  while (!until()) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (inflight.size >= 256) {
      // Saturated: count the arrival as an error rather than queueing without bound.
      note('client backlog over 256');
      samples.push({ at: Date.now(), ms: 0, ok: false, kind: 'dropped' });
    } else {
      const p = op(i).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    i++;
  }
  await Promise.all(inflight);
}

// ---------------------------------------------------------------- the growing transcript
const transcriptAgent = 'soak-a1';
const transcriptSid = '5e551011-0000-4000-8000-50a1c0000001';
const transcript = path.join(stateDir, 'agents', transcriptAgent, 'sessions', `${transcriptSid}.jsonl`);
const transcriptEntries = sessionEntries(transcriptSid, 200_000, Date.now() - 3600_000);
let appended = 0;
/** When each transcript entry (by its id) was appended: the start of its append-to-event latency. */
const appendedAt = new Map<string, number>();
function appendTranscript(n: number): void {
  fs.mkdirSync(path.dirname(transcript), { recursive: true });
  const chunk = transcriptEntries.slice(appended, appended + n);
  fs.appendFileSync(transcript, chunk.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const now = Date.now();
  for (const e of chunk) appendedAt.set(String(e.id), now);
  appended += chunk.length;
}

// ---------------------------------------------------------------- the dashboard's live feed
let feed: LiveFeedClient | undefined;
/** Append-to-event latency of each transcript message the feed delivered, with when it arrived. */
const feedLatencies: Array<{ at: number; ms: number; id: string; appended: number }> = [];
function startFeed(baseUrl: string, viewerToken: string): LiveFeedClient {
  return connectLiveFeed({
    baseUrl,
    token: viewerToken,
    log,
    onEvent: (e) => {
      const t = appendedAt.get(e.messageId);
      if (t !== undefined && e.sessionId === transcriptSid) feedLatencies.push({ at: e.receivedAt, ms: e.receivedAt - t, id: e.messageId, appended: t });
    },
  });
}
/**
 * Where the latency of the feed's events went: append → the collectors' write (messages.ingested_at,
 * the start of its transaction) and that write → the event. p50/p99 of each.
 */
async function feedLatencySplit(from: number): Promise<{ toStored: { p50: number; p99: number }; storedToEvent: { p50: number; p99: number } }> {
  const { rows } = await withDb((c) =>
    c.query<{ id: string; t: number }>(`select id, extract(epoch from ingested_at) * 1000 as t from api.messages where agent_id = $1 and session_id = $2`, [transcriptAgent, transcriptSid]),
  );
  const stored = new Map(rows.map((r) => [r.id, Number(r.t)]));
  const a: number[] = [];
  const b: number[] = [];
  for (const l of feedLatencies) {
    const t = stored.get(l.id);
    if (l.at < from || t === undefined) continue;
    a.push(t - l.appended);
    b.push(l.at - t);
  }
  a.sort((x, y) => x - y);
  b.sort((x, y) => x - y);
  return { toStored: { p50: percentile(a, 50), p99: percentile(a, 99) }, storedToEvent: { p50: percentile(b, 50), p99: percentile(b, 99) } };
}

/**
 * Every message row in the database must have reached the feed exactly once (event id = seq):
 * waits up to `timeoutMs` for the feed to catch up, then counts what is missing and doubled.
 */
async function feedCheck(timeoutMs: number): Promise<{ expected: number; events: number; missing: number; duplicated: number; connections: number }> {
  const f = feed!;
  const t0 = Date.now();
  for (;;) {
    const { rows } = await withDb((c) => c.query<{ seq: string }>('select seq from api.messages'));
    const seen = new Map<number, number>();
    for (const e of f.events) seen.set(e.seq, (seen.get(e.seq) ?? 0) + 1);
    const missing = rows.filter((r) => !seen.has(Number(r.seq))).length;
    if (!missing || Date.now() - t0 > timeoutMs) {
      return { expected: rows.length, events: f.events.length, missing, duplicated: [...seen.values()].filter((n) => n > 1).length, connections: f.connections };
    }
    await sleep(500);
  }
}

// ---------------------------------------------------------------- process memory
function rss(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
function memory(): Record<string, number | undefined> {
  const s = stackState();
  return {
    supervisor: rss(s.pid),
    postgres: rss(s.postgres.pid),
    postgrest: rss(s.rest.pid),
    worker: rss(s.worker.pid),
    ingest: rss(s.ingest?.pid),
    functions: rss(s.functions.pid),
  };
}

/** CPU seconds used so far by each process (postgres: the postmaster and all its backends). */
function cpuSeconds(): Record<string, number | undefined> {
  const ticks = (pid: number) => {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state, ppid, …, utime and stime (fields 14 and 15) in clock ticks.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
  };
  const of = (pid: number | undefined) => {
    if (!pid) return undefined;
    try {
      return ticks(pid).cpu;
    } catch {
      return undefined;
    }
  };
  const s = stackState();
  // Backends come and go: the postmaster's own time, its exited children's (cutime, cstime) and the live ones'.
  let postgres: number | undefined;
  try {
    const t = ticks(s.postgres.pid!);
    postgres = t.cpu + t.children;
  } catch {
    postgres = undefined;
  }
  if (postgres !== undefined) {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const t = ticks(Number(entry));
        if (t.ppid === s.postgres.pid) postgres += t.cpu;
      } catch {
        // gone meanwhile
      }
    }
  }
  const own = process.cpuUsage();
  return { postgres, postgrest: of(s.rest.pid), worker: of(s.worker.pid), ingest: of(s.ingest?.pid), functions: of(s.functions.pid), 'load generator': (own.user + own.system) / 1e6 };
}
/** Percent of one core each process used between two cpuSeconds() readings `seconds` apart. */
function cpuPercent(a: Record<string, number | undefined>, b: Record<string, number | undefined>, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(b)) if (a[k] !== undefined && b[k] !== undefined && b[k]! >= a[k]!) out[k] = Math.round(((b[k]! - a[k]!) / seconds) * 100);
  return out;
}

// ---------------------------------------------------------------- checks against the database
async function withDb<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: databaseUrls(config, loadSecrets(config)).owner });
  c.on('error', () => {});
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => {});
  }
}
/**
 * Lost: a key whose row is missing or holds an older value than the newest write acknowledged for it.
 * Duplicated: a key with more than one row.
 */
async function lostAndDuplicated(): Promise<{ acknowledged: number; keys: number; lost: number; duplicates: number }> {
  return withDb(async (c) => {
    const keys = [...acknowledged.keys()];
    const { rows } = await c.query<{ key: string; copies: string; n: string }>(
      `select key, count(*) as copies, max((value->>'n')::bigint) as n from api.memory_kv where key = any($1::text[]) group by key`,
      [keys],
    );
    const found = new Map(rows.map((r) => [r.key, Number(r.n)]));
    return {
      acknowledged: acknowledgedWrites,
      keys: keys.length,
      lost: keys.filter((k) => !found.has(k) || found.get(k)! < acknowledged.get(k)!.n).length,
      duplicates: rows.filter((r) => Number(r.copies) > 1).length,
    };
  });
}
async function transcriptRows(): Promise<{ rows: number; distinct: number }> {
  return withDb(async (c) => {
    const { rows } = await c.query<{ rows: string; distinct: string }>(`select count(*) as rows, count(distinct id) as distinct from api.messages where agent_id = $1 and session_id = $2`, [transcriptAgent, transcriptSid]);
    return { rows: Number(rows[0]!.rows), distinct: Number(rows[0]!.distinct) };
  });
}
/** Messages the collectors should have written for the `appended` entries (the header is not a message). */
const expectedMessages = () => transcriptEntries.slice(0, appended).filter((e) => e.type !== 'session').length;
async function waitForIngest(timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if ((await transcriptRows().catch(() => ({ rows: -1 }))).rows >= expectedMessages()) return Date.now() - t0;
    await sleep(250);
  }
  return -1;
}

/** Work the load leaves behind: queued worker jobs (by task) and search items still without a vector. */
async function backlog(): Promise<{ jobs: number; byTask: Record<string, number>; unembedded: number }> {
  return withDb(async (c) => {
    const { rows } = await c.query<{ task: string; n: number }>(
      `select task_identifier as task, count(*)::int as n from graphile_worker.jobs where locked_at is null and attempts < max_attempts group by 1`,
    );
    const { rows: [u] } = await c.query<{ n: number }>(`select count(*)::int as n from api.search_items where embedding_model is null`);
    return { jobs: rows.reduce((n, r) => n + r.n, 0), byTask: Object.fromEntries(rows.map((r) => [r.task, r.n])), unembedded: u!.n };
  });
}

/** Every agent's keys, written once in batches through PostgREST (n = 0: any later write is newer). */
async function seedMemory(): Promise<void> {
  for (const agent of agents) {
    for (let from = 0; from < keysPerAgent; from += 500) {
      const rows = Array.from({ length: Math.min(500, keysPerAgent - from) }, (_, j) => ({ key: `soak/${agent}/${from + j}`, value: { n: 0, note: `soak seed ${from + j} about deployment notes and backups` } }));
      const res = await rest.request({
        method: 'POST',
        path: '/memory_kv',
        headers: { authorization: `Bearer ${tokens.get(agent)}`, 'content-type': 'application/json', prefer: 'resolution=merge-duplicates,return=minimal' },
        body: JSON.stringify(rows),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`seeding ${agent}'s memory failed: ${res.statusCode} ${text}`);
      for (const r of rows) acknowledge(agent, r.key, 0);
    }
  }
}

/** Until no search item waits for a vector; returns the milliseconds it took (-1: not in time). */
async function waitForEmbeddings(timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let shown = t0;
  while (Date.now() - t0 < timeoutMs) {
    const b = await backlog().catch(() => undefined);
    if (b && b.unembedded === 0) return Date.now() - t0;
    if (b && Date.now() - shown > 10_000) {
      log(`  ${b.unembedded} search items still wait for a vector`);
      shown = Date.now();
    }
    await sleep(500);
  }
  return -1;
}

/** Queues a worker job now, as an operator's "run now" would. */
async function queueJob(task: string, payload: object = {}): Promise<void> {
  await withDb((c) => c.query('select graphile_worker.add_job($1, $2::json)', [task, JSON.stringify(payload)]));
}
/** Milliseconds until the alert (rule, subject) opened after `since` reaches `status`, or -1. */
async function waitForAlert(rule: string, subject: string, since: Date, status: 'open' | 'resolved', timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const { rows } = await withDb((c) =>
      c.query<{ status: string }>(`select status from api.alerts where rule = $1 and subject = $2 and opened_at >= $3 order by id desc limit 1`, [rule, subject, since]),
    ).catch(() => ({ rows: [] as Array<{ status: string }> }));
    if (rows[0] && (status === 'open' ? rows[0].status !== 'resolved' : rows[0].status === 'resolved')) return Date.now() - t0;
    await sleep(250);
  }
  return -1;
}

/** Until a write through PostgREST and a search through the functions server both succeed again. */
async function waitForService(timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const before = samples.length;
    await op(0);
    await op(9);
    if (samples.slice(before).every((s) => s.ok)) return Date.now() - t0;
    await sleep(200);
  }
  return -1;
}

// ---------------------------------------------------------------- the run
interface Interval {
  second: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** p99 of each kind of operation (upsert, read, search). */
  p99ByKind: Record<string, number>;
  /** Queued worker jobs and search items without a vector at the end of the interval. */
  jobs?: number;
  unembedded?: number;
  /** Percent of one core per process over the interval. */
  cpu?: Record<string, number>;
  /** p99 append-to-event latency of the live feed's transcript events received in the interval. */
  feedP99?: number;
}
function summarise(from: number, to: number): Omit<Interval, 'second'> {
  const window = samples.filter((s) => s.at >= from && s.at < to);
  const ok = window.filter((s) => s.ok);
  const ms = ok.map((s) => s.ms).sort((a, b) => a - b);
  const p99ByKind: Record<string, number> = {};
  for (const kind of ['upsert', 'read', 'search']) p99ByKind[kind] = percentile(ok.filter((s) => s.kind === kind).map((s) => s.ms).sort((a, b) => a - b), 99);
  return { opsPerSecond: window.length / ((to - from) / 1000), p50: percentile(ms, 50), p99: percentile(ms, 99), errors: window.filter((s) => !s.ok).length, p99ByKind };
}

const report: string[] = [];
const json: Record<string, unknown> = { machine: machine(), minutes, concurrency };
try {
  log(`starting the system in ${home}`);
  const t0 = Date.now();
  await startSystem();
  log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const state = stackState();
  rest = new HttpPool(state.rest.url, { connections: 64 });
  functions = new HttpPool(state.functions.url, { connections: 16 });
  for (const a of agents) tokens.set(a, token('agent', a));
  // The dashboard's live feed, held open for the whole run from before the first message.
  feed = startFeed(state.functions.url, token('viewer'));
  await feed.opened;

  // Seed every agent's keys (the size the memory keeps for the whole run), let the embeddings catch
  // up, and start the transcript.
  appendTranscript(200);
  const seedStart = Date.now();
  await seedMemory();
  log(`seeded ${agents.length} × ${keysPerAgent} memory keys; embedding them`);
  log(`embeddings caught up in ${((await waitForEmbeddings(600_000)) / 1000).toFixed(1)} s (seeding and all: ${((Date.now() - seedStart) / 1000).toFixed(0)} s)`);
  await closedLoop(3);
  samples.length = 0;
  errorsSeen.clear();
  // One chat through the Gateway: the collectors' live path works before anything is taken away.
  let chatBeforeMs: number | undefined;
  if (gateway) {
    const t = Date.now();
    await gateway.chat('Hello from the soak, a text turn please.', 'soak-chat-before');
    while (!(await withDb((c) => c.query(`select 1 from api.messages where agent_id = 'main' and role = 'assistant'`))).rowCount) {
      if (Date.now() - t > 120_000) throw new Error('a chat through the Gateway did not reach the database in 120 s');
      await sleep(250);
    }
    chatBeforeMs = Date.now() - t;
    log(`a chat through the OpenClaw Gateway reached the database in ${chatBeforeMs} ms`);
  }

  log(`measuring the sustained maximum: ${concurrency} callers for ${maxSeconds} s, the second half counted`);
  const maximum = await sustainedMaximum(maxSeconds);
  const max = maximum.sustained;
  const rate = option('rate', Math.max(1, Math.round(max * 0.8)));
  log(`maximum mixed rate ${max.toFixed(0)} ops/s sustained (closed loop ${maximum.requests.toFixed(0)} ops/s in its second half, ${maximum.burst.toFixed(0)} in its first 10 s; ${maximum.upserts.toFixed(0)} upserts/s, ${maximum.embedded.toFixed(0)} embeddings/s), ${maximum.errors} errors; backlog middle → end: jobs ${maximum.middle.jobs} → ${maximum.end.jobs}, unembedded ${maximum.middle.unembedded} → ${maximum.end.unembedded}; cpu ${fmtCpu(maximum.cpu)}`);
  log(`letting the embeddings catch up: ${((await waitForEmbeddings(300_000)) / 1000).toFixed(1)} s`);
  log(`soaking at ${rate} ops/s (${((rate / max) * 100).toFixed(0)}% of the maximum) for ${minutes} min`);
  samples.length = 0;
  const memStart = memory();

  const soakStart = Date.now();
  const soakEnd = soakStart + minutes * 60_000;
  const transcriptTimer = setInterval(() => appendTranscript(20), 500);
  const intervals: Interval[] = [];
  let cpuBefore = cpuSeconds();
  const reporter = setInterval(() => {
    const now = Date.now();
    const s: Interval = { second: Math.round((now - soakStart) / 1000), ...summarise(now - 10_000, now) };
    const cpuNow = cpuSeconds();
    s.cpu = cpuPercent(cpuBefore, cpuNow, 10);
    s.feedP99 = percentile(feedLatencies.filter((l) => l.at >= now - 10_000 && l.at < now).map((l) => l.ms).sort((a, b) => a - b), 99);
    cpuBefore = cpuNow;
    intervals.push(s);
    void backlog()
      .then((b) => Object.assign(s, { jobs: b.jobs, unembedded: b.unembedded }))
      .catch(() => {})
      .finally(() =>
        log(`${s.second} s: ${s.opsPerSecond.toFixed(0)} ops/s p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms (${fmtKinds(s.p99ByKind)}) errors ${s.errors}; feed p99 ${s.feedP99?.toFixed(0) ?? '?'} ms; jobs ${s.jobs ?? '?'}, unembedded ${s.unembedded ?? '?'}; cpu ${fmtCpu(s.cpu)}; transcript ${appended} entries`),
      );
  }, 10_000);
  await openLoop(rate, () => Date.now() >= soakEnd);
  clearInterval(transcriptTimer);
  clearInterval(reporter);
  const whole = summarise(soakStart, Date.now());
  const ingestCatchUp = await waitForIngest(30_000);
  const memEnd = memory();
  const soakWrites = await lostAndDuplicated();
  const soakTranscript = await transcriptRows();
  const soakFeed = await feedCheck(30_000);
  const soakFeedMs = feedLatencies.filter((l) => l.at >= soakStart).map((l) => l.ms).sort((a, b) => a - b);
  const soakFeedSplit = await feedLatencySplit(soakStart);
  const soakBacklog = await backlog();
  const grown = Object.entries(memStart).filter(([k, v]) => v !== undefined && memEnd[k] !== undefined && memEnd[k]! > v * rssBound.ratio + rssBound.slackMiB);

  report.push(
    '## Soak',
    '',
    `The whole system as \`npm start\` runs it (embedded PostgreSQL, PostgREST, worker, collectors, functions) on ${machine().cpus} cores; the load generator runs on the same cores. Mixed operations per 10: 4 memory upserts and 5 reads through PostgREST, 1 hybrid search through the functions server; a JSONL transcript grows by 40 entries/s for the collectors.`,
    '',
    `- maximum mixed rate: ${max.toFixed(0)} ops/s, measured first as ${concurrency} callers in a closed loop for ${maximum.seconds} s on memory seeded to its full size (${agents.length} agents × ${keysPerAgent} keys), counting only the second half so the work the requests leave behind runs beside them: ${maximum.requests.toFixed(0)} ops/s of requests (${maximum.burst.toFixed(0)} ops/s in the first 10 s), ${maximum.upserts.toFixed(0)} upserts/s leaving as many embeddings, of which the worker computed ${maximum.embedded.toFixed(0)}/s (search items waiting for a vector: ${maximum.middle.unembedded} at the middle, ${maximum.end.unembedded} at the end; queued jobs ${maximum.middle.jobs} → ${maximum.end.jobs})${max < maximum.requests ? `; the maximum is the request rate whose embeddings keep up` : ''}; CPU over the second half (% of one core): ${fmtCpu(maximum.cpu)}`,
    `- soak rate: ${rate} ops/s = ${((rate / max) * 100).toFixed(0)}% of the maximum, for ${minutes} min; at the end ${soakBacklog.unembedded} search items waited for a vector and ${soakBacklog.jobs} jobs were queued`,
    `- whole soak: ${whole.opsPerSecond.toFixed(0)} ops/s, p50 ${whole.p50.toFixed(1)} ms, p99 ${whole.p99.toFixed(1)} ms, errors ${whole.errors}${whole.errors ? ` (${[...errorsSeen].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}: ${whole.errors === 0 ? 'PASS' : 'FAIL'} (errors must be zero)`,
    `- acknowledged writes: ${soakWrites.acknowledged}, lost ${soakWrites.lost}, duplicated ${soakWrites.duplicates}`,
    `- transcript: ${appended} entries appended, ${soakTranscript.rows} messages ingested (${soakTranscript.distinct} distinct, ${expectedMessages()} expected); caught up ${ingestCatchUp >= 0 ? `${ingestCatchUp} ms after the last append` : 'NOT within 30 s'}`,
    gateway
      ? `- OpenClaw Gateway 2026.9.6 (real, loopback, a fake model behind it) followed by the collectors; a chat through it (chat.send) reached the database ${chatBeforeMs} ms after it was sent`
      : `- no OpenClaw Gateway: ${gatewaySkip}`,
    `- live feed (GET /functions/v1/live with a viewer token, open from before the first message): ${soakFeed.events} events for ${soakFeed.expected} messages in the database, missing ${soakFeed.missing}, duplicated ${soakFeed.duplicated}, over ${soakFeed.connections} connection(s); append-to-event latency of the transcript's messages p50 ${percentile(soakFeedMs, 50).toFixed(0)} ms, p99 ${percentile(soakFeedMs, 99).toFixed(0)} ms, max ${(soakFeedMs.at(-1) ?? NaN).toFixed(0)} ms; of which append → the collectors' write p50 ${soakFeedSplit.toStored.p50.toFixed(0)} ms, p99 ${soakFeedSplit.toStored.p99.toFixed(0)} ms, and write → event p50 ${soakFeedSplit.storedToEvent.p50.toFixed(0)} ms, p99 ${soakFeedSplit.storedToEvent.p99.toFixed(0)} ms`,
    `- memory (MiB RSS, start → end; bound: end ≤ start × ${rssBound.ratio} + ${rssBound.slackMiB} MiB): ${Object.keys(memStart).map((k) => `${k} ${memStart[k]?.toFixed(0) ?? '?'} → ${memEnd[k]?.toFixed(0) ?? '?'}`).join(', ')}: ${grown.length ? `GROWTH in ${grown.map(([k]) => k).join(', ')}` : 'PASS'}`,
    '',
    '| second | ops/s | p50 ms | p99 ms | p99 upsert / read / search ms | errors | live feed p99 ms | jobs queued | items without a vector | CPU % of one core |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...intervals.map(
      (r) =>
        `| ${r.second} | ${r.opsPerSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${['upsert', 'read', 'search'].map((k) => r.p99ByKind[k]!.toFixed(0)).join(' / ')} | ${r.errors} | ${r.feedP99?.toFixed(0) ?? '?'} | ${r.jobs ?? '?'} | ${r.unembedded ?? '?'} | ${fmtCpu(r.cpu)} |`,
    ),
  );
  Object.assign(json, { max, maximum, rate, keysPerAgent, whole, intervals, memStart, memEnd, soakWrites, soakTranscript, soakFeed, soakFeedLatency: { p50: percentile(soakFeedMs, 50), p99: percentile(soakFeedMs, 99), max: soakFeedMs.at(-1), ...soakFeedSplit }, soakBacklog, appended, errors: Object.fromEntries(errorsSeen) });

  if (withFaults) {
    const faults: Array<Record<string, unknown>> = [];
    const targets: Array<[string, (s: StackState) => number | undefined]> = [
      ['PostgreSQL', (s) => s.postgres.pid],
      ['PostgREST', (s) => s.rest.pid],
      ['worker', (s) => s.worker.pid],
      ['collectors', (s) => s.ingest?.pid],
      ['functions', (s) => s.functions.pid],
    ];
    /** Until stack.json names a new, living process for the component (the supervisor restarted it). */
    const waitForNewPid = async (pidOf: (s: StackState) => number | undefined, old: number, timeoutMs: number) => {
      const t0 = Date.now();
      while (Date.now() - t0 < timeoutMs) {
        const pid = pidOf(stackState());
        if (pid && pid !== old && rss(pid) !== undefined) return true;
        await sleep(100);
      }
      return false;
    };
    /** An outage the health checks or the sweep must report: the alert to expect, and the job that notices it. */
    interface ExpectedAlert {
      rule: string;
      subject: string;
      /** Queued during the outage and again after it (the 5-minute schedule would do it later). */
      check: () => Promise<void>;
      /** What the outage must not lose, checked at the end. */
      nothingLost?: () => Promise<boolean>;
    }
    const underLoad = async (name: string, inject: () => Promise<void>, heal: () => Promise<void>, healAfterMs: number, restarted?: () => Promise<boolean>, alert?: ExpectedAlert) => {
      errorsSeen.clear();
      const before = samples.length;
      let stop = false;
      const transcriptTimer = setInterval(() => appendTranscript(20), 500);
      const load = openLoop(Math.max(1, Math.round(rate / 2)), () => stop);
      await sleep(3000);
      const t0 = Date.now();
      const since = new Date(t0 - 1000);
      await inject();
      let alertOpenedMs = -1;
      if (alert) {
        await sleep(1000);
        await alert.check();
        alertOpenedMs = await waitForAlert(alert.rule, alert.subject, since, 'open', Math.max(5_000, healAfterMs - 1_000));
        if (alertOpenedMs >= 0) alertOpenedMs += 1000;
      }
      await sleep(Math.max(0, healAfterMs - (Date.now() - t0)));
      await heal();
      const healedAt = Date.now();
      const recovered = (await waitForService(120_000)) >= 0 && (!restarted || (await restarted()));
      // For an outage, recovery counts from its end; for a kill, from the kill.
      const recoveryMs = recovered ? Date.now() - (healAfterMs ? healedAt : t0) : -1;
      let alertResolvedMs = -1;
      if (alert) {
        await alert.check();
        // Counted from the end of the outage, like the recovery.
        if ((await waitForAlert(alert.rule, alert.subject, since, 'resolved', 180_000)) >= 0) alertResolvedMs = Date.now() - healedAt;
      }
      await sleep(3000);
      stop = true;
      await load;
      clearInterval(transcriptTimer);
      const caughtUp = await waitForIngest(60_000);
      const feedNow = await feedCheck(30_000);
      const writes = await lostAndDuplicated();
      const tr = await transcriptRows();
      const window = samples.slice(before);
      const row = {
        fault: name,
        recoveredMs: recoveryMs,
        failedRequests: window.filter((s) => !s.ok).length,
        requests: window.length,
        lost: writes.lost,
        duplicated: writes.duplicates,
        transcriptOk: tr.rows === expectedMessages() && tr.distinct === tr.rows,
        transcriptCaughtUp: caughtUp >= 0,
        feedMissing: feedNow.missing,
        feedDuplicated: feedNow.duplicated,
        feedConnections: feedNow.connections,
        errors: Object.fromEntries(errorsSeen),
        ...(alert
          ? { alert: `${alert.rule}:${alert.subject}`, alertOpenedMs, alertResolvedMs, nothingLost: alert.nothingLost ? await alert.nothingLost() : true }
          : {}),
      };
      faults.push(row);
      log(`fault ${name}: recovered ${recoveryMs} ms, ${row.failedRequests}/${row.requests} requests failed meanwhile, lost ${row.lost}, duplicated ${row.duplicated}, transcript ${row.transcriptOk ? 'exact' : `WRONG (${tr.rows} rows, ${tr.distinct} distinct, ${expectedMessages()} expected)`}`);
    };
    for (const [name, pidOf] of targets) {
      const pid = pidOf(stackState());
      if (!pid) {
        faults.push({ fault: `kill -9 ${name}`, skipped: 'no pid in stack.json' });
        continue;
      }
      await underLoad(`kill -9 ${name}`, async () => void process.kill(pid, 'SIGKILL'), async () => {}, 0, () => waitForNewPid(pidOf, pid, 120_000));
    }
    if (gateway) {
      // The Gateway killed for 30 s: the health check's probe of /readyz must open service_down:gateway
      // and resolve it after; the collectors' observer must reconnect by itself (its backoff reaches 30 s),
      // and a chat made after the outage must reach the database.
      const ingestLog = path.join(home, 'logs', 'ingest.log');
      let logOffset = 0;
      const extra: Record<string, unknown> = {};
      const assistants = async () => Number((await withDb((c) => c.query<{ n: string }>(`select count(*) as n from api.messages where agent_id = 'main' and role = 'assistant'`))).rows[0]!.n);
      await underLoad(
        'Gateway unreachable (30 s)',
        async () => {
          logOffset = fs.statSync(ingestLog).size;
          await gateway.kill();
        },
        () => gateway.start(),
        30_000,
        async () => {
          const t0 = Date.now();
          const reconnected = async () => {
            const text = fs.readFileSync(ingestLog, 'utf8');
            return /Gateway \S+ connected/.test(text.length >= logOffset ? text.slice(logOffset) : text);
          };
          while (!(await reconnected())) {
            if (Date.now() - t0 > 120_000) return false;
            await sleep(250);
          }
          extra.collectorsReconnectedMs = Date.now() - t0;
          const before = await assistants();
          const t1 = Date.now();
          await gateway.chat('Hello again after the outage, a text turn please.', `soak-after-outage-${Date.now()}`);
          while ((await assistants()) <= before) {
            if (Date.now() - t1 > 120_000) return false;
            await sleep(250);
          }
          extra.chatAfterMs = Date.now() - t1;
          return true;
        },
        { rule: 'service_down', subject: 'gateway', check: () => queueJob('health_check') },
      );
      Object.assign(faults.at(-1)!, extra);
    } else {
      faults.push({ fault: 'Gateway unreachable (30 s)', skipped: gatewaySkip });
    }
    await underLoad(
      'Ollama unreachable (30 s)',
      async () => void (ollama.mode = 'fail'),
      async () => void (ollama.mode = 'ok'),
      30_000,
      undefined,
      { rule: 'service_down', subject: 'ollama', check: () => queueJob('health_check') },
    );
    // S3 away while the sweep flushes a log: the step fails and alerts, the log stays on disk; S3
    // back, the retried step ships it once and deletes it locally, and the alert resolves.
    const oldLog = path.join(logsDir, 'worker.log.2026-01-01T00-00-00-000Z');
    await underLoad(
      'S3 unreachable (30 s)',
      async () => {
        await s3.stop();
        fs.writeFileSync(oldLog, 'a rotated log line\n'.repeat(1000));
        const old = new Date(Date.now() - 3 * 86_400_000);
        fs.utimesSync(oldLog, old, old);
      },
      () => s3.start(),
      30_000,
      undefined,
      {
        rule: 'sweep_step_failed',
        subject: 'log_flush',
        check: async () => {
          if (fs.existsSync(oldLog)) await queueJob('maintenance_sweep', { steps: ['log_flush'] });
        },
        nothingLost: async () => !fs.existsSync(oldLog) && (await s3.keys()).filter((k) => k.includes('worker.log.2026-01-01')).length === 1,
      },
    );
    json.faults = faults;
    const runFeed = await feedCheck(30_000);
    const runFeedMs = feedLatencies.map((l) => l.ms).sort((a, b) => a - b);
    json.feed = { ...runFeed, endings: feed!.endings, latency: { p50: percentile(runFeedMs, 50), p99: percentile(runFeedMs, 99), max: runFeedMs.at(-1) } };
    report.push(
      '',
      '## Fault injection',
      '',
      `Each fault under half the soak rate, the transcript still growing. "Recovered" is from the kill (or from the end of an outage) to the first moment a PostgREST write and a functions search both succeed again and the killed process runs again under a new PID (the supervisor restarts a killed child with backoff). Lost / duplicated count acknowledged (2xx) memory writes missing from or doubled in the database afterwards; "transcript" checks that every appended entry is one message row, exactly once.`,
      '',
      'Outages of a dependency also check the alert that must say so: opened while it lasts (the health check or the sweep step is queued at once instead of waiting for its 5- or 30-minute slot), resolved after it ends, and that nothing the outage touched was lost (for S3: the log shipped exactly once, then deleted locally). The Gateway is killed (-9) and started again after 30 s; it has recovered when the collectors reconnected by themselves and a chat made after the outage reached the database.',
      '',
      `"Live feed" is the dashboard's SSE stream, held open through every fault and reconnecting with Last-Event-ID as a browser would: every message row in the database so far arrived exactly once (missing / duplicated event ids), and how many connections it took.`,
      '',
      '| fault | recovered | failed requests meanwhile | acknowledged writes lost | duplicated | transcript exactly once | live feed | alert |',
      '|---|---|---|---|---|---|---|---|',
      ...faults.map((f) =>
        f.skipped
          ? `| ${f.fault} | skipped: ${f.skipped} | | | | | | |`
          : `| ${f.fault} | ${(f.recoveredMs as number) < 0 ? 'NOT within 120 s' : `${((f.recoveredMs as number) / 1000).toFixed(1)} s`} | ${f.failedRequests} of ${f.requests} | ${f.lost} | ${f.duplicated} | ${f.transcriptOk ? 'yes' : 'NO'}${f.transcriptCaughtUp ? '' : ' (not caught up in 60 s)'} | ${f.feedMissing === 0 && f.feedDuplicated === 0 ? 'exactly once' : `MISSING ${f.feedMissing}, DOUBLED ${f.feedDuplicated}`} (${f.feedConnections} connections) | ${alertCell(f)}${f.collectorsReconnectedMs !== undefined ? `; collectors reconnected ${((f.collectorsReconnectedMs as number) / 1000).toFixed(1)} s after the Gateway was back, a chat after the outage stored in ${((f.chatAfterMs as number) / 1000).toFixed(1)} s` : ''} |`,
      ),
      '',
      `Live feed over the whole run (soak and faults): ${runFeed.events} events for ${runFeed.expected} messages, missing ${runFeed.missing}, duplicated ${runFeed.duplicated}; ${runFeed.connections} connections (the stream ended: ${summariseEndings(feed!.endings)}); append-to-event latency p50 ${percentile(runFeedMs, 50).toFixed(0)} ms, p99 ${percentile(runFeedMs, 99).toFixed(0)} ms, max ${(runFeedMs.at(-1) ?? NaN).toFixed(0)} ms.`,
    );
  }
} finally {
  feed?.close();
  await (rest as HttpPool | undefined)?.close().catch(() => {});
  await (functions as HttpPool | undefined)?.close().catch(() => {});
  await stopSystem();
  await ollama.close();
  await gateway?.close();
  await s3.close();
}

const header = [`# Soak${withFaults ? ' and fault injection' : ''}`, '', `Run ${new Date().toISOString()} on ${Object.entries(machine()).map(([k, v]) => `${k}=${v}`).join(', ')}: \`npm run soak -- --minutes ${minutes}${withFaults ? ' --faults' : ''}\`.`, ''];
const text = [...header, ...report, ''].join('\n');
fs.writeFileSync(path.join(root, 'bench', 'SOAK.md'), text);
fs.writeFileSync(path.join(root, 'bench', 'SOAK.json'), JSON.stringify(json, null, 2) + '\n');
console.log(text);
fs.rmSync(home, { recursive: true, force: true });
const faultFailed = ((json.faults as Array<Record<string, unknown>> | undefined) ?? []).some(
  (f) => !f.skipped && ((f.recoveredMs as number) < 0 || (f.feedMissing as number) > 0 || (f.feedDuplicated as number) > 0 || (f.lost as number) > 0 || (f.duplicated as number) > 0 || !f.transcriptOk || (f.alert && ((f.alertOpenedMs as number) < 0 || (f.alertResolvedMs as number) < 0 || !f.nothingLost))),
);
const soakFeedFailed = ((json.soakFeed as { missing: number; duplicated: number } | undefined) ?? { missing: 1, duplicated: 0 });
const failed = soakFeedFailed.missing > 0 || soakFeedFailed.duplicated > 0 || (json.whole as { errors: number } | undefined)?.errors !== 0 || ((json.soakWrites as { lost: number } | undefined)?.lost ?? 1) > 0 || faultFailed;
process.exitCode = failed ? 1 : 0;

function summariseEndings(endings: string[]): string {
  if (!endings.length) return 'never';
  const counts = new Map<string, number>();
  for (const e of endings) counts.set(e, (counts.get(e) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k} × ${v}`).join(', ');
}
function fmtKinds(p99: Record<string, number>): string {
  return Object.entries(p99).map(([k, v]) => `${k} ${Number.isNaN(v) ? '-' : v.toFixed(0)}`).join(', ');
}
function fmtCpu(cpu: Record<string, number> | undefined): string {
  return cpu ? Object.entries(cpu).map(([k, v]) => `${k} ${v}%`).join(', ') : '?';
}

function alertCell(f: Record<string, unknown>): string {
  if (!f.alert) return 'none expected (back before the next check)';
  const ms = (v: unknown) => ((v as number) < 0 ? 'NO' : `${((v as number) / 1000).toFixed(1)} s`);
  return `${f.alert as string}: opened ${ms(f.alertOpenedMs)} after the fault, resolved ${ms(f.alertResolvedMs)} after it ended${f.nothingLost ? '' : '; SOMETHING LOST'}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
