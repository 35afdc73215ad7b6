// Compatibility with the real OpenClaw 2026.9.6: its Gateway runs on loopback under Node 24 (both
// from npm, cached by scripts/install-openclaw.sh), talks to a fake OpenAI-compatible model, and is
// driven with chat.send through a text turn and a tool turn. Every message, tool call and usage
// figure must reach PostgreSQL once: first live through the Gateway observer alone, then through
// the SQLite reader on the database OpenClaw wrote.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decompress } from 'fzstd';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectGateway, type GatewayConnection } from '../worker/collectors/gateway-client.ts';
import { collectorEnv, count, startCollector, waitFor, type Collector } from './support/collector.ts';
import type { FakeModel } from './support/fake-openai.ts';
import { installOpenClaw, startGateway, type OpenClawGateway } from './support/openclaw-gateway.ts';
import { createTestDatabase } from './support/stack.ts';

const root = path.resolve(import.meta.dirname, '..');
const installed = await installOpenClaw(root);
const install = 'skip' in installed ? undefined : installed;
if ('skip' in installed) {
  console.error(`\n${'!'.repeat(78)}\n!! SKIPPING the OpenClaw compatibility test: ${installed.skip}\n${'!'.repeat(78)}\n`);
}

const token = 'compat-token-0123456789abcdef';
let sql: pg.Pool;
let ownerUrl: string;
let model: FakeModel;
let gateway: OpenClawGateway | undefined;
let state: string;
let gatewayUrl: string;
const gatewayLog = () => gateway?.output() ?? '';
const collectors: Collector[] = [];

beforeAll(async () => {
  if (!install) return;
  const db = await createTestDatabase('compat');
  ownerUrl = db.ownerUrl;
  sql = new pg.Pool({ connectionString: ownerUrl, max: 2 });
  const cluster = inject('cluster');
  state = fs.mkdtempSync(path.join(cluster.tmpRoot, 'openclaw-state-'));
  gateway = await startGateway(install, state, token);
  model = gateway.model;
  gatewayUrl = gateway.url;
}, 600_000);

afterAll(async () => {
  for (const c of collectors) c.child.kill('SIGKILL');
  await gateway?.close();
  await sql?.end();
});

interface TranscriptEntry { type: string; id: string; message?: { role: string; content?: unknown; usage?: { input: number; output: number; cost?: { total: number } } } }

/** What OpenClaw itself stored: every transcript entry of the agent database. */
function transcript(file: string): Array<{ sessionId: string; entry: TranscriptEntry }> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('select session_id, event_json, event_zstd from transcript_events order by session_id, seq').all() as Array<{ session_id: string; event_json: string | null; event_zstd: Buffer | null }>;
    return rows.map((r) => ({ sessionId: r.session_id, entry: JSON.parse(r.event_json ?? Buffer.from(decompress(r.event_zstd!)).toString('utf8')) as TranscriptEntry }));
  } finally {
    db.close();
  }
}

