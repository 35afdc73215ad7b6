// The Gateway observer against a local ws server replaying the frames a real OpenClaw 2026.9.6
// Gateway sent during a text turn and a tool turn; then the SQLite reader on the same session.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runIngest } from '../worker/collectors/ingest.ts';
import { activityChannel } from '../worker/collectors/writer.ts';
import { count, waitFor } from './support/collector.ts';
import { fixturesDir, realSqliteFixture } from './support/openclaw-corpus.ts';
import { freePort } from './support/ports.ts';
import { createTestDatabase } from './support/stack.ts';
import { tempDirs } from './support/temp-dirs.ts';

interface Recorded { t: string; dir: 'in' | 'out'; f: Record<string, unknown> }
const recording = (name: string): Recorded[] =>
  fs.readFileSync(path.join(fixturesDir, 'real-2026.9.6', name), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Recorded);

/** Serves recording N to the N-th connection: its answers to each method, then its events; then closes. */
async function replayServer(recordings: Recorded[][]) {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  const requests: string[] = [];
  let connection = 0;
  wss.on('connection', (ws) => {
    const frames = recordings[Math.min(connection++, recordings.length - 1)]!;
    const answers = new Map<string, Record<string, unknown>>();
    for (const out of frames.filter((r) => r.dir === 'out')) {
      const res = frames.find((r) => r.dir === 'in' && r.f.type === 'res' && r.f.id === out.f.id);
      if (res) answers.set(out.f.method as string, res.f);
    }
    const events = frames.filter((r) => r.dir === 'in' && r.f.type === 'event' && r.f.event !== 'connect.challenge').map((r) => r.f);
    ws.send(JSON.stringify(frames.find((r) => r.f.event === 'connect.challenge')!.f));
    ws.on('message', (data) => {
      const req = JSON.parse(data.toString()) as { id: string; method: string; params: Record<string, unknown> };
      requests.push(req.method);
      const recorded = answers.get(req.method);
      ws.send(JSON.stringify(recorded ? { ...recorded, id: req.id } : { type: 'res', id: req.id, ok: true, payload: { messages: [] } }));
      if (req.method === 'sessions.messages.subscribe') {
        setTimeout(() => {
          for (const e of events) ws.send(JSON.stringify(e));
          setTimeout(() => ws.close(1001, 'replay over'), 200);
        }, 50);
      }
    });
  });
  return { url: `ws://127.0.0.1:${port}`, requests, connections: () => connection, close: () => wss.close() };
}

let sql: pg.Pool;
let workerUrl: string;

beforeAll(async () => {
  const db = await createTestDatabase('gateway');
  sql = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  workerUrl = db.workerUrl;
});
afterAll(async () => {
  await sql?.end();
  stateDirs.removeAll();
});
const stateDirs = tempDirs();
const stateDir = stateDirs.make;

const settings = { maxContentBytes: 1_048_576, batchSize: 500, writers: 2, pollMs: 100 };
const session = 'c337f731-ddde-4dba-86ee-5f61da3962c7';

