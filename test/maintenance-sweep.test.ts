// The maintenance sweep with a real worker, a real database, s3rver, the fake Ollama and a temp
// git workspace: every step does its job, is recorded, and a failing step neither skips the
// others nor stays failed once its cause is gone.
import fs from 'node:fs';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { quickAddJob, type Runner } from 'graphile-worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../worker/main.ts';
import { crontabPath } from '../worker/main.ts';
import { startFakeOllama, type FakeOllama } from './fixtures/fake-ollama.ts';
import { git, gitInit, makeFolders, testContext, waitFor, writeOld, type Folders } from './support/maintenance.ts';
import { startS3, type TestS3 } from './support/s3.ts';
import { startTestStack, type TestStack } from './support/stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

let stack: TestStack;
let ollama: FakeOllama;
let s3: TestS3;
let receiver: WebhookReceiver;
let folders: Folders;
let runner: Runner;
const alertSecret = 'alert-webhook-secret-0123456789';

beforeAll(async () => {
  [stack, ollama, s3, receiver] = await Promise.all([startTestStack('sweep'), startFakeOllama(), startS3('clawbase-logs'), startWebhookReceiver()]);
  folders = makeFolders('sweep');
  const ctx = testContext({
    folders,
    ollamaUrl: ollama.url,
    s3: s3.settings,
    restAdminUrl: stack.restAdminUrl,
    maintenance: { alertWebhookUrl: receiver.url, alertWebhookSecret: alertSecret },
  });
  runner = await startWorker({ connectionString: stack.workerUrl, context: ctx, concurrency: 4, log: (l) => fs.appendFileSync(path.join(folders.root, 'worker.log'), l + '\n') });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await Promise.all([stack?.stop(), ollama?.close(), s3?.close(), receiver?.close()]);
  if (folders && !process.env.KEEP_MAINTENANCE_TMP) fs.rmSync(folders.root, { recursive: true, force: true });
});

const sql = (text: string, params: unknown[] = []) => stack.sql.query(text, params);

async function sweep(steps?: string[]): Promise<{ id: string; status: string; counts: Record<string, string>; error: string | null }> {
  const before = (await sql(`select coalesce(max(id), 0) as id from api.cron_runs where name = 'maintenance_sweep'`)).rows[0].id;
  await quickAddJob({ connectionString: stack.workerUrl }, 'maintenance_sweep', steps ? { steps } : {});
  return waitFor(async () => {
    const { rows } = await sql(`select id, status, counts, error from api.cron_runs where name = 'maintenance_sweep' and id > $1 and status <> 'running'`, [before]);
    return rows[0];
  }, 60_000, 'the sweep to finish');
}

