// Ingest throughput and live latency of the collectors, next to the physical limit measured in the
// same run: a raw COPY (one stream) of exactly the rows the collectors stored.
//   full:  1,000 sessions × 1,000 entries (1M) from JSONL files and again from one SQLite database
//   quick: 100 sessions × 500 entries (50k)
// Live: a local Gateway (protocol v4) sends session.message events; latency is event sent →
// row committed → NOTIFY clawbase_activity received by a LISTEN client.
// Long session: what a 20-entry tail costs when its session already holds 200,000 entries (quick:
// 20,000), next to the same tail of a new session; a personal agent's main session lives for months.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { freePort } from '../test/support/ports.ts';
import { AgentSqlite, sessionEntries, sessionId, writeJsonlSession } from '../test/support/openclaw-corpus.ts';
import { copyInto } from '../worker/collectors/copy.ts';
import { runIngest, type IngestSummary } from '../worker/collectors/ingest.ts';
import { activityChannel } from '../worker/collectors/writer.ts';
import { isMain, machine, percentile, runStandalone, type BenchOptions, type BenchReport, type Figure } from './lib.ts';

const secrets = { superuserPassword: 'bench-superuser', authenticatorPassword: 'bench-authenticator', workerPassword: 'bench-worker', apiStatementTimeout: '8s' };

