// The Conductor's server side against the real stack: dashboard login and token rotation, the
// live feed (SSE over LISTEN/NOTIFY, resumable, scoped by role), health, metrics, the operator
// RPCs and the rollup the charts read.
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPostgrest } from '../rest/postgrest.ts';
import { freePort } from './support/ports.ts';
import { openStream, startDashboardServer, writeMessages, type DashboardServer } from './support/dashboard.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

let stack: TestStack;
let server: DashboardServer;
const password = 'correct horse battery staple';

beforeAll(async () => {
  stack = await startTestStack('conductor_api');
  server = await startDashboardServer(stack, {}, { heartbeatMs: 300 });
  await stack.sql.query(`select private.dashboard_user_add('op@example.com', $1, 'operator'), private.dashboard_user_add('Viewer@Example.com', $1, 'viewer')`, [password]);
});
afterAll(async () => {
  await server?.stop();
  await stack?.stop();
});

let ipCounter = 0;
/** Each test logs in from its own address so the per-address limit of one never reaches another. */
const freshIp = () => `198.51.100.${++ipCounter}`;

async function post(path: string, body: unknown, ip = '198.51.100.250') {
  const res = await fetch(`${server.url}/functions/v1/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Real-IP': ip },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const login = (email: string, pw = password, ip = freshIp()) => post('login', { email, password: pw }, ip);

describe('login, refresh and logout', () => {
  it('a right password gets a session whose access token PostgREST accepts, with the user\'s role', async () => {
    const r = await login('op@example.com');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'bearer', expires_in: 86400, role: 'operator', email: 'op@example.com' });
    expect(r.body.refresh_token).toEqual(expect.any(String));
    const rest = await fetch(`${stack.restUrl}/activity_feed?select=seq&limit=1`, { headers: { Authorization: `Bearer ${r.body.access_token}` } });
    expect(rest.status).toBe(200);
    // Email is matched case-insensitively; the viewer gets a viewer token that may not write.
    const v = await login('viewer@EXAMPLE.com');
    expect(v.body.role).toBe('viewer');
    const write = await fetch(`${stack.restUrl}/tasks`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${v.body.access_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'nope' }),
    });
    expect(write.status).toBe(403);
  });

  it('a wrong password or an unknown email is 401, and the attempts are audited', async () => {
    expect((await login('op@example.com', 'wrong password!')).status).toBe(401);
    const unknown = await login('nobody@example.com');
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toBe('wrong email or password');
    const { rows } = await stack.sql.query(`select new_values ->> 'outcome' as outcome from api.audit_log
      where table_name = 'private.login_attempts' and new_values ->> 'email' = 'nobody@example.com'`);
    expect(rows.map((r) => r.outcome)).toEqual(['invalid']);
  });

  it('too many failures for one account get 429 with Retry-After, even with the right password, from any address', async () => {
    await stack.sql.query(`update private.settings set value = '3' where key = 'login_max_failures_per_account'`);
    try {
      await stack.sql.query(`select private.dashboard_user_add('limited@example.com', $1, 'viewer')`, [password]);
      for (let i = 0; i < 3; i++) expect((await login('limited@example.com', 'wrong password!')).status).toBe(401);
      const limited = await login('limited@example.com');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(800);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(900);
      // Another account is not affected.
      expect((await login('op@example.com')).status).toBe(200);
      // Once the window has passed, the right password works again.
      await stack.sql.query(`update private.login_attempts set at = at - interval '16 minutes' where email = 'limited@example.com'`);
      expect((await login('limited@example.com')).status).toBe(200);
    } finally {
      await stack.sql.query(`update private.settings set value = '5' where key = 'login_max_failures_per_account'`);
    }
  });

  it('too many failures from one address get 429 whatever the account', async () => {
    await stack.sql.query(`update private.settings set value = '4' where key = 'login_max_failures_per_ip'`);
    try {
      const ip = freshIp();
      for (let i = 0; i < 4; i++) expect((await login(`guess${i}@example.com`, 'wrong password!', ip)).status).toBe(401);
      const limited = await login('op@example.com', password, ip);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await login('op@example.com', password, freshIp())).status).toBe(200);
    } finally {
      await stack.sql.query(`update private.settings set value = '20' where key = 'login_max_failures_per_ip'`);
    }
  });

  it('refresh rotates the refresh token; reusing an old one revokes the whole family and is audited', async () => {
    const first = await login('op@example.com');
    const second = await post('refresh', { refresh_token: first.body.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ token_type: 'bearer', expires_in: 86400, role: 'operator', email: 'op@example.com' });
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    const third = await post('refresh', { refresh_token: second.body.refresh_token });
    expect(third.status).toBe(200);
    // The first token again: a replay. It fails, and so does the newest token of its family.
    const replay = await post('refresh', { refresh_token: first.body.refresh_token });
    expect(replay.status).toBe(401);
    expect(String(replay.body.message)).toMatch(/already used/);
    expect((await post('refresh', { refresh_token: third.body.refresh_token })).status).toBe(401);
    const { rows } = await stack.sql.query(`select count(*)::int as n from api.audit_log where new_values ->> 'event' = 'refresh_token_reuse'`);
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
    // Another session of the same user is untouched.
    const other = await login('op@example.com');
    expect((await post('refresh', { refresh_token: other.body.refresh_token })).status).toBe(200);
  });

  it('an expired, a logged-out, an unknown and a disabled user\'s refresh token are 401', async () => {
    const a = await login('op@example.com');
    await stack.sql.query(`update private.refresh_tokens set expires_at = now() - interval '1 second'
      where token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, [a.body.refresh_token]);
    const expired = await post('refresh', { refresh_token: a.body.refresh_token });
    expect(expired.status).toBe(401);
    expect(String(expired.body.message)).toMatch(/expired/);

    const b = await login('op@example.com');
    const out = await fetch(`${server.url}/functions/v1/logout`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: b.body.refresh_token }) });
    expect(out.status).toBe(204);
    const revoked = await post('refresh', { refresh_token: b.body.refresh_token });
    expect(revoked.status).toBe(401);
    expect(String(revoked.body.message)).toMatch(/revoked/);

    expect((await post('refresh', { refresh_token: 'not-a-token' })).status).toBe(401);
    expect((await post('refresh', {})).status).toBe(400);

    await stack.sql.query(`select private.dashboard_user_add('gone@example.com', $1, 'viewer')`, [password]);
    const c = await login('gone@example.com');
    await stack.sql.query(`update private.dashboard_users set disabled = true where email = 'gone@example.com'`);
    expect((await post('refresh', { refresh_token: c.body.refresh_token })).status).toBe(401);
    expect((await login('gone@example.com')).status).toBe(401);
  });

  it('refresh tokens are stored only as hashes', async () => {
    const a = await login('op@example.com');
    const { rows } = await stack.sql.query(`select count(*)::int as n from private.refresh_tokens where token_hash = $1`, [a.body.refresh_token]);
    expect(rows[0].n).toBe(0);
    const { rows: hashed } = await stack.sql.query(`select count(*)::int as n from private.refresh_tokens where token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, [a.body.refresh_token]);
    expect(hashed[0].n).toBe(1);
  });
});

describe('the live feed (GET /functions/v1/live)', () => {
  it('delivers a collector-style insert within a second, as activity events with id = seq', async () => {
    const token = await stack.token('viewer');
    const stream = await openStream(`${server.url}/functions/v1/live`, { Authorization: `Bearer ${token}` });
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.until(() => stream.comments.some((c) => c.startsWith('stream open')));
    const t0 = Date.now();
    await writeMessages(stack.workerUrl, 'live-a', 's1', [{ id: 'm1', content: 'hello feed', role: 'user' }]);
    await stream.until((e) => e.some((x) => x.event === 'activity'), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    const ev = stream.events.find((x) => x.event === 'activity')!;
    const row = JSON.parse(ev.data);
    expect(row).toMatchObject({ agent_id: 'live-a', session_id: 's1', id: 'm1', role: 'user', content: 'hello feed', has_tool_calls: false, tool_error: false });
    expect(ev.id).toBe(String(row.seq));
    const { rows } = await stack.sql.query(`select seq from api.messages where agent_id = 'live-a' and id = 'm1'`);
    expect(Number(ev.id)).toBe(Number(rows[0].seq));
    await stream.close();
  });

  it('resumes from Last-Event-ID (or ?last_event_id=) without loss or duplicates; ?access_token= authenticates', async () => {
    const token = await stack.token('operator');
    const first = await openStream(`${server.url}/functions/v1/live?access_token=${token}`);
    await first.until(() => first.comments.some((c) => c.startsWith('stream open')));
    await writeMessages(stack.workerUrl, 'live-b', 's1', [{ id: 'b1', content: 'one' }, { id: 'b2', content: 'two' }]);
    await first.until((e) => e.filter((x) => x.event === 'activity').length >= 2);
    const lastId = first.events.filter((x) => x.event === 'activity').at(-1)!.id!;
    await first.close();
    // Written while nobody listened.
    await writeMessages(stack.workerUrl, 'live-b', 's1', [{ id: 'b3', content: 'three' }, { id: 'b4', content: 'four' }]);
    await writeMessages(stack.workerUrl, 'live-b', 's2', [{ id: 'b5', content: 'five' }]);
    const second = await openStream(`${server.url}/functions/v1/live`, { Authorization: `Bearer ${token}`, 'Last-Event-ID': lastId });
    await second.until((e) => e.filter((x) => x.event === 'activity').length >= 3);
    await writeMessages(stack.workerUrl, 'live-b', 's2', [{ id: 'b6', content: 'six' }]);
    await second.until((e) => e.filter((x) => x.event === 'activity').length >= 4);
    await new Promise((r) => setTimeout(r, 300));
    const ids = second.events.filter((x) => x.event === 'activity').map((x) => JSON.parse(x.data).id);
    expect(ids).toEqual(['b3', 'b4', 'b5', 'b6']);
    await second.close();
    const third = await openStream(`${server.url}/functions/v1/live?last_event_id=${lastId}`, { Authorization: `Bearer ${token}` });
    await third.until((e) => e.filter((x) => x.event === 'activity').length >= 4);
    expect(third.events.filter((x) => x.event === 'activity').map((x) => JSON.parse(x.data).id)).toEqual(['b3', 'b4', 'b5', 'b6']);
    await third.close();
  });

  it('a row that commits after a higher seq was sent (two writers) is still delivered, once', async () => {
    const token = await stack.token('viewer');
    const stream = await openStream(`${server.url}/functions/v1/live`, { Authorization: `Bearer ${token}` });
    await stream.until(() => stream.comments.some((c) => c.startsWith('stream open')));
    // Agent and sessions exist beforehand (two writers would otherwise queue on the agent's first row).
    await stack.sql.query(`insert into api.sessions (agent_id, id) values ('live-order', 'slow'), ('live-order', 'fast')`);
    const slow = new pg.Client({ connectionString: stack.workerUrl });
    await slow.connect();
    try {
      await slow.query('begin');
      await slow.query(`insert into api.messages (agent_id, session_id, id, role, content) values ('live-order', 'slow', 'early-seq', 'user', 'took its seq first')`);
      // Another writer takes a higher seq and commits first.
      await writeMessages(stack.workerUrl, 'live-order', 'fast', [{ id: 'late-seq', content: 'committed first' }]);
      await stream.until((e) => e.some((x) => x.event === 'activity' && JSON.parse(x.data).id === 'late-seq'));
      await slow.query(`select pg_notify('clawbase_activity', '{}')`);
      await slow.query('commit');
    } finally {
      await slow.end();
    }
    await stream.until((e) => e.some((x) => x.event === 'activity' && JSON.parse(x.data).id === 'early-seq'));
    await writeMessages(stack.workerUrl, 'live-order', 'fast', [{ id: 'after', content: 'then this' }]);
    await stream.until((e) => e.some((x) => x.event === 'activity' && JSON.parse(x.data).id === 'after'));
    const ids = stream.events.filter((x) => x.event === 'activity').map((x) => JSON.parse(x.data).id);
    expect(ids).toEqual(['late-seq', 'early-seq', 'after']);
    const seqs = stream.events.filter((x) => x.event === 'activity').map((x) => Number(x.id));
    expect(seqs[1]).toBeLessThan(seqs[0]!);
    await stream.close();
  });

  it('an agent sees only its own rows', async () => {
    const mine = await openStream(`${server.url}/functions/v1/live`, { Authorization: `Bearer ${await stack.token('agent', 'live-own')}` });
    await mine.until(() => mine.comments.some((c) => c.startsWith('stream open')));
    await writeMessages(stack.workerUrl, 'live-other', 's1', [{ id: 'o1', content: 'not yours' }]);
    await writeMessages(stack.workerUrl, 'live-own', 's1', [{ id: 'n1', content: 'yours' }]);
    await mine.until((e) => e.some((x) => x.event === 'activity'));
    await writeMessages(stack.workerUrl, 'live-other', 's1', [{ id: 'o2', content: 'not yours either' }]);
    await new Promise((r) => setTimeout(r, 400));
    const agents = mine.events.filter((x) => x.event === 'activity').map((x) => JSON.parse(x.data).agent_id);
    expect(agents).toEqual(['live-own']);
    await mine.close();
  });

  it('sends keep-alive comments while idle and ends the stream when the token expires', async () => {
    const token = await stack.token('viewer', undefined, 2);
    const stream = await openStream(`${server.url}/functions/v1/live`, { Authorization: `Bearer ${token}` });
    await stream.until(() => stream.comments.some((c) => c.startsWith('keep-alive')), 2000);
    await stream.until((e) => e.some((x) => x.event === 'token_expired'), 4000);
    // The server closed it: the reader sees the end.
    await expect(stream.until(() => false, 2000)).rejects.toThrow(/the stream ended/);
    await stream.close();
  });

  it('refuses a missing, forged or expired token, and a bad Last-Event-ID', async () => {
    expect((await fetch(`${server.url}/functions/v1/live`)).status).toBe(401);
    expect((await fetch(`${server.url}/functions/v1/live?access_token=abc.def.ghi`)).status).toBe(401);
    const expired = await stack.token('viewer', undefined, 1);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${server.url}/functions/v1/live`, { headers: { Authorization: `Bearer ${expired}` } })).status).toBe(401);
    const ok = await stack.token('viewer');
    expect((await fetch(`${server.url}/functions/v1/live`, { headers: { Authorization: `Bearer ${ok}`, 'Last-Event-ID': 'x; drop' } })).status).toBe(400);
  });
});

