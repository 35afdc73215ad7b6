// Health checks, alerts and the outbox with a real worker: Ollama down opens one alert (never a
// duplicate), coming back resolves it, each transition is POSTed signed; operators manage webhooks
// through PostgREST, events reach them signed with their own secret, and a dead receiver is
// retried with backoff, then given up on, without holding up the sweep.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { quickAddJob, type Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../worker/main.ts';
import { startFakeOllama, type FakeOllama } from './fixtures/fake-ollama.ts';
import { makeFolders, testContext, waitFor, type Folders } from './support/maintenance.ts';
import { freePort } from './support/ports.ts';
import { startTestStack, type TestStack } from './support/stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

let stack: TestStack;
let ollama: FakeOllama;
let alertHook: WebhookReceiver;
let n8n: WebhookReceiver;
let folders: Folders;
let runner: Runner;
const alertSecret = 'alert-webhook-secret-0123456789';
const hookSecret = 'n8n-webhook-secret-abcdefghijkl';

beforeAll(async () => {
  [stack, ollama, alertHook, n8n] = await Promise.all([startTestStack('alerts'), startFakeOllama(), startWebhookReceiver(), startWebhookReceiver()]);
  folders = makeFolders('alerts');
  const ctx = testContext({
    folders,
    ollamaUrl: ollama.url,
    restAdminUrl: stack.restAdminUrl,
    maintenance: { alertWebhookUrl: alertHook.url, alertWebhookSecret: alertSecret, webhookMaxAttempts: 3, dailyTokenBudget: 1000 },
  });
  runner = await startWorker({ connectionString: stack.workerUrl, context: ctx, concurrency: 4, log: () => {} });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await Promise.all([stack?.stop(), ollama?.close(), alertHook?.close(), n8n?.close()]);
  if (folders) fs.rmSync(folders.root, { recursive: true, force: true });
});

const sql = (text: string, params: unknown[] = []) => stack.sql.query(text, params);
const signature = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function healthCheck(): Promise<Record<string, number>> {
  const before = (await sql(`select coalesce(max(id), 0) as id from api.cron_runs where name = 'health_check'`)).rows[0].id;
  await quickAddJob({ connectionString: stack.workerUrl }, 'health_check', {});
  return waitFor(async () => (await sql(`select counts from api.cron_runs where name = 'health_check' and id > $1 and status = 'succeeded'`, [before])).rows[0]?.counts, 30_000, 'a health check');
}

describe('health checks and alerts', () => {
  it('Ollama down opens one service_down alert however often it is checked, and back up resolves it; both POSTed signed', async () => {
    const first = await healthCheck();
    expect(first.probes).toBe(9);
    expect((await sql(`select count(*)::int as n from api.alerts where rule = 'service_down'`)).rows[0].n).toBe(0);

    ollama.mode = 'fail';
    const down = await healthCheck();
    expect(down.alerts_opened).toBe(1);
    await healthCheck();
    await healthCheck();
    const { rows: open } = await sql(`select subject, status, severity, message from api.alerts where rule = 'service_down'`);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ subject: 'ollama', status: 'open', severity: 'critical' });
    expect(open[0].message).toMatch(/ollama is down: GET .*\/api\/version answered 500/);
    const { rows: probe } = await sql(`select status, detail from api.health_checks where service = 'ollama' order by id desc limit 1`);
    expect(probe[0].status).toBe('down');

    ollama.mode = 'ok';
    const back = await healthCheck();
    expect(back.alerts_resolved).toBe(1);
    expect((await sql(`select status, resolved_at is not null as resolved from api.alerts where rule = 'service_down'`)).rows).toEqual([{ status: 'resolved', resolved: true }]);

    const hooks = await waitFor(async () => {
      const h = alertHook.received.filter((r) => r.json.subject === 'service_down:ollama');
      return h.length >= 2 ? h : undefined;
    }, 20_000, 'both alert POSTs');
    expect(hooks.map((h) => h.json.type)).toEqual(['alert.opened', 'alert.resolved']);
    for (const h of hooks) {
      expect(h.headers['x-clawbase-signature']).toBe(signature(alertSecret, h.body));
      expect(h.headers['x-clawbase-event']).toBe(h.json.type);
    }
    expect(hooks[0]!.json.data).toMatchObject({ rule: 'service_down', subject: 'ollama', status: 'open' });
  }, 90_000);

  it('an operator acknowledges an open alert; the checks still resolve it when it clears', async () => {
    await sql(`insert into api.sessions (agent_id, id) values ('spender', 's1')`);
    await sql(`insert into api.messages (agent_id, session_id, id, role, total_tokens) values ('spender', 's1', 'x', 'assistant', 5000)`);
    await healthCheck();
    const { rows } = await sql(`select id, status from api.alerts where rule = 'token_budget' and subject = 'spender'`);
    expect(rows).toEqual([{ id: expect.anything(), status: 'open' }]);
    const operator = await stack.client('operator');
    const { error } = await operator.from('alerts').update({ status: 'acknowledged', acknowledged_at: new Date().toISOString(), acknowledged_by: 'ops' }).eq('id', rows[0].id);
    expect(error).toBeNull();
    await healthCheck();
    expect((await sql(`select count(*)::int as n from api.alerts where rule = 'token_budget'`)).rows[0].n).toBe(1);
    await sql(`update api.messages set total_tokens = 10 where agent_id = 'spender'`);
    await healthCheck();
    expect((await sql(`select status from api.alerts where rule = 'token_budget'`)).rows).toEqual([{ status: 'resolved' }]);
    await waitFor(async () => alertHook.received.find((h) => h.json.type === 'alert.acknowledged'), 20_000, 'alert.acknowledged POST');
  }, 60_000);
});

