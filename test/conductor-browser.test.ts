// The Conductor dashboard in a real headless Chromium against the real stack (PostgreSQL,
// PostgREST, the functions server serving the freshly built web/dist): sign in, every panel with
// seeded data, a live row arriving while the test writes it, a dragged task whose order survives a
// reload, memory search, a viewer without write controls, phone width, and no console errors.
// Screenshots of every panel go to test-output/screenshots/ (kept by CI as artifacts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DashboardDeps } from '../functions/dashboard/deps.ts';
import { webApp } from '../functions/dashboard/web-app.ts';
import { defineFunction } from '../functions/define.ts';
import { healthFunction } from '../functions/health/index.ts';
import { jsonResponse } from '../functions/http-errors.ts';
import type { RunningHttpServer } from '../functions/http-server.ts';
import { FeedHub } from '../functions/live/feed.ts';
import { liveFunction } from '../functions/live/index.ts';
import { loginFunction } from '../functions/login/index.ts';
import { logoutFunction } from '../functions/logout/index.ts';
import { memorySearch } from '../functions/memory-search/handler.ts';
import { refreshFunction } from '../functions/refresh/index.ts';
import { startFunctionsServer } from '../functions/server.ts';
import { makeOllama } from '../worker/memory/ollama.ts';
import { testDashboardDeps } from './support/dashboard.ts';
import { buildWebApp } from './support/web-build.ts';
import { openDir, startEdge, testDomain } from './support/nginx.ts';
import { audience, startTestStack, type TestStack } from './support/stack.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.join(root, 'test-output', 'screenshots');
const password = 'conductor-test-password';
const operatorEmail = 'operator@example.com';
const viewerEmail = 'viewer@example.com';
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** This run's build of the app (not web/dist: a test must not change the checkout's build). */
let webDist: string;
let stack: TestStack;
let server: RunningHttpServer;
let hub: FeedHub;
let deps: DashboardDeps;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Console errors and warnings and uncaught exceptions of the operator's page (must stay empty). */
const consoleErrors: string[] = [];
const timings: Record<string, number> = {};