async function seed() {
  await sql(`update private.settings set value = '150000' where key = 'memory_hot_budget_bytes'`);
  const big = (n: number) => JSON.stringify('x'.repeat(n));
  await sql(`insert into api.memory_kv (agent_id, key, value, expires_at) values
    ('a1', 'gone', '1', now() - interval '1 minute'), ('a1', 'kept', '2', now() + interval '1 day')`);
  // HOT rows of ~70 kB: h1 oldest-accessed … h4 newest; the budget (150 kB) keeps the two newest; p1 is pinned.
  for (const [key, ago, pinned] of [['h1', 40, false], ['h2', 30, false], ['h3', 20, false], ['h4', 10, false], ['p1', 50, true]] as const) {
    await sql(`insert into api.memory_kv (agent_id, key, value, pinned, last_accessed_at) values ('a1', $1, $2::jsonb, $3, now() - make_interval(mins => $4))`, [key, big(70_000), pinned, ago]);
  }
  await sql(`insert into api.sessions (agent_id, id, started_at, last_message_at) values
    ('a1', 's-old', now() - interval '45 days', now() - interval '40 days'),
    ('a1', 's-new', now() - interval '1 hour', now())`);
  await sql(`insert into api.messages (agent_id, session_id, id, role, content, created_at) values
    ('a1', 's-old', 'm1', 'user', 'an old question about tides', now() - interval '40 days'),
    ('a1', 's-old', 'm2', 'assistant', 'an old answer about tides', now() - interval '40 days'),
    ('a1', 's-new', 'n1', 'user', 'please plan the garden beds for spring', now() - interval '5 minutes'),
    ('a1', 's-new', 'n2', 'assistant', 'the garden beds get tomatoes and basil', now() - interval '4 minutes')`);
  await sql(`insert into api.tool_calls (agent_id, session_id, id, message_id, name, started_at, finished_at) values
    ('a1', 's-old', 't1', 'm2', 'tide_table', now() - interval '40 days', now() - interval '40 days' + interval '2 seconds')`);
  await sql(`insert into api.conversation_summaries (agent_id, session_id, summary, method, expires_at, last_message_at)
    values ('a1', 's-new', 'an expired summary', 'manual', now() - interval '1 minute', now() - interval '2 days')`);
  // Sign-in rows: two days old and an hour old; a refresh token expired 8 days ago and a live one.
  await sql(`insert into private.login_attempts (at, email, ip, outcome) values
    (now() - interval '2 days', 'old@example.com', '127.0.0.1', 'invalid'), (now() - interval '1 hour', 'new@example.com', '127.0.0.1', 'succeeded')`);
  const { rows: [user] } = await sql(`insert into private.dashboard_users (email, password_hash, role) values ('sweep@example.com', 'x', 'viewer') returning id`);
  await sql(`insert into private.refresh_tokens (user_id, family_id, token_hash, issued_at, expires_at) values
    ($1, gen_random_uuid(), 'old', now() - interval '40 days', now() - interval '8 days'), ($1, gen_random_uuid(), 'live', now(), now() + interval '30 days')`, [user.id]);
  // Logs: an old legacy transcript and a rotated log go to S3; the live log and a fresh transcript stay.
  writeOld(path.join(folders.transcripts, 'main/sessions/old.jsonl'), '{"type":"message"}\n'.repeat(1000), 10);
  writeOld(path.join(folders.logs, 'worker.log.2026-01-01T00-00-00-000Z'), 'rotated log line\n'.repeat(500), 5);
  writeOld(path.join(folders.logs, 'worker.log'), 'live log line\n', 5);
  writeOld(path.join(folders.transcripts, 'main/sessions/fresh.jsonl'), '{"type":"message"}\n', 0);
  // The workspace: a git repository with a new doc, an ignored folder and two secrets.
  gitInit(folders.workspace);
  fs.writeFileSync(path.join(folders.workspace, '.gitignore'), 'scratch/\n');
  fs.mkdirSync(path.join(folders.workspace, 'docs'));
  fs.writeFileSync(path.join(folders.workspace, 'docs/plan.md'), '# Garden plan\n');
  fs.mkdirSync(path.join(folders.workspace, 'scratch'));
  fs.writeFileSync(path.join(folders.workspace, 'scratch/tmp.txt'), 'ignored\n');
  fs.writeFileSync(path.join(folders.workspace, '.env'), 'OPENAI_API_KEY=not-a-real-key\n');
  fs.writeFileSync(path.join(folders.workspace, 'deploy-notes.txt'), 'key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n');
}

