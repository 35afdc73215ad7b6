// `npm run soak -- --minutes N [--faults] [--rate R]`: the whole system as `npm start` runs it, under
// a mixed agent workload at 80% of the maximum measured first: memory upserts and reads through
// PostgREST, hybrid searches through the functions server, and a growing OpenClaw transcript the
// collectors follow. Reports throughput and latency over time, errors, and each process's memory at
// start and end. With --faults it then kills -9, in turn, PostgreSQL, PostgREST, the worker, the
// collectors and the functions server, and takes Ollama away, and checks after each that the system
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
  console.log(`Usage: npm run soak -- [--minutes N] [--faults] [--rate R] [--concurrency C]

Starts the whole system on a fresh temporary home and loopback ports, measures the maximum mixed
request rate for 10 s, then holds 80% of it (or --rate R requests/s) for N minutes (default 2).
--faults   afterwards kill -9 each process in turn and take Ollama away; check recovery and that
           every acknowledged write survived exactly once
Writes bench/SOAK.md and bench/SOAK.json.`);
  process.exit(0);
}
const minutes = option('minutes', 2);
const concurrency = option('concurrency', 16);
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
  OPENCLAW_GATEWAY_TOKEN: '',
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
/** Every upsert PostgREST acknowledged (2xx), by key: what must be in the database at the end. */
const acknowledged = new Map<string, { agent: string; n: number }>();
const acknowledgedByAgent = new Map<string, string[]>();
let writeSeq = 0;

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
      const key = `soak/${agent}/${n}`;
      const res = await rest.request({
        method: 'POST',
        path: '/memory_kv',
        headers: { ...auth, prefer: 'resolution=merge-duplicates,return=minimal' },
        body: JSON.stringify({ key, value: { n, note: `soak write ${n} about deployment notes and backups` } }),
      });
      await res.body.dump();
      ok = res.statusCode < 300;
      if (ok) {
        acknowledged.set(key, { agent, n });
        const keys = acknowledgedByAgent.get(agent) ?? [];
        keys.push(key);
        if (keys.length > 10_000) keys.splice(0, 5000);
        acknowledgedByAgent.set(agent, keys);
      }
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
function appendTranscript(n: number): void {
  fs.mkdirSync(path.dirname(transcript), { recursive: true });
  const chunk = transcriptEntries.slice(appended, appended + n);
  fs.appendFileSync(transcript, chunk.map((e) => JSON.stringify(e)).join('\n') + '\n');
  appended += chunk.length;
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
async function lostAndDuplicated(): Promise<{ acknowledged: number; lost: number; duplicates: number }> {
  return withDb(async (c) => {
    const keys = [...acknowledged.keys()];
    const { rows } = await c.query<{ key: string; copies: string }>(`select key, count(*) as copies from api.memory_kv where key = any($1::text[]) group by key`, [keys]);
    const found = new Map(rows.map((r) => [r.key, Number(r.copies)]));
    return { acknowledged: keys.length, lost: keys.filter((k) => !found.has(k)).length, duplicates: rows.filter((r) => Number(r.copies) > 1).length };
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
}
function summarise(from: number, to: number): Omit<Interval, 'second'> {
  const window = samples.filter((s) => s.at >= from && s.at < to);
  const ms = window.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b);
  return { opsPerSecond: window.length / ((to - from) / 1000), p50: percentile(ms, 50), p99: percentile(ms, 99), errors: window.filter((s) => !s.ok).length };
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

  // Seed enough memory for reads to find, and start the transcript.
  appendTranscript(200);
  await closedLoop(3);
  samples.length = 0;
  errorsSeen.clear();

  const max = await closedLoop(10);
  const rate = option('rate', Math.max(1, Math.round(max * 0.8)));
  log(`maximum mixed rate ${max.toFixed(0)} ops/s at ${concurrency} callers; soaking at ${rate} ops/s for ${minutes} min`);
  samples.length = 0;
  const memStart = memory();

  const soakStart = Date.now();
  const soakEnd = soakStart + minutes * 60_000;
  const transcriptTimer = setInterval(() => appendTranscript(20), 500);
  const intervals: Interval[] = [];
  const reporter = setInterval(() => {
    const now = Date.now();
    const s = summarise(now - 10_000, now);
    intervals.push({ second: Math.round((now - soakStart) / 1000), ...s });
    log(`${Math.round((now - soakStart) / 1000)} s: ${s.opsPerSecond.toFixed(0)} ops/s p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms errors ${s.errors}; transcript ${appended} entries`);
  }, 10_000);
  await openLoop(rate, () => Date.now() >= soakEnd);
  clearInterval(transcriptTimer);
  clearInterval(reporter);
  const whole = summarise(soakStart, Date.now());
  const ingestCatchUp = await waitForIngest(30_000);
  const memEnd = memory();
  const soakWrites = await lostAndDuplicated();
  const soakTranscript = await transcriptRows();
  const grown = Object.entries(memStart).filter(([k, v]) => v !== undefined && memEnd[k] !== undefined && memEnd[k]! > v * rssBound.ratio + rssBound.slackMiB);

  report.push(
    '## Soak',
    '',
    `The whole system as \`npm start\` runs it (embedded PostgreSQL, PostgREST, worker, collectors, functions) on ${machine().cpus} cores; the load generator runs on the same cores. Mixed operations per 10: 4 memory upserts and 5 reads through PostgREST, 1 hybrid search through the functions server; a JSONL transcript grows by 40 entries/s for the collectors.`,
    '',
    `- maximum mixed rate (closed loop, ${concurrency} callers, 10 s): ${max.toFixed(0)} ops/s; soak rate: ${rate} ops/s (${((rate / max) * 100).toFixed(0)}%) for ${minutes} min`,
    `- whole soak: ${whole.opsPerSecond.toFixed(0)} ops/s, p50 ${whole.p50.toFixed(1)} ms, p99 ${whole.p99.toFixed(1)} ms, errors ${whole.errors}${whole.errors ? ` (${[...errorsSeen].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}: ${whole.errors === 0 ? 'PASS' : 'FAIL'} (errors must be zero)`,
    `- acknowledged writes: ${soakWrites.acknowledged}, lost ${soakWrites.lost}, duplicated ${soakWrites.duplicates}`,
    `- transcript: ${appended} entries appended, ${soakTranscript.rows} messages ingested (${soakTranscript.distinct} distinct, ${expectedMessages()} expected); caught up ${ingestCatchUp >= 0 ? `${ingestCatchUp} ms after the last append` : 'NOT within 30 s'}`,
    `- memory (MiB RSS, start → end; bound: end ≤ start × ${rssBound.ratio} + ${rssBound.slackMiB} MiB): ${Object.keys(memStart).map((k) => `${k} ${memStart[k]?.toFixed(0) ?? '?'} → ${memEnd[k]?.toFixed(0) ?? '?'}`).join(', ')}: ${grown.length ? `GROWTH in ${grown.map(([k]) => k).join(', ')}` : 'PASS'}`,
    '',
    '| second | ops/s | p50 ms | p99 ms | errors |',
    '|---|---|---|---|---|',
    ...intervals.map((r) => `| ${r.second} | ${r.opsPerSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} |`),
  );
  Object.assign(json, { max, rate, whole, intervals, memStart, memEnd, soakWrites, soakTranscript, appended, errors: Object.fromEntries(errorsSeen) });

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
    report.push(
      '',
      '## Fault injection',
      '',
      `Each fault under half the soak rate, the transcript still growing. "Recovered" is from the kill (or from the end of an outage) to the first moment a PostgREST write and a functions search both succeed again and the killed process runs again under a new PID (the supervisor restarts a killed child with backoff). Lost / duplicated count acknowledged (2xx) memory writes missing from or doubled in the database afterwards; "transcript" checks that every appended entry is one message row, exactly once.`,
      '',
      'Outages of a dependency also check the alert that must say so: opened while it lasts (the health check or the sweep step is queued at once instead of waiting for its 5- or 30-minute slot), resolved after it ends, and that nothing the outage touched was lost (for S3: the log shipped exactly once, then deleted locally). The OpenClaw Gateway outage is covered by the collectors\' reconnect test, not here: the soak runs without a Gateway.',
      '',
      '| fault | recovered | failed requests meanwhile | acknowledged writes lost | duplicated | transcript exactly once | alert |',
      '|---|---|---|---|---|---|---|',
      ...faults.map((f) =>
        f.skipped
          ? `| ${f.fault} | skipped: ${f.skipped} | | | | | |`
          : `| ${f.fault} | ${(f.recoveredMs as number) < 0 ? 'NOT within 120 s' : `${((f.recoveredMs as number) / 1000).toFixed(1)} s`} | ${f.failedRequests} of ${f.requests} | ${f.lost} | ${f.duplicated} | ${f.transcriptOk ? 'yes' : 'NO'}${f.transcriptCaughtUp ? '' : ' (not caught up in 60 s)'} | ${alertCell(f)} |`,
      ),
    );
  }
} finally {
  await (rest as HttpPool | undefined)?.close().catch(() => {});
  await (functions as HttpPool | undefined)?.close().catch(() => {});
  await stopSystem();
  await ollama.close();
  await s3.close();
}

const header = [`# Soak${withFaults ? ' and fault injection' : ''}`, '', `Run ${new Date().toISOString()} on ${Object.entries(machine()).map(([k, v]) => `${k}=${v}`).join(', ')}: \`npm run soak -- --minutes ${minutes}${withFaults ? ' --faults' : ''}\`.`, ''];
const text = [...header, ...report, ''].join('\n');
fs.writeFileSync(path.join(root, 'bench', 'SOAK.md'), text);
fs.writeFileSync(path.join(root, 'bench', 'SOAK.json'), JSON.stringify(json, null, 2) + '\n');
console.log(text);
fs.rmSync(home, { recursive: true, force: true });
const faultFailed = ((json.faults as Array<Record<string, unknown>> | undefined) ?? []).some(
  (f) => !f.skipped && ((f.recoveredMs as number) < 0 || (f.lost as number) > 0 || (f.duplicated as number) > 0 || !f.transcriptOk || (f.alert && ((f.alertOpenedMs as number) < 0 || (f.alertResolvedMs as number) < 0 || !f.nothingLost))),
);
const failed = (json.whole as { errors: number } | undefined)?.errors !== 0 || ((json.soakWrites as { lost: number } | undefined)?.lost ?? 1) > 0 || faultFailed;
process.exitCode = failed ? 1 : 0;

function alertCell(f: Record<string, unknown>): string {
  if (!f.alert) return 'none expected (back before the next check)';
  const ms = (v: unknown) => ((v as number) < 0 ? 'NO' : `${((v as number) / 1000).toFixed(1)} s`);
  return `${f.alert as string}: opened ${ms(f.alertOpenedMs)} after the fault, resolved ${ms(f.alertResolvedMs)} after it ended${f.nothingLost ? '' : '; SOMETHING LOST'}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