describe('Gateway observer', () => {
  it('stores live messages, tool calls with their results, session totals and health; re-subscribes after a reconnect; the transcript then replaces the live copies', async () => {
    const server = await replayServer([recording('gateway-frames-text-turn.jsonl'), recording('gateway-frames-tool-turn.jsonl')]);
    const listener = new pg.Client({ connectionString: workerUrl });
    await listener.connect();
    const notes: Array<Record<string, unknown>> = [];
    listener.on('notification', (n) => n.channel === activityChannel && notes.push(JSON.parse(n.payload!)));
    await listener.query(`listen ${activityChannel}`);
    const emptyState = stateDir('clawbase-gw-');
    const abort = new AbortController();
    const logs: string[] = [];
    const ingest = runIngest({ connectionString: workerUrl, stateDir: emptyState, settings, once: false, signal: abort.signal, log: (l) => logs.push(l), gateway: { url: server.url, token: 'test-token-123' } });
    try {
      await waitFor(async () => (await count(sql, `select count(*) as n from api.messages where session_id = $1`, [session])) === 5 && server.connections() >= 2, 'five live messages over two connections');
      await waitFor(async () => (await count(sql, `select count(*) as n from api.tool_calls where session_id = $1 and result is not null`, [session])) === 1, 'the tool result');
    } finally {
      abort.abort();
      await ingest;
      server.close();
    }
    // Each connection subscribed again and caught up through chat.history.
    expect(server.requests.filter((m) => m === 'sessions.messages.subscribe')).toHaveLength(2);
    expect(server.requests.filter((m) => m === 'chat.history')).toHaveLength(2);
    expect(logs.join('\n')).toMatch(/Gateway 2026\.9\.6 connected/);

    const { rows: live } = await sql.query(`select id, role, source, parent_id, input_tokens, cost_usd::float8 as cost, run_id from api.messages where session_id = $1 order by created_at`, [session]);
    expect(live.map((m) => [m.id, m.role, m.source])).toEqual([
      ['8f378b95-c669-4b71-84f8-cbb89997a5c8', 'user', 'gateway'],
      ['3d75191a-3e01-49fc-aa11-375b2b914f09', 'assistant', 'gateway'],
      ['ecb51ec0-e5fd-4338-bcb7-21505a2eb1cf', 'user', 'gateway'],
      ['be160aa9-62ac-40e8-948b-bd83b2dc985f', 'assistant', 'gateway'],
      ['dd71028f-dd09-45df-9371-9cd16c1db2eb', 'assistant', 'gateway'],
    ]);
    expect(live[4]).toMatchObject({ input_tokens: 1202, cost: 0.001286, run_id: 'idem-fourth-1', parent_id: null });
    const { rows: [call] } = await sql.query(`select name, arguments, is_error, left(result, 28) as result, message_id, started_at is not null as started, duration_ms >= 0 as timed from api.tool_calls where session_id = $1`, [session]);
    expect(call).toEqual({ name: 'read', arguments: { path: 'AGENTS.md' }, is_error: false, result: '# AGENTS.md - Your Workspace', message_id: 'be160aa9-62ac-40e8-948b-bd83b2dc985f', started: true, timed: true });
    const { rows: [s] } = await sql.query(`select session_key, provider, model, metadata from api.sessions where id = $1`, [session]);
    expect(s).toMatchObject({ session_key: 'agent:main:main', provider: 'fake', model: 'fake-model', metadata: { estimatedCostUsd: 0.0025710000000000004, status: 'done' } });
    expect(await count(sql, `select count(*) as n from api.health_checks where service = 'gateway' and status = 'up'`)).toBeGreaterThanOrEqual(2);
    expect(notes.some((n) => n.source === 'gateway' && n.session_id === session && (n.messages as number) >= 1)).toBe(true);
    for (const n of notes) expect(JSON.stringify(n).length).toBeLessThan(8000);

    // The SQLite transcript of the same session: 21 entries, the five live ones among them, each stored once.
    const state = stateDir('clawbase-gw-sqlite-');
    fs.mkdirSync(path.join(state, 'agents', 'main', 'agent'), { recursive: true });
    fs.copyFileSync(realSqliteFixture, path.join(state, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'));
    const summary = await runIngest({ connectionString: workerUrl, stateDir: state, settings, once: true, signal: new AbortController().signal, log: () => {} });
    expect(summary.totals.sqlite.messages).toBe(16);
    expect(await count(sql, `select count(*) as n from api.messages where session_id = $1`, [session])).toBe(21);
    const { rows: after } = await sql.query(`select source, count(*)::int as n, count(parent_id)::int as with_parent from api.messages where session_id = $1 group by 1`, [session]);
    expect(after).toEqual([{ source: 'sqlite', n: 21, with_parent: 20 }]);
    await listener.end();
  });
});