describe('maintenance sweep', () => {
  it('runs every step over seeded data and records the run, each step and the next slot', async () => {
    await seed();
    const run = await sweep();
    expect(run.error).toBeNull();
    expect(run).toMatchObject({ status: 'succeeded', counts: { memory: 'succeeded', summaries: 'succeeded', log_flush: 'succeeded', git: 'succeeded', health: 'succeeded', cleanup: 'succeeded' } });
    const { rows: children } = await sql(`select name, status, duration_ms, counts from api.cron_runs where parent_id = $1 order by name`, [run.id]);
    expect(children.map((c) => c.name)).toEqual(['cleanup', 'git', 'health', 'log_flush', 'memory', 'summaries'].map((s) => `maintenance_sweep.${s}`));
    for (const c of children) expect(c.duration_ms).toBeGreaterThanOrEqual(0);
    const counts = Object.fromEntries(children.map((c) => [c.name.split('.')[1], c.counts]));

    // memory: expired gone, HOT pruned oldest-accessed first, pinned kept, old session archived.
    expect(counts.memory).toMatchObject({ expired_memory: 1, expired_summaries: 1, hot_pruned: 2, archived_sessions: 1, archived_messages: 2, archived_tool_calls: 1 });
    const { rows: keys } = await sql(`select key from api.memory_kv where agent_id = 'a1' order by key`);
    expect(keys.map((r) => r.key)).toEqual(['h3', 'h4', 'kept', 'p1']);
    expect((await sql(`select count(*)::int as n from api.messages where session_id = 's-old'`)).rows[0].n).toBe(0);
    expect((await sql(`select count(*)::int as n from private.archived_messages where session_id = 's-old'`)).rows[0].n).toBe(2);
    expect((await sql(`select duration_ms from private.archived_tool_calls where id = 't1'`)).rows[0].duration_ms).toBe(2000);
    // The move is audited once per session, with what went with it; not once per message.
    const { rows: audit } = await sql(`select table_name, actor_role, old_values from api.audit_log where operation = 'DELETE' and (row_key ->> 'session_id' = 's-old' or row_key ->> 'id' = 's-old')`);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ table_name: 'api.sessions', actor_role: 'worker', old_values: { id: 's-old', archived: { to: 'private.archived_sessions', messages: 2, tool_calls: 1 } } });

    // summaries through the fake Ollama.
    const { rows: summaries } = await sql(`select method, model, summary from api.conversation_summaries where session_id = 's-new'`);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ method: 'llm', model: 'fake-chat' });
    expect(ollama.requests.some((r) => r.path === '/api/chat')).toBe(true);

    // log flush: the two old files are in S3 and gone locally; the live log and the fresh transcript stay.
    const keysInS3 = await s3.keys();
    expect(keysInS3).toHaveLength(2);
    expect(keysInS3.some((k) => /^logs\/agents\/main\/sessions\/old\.jsonl\.[0-9a-f]{16}\.gz$/.test(k))).toBe(true);
    expect(fs.existsSync(path.join(folders.transcripts, 'main/sessions/old.jsonl'))).toBe(false);
    expect(fs.existsSync(path.join(folders.logs, 'worker.log'))).toBe(true);
    expect(fs.existsSync(path.join(folders.transcripts, 'main/sessions/fresh.jsonl'))).toBe(true);
    const obj = await s3.client.send(new GetObjectCommand({ Bucket: 'clawbase-logs', Key: keysInS3.find((k) => k.includes('old.jsonl'))! }));
    expect(gunzipSync(Buffer.from(await obj.Body!.transformToByteArray())).toString()).toBe('{"type":"message"}\n'.repeat(1000));

    // git: the doc and .gitignore committed with a message listing them; ignored and secret files not.
    const committed = git(folders.workspace, 'show', '--name-only', '--format=%s%n%b', 'HEAD');
    expect(committed).toContain('docs/plan.md');
    expect(committed).toContain('added .gitignore');
    expect(committed).not.toContain('.env');
    expect(committed).not.toContain('deploy-notes.txt');
    expect(git(folders.workspace, 'ls-files')).not.toMatch(/\.env|deploy-notes|scratch/);
    const { rows: secretAlerts } = await sql(`select subject, status from api.alerts where rule = 'git_secret' order by subject`);
    expect(secretAlerts).toEqual([{ subject: '.env', status: 'open' }, { subject: 'deploy-notes.txt', status: 'open' }]);

    // health snapshot and cleanup.
    const { rows: probes } = await sql(`select service, status from api.health_checks order by service`);
    expect(Object.fromEntries(probes.map((p) => [p.service, p.status]))).toMatchObject({
      postgres: 'up', postgrest: 'up', worker: expect.stringMatching(/up|degraded/), ollama: 'up', gateway: 'not_configured', n8n: 'not_configured', redis: 'not_configured', host: 'up', activity: 'up',
    });
    expect(counts.cleanup).toMatchObject({ temp_files_deleted: 0, login_attempts_deleted: 1, refresh_tokens_deleted: 1 });
    expect((await sql(`select email from private.login_attempts`)).rows).toEqual([{ email: 'new@example.com' }]);
    expect((await sql(`select token_hash from private.refresh_tokens`)).rows).toEqual([{ token_hash: 'live' }]);
    expect(typeof counts.cleanup.disk_used_percent).toBe('number');

    // The schedule shows the next slot of each crontab job.
    const { rows: sched } = await sql(`select name, next_run_at, last_status from api.maintenance_schedule where name = 'maintenance_sweep'`);
    expect(sched[0].last_status).toBe('succeeded');
    const next = new Date(sched[0].next_run_at);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(30 * 60_000);
    expect(next.getUTCMinutes() % 30).toBe(0);

    // A second sweep finds nothing to do and uploads nothing again.
    const again = await sweep();
    expect(again.status).toBe('succeeded');
    expect(await s3.keys()).toEqual(keysInS3);
  }, 120_000);

  it('an operator restores an archived session through the API, with its messages and tool calls', async () => {
    const viewer = await stack.client('viewer');
    const { data: listed, error: listError } = await viewer.from('archived_sessions').select('agent_id, id, message_count');
    expect(listError).toBeNull();
    expect(listed).toEqual([{ agent_id: 'a1', id: 's-old', message_count: 2 }]);
    const { error: denied } = await viewer.rpc('restore_session', { agent_id: 'a1', session_id: 's-old' });
    expect(denied?.message).toMatch(/permission denied/);
    const operator = await stack.client('operator');
    const { data, error } = await operator.rpc('restore_session', { agent_id: 'a1', session_id: 's-old' });
    expect(error).toBeNull();
    expect(data).toEqual({ sessions: 1, messages: 2, tool_calls: 1 });
    const { rows } = await sql(`select id, content from api.messages where session_id = 's-old' order by id`);
    expect(rows).toEqual([{ id: 'm1', content: 'an old question about tides' }, { id: 'm2', content: 'an old answer about tides' }]);
    expect((await sql(`select duration_ms from api.tool_calls where id = 't1'`)).rows[0].duration_ms).toBe(2000);
    expect((await sql(`select count(*)::int as n from private.archived_messages`)).rows[0].n).toBe(0);
    const { error: twice } = await operator.rpc('restore_session', { agent_id: 'a1', session_id: 's-old' });
    expect(twice?.message).toMatch(/not in the archive/);
  });

  it('S3 down: only log_flush fails, the other steps run, an alert opens and is POSTed; S3 back: the retry succeeds and the alert resolves', async () => {
    await s3.stop();
    writeOld(path.join(folders.logs, 'worker.log.2026-02-01T00-00-00-000Z'), 'another rotated log\n'.repeat(100), 3);
    const hooksBefore = receiver.received.length;
    await quickAddJob({ connectionString: stack.workerUrl }, 'maintenance_sweep', { steps: ['log_flush', 'memory', 'cleanup'] });
    const failed = await waitFor(async () => {
      const { rows } = await sql(`select id, status, counts, error from api.cron_runs where name = 'maintenance_sweep' and status = 'failed' order by id desc limit 1`);
      return rows[0];
    }, 60_000, 'the sweep to record the failing step');
    expect(failed.error).toMatch(/^log_flush: /);
    await waitFor(async () => (await sql(`select 1 from api.cron_runs where parent_id = $1 and name = 'maintenance_sweep.cleanup' and status = 'succeeded'`, [failed.id])).rows[0], 30_000, 'cleanup');
    expect((await sql(`select status from api.cron_runs where parent_id = $1 and name = 'maintenance_sweep.memory'`, [failed.id])).rows[0].status).toBe('succeeded');
    const { rows: open } = await sql(`select status, message from api.alerts where rule = 'sweep_step_failed' and subject = 'log_flush'`);
    expect(open).toHaveLength(1);
    expect(open[0].status).toBe('open');
    expect(fs.existsSync(path.join(folders.logs, 'worker.log.2026-02-01T00-00-00-000Z'))).toBe(true);
    const opened = await waitFor(async () => receiver.received.slice(hooksBefore).find((h) => h.json.type === 'alert.opened' && h.json.subject === 'sweep_step_failed:log_flush'), 20_000, 'alert.opened POST');
    expect(opened.headers['x-clawbase-signature']).toBe(`sha256=${createHmac('sha256', alertSecret).update(opened.body).digest('hex')}`);

    await s3.start();
    const settled = await waitFor(async () => {
      const { rows } = await sql(`select status from api.cron_runs where id = $1 and status = 'succeeded'`, [failed.id]);
      return rows[0];
    }, 60_000, 'the retried step to succeed');
    expect(settled.status).toBe('succeeded');
    expect((await sql(`select count(*)::int as n from api.cron_runs where parent_id = $1 and name = 'maintenance_sweep.log_flush'`, [failed.id])).rows[0].n).toBeGreaterThanOrEqual(2);
    expect((await sql(`select status from api.alerts where rule = 'sweep_step_failed' and subject = 'log_flush'`)).rows).toEqual([{ status: 'resolved' }]);
    expect(fs.existsSync(path.join(folders.logs, 'worker.log.2026-02-01T00-00-00-000Z'))).toBe(false);
    expect((await s3.keys()).filter((k) => k.includes('worker.log.2026-02-01'))).toHaveLength(1);
    await waitFor(async () => receiver.received.find((h) => h.json.type === 'alert.resolved' && h.json.subject === 'sweep_step_failed:log_flush'), 20_000, 'alert.resolved POST');
  }, 120_000);

  it('private.schedules mirrors the crontab, so next_run_at is the real next slot', async () => {
    const lines = fs.readFileSync(crontabPath, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    // Slots: `*/N * * * *` every N minutes, `* * * * *` every minute, `M */H * * *` every H hours,
    // `M H * * *` daily at H:M (the offset from 00:00 UTC).
    const fromCrontab = lines.map((l) => {
      const [minute, hour, , , , task] = l.split(/\s+/);
      const m = minute!, h = hour!;
      const minutes = m === '*' ? 1 : m.startsWith('*/') ? Number(m.slice(2)) : h.startsWith('*/') ? Number(h.slice(2)) * 60 : 1440;
      const offset = /^\d+$/.test(m) ? Number(m) + (/^\d+$/.test(h) ? Number(h) * 60 : 0) : 0;
      return { name: task, cron: l.split(/\s+/).slice(0, 5).join(' '), minutes, offset };
    });
    const { rows } = await sql(`select name, cron, extract(epoch from every)::int / 60 as minutes, extract(epoch from slot_offset)::int / 60 as offset from private.schedules order by name`);
    expect(rows).toEqual(fromCrontab.sort((a, b) => a.name!.localeCompare(b.name!)));
  });
});