async function seed(sql: pg.Pool) {
  await sql.query(`select private.dashboard_user_add($1, $3, 'operator'), private.dashboard_user_add($2, $3, 'viewer')`, [operatorEmail, viewerEmail, password]);
  await sql.query(`
    insert into api.sessions (agent_id, id, session_key, channel, model, source, started_at, last_message_at) values
      ('main', 's-main-1', 'agent:main:telegram:42', 'telegram', 'gpt-5', 'jsonl', now() - interval '3 hours', now() - interval '5 minutes'),
      ('research', 's-res-1', 'agent:research:webchat', 'webchat', 'llama3', 'jsonl', now() - interval '2 hours', now() - interval '20 minutes')`);
  // Thirty messages a session, two hours apart in minutes; one failed turn and one tool call.
  await sql.query(`
    insert into api.messages (agent_id, session_id, id, role, channel, sender, content, model, input_tokens, output_tokens, total_tokens, cost_usd, is_heartbeat, error_message, created_at)
    select s.agent_id, s.id, s.id || '-m' || g,
           case when g % 3 = 0 then 'assistant' when g % 3 = 1 then 'user' else 'tool_result' end,
           s.channel, case when g % 3 = 1 then 'alice' else s.agent_id end,
           case when g = 7 then 'Please check the nightly deploy of the billing service'
                when g = 9 then 'Deploy failed: disk full on the build host'
                else 'Routine message number ' || g || ' about the weekly plan' end,
           case when g % 3 = 0 then s.model end,
           case when g % 3 = 0 then 900 + g end, case when g % 3 = 0 then 100 end, case when g % 3 = 0 then 1000 + g end,
           case when g % 3 = 0 then 0.002 * g end,
           g = 12, case when g = 9 then 'provider error: rate limited' end,
           now() - interval '2 hours' + g * interval '3 minutes'
    from api.sessions s, generate_series(1, 30) g`);
  await sql.query(`
    insert into api.tool_calls (agent_id, session_id, id, message_id, result_message_id, name, arguments, result, is_error, started_at, finished_at) values
      ('main', 's-main-1', 'call-1', 's-main-1-m6', 's-main-1-m8', 'exec', '{"command": "df -h /srv/build"}', '/dev/sda1  100%  /srv/build', false, now() - interval '100 minutes', now() - interval '100 minutes' + interval '850 ms'),
      ('main', 's-main-1', 'call-2', 's-main-1-m9', null, 'browser', '{"url": "https://status.example.com"}', 'timeout after 30 s', true, now() - interval '90 minutes', now() - interval '89 minutes')`);
  await sql.query(`
    insert into api.tasks (title, description, status, kind, position) values
      ('Card A', 'first in backlog', 'backlog', 'todo', 1), ('Card B', '', 'backlog', 'todo', 2), ('Card C', '', 'backlog', 'research', 3),
      ('Card D', 'being worked on', 'in_progress', 'pr_review', 1), ('Card E', '', 'in_progress', 'todo', 2),
      ('Card F', 'shipped', 'done', 'todo', 1)`);
  await sql.query(`
    insert into api.memory_kv (agent_id, key, value, expires_at) values
      ('main', 'user.preferences', '{"theme": "dark", "language": "en"}', now() + interval '7 days'),
      ('main', 'crawl.cache.billing', to_jsonb(repeat('billing invoice ledger ', 3500)), now() + interval '2 days'),
      ('research', 'volvo.notes', '"The red Volvo needs new winter tyres before November"', null)`);
  await sql.query(`
    insert into api.conversation_summaries (agent_id, session_id, summary, method, model, message_count)
    values ('main', 's-main-1', 'Alice asked about the billing deploy; the build host disk was full and was cleaned up.', 'llm', 'llama3', 30)`);
  await sql.query(`
    insert into api.knowledge_docs (agent_id, title, source, source_path, content)
    values ('main', 'Runbook: build host', 'workspace', 'memory/runbook.md', '# Build host\\nClean /srv/build when the disk is full.')`);
  await sql.query(`
    insert into api.health_checks (checked_at, service, status, latency_ms, metrics)
    select now() - g * interval '5 minutes', 'postgres', 'up', 2, jsonb_build_object('connections', 8 + (g % 5), 'max_connections', 100)
    from generate_series(0, 60) g
    union all
    select now() - g * interval '5 minutes', 'postgrest', case when g = 30 then 'down' else 'up' end, 5, '{}'
    from generate_series(0, 60) g`);
  await sql.query(`
    insert into api.alerts (rule, subject, severity, message) values
      ('disk_full', 'build-host', 'critical', 'The build host disk is 97% full: clean /srv/build or grow the volume.')`);
  await sql.query(`
    with sweep as (
      insert into api.cron_runs (name, scheduled_for, started_at, finished_at, status, counts)
      values ('maintenance_sweep', date_bin('30 minutes', now(), '2000-01-01'), now() - interval '10 minutes', now() - interval '10 minutes' + interval '4 s', 'succeeded', '{"deleted": 12}')
      returning id)
    insert into api.cron_runs (name, parent_id, started_at, finished_at, status, counts)
    select 'maintenance_sweep.memory', id, now() - interval '10 minutes', now() - interval '10 minutes' + interval '1 s', 'succeeded', '{"deleted": 12}' from sweep`);
  await sql.query(`
    insert into api.cron_runs (name, started_at, finished_at, status, error)
    values ('health_check', now() - interval '3 minutes', now() - interval '3 minutes' + interval '300 ms', 'failed', 'ollama: connection refused')`);
  await sql.query(`
    insert into api.backups (kind, status, started_at, finished_at, size_bytes, location, verified_at, verify_status, restore_seconds, rpo_seconds)
    values ('base', 'succeeded', now() - interval '6 hours', now() - interval '6 hours' + interval '40 s', 734003200, 's3://clawbase-backups/base/2026-12-01', now() - interval '2 hours', 'ok', 14.2, 48),
           ('wal', 'succeeded', now() - interval '1 hour', now() - interval '1 hour', 3670016, 's3://clawbase-backups/wal/000000010000000000000042', null, null, null, null),
           ('base', 'failed', now() - interval '30 hours', now() - interval '30 hours' + interval '3 s', null, null, null, null, null, null)`);
  // The usage rollup as the collectors leave it after a batch (the worker also folds every minute).
  await sql.query(`select private.fold_usage()`);
}