describe.skipIf(!install)('real OpenClaw 2026.9.6', () => {
  it('a text turn and a tool turn reach PostgreSQL once, live through the Gateway observer and then from the SQLite transcript', async () => {
    // 1. Live only: the collector sees no state folder, just the Gateway.
    const live = await startCollector(collectorEnv(ownerUrl, path.join(state, 'not-here'), { OPENCLAW_GATEWAY_URL: gatewayUrl, OPENCLAW_GATEWAY_TOKEN: token }));
    collectors.push(live);
    await waitFor(async () => /Gateway 2026\.9\.6 connected/.test(live.output()), 'the observer to connect', 60_000);

    const driver: GatewayConnection = await connectGateway({ url: gatewayUrl, token, scopes: ['operator.read', 'operator.write'], onEvent: () => {} });
    const turn = async (message: string, idempotencyKey: string) => driver.request('chat.send', { sessionKey: 'agent:main:main', message, idempotencyKey }, 120_000);
    await turn('Hello, just a text turn please.', 'compat-text-1');
    const assistants = () => count(sql, `select count(*) as n from api.messages where agent_id = 'main' and role = 'assistant'`);
    await waitFor(async () => (await assistants()) >= 1, 'the text turn live', 120_000);
    await turn('Now please use a tool to read AGENTS.md', 'compat-tool-1');
    await waitFor(async () => (await assistants()) >= 3 && (await count(sql, `select count(*) as n from api.tool_calls where agent_id = 'main' and result is not null`)) >= 1, 'the tool turn live', 120_000).catch(async (err: Error) => {
      const { rows } = await sql.query(`select role, source, left(content, 60) as c from api.messages where agent_id = 'main' order by created_at`);
      const { rows: t } = await sql.query(`select * from api.tool_calls`);
      throw new Error(`${err.message}\nmessages: ${JSON.stringify(rows)}\ntool_calls: ${JSON.stringify(t)}\nmodel calls: ${JSON.stringify(model.calls)}\ncollector: ${live.output().slice(-1500)}\ngateway: ${gatewayLog().slice(-1500)}`);
    });
    driver.close();

    const { rows: liveRows } = await sql.query(`select role, source from api.messages where agent_id = 'main' order by created_at`);
    expect(liveRows.map((r) => `${r.role}/${r.source}`)).toEqual(['user/gateway', 'assistant/gateway', 'user/gateway', 'assistant/gateway', 'assistant/gateway']);
    const { rows: [liveCall] } = await sql.query(`select id, name, arguments, is_error, result is not null as has_result from api.tool_calls where agent_id = 'main'`);
    expect(liveCall).toEqual({ id: 'call_compat_1', name: 'read', arguments: { path: 'AGENTS.md' }, is_error: expect.any(Boolean), has_result: true });
    live.child.kill('SIGTERM');
    expect(await live.exited).toBe(0);

    // 2. The transcript OpenClaw wrote, through the SQLite reader: the same entries, each once.
    const dbFile = path.join(state, 'agents', 'main', 'agent', 'openclaw-agent.sqlite');
    expect(fs.existsSync(dbFile)).toBe(true);
    const backfill = await startCollector(collectorEnv(ownerUrl, state), ['--once']);
    collectors.push(backfill);
    expect(await backfill.exited).toBe(0);
    expect(backfill.output()).toMatch(/sqlite\s+message:toolResult\s+1/);

    const entries = transcript(dbFile).filter((e) => e.entry.type !== 'session');
    expect(await count(sql, `select count(*) as n from api.messages where agent_id = 'main'`)).toBe(entries.length);
    const { rows: stored } = await sql.query<{ id: string; role: string; source: string }>(`select id, role, source from api.messages where agent_id = 'main'`);
    expect(new Set(stored.map((r) => r.id))).toEqual(new Set(entries.map((e) => e.entry.id)));
    expect(new Set(stored.map((r) => r.source))).toEqual(new Set(['sqlite']));
    const roles = (rows: Array<{ role: string }>) => rows.filter((r) => r.role !== 'system').map((r) => r.role).sort();
    expect(roles(stored)).toEqual(['assistant', 'assistant', 'assistant', 'tool_result', 'user', 'user']);
    expect(roles(entries.filter((e) => e.entry.type === 'message').map((e) => ({ role: e.entry.message!.role === 'toolResult' ? 'tool_result' : e.entry.message!.role })))).toEqual(roles(stored));

    // Usage and cost: the sums over OpenClaw's assistant entries, and what the fake model reported.
    const usage = entries.map((e) => e.entry.message?.usage).filter((u) => u !== undefined);
    const { rows: [sums] } = await sql.query(`select sum(input_tokens)::int as input, sum(output_tokens)::int as output, sum(cost_usd)::float8 as cost from api.messages where agent_id = 'main' and role = 'assistant'`);
    expect(sums.input).toBe(usage.reduce((n, u) => n + u.input, 0));
    expect(sums.output).toBe(usage.reduce((n, u) => n + u.output, 0));
    expect(sums.cost).toBeCloseTo(usage.reduce((n, u) => n + (u.cost?.total ?? 0), 0), 9);
    expect(sums.input).toBe(model.calls.reduce((n, c) => n + c.promptTokens, 0));

    const { rows: calls } = await sql.query(`select id, message_id is not null as from_message, result_message_id is not null as joined, result is not null as has_result, duration_ms >= 0 as timed from api.tool_calls where agent_id = 'main'`);
    expect(calls).toEqual([{ id: 'call_compat_1', from_message: true, joined: true, has_result: true, timed: true }]);
    expect(await count(sql, `select count(*) as n from api.ingest_errors where agent_id = 'main'`)).toBe(0);
    const { rows: [session] } = await sql.query(`select session_key, provider, model from api.sessions where agent_id = 'main'`);
    expect(session).toEqual({ session_key: 'agent:main:main', provider: 'fake', model: 'fake-model' });
  }, 600_000);
});