const entriesOf = (s: IngestSummary, source: 'jsonl' | 'sqlite') =>
  Object.entries(s.totals[source].entries).reduce((n, [k, v]) => (k === 'error' ? n : n + v), 0);

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const sessions = opts.quick ? 100 : 1000;
  const perSession = opts.quick ? 500 : 1000;
  const writers = Number(process.env.CLAWBASE_INGEST_WRITERS || 2);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-bench-ingest-'));
  fs.chmodSync(tmp, 0o711);
  const port = await freePort();
  const db = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), port, superuserPassword: secrets.superuserPassword, logFile: path.join(tmp, 'postgres.log'), settings: { max_wal_size: '4GB' } });
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    const fresh = async (name: string) => {
      await createDatabaseIfMissing(db.url('postgres'), name);
      await migrateDatabase(db.url(name), secrets);
      const worker = new URL(db.url(name));
      worker.username = 'worker';
      worker.password = secrets.workerPassword;
      return { owner: db.url(name), worker: worker.href };
    };

    opts.log(`generating ${sessions} sessions × ${perSession} entries as JSONL and SQLite…`);
    const state = path.join(tmp, 'openclaw');
    const sqlite = new AgentSqlite(path.join(state, 'agents', 'sq', 'agent', 'openclaw-agent.sqlite'), 'sq');
    let jsonlBytes = 0;
    for (let i = 0; i < sessions; i++) {
      const sid = sessionId(i);
      const entries = sessionEntries(sid, perSession);
      jsonlBytes += fs.statSync(writeJsonlSession(state, 'js', sid, entries)).size;
      sqlite.addSession(sid, `agent:sq:s${i}`);
      sqlite.append(sid, 0, entries);
    }
    sqlite.close();
    const sqliteBytes = fs.statSync(path.join(state, 'agents', 'sq', 'agent', 'openclaw-agent.sqlite')).size;
    const settings = { maxContentBytes: 1_048_576, batchSize: 5000, writers, pollMs: 200 };

    for (const source of ['jsonl', 'sqlite'] as const) {
      // Only one source's files are visible to each run: the other agent folder is moved aside.
      const other = path.join(state, 'agents', source === 'jsonl' ? 'sq' : 'js');
      const aside = path.join(tmp, 'aside');
      fs.renameSync(other, aside);
      const urls = await fresh(`bench_${source}`);
      opts.log(`ingesting ${(sessions * perSession).toLocaleString('en')} entries from ${source}…`);
      const t0 = performance.now();
      const summary = await runIngest({ connectionString: urls.worker, stateDir: state, settings, once: true, signal: new AbortController().signal, log: opts.log });
      const seconds = (performance.now() - t0) / 1000;
      fs.renameSync(aside, other);
      const entries = entriesOf(summary, source);
      const rate = entries / seconds;

      // The limit: the same rows, flattened, COPYed by one stream into an empty copy of the schema.
      const limit = await rawCopy(urls.owner, await fresh(`bench_${source}_copy`), opts);
      const limitRate = entries / limit.seconds;
      figures.push({
        name: `ingest from ${source} (${writers} writers, batches of ${settings.batchSize})`,
        value: rate,
        unit: 'entries/s',
        limit: { name: 'raw COPY of the same rows, one stream', value: limitRate },
        ratio: rate / limitRate,
        target: { text: '≥ 20,000 entries/s and ≥ 40% of raw COPY', met: rate >= 20_000 && rate / limitRate >= 0.4 },
        extra: { entries, seconds: Number(seconds.toFixed(1)), messages: summary.totals[source].messages, tool_calls: summary.totals[source].toolCalls, errors: summary.totals[source].errors },
      });
      if (summary.totals[source].errors) notes.push(`${source}: ${summary.totals[source].errors} ingest errors (expected 0)`);
    }

    const tails = opts.quick ? 10 : 20;
    const longEntries = opts.quick ? 20_000 : 200_000;
    const longTail = await tailLatency(await fresh('bench_long'), path.join(tmp, 'long'), longEntries, tails, settings, opts);
    const newTail = await tailLatency(await fresh('bench_new'), path.join(tmp, 'new'), 20, tails, settings, opts);
    figures.push({
      name: `20-entry tail of a session of ${longEntries.toLocaleString('en')} entries, read to committed`,
      value: longTail.p50,
      unit: 'ms p50',
      limit: { name: 'the same tail of a new session (20 entries), p50', value: newTail.p50 },
      ratio: newTail.p50 / longTail.p50,
      target: { text: '≥ 75% of a new session\'s (a batch costs what it holds, not what its session holds)', met: newTail.p50 / longTail.p50 >= 0.75 },
      extra: { p95: longTail.p95, new_p95: newTail.p95, tails },
    });

    const live = await liveLatency(await fresh('bench_live'), opts.quick ? 100 : 300, opts);
    figures.push({
      name: 'live: Gateway event sent → row committed → NOTIFY received',
      value: live.p50,
      unit: 'ms p50',
      target: { text: 'p95 ≤ 1,000 ms', met: live.p95 <= 1000 },
      extra: { p95: live.p95, max: live.max, events: live.events },
    });
    return {
      bench: 'ingest',
      setup: { ...machine(), sessions, entriesPerSession: perSession, jsonlMiB: Math.round(jsonlBytes / 2 ** 20), sqliteMiB: Math.round(sqliteBytes / 2 ** 20), writers },
      figures,
      notes,
    };
  } finally {
    await db.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * One session of `initial` entries ingested, then `tails` times 20 more appended to its file and
 * ingested (one pass each): the time of each pass, as the collector does it.
 */
async function tailLatency(urls: { worker: string }, state: string, initial: number, tails: number,
  settings: Parameters<typeof runIngest>[0]['settings'], opts: BenchOptions): Promise<{ p50: number; p95: number }> {
  const sid = sessionId(initial);
  const entries = sessionEntries(sid, initial + tails * 20);
  const file = writeJsonlSession(state, 'tail', sid, entries.slice(0, initial));
  const pass = () => runIngest({ connectionString: urls.worker, stateDir: state, settings, once: true, signal: new AbortController().signal, log: () => {} });
  opts.log(`a session of ${initial.toLocaleString('en')} entries, then ${tails} tails of 20…`);
  const first = await pass();
  if (entriesOf(first, 'jsonl') !== initial) throw new Error(`the session's first pass stored ${entriesOf(first, 'jsonl')} of ${initial} entries`);
  const times: number[] = [];
  for (let i = 0; i < tails; i++) {
    fs.appendFileSync(file, entries.slice(initial + i * 20, initial + (i + 1) * 20).map((e) => JSON.stringify(e) + '\n').join(''));
    const t0 = performance.now();
    const summary = await pass();
    times.push(performance.now() - t0);
    if (entriesOf(summary, 'jsonl') !== 20 || summary.totals.jsonl.errors) throw new Error(`tail ${i + 1} stored ${entriesOf(summary, 'jsonl')} of 20 entries`);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

/** COPY out what the collectors stored, then COPY it into a fresh database: the same rows, one stream. */
async function rawCopy(fromUrl: string, to: { worker: string }, opts: BenchOptions): Promise<{ seconds: number }> {
  const from = new pg.Client({ connectionString: fromUrl });
  // As the collectors' login, so the same triggers run (or do not) as during ingest.
  const into = new pg.Client({ connectionString: to.worker });
  await Promise.all([from.connect(), into.connect()]);
  try {
    const tables = [
      { table: 'api.sessions', cols: ['agent_id', 'id', 'session_key', 'channel', 'provider', 'model', 'source', 'started_at', 'last_message_at', 'ended_at', 'metadata'] },
      { table: 'api.messages', cols: ['agent_id', 'session_id', 'id', 'parent_id', 'entry_type', 'role', 'channel', 'sender', 'content', 'content_bytes', 'content_truncated', 'provider', 'model', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'total_tokens', 'cost_usd', 'stop_reason', 'error_message', 'is_heartbeat', 'run_id', 'created_at', 'source', 'raw'] },
      { table: 'api.tool_calls', cols: ['agent_id', 'session_id', 'id', 'message_id', 'result_message_id', 'name', 'arguments', 'result', 'result_bytes', 'result_truncated', 'is_error', 'started_at', 'finished_at'] },
    ];
    const dumps: string[][] = [];
    for (const t of tables) {
      // Flattened in advance (text format), so the figure is the database's work alone.
      const { rows } = await from.query<{ line: string }>(`select concat_ws(E'\\t', ${t.cols.map((c) => `coalesce(replace(replace(replace(replace(${c}::text, '\\', '\\\\'), E'\\n', '\\n'), E'\\r', '\\r'), E'\\t', '\\t'), '\\N')`).join(', ')}) as line from ${t.table}`);
      // In pieces: a million rows of text is longer than one JavaScript string may be.
      const pieces: string[] = [];
      for (let i = 0; i < rows.length; i += 10_000) pieces.push(rows.slice(i, i + 10_000).map((r) => r.line + '\n').join(''));
      dumps.push(pieces);
    }
    opts.log('raw COPY of the same rows…');
    const t0 = performance.now();
    await into.query('begin');
    for (let i = 0; i < tables.length; i++) await copyInto(into, tables[i]!.table, tables[i]!.cols, dumps[i]!);
    await into.query('commit');
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    await Promise.all([from.end(), into.end()]);
  }
}

/** A minimal protocol-v4 Gateway that streams session.message events at a steady pace. */
async function liveLatency(urls: { owner: string; worker: string }, events: number, opts: BenchOptions) {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  const sent = new Map<string, number>();
  let client: WebSocket | undefined;
  const connected = new Promise<void>((resolve) =>
    wss.on('connection', (ws) => {
      client = ws;
      ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: 'n' } }));
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString()) as { id: string; method: string };
        const payload = f.method === 'connect' ? { type: 'hello-ok', protocol: 4, server: { version: 'bench' }, features: { methods: [], events: [] } }
          : f.method === 'sessions.subscribe' ? { subscribed: true, list: { sessions: [] } } : { messages: [] };
        ws.send(JSON.stringify({ type: 'res', id: f.id, ok: true, payload }));
        if (f.method === 'sessions.subscribe') resolve();
      });
    }),
  );
  const listener = new pg.Client({ connectionString: urls.owner });
  await listener.connect();
  const notified: number[] = [];
  listener.on('notification', (n) => n.channel === activityChannel && notified.push(performance.now()));
  await listener.query(`listen ${activityChannel}`);
  const committedAt = new Map<number, number>();
  const abort = new AbortController();
  const ingest = runIngest({
    connectionString: urls.worker, stateDir: path.join(os.tmpdir(), 'clawbase-bench-no-state'), once: false, signal: abort.signal, log: () => {},
    settings: { maxContentBytes: 1_048_576, batchSize: 5000, writers: 2, pollMs: 200 },
    gateway: { url: `ws://127.0.0.1:${port}`, token: 'bench' },
  });
  await connected;
  opts.log(`live: sending ${events} Gateway events…`);
  const latencies: number[] = [];
  for (let i = 0; i < events; i++) {
    const id = `live-${i}`;
    const t = performance.now();
    sent.set(id, t);
    const before = notified.length;
    client!.send(JSON.stringify({
      type: 'event', event: 'session.message', seq: i + 1,
      payload: { sessionKey: 'agent:live:main', agentId: 'live', sessionId: 'live-session', messageId: id, messageSeq: i,
        message: { role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: `event ${i}` }], timestamp: Date.now(), __openclaw: { id, seq: i } } },
    }));
    const deadline = Date.now() + 5000;
    while (notified.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (notified.length > before) latencies.push(notified[before]! - t);
    await new Promise((r) => setTimeout(r, 20));
    void committedAt;
  }
  abort.abort();
  await ingest;
  await listener.end();
  wss.close();
  latencies.sort((a, b) => a - b);
  return { events: latencies.length, p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies[latencies.length - 1] ?? NaN };
}

if (isMain(import.meta.url)) await runStandalone(run);