async function startServer() {
  deps = testDashboardDeps(stack, webDist);
  const ollamaHost = deps.ollamaHost;
  hub = new FeedHub(deps.feedUrl, () => {});
  const get = () => deps;
  const searchDeps = { restUrl: stack.restUrl, ollama: makeOllama({ host: ollamaHost, timeoutMs: 500 }), ollamaHost, embedModel: 'none' };
  const memory = defineFunction({
    name: 'memory',
    summary: 'memory search against the test stack',
    methods: ['POST'],
    async handle(request) {
      const res = await memorySearch(searchDeps, { authorization: request.headers.get('authorization') ?? undefined, body: await request.json() });
      return jsonResponse(res.status, res.body);
    },
  });
  server = await startFunctionsServer({
    host: '127.0.0.1',
    port: 0,
    functions: [loginFunction(get), refreshFunction(get), logoutFunction(get), liveFunction(get, () => hub), healthFunction(get), memory],
    log: () => {},
    fallback: webApp(get),
  });
}

function watchConsole(p: Page, into: string[]) {
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') into.push(`console ${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => into.push(`pageerror: ${e.message}`));
}

async function signIn(p: Page, email: string, next = '/activity') {
  await p.goto(`${server.url}${next}`);
  await p.getByLabel('E-mail').fill(email);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.locator('cb-app header').waitFor();
}

/** expect.poll with room for a loaded CI machine (its default is 1 s). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000, interval: 50 });

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(shots, `${name}.png`) });

/** Task titles of a kanban column, top to bottom. */
const column = (p: Page, status: string) => p.locator(`cb-tasks section[data-status="${status}"] li.card .title`).allTextContents();

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const started = performance.now();
  webDist = await buildWebApp('conductor-web-');
  timings.build_ms = Math.round(performance.now() - started);
  stack = await startTestStack('conductor_browser');
  await seed(stack.sql);
  await startServer();
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  page = await context.newPage();
  watchConsole(page, consoleErrors);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop(1000);
  await hub?.close();
  await deps?.db.end();
  await stack?.stop();
  if (webDist) fs.rmSync(webDist, { recursive: true, force: true });
  if (Object.keys(timings).length) fs.writeFileSync(path.join(root, 'test-output', 'conductor-timings.json'), JSON.stringify(timings, null, 2) + '\n');
});