describe('outbox and webhooks', () => {
  it('operators manage webhooks through PostgREST; viewers cannot read their secrets', async () => {
    const operator = await stack.client('operator');
    const { error } = await operator.from('webhooks').insert({ url: n8n.url, event_types: ['task.created', 'task.moved'], secret: hookSecret, description: 'n8n kanban flow' });
    expect(error).toBeNull();
    const viewer = await stack.client('viewer');
    const { data: listed } = await viewer.from('webhooks').select('url, event_types, enabled');
    expect(listed).toEqual([{ url: n8n.url, event_types: ['task.created', 'task.moved'], enabled: true }]);
    const { error: secret } = await viewer.from('webhooks').select('secret');
    expect(secret?.message).toMatch(/permission denied/);
    const { error: write } = await viewer.from('webhooks').insert({ url: n8n.url, secret: hookSecret });
    expect(write?.message).toMatch(/permission denied/);
    const agent = await stack.client('agent', 'a1');
    const { error: agentRead } = await agent.from('webhooks').select('url');
    expect(agentRead?.message).toMatch(/permission denied/);
  });

  it('a task created and moved through the API reaches the webhook signed with its secret, in the same transaction as the change', async () => {
    const operator = await stack.client('operator');
    const { data, error } = await operator.from('tasks').insert({ title: 'water the garden' }).select('id').single();
    expect(error).toBeNull();
    const { rows: outbox } = await sql(`select event_type from api.outbox_events where subject = $1`, [String(data!.id)]);
    expect(outbox).toEqual([{ event_type: 'task.created' }]);
    await operator.from('tasks').update({ status: 'in_progress' }).eq('id', data!.id);
    // A rolled-back change leaves no event.
    const client = await stack.sql.connect();
    try {
      await client.query('begin');
      await client.query(`insert into api.tasks (title) values ('never happened')`);
      await client.query('rollback');
    } finally {
      client.release();
    }
    const got = await waitFor(async () => (n8n.received.length >= 2 ? n8n.received : undefined), 20_000, 'two task events');
    expect(got.map((h) => h.json.type)).toEqual(['task.created', 'task.moved']);
    expect(got[1]!.json.data).toMatchObject({ title: 'water the garden', status: 'in_progress', previous_status: 'backlog' });
    for (const h of got) expect(h.headers['x-clawbase-signature']).toBe(signature(hookSecret, h.body));
    expect(n8n.received.some((h) => JSON.stringify(h.json).includes('never happened'))).toBe(false);
    // The receiver answers before the worker records the delivery: wait for the log, then check it.
    const deliveryLog = async () => (await sql(`select status, attempts, response_status from api.webhook_deliveries where url = $1 order by id`, [n8n.url])).rows;
    await waitFor(async () => (await deliveryLog()).every((d) => d.status !== 'pending'), 10_000, 'both deliveries recorded');
    const log = await deliveryLog();
    expect(log).toEqual([{ status: 'delivered', attempts: 1, response_status: 204 }, { status: 'delivered', attempts: 1, response_status: 204 }]);
  }, 40_000);

  it('a dead receiver is retried with backoff and given up on; the sweep finishes meanwhile', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}/nobody-listens`;
    await sql(`insert into api.webhooks (url, event_types, secret) values ($1, '{sweep.finished}', $2)`, [deadUrl, hookSecret]);
    await quickAddJob({ connectionString: stack.workerUrl }, 'maintenance_sweep', { steps: ['memory', 'cleanup'] });
    const sweep = await waitFor(async () => (await sql(`select id, status from api.cron_runs where name = 'maintenance_sweep' and status = 'succeeded'`)).rows[0], 30_000, 'the sweep');
    expect(sweep.status).toBe('succeeded');
    const dead = await waitFor(async () => (await sql(`select status, attempts, last_error, last_attempt_at - created_at as waited from api.webhook_deliveries where url = $1 and status = 'dead'`, [deadUrl])).rows[0], 40_000, 'the delivery to be given up');
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toMatch(/ECONNREFUSED/);
    // Backoff 2 s then 4 s between the three attempts.
    const waitedSeconds = dead.waited.seconds ?? 0;
    expect(waitedSeconds).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