describe('archive pacing', () => {
  it('rests after each archive batch in proportion to its time when sweep_write_pace is set, and moves the same rows', async () => {
    const archive = async (prefix: string) => {
      await sql(`insert into api.sessions (agent_id, id, started_at, last_message_at)
                 select 'a1', $1 || g, now() - interval '60 days', now() - interval '60 days' from generate_series(1, 3) g`, [prefix]);
      await sql(`insert into api.messages (agent_id, session_id, id, role, content, created_at)
                 select 'a1', $1 || g, $1 || g || '-m' || m, 'user', 'paced message ' || m, now() - interval '60 days'
                 from generate_series(1, 3) g, generate_series(1, 50) m`, [prefix]);
      const worker = new pg.Client({ connectionString: stack.workerUrl });
      await worker.connect();
      try {
        const t0 = performance.now();
        // One session per batch, so there are rests between them. (50 days: s-old, restored above, is 40 days idle.)
        const { rows } = await worker.query(`call private.archive_sessions(interval '50 days', 1, null)`);
        return { ms: performance.now() - t0, archived: rows[0].archived };
      } finally {
        await worker.end();
      }
    };
    const unpaced = await archive('pace-off-');
    await sql(`update private.settings set value = '20' where key = 'sweep_write_pace'`);
    try {
      const paced = await archive('pace-on-');
      expect(paced.archived).toEqual(unpaced.archived);
      expect(paced.archived).toMatchObject({ sessions: 3, messages: 150 });
      // Two rests of ~20 × a batch's own time: far longer than the unpaced run (three batches).
      expect(paced.ms).toBeGreaterThan(5 * unpaced.ms);
    } finally {
      await sql(`update private.settings set value = '0' where key = 'sweep_write_pace'`);
    }
  });
});