describe('Conductor in Chromium', () => {
  it('shows the API\'s reason when a sign-in is refused', async () => {
    const p = await context.newPage(); // its console holds the expected 401, so not the watched page
    await p.goto(`${server.url}/tasks`);
    await poll(() => new URL(p.url()).pathname).toBe('/login');
    await p.getByLabel('E-mail').fill(operatorEmail);
    await p.getByLabel('Password').fill('not the password');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('alert').waitFor();
    expect(await p.getByRole('alert').textContent()).toContain('wrong email or password');
    await shot(p, 'login');
    await p.close();
  });

  it('signs an operator in and lands on the activity feed with the newest messages first', async () => {
    await signIn(page, operatorEmail);
    const rows = page.locator('cb-activity li.row');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(50);
    expect(await rows.first().getAttribute('data-id')).toMatch(/-m30$/);
    await poll(() => page.locator('cb-activity [data-live]').getAttribute('data-live')).toBe('live');
    // Keyset paging: the remaining 10 of 60 messages.
    await page.getByRole('button', { name: 'Load older messages' }).click();
    await poll(() => rows.count()).toBe(60);
    await shot(page, 'activity');
  });

  it('measures the page load to first data', async () => {
    const started = Date.now();
    await page.goto(`${server.url}/activity`);
    await page.locator('cb-activity li.row').first().waitFor();
    timings.first_data_ms = Date.now() - started;
    // Recorded, not gated: the 1 s target is bench/dashboard.ts's (CI shares a loaded machine).
    expect(timings.first_data_ms).toBeLessThan(10_000);
  });

  it('sends a panel\'s first query while the app loads, once, and loads only that panel\'s code', async () => {
    const events: string[] = [];
    // A PostgREST query is "query /tasks"; the page itself (also /tasks) and its assets are by path.
    const name = (u: string) => (new URL(u).searchParams.has('select') ? 'query ' : '') + new URL(u).pathname.replace(/-[\w-]{8}\.js$/, '.js');
    const onRequest = (r: { url: () => string }) => events.push(`request ${name(r.url())}`);
    const onFinished = (r: { url: () => string }) => events.push(`finished ${name(r.url())}`);
    page.on('request', onRequest);
    page.on('requestfinished', onFinished);
    try {
      await page.goto(`${server.url}/tasks`);
      await page.locator('cb-tasks li.card').first().waitFor();
    } finally {
      page.off('request', onRequest);
      page.off('requestfinished', onFinished);
    }
    expect(events.filter((e) => e === 'request query /tasks')).toHaveLength(1);
    // Sent before the panel's own code had even arrived: only early.ts can have sent it.
    expect(events.indexOf('request query /tasks')).toBeLessThan(events.indexOf('finished /assets/cb-tasks.js'));
    const scripts = events.filter((e) => e.startsWith('request /assets/') && e.endsWith('.js'));
    expect(scripts.some((e) => e.includes('cb-tasks'))).toBe(true);
    expect(scripts.filter((e) => /cb-(activity|health|memory|cron|backups|session|chart)\.js/.test(e))).toEqual([]);
    // The tests after this one start from the feed.
    await page.goto(`${server.url}/activity`);
    await page.locator('cb-activity li.row').first().waitFor();
  });

  it('shows a message live, without a reload, as the collectors write it (within a second on an idle machine)', async () => {
    await poll(() => page.locator('cb-activity [data-live]').getAttribute('data-live')).toBe('live');
    const writer = new pg.Client({ connectionString: stack.workerUrl });
    await writer.connect();
    const started = Date.now();
    await writer.query('begin');
    await writer.query(`insert into api.messages (agent_id, session_id, id, role, channel, sender, content) values ('main', 's-main-1', 'live-1', 'user', 'telegram', 'alice', 'Live hello from the test')`);
    await writer.query(`select pg_notify('clawbase_activity', '{"source":"test"}')`);
    await writer.query('commit');
    await writer.end();
    const row = page.locator('cb-activity li.row[data-id="live-1"]');
    await row.waitFor({ timeout: 5000 });
    timings.live_ms = Date.now() - started;
    // Typically 80–300 ms here (test-output/conductor-timings.json); the bound leaves room for a loaded CI machine.
    expect(timings.live_ms).toBeLessThan(3000);
    expect(await page.locator('cb-activity li.row').first().getAttribute('data-id')).toBe('live-1');
  });

  it('searches the feed by full text and filters errors only, with the filters in a shareable URL', async () => {
    await page.getByLabel('Search messages').fill('deploy');
    await page.getByLabel('Search messages').press('Enter');
    await poll(() => page.locator('cb-activity li.row').count()).toBe(4); // messages 7 and 9 of both sessions
    expect(page.url()).toContain('q=deploy');
    await page.getByLabel('Errors only').check();
    await poll(() => page.locator('cb-activity li.row').count()).toBe(2);
    // The URL opens the same view.
    await page.goto(page.url());
    await poll(() => page.locator('cb-activity li.row').count()).toBe(2);
    expect(await page.getByLabel('Errors only').isChecked()).toBe(true);
  });

  it('expands a row into its tool calls and opens the whole session', async () => {
    await page.goto(`${server.url}/activity?agent=main&q=disk`);
    const row = page.locator('cb-activity li.row[data-id="s-main-1-m9"]');
    await row.locator('button.summary').click();
    await row.locator('.tool').first().waitFor();
    const detail = await row.locator('.detail').textContent();
    expect(detail).toContain('browser');
    expect(detail).toContain('https://status.example.com');
    expect(detail).toContain('timeout after 30 s');
    await shot(page, 'activity-expanded');
    await row.getByRole('link', { name: 'Open the whole session' }).click();
    await poll(() => new URL(page.url()).pathname).toBe('/sessions/main/s-main-1');
    await poll(() => page.locator('cb-session li').count()).toBe(31);
    await shot(page, 'session');
  });

  it('shows every part\'s health, the usage charts and acknowledges an alert', async () => {
    await page.getByRole('link', { name: 'Health' }).click();
    for (const part of ['postgres', 'postgrest', 'worker', 'ollama']) await page.locator(`cb-health [data-part="${part}"]`).waitFor();
    expect(await page.locator('cb-health [data-part="postgres"] .badge').textContent()).toBe('up');
    expect(await page.locator('cb-health [data-part="ollama"] .badge').textContent()).toBe('down');
    await page.locator('cb-health[data-loaded]').waitFor();
    await poll(() => page.locator('cb-health cb-chart canvas').count()).toBe(6); // tokens, errors, latency, cost, connections, uptime
    const alert = page.locator('cb-health [data-alert]');
    expect(await alert.textContent()).toContain('build host disk is 97% full');
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await alert.locator('.badge.acknowledged').waitFor();
    const { rows } = await stack.sql.query(`select status, acknowledged_by from api.alerts`);
    expect(rows).toEqual([{ status: 'acknowledged', acknowledged_by: operatorEmail }]);
    await shot(page, 'health');
    await page.getByRole('button', { name: '7 days' }).click();
    await poll(() => page.url()).toContain('window=7d');
    await shot(page, 'health-7d');
  });

  it('drags a task into another column between two cards, and the order survives a reload', async () => {
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.locator('cb-tasks li.card').first().waitFor();
    expect(await column(page, 'backlog')).toEqual(['Card A', 'Card B', 'Card C']);
    expect(await column(page, 'in_progress')).toEqual(['Card D', 'Card E']);
    const a = page.locator('cb-tasks li.card', { hasText: 'Card A' });
    const e = page.locator('cb-tasks li.card', { hasText: 'Card E' });
    await a.dragTo(e, { targetPosition: { x: 30, y: 4 } }); // the top edge of E: above it
    await poll(() => column(page, 'in_progress')).toEqual(['Card D', 'Card A', 'Card E']);
    await poll(async () => (await stack.sql.query(`select title from api.tasks where status = 'in_progress' order by position`)).rows.map((r) => r.title))
      .toEqual(['Card D', 'Card A', 'Card E']);
    // Within a column, by keyboard: Card C moves above Card B.
    await page.locator('cb-tasks li.card', { hasText: 'Card C' }).focus();
    await page.keyboard.press('ArrowUp');
    await poll(() => column(page, 'backlog')).toEqual(['Card C', 'Card B']);
    await poll(async () => (await stack.sql.query(`select title from api.tasks where status = 'backlog' order by position`)).rows.map((r) => r.title))
      .toEqual(['Card C', 'Card B']);
    await page.reload();
    await page.locator('cb-tasks li.card').first().waitFor();
    expect(await column(page, 'backlog')).toEqual(['Card C', 'Card B']);
    expect(await column(page, 'in_progress')).toEqual(['Card D', 'Card A', 'Card E']);
    expect(await column(page, 'done')).toEqual(['Card F']);
    await shot(page, 'tasks');
  });

  it('creates and edits a task', async () => {
    await page.getByRole('button', { name: 'New task' }).click();
    const dialog = page.locator('cb-tasks dialog');
    await dialog.getByLabel('Title').fill('Write the release notes');
    await dialog.getByLabel('Column').selectOption('in_progress');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await poll(() => column(page, 'in_progress')).toEqual(['Card D', 'Card A', 'Card E', 'Write the release notes']);
    await page.locator('cb-tasks li.card', { hasText: 'Write the release notes' }).getByRole('button', { name: 'Edit' }).click();
    await dialog.getByLabel('Description').fill('Cover the dashboard');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await poll(async () => (await stack.sql.query(`select description from api.tasks where title = 'Write the release notes'`)).rows[0]?.description).toBe('Cover the dashboard');
  });

  it('browses memory and searches it', async () => {
    await page.getByRole('link', { name: 'Memory' }).click();
    const hot = page.locator('cb-memory td.key', { hasText: 'crawl.cache.billing' });
    await hot.waitFor();
    expect(await page.locator('cb-memory tbody tr').count()).toBe(1); // only the HOT (≥ 64 KB) row
    await page.getByLabel('Search memory').fill('volvo tyres');
    await page.getByRole('button', { name: 'Search' }).click();
    const hit = page.locator('cb-memory .hits li').first();
    await hit.waitFor();
    expect(await hit.textContent()).toContain('volvo.notes');
    expect(page.url()).toContain('q=volvo');
    await shot(page, 'memory');
    for (const [tab, text] of [['Summaries', 'billing deploy'], ['Sessions', 'agent:research:webchat'], ['Knowledge', 'Runbook: build host']] as const) {
      await page.locator('cb-memory nav.tabs').getByRole('link', { name: tab }).click();
      await page.locator('cb-memory', { hasText: text }).waitFor();
    }
    await page.getByRole('button', { name: 'Runbook: build host' }).click();
    await page.locator('cb-memory pre', { hasText: 'Clean /srv/build' }).waitFor();
    await shot(page, 'memory-knowledge');
  });

  it('lists the cron jobs with their last run and history', async () => {
    await page.getByRole('link', { name: 'Cron' }).click();
    const sweep = page.locator('cb-cron tr[data-job="maintenance_sweep"]');
    await sweep.waitFor();
    expect(await sweep.textContent()).toContain('succeeded');
    expect(await page.locator('cb-cron tr[data-job="health_check"]').textContent()).toContain('ollama: connection refused');
    const jobs = (await stack.sql.query(`select count(*)::int as n from api.maintenance_schedule`)).rows[0].n as number;
    expect(await page.getByRole('button', { name: 'Run now' }).count()).toBe(jobs);
    await page.getByRole('button', { name: 'Steps' }).last().click();
    await page.locator('cb-cron td', { hasText: 'maintenance_sweep.memory' }).waitFor();
    await page.locator('cb-cron tr[data-job="health_check"]').getByRole('button', { name: 'Run now' }).click();
    await page.locator('cb-cron [role="status"]', { hasText: 'health_check is queued' }).waitFor();
    await shot(page, 'cron');
  });

  it('shows backups, the last verified restore and the restore command', async () => {
    await page.getByRole('link', { name: 'Backups' }).click();
    await page.locator('cb-backups tbody tr').first().waitFor();
    expect(await page.locator('cb-backups tbody tr').count()).toBe(3);
    expect(await page.locator('cb-backups .fact', { hasText: 'Last verified restore' }).textContent()).toMatch(/ok[\s\S]*restored in 14 s · data-loss window 48 s/);
    expect(await page.locator('cb-backups [data-restore-command]').textContent()).toMatch(/^npx clawbase restore --at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await shot(page, 'backups');
  });

  it('switches to the light theme and keeps it across a reload', async () => {
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await page.reload();
    await page.locator('cb-backups tbody tr').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await shot(page, 'backups-light');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
  });

  it('fits a 390 px phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const panel of ['activity', 'health', 'tasks', 'memory', 'cron', 'backups']) {
      await page.goto(`${server.url}/${panel}`);
      await page.locator(`cb-${panel}`).waitFor();
      await page.waitForTimeout(500); // data in (the live stream never lets the network idle)
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${panel} scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(0);
      await shot(page, `phone-${panel}`);
    }
    await page.setViewportSize({ width: 1366, height: 768 });
  });

  it('refreshes the access token before it expires, rotating the refresh token', async () => {
    const before = await page.evaluate(() => JSON.parse(localStorage.getItem('conductor.session')!) as { refreshToken: string; accessToken: string; expiresAt: number });
    // Pretend the token has 61 s left: the app refreshes a minute before expiry, i.e. at once.
    await page.evaluate((s) => localStorage.setItem('conductor.session', JSON.stringify({ ...s, expiresAt: Date.now() + 61_000 })), before);
    await page.goto(`${server.url}/activity`);
    await poll(() => page.evaluate(() => (JSON.parse(localStorage.getItem('conductor.session')!) as { refreshToken: string }).refreshToken))
      .not.toBe(before.refreshToken);
    const after = await page.evaluate(() => JSON.parse(localStorage.getItem('conductor.session')!) as { accessToken: string; expiresAt: number });
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.expiresAt).toBeGreaterThan(Date.now() + 23 * 3600_000);
    // The new token works, and the used refresh token is spent.
    await page.locator('cb-activity li.row').first().waitFor();
    const reuse = await fetch(`${server.url}/functions/v1/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: before.refreshToken }) });
    expect(reuse.status).toBe(401);
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await poll(() => new URL(page.url()).pathname).toBe('/login');
    await page.goto(`${server.url}/tasks`);
    await poll(() => new URL(page.url()).pathname).toBe('/login');
  });

  it('gives a viewer no control that writes', async () => {
    const viewerContext = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const v = await viewerContext.newPage();
    const errors: string[] = [];
    watchConsole(v, errors);
    await signIn(v, viewerEmail, '/tasks');
    await v.locator('cb-tasks li.card').first().waitFor();
    expect(await v.getByRole('button', { name: 'New task' }).count()).toBe(0);
    expect(await v.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await v.locator('cb-tasks li.card[draggable="true"]').count()).toBe(0);
    await v.locator('cb-tasks li.card', { hasText: 'Card B' }).focus();
    await v.keyboard.press('ArrowUp');
    await shot(v, 'viewer-tasks');
    await v.getByRole('link', { name: 'Health' }).click();
    await v.locator('cb-health [data-alert]').waitFor();
    expect(await v.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    await v.getByRole('link', { name: 'Cron' }).click();
    await v.locator('cb-cron tr[data-job]').first().waitFor();
    expect(await v.getByRole('button', { name: 'Run now' }).count()).toBe(0);
    const { rows } = await stack.sql.query(`select title from api.tasks where status = 'backlog' order by position`);
    expect(rows.map((r) => r.title)).toEqual(['Card C', 'Card B']);
    expect(errors).toEqual([]);
    await viewerContext.close();
  });

  it('logged no console errors or warnings on the operator\'s page', () => {
    expect(consoleErrors).toEqual([]);
  });
});

describe('Conductor behind the production nginx edge', () => {
  it('works on one origin under the edge\'s strict CSP: sign in, the live feed, charts, no console error', async () => {
    // The edge serves web/dist as static files (its own copy, readable by nginx's workers) and
    // proxies /rest/ and /functions/; /config.json is then the SPA fallback, and the app uses /rest.
    const root = openDir(fs.mkdtempSync(path.join(inject('cluster').tmpRoot, 'conductor-edge-')));
    const dashboard = openDir(path.join(root, 'dashboard'));
    fs.cpSync(webDist, dashboard, { recursive: true });
    for (const entry of fs.readdirSync(dashboard, { recursive: true, withFileTypes: true })) {
      fs.chmodSync(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
    }
    const edge = await startEdge(path.join(root, 'edge'), {
      CLAWBASE_REST_UPSTREAM: new URL(stack.restUrl).host,
      CLAWBASE_FUNCTIONS_UPSTREAM: `127.0.0.1:${server.port}`,
      CLAWBASE_DASHBOARD_ROOT: dashboard,
      CLAWBASE_EDGE_RATE: '1000r/s',
      CLAWBASE_EDGE_BURST: '1000',
    });
    const edgeBrowser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', `--host-resolver-rules=MAP *.${testDomain} 127.0.0.1`],
    });
    try {
      const ctx = await edgeBrowser.newContext({ viewport: { width: 1366, height: 768 }, ignoreHTTPSErrors: true });
      const p = await ctx.newPage();
      const errors: string[] = [];
      watchConsole(p, errors);
      const origin = `https://conductor.${testDomain}:${edge.httpsPort}`;
      await p.goto(`${origin}/activity`);
      await p.getByLabel('E-mail').fill(operatorEmail);
      await p.getByLabel('Password').fill(password);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.locator('cb-activity li.row').first().waitFor();
      await poll(() => p.locator('cb-activity [data-live]').getAttribute('data-live')).toBe('live');
      await stack.sql.query(`insert into api.messages (agent_id, session_id, id, role, content) values ('main', 's-main-1', 'edge-live-1', 'user', 'Through the edge')`);
      await stack.sql.query(`notify clawbase_activity`);
      await p.locator('cb-activity li.row[data-id="edge-live-1"]').waitFor();
      await p.getByRole('link', { name: 'Health' }).click();
      await p.locator('cb-health[data-loaded]').waitFor();
      await poll(() => p.locator('cb-health cb-chart canvas').count()).toBe(6);
      expect(await p.locator('cb-health [data-part="postgres"] .badge').textContent()).toBe('up');
      await shot(p, 'edge-health');
      expect(errors).toEqual([]);
      await ctx.close();
    } finally {
      await edgeBrowser.close();
      await edge.stop();
    }
  });
});