describe('health and metrics', () => {
  it('health is 200 with every part listed, then 503 naming the part that is down', async () => {
    const res = await fetch(`${server.url}/functions/v1/health`);
    const body = (await res.json()) as { status: string; parts: Array<{ name: string; status: string; required: boolean; latency_ms: number | null }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.parts.map((p) => p.name)).toEqual(['postgres', 'postgrest', 'worker', 'ollama', 'gateway', 's3']);
    expect(body.parts.find((p) => p.name === 'postgres')).toMatchObject({ status: 'up', required: true });
    expect(body.parts.find((p) => p.name === 'ollama')).toMatchObject({ status: 'down', required: false });
    expect(body.parts.find((p) => p.name === 's3')).toMatchObject({ status: 'not_configured', required: false });
    expect(body.parts.find((p) => p.name === 'worker')).toMatchObject({ status: 'up', queue_depth: expect.any(Number), failed_jobs: expect.any(Number) });

    // A PostgREST of its own for this check, then stopped: the readiness check fails on it.
    const cluster = inject('cluster');
    const authUrl = new URL(stack.ownerUrl);
    authUrl.username = 'authenticator';
    authUrl.password = cluster.authenticatorPassword;
    const rest = await startPostgrest({
      dbUri: authUrl.href, jwtSecret: cluster.jwtSecret, jwtAudience: 'clawbase', port: await freePort(), adminPort: await freePort(),
      maxRows: 100, pool: 1, runDir: path.join(cluster.tmpRoot, 'run'), logFile: path.join(cluster.tmpRoot, 'postgrest-health.log'),
    });
    const saved = server.deps.restAdminUrl;
    server.deps.restAdminUrl = rest.adminUrl;
    try {
      const up = await fetch(`${server.url}/functions/v1/health`);
      expect(up.status).toBe(200);
      await rest.stop();
      const down = await fetch(`${server.url}/functions/v1/health`);
      const b = (await down.json()) as { status: string; failing: string[]; parts: Array<{ name: string; status: string; detail: string }> };
      expect(down.status).toBe(503);
      expect(b.status).toBe('degraded');
      expect(b.failing).toContain('postgrest');
      expect(b.parts.find((p) => p.name === 'postgrest')).toMatchObject({ status: 'down', detail: expect.stringContaining('/ready') });
      expect(b.parts.find((p) => p.name === 'postgres')!.status).toBe('up');
    } finally {
      server.deps.restAdminUrl = saved;
      await rest.stop();
    }
    expect((await fetch(`${server.url}/functions/v1/health`)).status).toBe(200);
  });

  it('through the edge, metrics need a staff token and health shows only the summary', async () => {
    const edge = { 'X-Real-IP': '203.0.113.9' };
    expect((await fetch(`${server.url}/functions/v1/metrics`, { headers: edge })).status).toBe(401);
    const agent = await stack.token('agent', 'someone');
    expect((await fetch(`${server.url}/functions/v1/metrics`, { headers: { ...edge, Authorization: `Bearer ${agent}` } })).status).toBe(403);
    const viewer = await stack.token('viewer');
    expect((await fetch(`${server.url}/functions/v1/metrics`, { headers: { ...edge, Authorization: `Bearer ${viewer}` } })).status).toBe(200);
    const health = (await (await fetch(`${server.url}/functions/v1/health`, { headers: edge })).json()) as { status: string; parts: Array<{ name: string; detail: string | null; queue_depth?: number }> };
    expect(health.status).toBe('ok');
    expect(health.parts.find((p) => p.name === 'ollama')!.detail).toBeNull();
    expect(health.parts.find((p) => p.name === 'worker')!.queue_depth).toBeUndefined();
    const detailed = (await (await fetch(`${server.url}/functions/v1/health`, { headers: { ...edge, Authorization: `Bearer ${viewer}` } })).json()) as typeof health;
    expect(detailed.parts.find((p) => p.name === 'ollama')!.detail).toMatch(/127\.0\.0\.1:9/);
  });

  it('metrics are Prometheus text whose figures match what was written', async () => {
    await writeMessages(stack.workerUrl, 'metrics-a', 's1', [
      { id: 'x1', role: 'assistant', input_tokens: 100, output_tokens: 20, total_tokens: 120, cost_usd: 0.5 },
      { id: 'x2', role: 'assistant', input_tokens: 10, output_tokens: 5, total_tokens: 15, cost_usd: 0.25, error_message: 'boom' },
      { id: 'x3', role: 'user', content: 'hi' },
    ]);
    await stack.sql.query(`insert into api.tool_calls (agent_id, session_id, id, message_id, name, is_error, started_at, finished_at)
      values ('metrics-a', 's1', 't1', 'x1', 'exec "quoted"', true, now(), now() + interval '40 ms'),
             ('metrics-a', 's1', 't2', 'x1', 'exec "quoted"', false, now(), now() + interval '10 ms')`);
    const res = await fetch(`${server.url}/functions/v1/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    // Every line is a comment or `name{labels} value`.
    const samples = new Map<string, number>();
    for (const line of text.trim().split('\n')) {
      if (line.startsWith('#')) {
        expect(line).toMatch(/^# (HELP|TYPE) clawbase_[a-z_]+ .+/);
        continue;
      }
      const m = /^(clawbase_[a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+)$/.exec(line);
      expect(m, line).not.toBeNull();
      samples.set(`${m![1]}${m![2] ?? ''}`, Number(m![3]));
    }
    expect(samples.get('clawbase_tokens_total{agent="metrics-a",kind="input"}')).toBe(110);
    expect(samples.get('clawbase_tokens_total{agent="metrics-a",kind="output"}')).toBe(25);
    expect(samples.get('clawbase_cost_usd_total{agent="metrics-a"}')).toBe(0.75);
    expect(samples.get('clawbase_messages_total{agent="metrics-a",role="assistant"}')).toBe(2);
    expect(samples.get('clawbase_messages_total{agent="metrics-a",role="user"}')).toBe(1);
    expect(samples.get('clawbase_tool_errors_total{agent="metrics-a",tool="exec \\"quoted\\""}')).toBe(1);
    expect(samples.get('clawbase_ingest_lag_seconds{source="jsonl"}')).toEqual(expect.any(Number));
    expect(samples.get('clawbase_queue_depth')).toEqual(expect.any(Number));
    expect(samples.get('clawbase_alerts_open')).toEqual(expect.any(Number));
    for (const type of ['# TYPE clawbase_tokens_total counter', '# TYPE clawbase_queue_depth gauge', '# TYPE clawbase_alerts_open gauge']) expect(text).toContain(type);
  });
});

describe('the rollup, the feed view and the operator RPCs', () => {
  it('usage_hourly adds up messages, errors, tokens, heartbeats and tool-call latency, and follows updates', async () => {
    await writeMessages(stack.workerUrl, 'roll', 's1', [
      { id: 'r1', role: 'assistant', input_tokens: 7, output_tokens: 3, total_tokens: 10, cost_usd: 0.1, created_at: '2026-01-01T10:15:00Z' },
      { id: 'r2', role: 'assistant', total_tokens: 5, cost_usd: 0.2, is_heartbeat: true, created_at: '2026-01-01T10:45:00Z' },
      { id: 'r3', role: 'assistant', error_message: 'rate limited', created_at: '2026-01-01T11:00:00Z' },
    ]);
    await stack.sql.query(`insert into api.tool_calls (agent_id, session_id, id, message_id, name, started_at)
      select 'roll', 's1', 'c' || i, 'r1', 'read', timestamptz '2026-01-01T10:20:00Z' from generate_series(1, 20) i`);
    // Results arrive later (as the collectors merge them): durations of 1..20 × 10 ms, one error.
    await stack.sql.query(`update api.tool_calls set finished_at = started_at + (substr(id, 2)::int * 10) * interval '1 ms', is_error = (id = 'c20')
      where agent_id = 'roll'`);
    // Recorded as deltas (no row lock for parallel writers), in the rollup once folded.
    expect((await stack.sql.query(`select count(*)::int as n from api.usage_hourly where agent_id = 'roll'`)).rows[0].n).toBe(0);
    expect((await stack.sql.query(`select private.fold_usage()::int as n`)).rows[0].n).toBeGreaterThan(0);
    const { rows } = await stack.sql.query(`select * from api.usage_hourly where agent_id = 'roll' order by hour`);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ messages: '2', assistant_messages: '2', errors: '0', input_tokens: '7', output_tokens: '3', total_tokens: '15',
      heartbeat_messages: '1', heartbeat_tokens: '5', tool_calls: '20', tool_errors: '1' });
    expect(Number(rows[0].cost_usd)).toBeCloseTo(0.3);
    expect(Number(rows[0].heartbeat_cost_usd)).toBeCloseTo(0.2);
    // True p50 105 ms, p95 195 ms; the histogram's buckets are 19 % wide.
    expect(rows[0].latency_p50_ms).toBeGreaterThan(105 / 1.2);
    expect(rows[0].latency_p50_ms).toBeLessThan(105 * 1.2);
    expect(rows[0].latency_p95_ms).toBeGreaterThan(195 / 1.2);
    expect(rows[0].latency_p95_ms).toBeLessThan(195 * 1.2);
    expect(rows[1]).toMatchObject({ messages: '1', errors: '1', tool_calls: '0' });
    // Agents read only their own rollup rows through PostgREST.
    const agent = await stack.client('agent', 'roll');
    const other = await stack.client('agent', 'someone');
    expect((await agent.from('usage_hourly').select('hour')).data).toHaveLength(2);
    expect((await other.from('usage_hourly').select('hour').eq('agent_id', 'roll')).data).toHaveLength(0);
  });

  it('activity_feed filters errors only and full text through an index PostgREST uses', async () => {
    await writeMessages(stack.workerUrl, 'feed', 's1', [
      { id: 'f1', role: 'user', content: 'deploy the kangaroo service' },
      { id: 'f2', role: 'assistant', content: 'failed', error_message: 'provider 500' },
    ]);
    await stack.sql.query(`insert into api.tool_calls (agent_id, session_id, id, message_id, result_message_id, name, is_error, started_at)
      values ('feed', 's1', 'ft', 'f1', 'f2', 'exec', true, now())`);
    const viewer = await stack.client('viewer');
    const fts = await viewer.from('activity_feed').select('id').eq('agent_id', 'feed').textSearch('fts', 'kangaroo', { config: 'simple', type: 'websearch' });
    expect(fts.error).toBeNull();
    expect(fts.data!.map((r) => r.id)).toEqual(['f1']);
    const errors = await viewer.from('activity_feed').select('id,tool_error,has_tool_calls').eq('agent_id', 'feed').eq('tool_error', true).order('seq');
    expect(errors.data).toEqual([{ id: 'f1', tool_error: true, has_tool_calls: true }, { id: 'f2', tool_error: true, has_tool_calls: false }]);
    const failed = await viewer.from('activity_feed').select('id').eq('agent_id', 'feed').not('error_message', 'is', null);
    expect(failed.data!.map((r) => r.id)).toEqual(['f2']);
    const plan = await stack.sql.query(`explain select seq from api.activity_feed where fts @@ websearch_to_tsquery('simple', 'kangaroo')`);
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/messages_fts_idx/);
  });

  it('the tool_error flag follows failures in either arrival order, and clears when the failure is corrected', async () => {
    const flag = async (id: string) => (await stack.sql.query(`select tool_error from api.messages where agent_id = 'flags' and id = $1`, [id])).rows[0]?.tool_error;
    // The Gateway reports the failed call before the message that made it is stored.
    await writeMessages(stack.workerUrl, 'flags', 's1', [{ id: 'first', content: 'start' }]);
    await stack.sql.query(`insert into api.tool_calls (agent_id, session_id, id, message_id, name, is_error, started_at) values ('flags', 's1', 'tc1', 'late', 'exec', true, now())`);
    await writeMessages(stack.workerUrl, 'flags', 's1', [{ id: 'late', content: 'made the call' }, { id: 'clean', content: 'no calls' }]);
    expect(await flag('late')).toBe(true);
    expect(await flag('clean')).toBe(false);
    // The same for the tool_result message that carries a failed call's result.
    await stack.sql.query(`insert into api.tool_calls (agent_id, session_id, id, message_id, result_message_id, name, is_error, started_at)
      values ('flags', 's1', 'tc0', 'first', 'late-result', 'exec', true, now())`);
    await writeMessages(stack.workerUrl, 'flags', 's1', [{ id: 'late-result', role: 'tool_result', content: 'exit 1' }, { id: 'other', content: 'unrelated' }]);
    expect(await flag('late-result')).toBe(true);
    expect(await flag('other')).toBe(false);
    // A result merged in later: unknown, then failed, then corrected.
    await writeMessages(stack.workerUrl, 'flags', 's1', [{ id: 'asks', content: 'calls read' }]);
    await stack.sql.query(`insert into api.tool_calls (agent_id, session_id, id, message_id, name, started_at) values ('flags', 's1', 'tc2', 'asks', 'read', now())`);
    expect(await flag('asks')).toBe(false);
    await stack.sql.query(`update api.tool_calls set is_error = true, finished_at = now() where id = 'tc2'`);
    expect(await flag('asks')).toBe(true);
    await stack.sql.query(`update api.tool_calls set is_error = false where id = 'tc2'`);
    expect(await flag('asks')).toBe(false);
    // The table is tiny here, so the planner would scan it: ask whether the index can serve the query at all.
    const client = await stack.sql.connect();
    try {
      await client.query('begin');
      await client.query('set local enable_seqscan = off');
      // PostgREST sends tool_error=is.true as IS TRUE and eq.true as = true: both must reach the partial index.
      for (const test of ['is true', '= true']) {
        const plan = await client.query(`explain select seq from api.activity_feed where tool_error ${test} order by seq desc limit 50`);
        expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), test).toMatch(/messages_tool_errors(_eq)?_seq_idx/);
      }
    } finally {
      await client.query('rollback');
      client.release();
    }
    // The flag changes no usage figure.
    await stack.sql.query('select private.fold_usage()');
    const { rows } = await stack.sql.query(`select sum(messages)::int as n from api.usage_hourly where agent_id = 'flags'`);
    expect(rows[0].n).toBe(6);
    const viewer = await stack.client('viewer');
    const totals = await viewer.from('usage_hourly_total').select('hour,messages,agents').order('hour', { ascending: false }).limit(1);
    expect(totals.error).toBeNull();
    expect(totals.data![0]!.agents).toBeGreaterThanOrEqual(1);
  });

  it('run_cron_job queues a scheduled job for operators (audited), is 403 for viewers and refuses unknown names', async () => {
    const call = async (role: 'operator' | 'viewer', name: string) =>
      fetch(`${stack.restUrl}/rpc/run_cron_job`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await stack.token(role)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name }),
      });
    const ok = await call('operator', 'health_check');
    expect(ok.status).toBe(200);
    const { job_id } = (await ok.json()) as { job_id: number };
    const { rows } = await stack.sql.query(`select task_identifier from graphile_worker.jobs where id = $1`, [job_id]);
    expect(rows[0].task_identifier).toBe('health_check');
    const audit = await stack.sql.query(`select actor_role from api.audit_log where table_name = 'graphile_worker.jobs' and row_key ->> 'id' = $1`, [String(job_id)]);
    expect(audit.rows.map((r) => r.actor_role)).toEqual(['operator']);
    expect((await call('viewer', 'health_check')).status).toBe(403);
    const unknown = await call('operator', 'drop_everything');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/no scheduled job/);
  });

  it('an operator moves a task between two others (move_task) and by PATCH; both persist', async () => {
    const op = await stack.client('operator');
    const made = await op.from('tasks').insert([{ title: 'a', status: 'backlog' }, { title: 'b', status: 'in_progress' }, { title: 'c', status: 'in_progress' }, { title: 'd', status: 'backlog' }]).select('id,title,position');
    expect(made.error).toBeNull();
    const id = Object.fromEntries(made.data!.map((t) => [t.title, t.id as number]));
    const moved = await op.rpc('move_task', { id: id.a, status: 'in_progress', after_id: id.b, before_id: id.c });
    expect(moved.error).toBeNull();
    const column = await op.from('tasks').select('title').eq('status', 'in_progress').in('id', Object.values(id)).order('position');
    expect(column.data!.map((t) => t.title)).toEqual(['b', 'a', 'c']);
    const top = await op.rpc('move_task', { id: id.c, status: 'in_progress', before_id: id.b });
    expect(top.error).toBeNull();
    expect((await op.from('tasks').select('title').eq('status', 'in_progress').in('id', Object.values(id)).order('position')).data!.map((t) => t.title)).toEqual(['c', 'b', 'a']);
    const patch = await op.from('tasks').update({ status: 'done', position: 42 }).eq('id', id.d).select('status,position,completed_at');
    expect(patch.error).toBeNull();
    const { rows } = await stack.sql.query(`select status, position, completed_at from api.tasks where id = $1`, [id.d]);
    expect(rows[0]).toMatchObject({ status: 'done', position: '42' });
    expect(rows[0].completed_at).not.toBeNull();
    const viewer = await stack.client('viewer');
    expect((await viewer.rpc('move_task', { id: id.d, status: 'backlog' })).status).toBe(403);
  });

  it('PostgREST answers a cross-origin preflight from the dashboard origin', async () => {
    const res = await fetch(`${stack.restUrl}/activity_feed`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://127.0.0.1:8080', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization,prefer' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/127\.0\.0\.1:8080)$/);
    expect((res.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('authorization');
  });
});

describe('the dashboard app and /config.json on the functions server', () => {
  it('without a build every app path is a 503 page that says how to build it; /config.json works anyway', async () => {
    const res = await fetch(`${server.url}/tasks`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:web');
    const config = await fetch(`${server.url}/config.json`);
    expect(config.status).toBe(200);
    const port = new URL(server.url).port;
    expect(await config.json()).toEqual({ restUrl: stack.restUrl, functionsUrl: `http://127.0.0.1:${port}` });
    // Behind nginx, PostgREST is /rest/ on the same origin.
    const proxied = await fetch(`${server.url}/config.json`, { headers: { 'X-Forwarded-Host': 'conductor.example.com', 'X-Forwarded-Proto': 'https' } });
    expect(await proxied.json()).toEqual({ restUrl: 'https://conductor.example.com/rest', functionsUrl: 'https://conductor.example.com' });
  });

  it('serves the build: hashed assets cached for a year, app routes fall back to index.html, nothing outside dist', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    fs.mkdirSync(path.join(server.webDist, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(server.webDist, 'index.html'), '<!doctype html><title>Conductor</title><script type="module" src="/assets/index-BXk3f9aQ.js"></script>');
    fs.writeFileSync(path.join(server.webDist, 'assets', 'index-BXk3f9aQ.js'), 'console.log(1)');
    fs.writeFileSync(path.join(server.webDist, '.env'), 'SECRET=1');
    try {
      const index = await fetch(`${server.url}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const asset = await fetch(`${server.url}/assets/index-BXk3f9aQ.js`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const route = await fetch(`${server.url}/sessions/main/abc`);
      expect(route.status).toBe(200);
      expect(await route.text()).toContain('<title>Conductor</title>');
      expect((await fetch(`${server.url}/assets/missing-12345678.js`)).status).toBe(404);
      for (const hostile of ['/.env', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fpackage.json', '/assets/..%2f.env']) {
        const res = await fetch(`${server.url}${hostile}`);
        expect(await res.text(), hostile).not.toContain('SECRET');
      }
      // The functions keep their own 404s and methods.
      expect((await fetch(`${server.url}/functions/v1/nope`)).status).toBe(404);
    } finally {
      fs.rmSync(path.join(server.webDist, 'index.html'));
    }
  });
});

describe('archive and restore keep seq', () => {
  it('a restored message has the seq it had before it was archived', async () => {
    await writeMessages(stack.workerUrl, 'arch', 'old', [{ id: 'a1', content: 'old news', created_at: '2020-01-01T00:00:00Z' }]);
    await stack.sql.query(`update api.sessions set last_message_at = '2020-01-01' where agent_id = 'arch'`);
    await stack.sql.query('select private.fold_usage()');
    const before = (await stack.sql.query(`select seq from api.messages where agent_id = 'arch'`)).rows[0].seq;
    const usage = (await stack.sql.query(`select messages from api.usage_hourly where agent_id = 'arch'`)).rows[0].messages;
    await stack.sql.query(`call private.archive_sessions(interval '30 days', 200, null)`);
    expect((await stack.sql.query(`select seq from private.archived_messages where agent_id = 'arch'`)).rows[0].seq).toBe(before);
    expect((await stack.sql.query(`select count(*)::int as n from api.messages where agent_id = 'arch'`)).rows[0].n).toBe(0);
    await stack.sql.query(`select private.restore_session('arch', 'old')`);
    await stack.sql.query('select private.fold_usage()');
    expect((await stack.sql.query(`select seq from api.messages where agent_id = 'arch'`)).rows[0].seq).toBe(before);
    // Usage is a record of what happened: moving history around counts nothing twice.
    expect((await stack.sql.query(`select messages from api.usage_hourly where agent_id = 'arch'`)).rows[0].messages).toBe(usage);
  });
});
