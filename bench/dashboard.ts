// The Conductor dashboard's queries at scale: every panel's request through the real PostgREST
// (as a viewer: JWT, role switch, RLS) next to the same SQL through pg doing PostgREST's
// per-request transaction (BEGIN; set role and claims; select as JSON; COMMIT), which is the fair
// physical limit (NOTES.md). Also the /metrics scrape and the live feed's keyset read.
//   full:  1M messages in 10k sessions over 7 days, 10 agents, 5 channels, ~33k tool calls
//   quick: 100k messages (1k sessions), ~3.3k tool calls
// Target: each panel query p95 ≤ 50 ms.
//
// The browser half (first data in Chromium, gzipped JS) belongs to the SPA: see browserFigures().
import fs from 'node:fs';
import pg from 'pg';
import type { DashboardDeps } from '../functions/dashboard/deps.ts';
import { webApp } from '../functions/dashboard/web-app.ts';
import { collectMetrics, metricsFunction } from '../functions/metrics/index.ts';
import { startFunctionsServer } from '../functions/server.ts';
import { loginFunction } from '../functions/login/index.ts';
import { refreshFunction } from '../functions/refresh/index.ts';
import { logoutFunction } from '../functions/logout/index.ts';
import { liveFunction } from '../functions/live/index.ts';
import { healthFunction } from '../functions/health/index.ts';
import { FeedHub } from '../functions/live/feed.ts';
import { loadConfig } from '../lib/config.ts';
import { isMain, machine, percentile, runStandalone, type BenchOptions, type BenchReport, type Figure } from './lib.ts';
import { startBenchStack } from './stack.ts';
import { buildWebApp } from '../test/support/web-build.ts';
import { measureBrowser } from './dashboard-browser.ts';

const targetMs = 50;
const feedColumns = 'seq,agent_id,session_id,id,created_at,role,channel,sender,content,model,total_tokens,cost_usd,is_heartbeat,error_message,has_tool_calls,tool_error';

interface Panel {
  name: string;
  /** The request the SPA makes (path and query below PostgREST's root). */
  rest: string;
  /** The same rows in SQL (run as the viewer, like PostgREST would). */
  sql: string;
}

/** What the SPA engineer's browser measurements get to work with. */
export interface DashboardBenchContext {
  opts: BenchOptions;
  /** PostgREST and the functions server (which also serves the app and /config.json). */
  restUrl: string;
  functionsUrl: string;
  /** A dashboard user that exists in the seeded database. */
  login: { email: string; password: string };
  /** A viewer JWT, for requests outside the login flow. */
  viewerToken: string;
  /** This run's build of the app, the one the functions server serves. */
  webDist: string;
  messages: number;
}

/** The browser half: first data of every panel in Chromium and the gzipped JS (bench/dashboard-browser.ts). */
export async function browserFigures(ctx: DashboardBenchContext): Promise<{ figures: Figure[]; notes: string[] }> {
  return measureBrowser(ctx);
}

async function seed(owner: pg.Client, messages: number, log: (line: string) => void): Promise<void> {
  const sessions = Math.ceil(messages / 100);
  await owner.query(`insert into api.agents (id) select 'agent' || a from generate_series(1, 10) a`);
  await owner.query(
    `insert into api.sessions (agent_id, id, channel, source, started_at)
     select 'agent' || (s % 10 + 1), 's' || s, (array['telegram','webchat','cli','discord','slack'])[s % 5 + 1], 'jsonl', now() - interval '7 days'
     from generate_series(0, $1 - 1) s`,
    [sessions],
  );
  // The full-text GIN is built once after the load (NOTES.md: maintaining it row by row costs most of the load rate),
  // then given back the statistics target its migration set.
  const { rows: [fts] } = await owner.query(`select attstattarget from pg_attribute where attrelid = 'api.messages_fts_idx'::regclass and attnum = 1`);
  await owner.query(`drop index api.messages_fts_idx`);
  const chunk = 50_000;
  for (let from = 0; from < messages; from += chunk) {
    const to = Math.min(messages, from + chunk) - 1;
    await owner.query(
      `insert into api.messages (agent_id, session_id, id, role, channel, sender, content, model, input_tokens, output_tokens,
                                 total_tokens, cost_usd, error_message, is_heartbeat, source, created_at)
       select 'agent' || ((n / 100) % 10 + 1), 's' || (n / 100), 'm' || n,
              (array['user','assistant','tool_result'])[n % 3 + 1],
              (array['telegram','webchat','cli','discord','slack'])[(n / 100) % 5 + 1],
              case n % 3 when 0 then 'user' || (n % 50) when 1 then 'agent' else 'exec' end,
              format('note %s about kw%s and kw%s in topic kw%s with the usual words about the garden and the weekly plan', n, (n::bigint * 7919) % 5000, (n::bigint * 104729) % 20000, n % 97),
              case when n % 3 = 1 then 'claude-sonnet' end,
              case when n % 3 = 1 then 800 + n % 400 end, case when n % 3 = 1 then 100 + n % 200 end,
              case when n % 3 = 1 then 900 + n % 600 end, case when n % 3 = 1 then 0.001 * (n % 7) end,
              case when n % 3 = 1 and n % 50 = 1 then 'provider returned 529 overloaded' end,
              n % 3 = 1 and n % 20 = 7, 'jsonl',
              now() - interval '7 days' + (n::double precision / $3) * interval '7 days'
       from generate_series($1::int, $2::int) n`,
      [from, to, messages],
    );
    await owner.query(
      `insert into api.tool_calls (agent_id, session_id, id, message_id, result_message_id, name, is_error, started_at, finished_at)
       select 'agent' || ((n / 100) % 10 + 1), 's' || (n / 100), 'c' || n, 'm' || n, 'm' || (n + 1),
              (array['exec','read','write','browser','web_search'])[n % 5 + 1], (n / 30) % 20 = 3,
              now() - interval '7 days' + (n::double precision / $3) * interval '7 days',
              now() - interval '7 days' + (n::double precision / $3) * interval '7 days' + (n % 3000) * interval '1 ms'
       from generate_series($1::int, $2::int) n where n % 30 = 1`,
      [from, to, messages],
    );
    log(`  ${(to + 1).toLocaleString('en')} messages`);
  }
  const f = performance.now();
  await owner.query(`select private.fold_usage()`);
  log(`  usage folded into usage_hourly in ${((performance.now() - f) / 1000).toFixed(1)} s`);
  const t = performance.now();
  await owner.query(`set maintenance_work_mem = '512MB'`);
  await owner.query(`create index messages_fts_idx on api.messages using gin (to_tsvector('simple', coalesce(content, '')))`);
  if (fts?.attstattarget > 0) await owner.query(`alter index api.messages_fts_idx alter column 1 set statistics ${Number(fts.attstattarget)}`);
  log(`  full-text index built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await owner.query(`vacuum analyze`);
}

async function timeIt(iterations: number, op: () => Promise<void>): Promise<{ p50: number; p95: number; max: number }> {
  for (let i = 0; i < 5; i++) await op();
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await op();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), max: ms.at(-1)! };
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const messages = opts.quick ? 100_000 : 1_000_000;
  const iterations = opts.quick ? 60 : 200;
  const stack = await startBenchStack({ max_wal_size: '4GB', shared_buffers: '256MB' });
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const owner = new pg.Client({ connectionString: stack.ownerUrl });
    await owner.connect();
    closers.push(() => owner.end());
    opts.log(`seeding ${messages.toLocaleString('en')} messages…`);
    const s0 = performance.now();
    await seed(owner, messages, opts.log);
    const seedSeconds = (performance.now() - s0) / 1000;
    const email = 'bench@example.com';
    const password = 'bench password that is long';
    await owner.query(`select private.dashboard_user_add($1, $2, 'operator')`, [email, password]);
    await owner.query(`insert into api.tasks (title, status) select 'task ' || i, (array['backlog','in_progress','done'])[i % 3 + 1] from generate_series(1, 300) i`);
    const { rows: [mid] } = await owner.query<{ seq: string; hour24: string; day7: string; msg: string }>(
      `select (select max(seq) / 2 from api.messages)::text as seq, (now() - interval '24 hours')::text as hour24,
              (now() - interval '7 days')::text as day7, (select message_id from api.tool_calls order by started_at desc limit 1) as msg`,
    );
    const from = new Date(Date.now() - 6 * 3600_000).toISOString();
    const to = new Date(Date.now() - 5 * 3600_000).toISOString();
    const q = (s: string) => encodeURIComponent(s);

    const panels: Panel[] = [
      { name: 'feed: newest 50', rest: `/activity_feed?select=${feedColumns}&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed order by seq desc limit 50` },
      { name: 'feed: next page (keyset)', rest: `/activity_feed?select=${feedColumns}&seq=lt.${mid!.seq}&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed where seq < ${mid!.seq} order by seq desc limit 50` },
      { name: 'feed: one agent', rest: `/activity_feed?select=${feedColumns}&agent_id=eq.agent3&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed where agent_id = 'agent3' order by seq desc limit 50` },
      { name: 'feed: channel + role', rest: `/activity_feed?select=${feedColumns}&channel=eq.discord&role=eq.assistant&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed where channel = 'discord' and role = 'assistant' order by seq desc limit 50` },
      { name: 'feed: time range', rest: `/activity_feed?select=${feedColumns}&created_at=gte.${q(from)}&created_at=lt.${q(to)}&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed where created_at >= '${from}' and created_at < '${to}' order by seq desc limit 50` },
      { name: 'feed: errors only', rest: `/activity_feed?select=${feedColumns}&error_message=not.is.null&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed where error_message is not null order by seq desc limit 50` },
      { name: 'feed: tool errors', rest: `/activity_feed?select=${feedColumns}&tool_error=is.true&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed where tool_error is true order by seq desc limit 50` },
      { name: 'feed: full-text search', rest: `/activity_feed?select=${feedColumns}&fts=wfts(simple).kw4242&order=seq.desc&limit=50`, sql: `select ${feedColumns} from api.activity_feed where fts @@ websearch_to_tsquery('simple', 'kw4242') order by seq desc limit 50` },
      { name: 'feed: expand tool calls', rest: `/tool_calls?message_id=eq.${mid!.msg}`, sql: `select * from api.tool_calls where message_id = '${mid!.msg}'` },
      { name: 'health: usage 24 h, all agents', rest: `/usage_hourly_total?hour=gte.${q(mid!.hour24)}&order=hour`, sql: `select * from api.usage_hourly_total where hour >= '${mid!.hour24}' order by hour` },
      { name: 'health: usage 7 d, all agents', rest: `/usage_hourly_total?hour=gte.${q(mid!.day7)}&order=hour`, sql: `select * from api.usage_hourly_total where hour >= '${mid!.day7}' order by hour` },
      { name: 'health: usage 24 h by agent', rest: `/usage_hourly?hour=gte.${q(mid!.hour24)}&order=hour,agent_id`, sql: `select * from api.usage_hourly where hour >= '${mid!.hour24}' order by hour, agent_id` },
      { name: 'health: usage 7 d of one agent', rest: `/usage_hourly?agent_id=eq.agent3&hour=gte.${q(mid!.day7)}&order=hour`, sql: `select * from api.usage_hourly where agent_id = 'agent3' and hour >= '${mid!.day7}' order by hour` },
      { name: 'health: latest checks', rest: `/health_checks?order=checked_at.desc&limit=50`, sql: `select * from api.health_checks order by checked_at desc limit 50` },
      { name: 'alerts: unresolved', rest: `/alerts?status=neq.resolved&order=opened_at.desc`, sql: `select * from api.alerts where status <> 'resolved' order by opened_at desc` },
      { name: 'tasks: board', rest: `/tasks?order=status,position`, sql: `select * from api.tasks order by status, position` },
      { name: 'cron: schedule', rest: `/maintenance_schedule`, sql: `select * from api.maintenance_schedule` },
    ];

    const rest = await stack.startRest();
    const token = await stack.token('viewer');
    const claims = JSON.stringify({ role: 'viewer', aud: 'clawbase' });
    const txPool = new pg.Pool({ connectionString: stack.authenticatorUrl, max: 2 });
    closers.push(() => txPool.end());
    const viaPg = async (sql: string) => {
      const client = await txPool.connect();
      try {
        await client.query('begin');
        await client.query(`select set_config('search_path', 'api', true), set_config('role', 'viewer', true), set_config('request.jwt.claims', $1, true)`, [claims]);
        await client.query(`select coalesce(json_agg(t), '[]')::text from (${sql}) t`);
        await client.query('commit');
      } finally {
        client.release();
      }
    };
    const figures: Figure[] = [];
    const plans: string[] = [];
    for (const p of panels) {
      const res = await fetch(`${rest.url}${p.rest}`, { headers: { Authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`${p.name}: GET ${p.rest} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      const rows = ((await res.json()) as unknown[]).length;
      const viaRest = await timeIt(iterations, async () => {
        const r = await fetch(`${rest.url}${p.rest}`, { headers: { Authorization: `Bearer ${token}` } });
        await r.arrayBuffer();
        if (!r.ok) throw new Error(`${r.status}`);
      });
      const direct = await timeIt(iterations, () => viaPg(p.sql));
      figures.push({
        name: `${p.name} via PostgREST p95`,
        value: viaRest.p95,
        unit: 'ms',
        limit: { name: 'same SQL, pg per-request transaction p95', value: direct.p95 },
        ratio: direct.p95 / viaRest.p95,
        target: { text: `p95 ≤ ${targetMs} ms`, met: viaRest.p95 <= targetMs },
        extra: { rows, p50: viaRest.p50, max: viaRest.max, pg_p50: direct.p50 },
      });
      opts.log(`  ${p.name}: PostgREST p95 ${viaRest.p95.toFixed(1)} ms, pg p95 ${direct.p95.toFixed(1)} ms, ${rows} rows`);
      if (viaRest.p95 > targetMs) {
        const plan = await owner.query(`explain (analyze, buffers off, costs off) ${p.sql}`);
        plans.push(`${p.name}: ${plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join(' / ').slice(0, 600)}`);
      }
    }

    // The functions server: /metrics (and the app with /config.json, for the browser half).
    const workerPool = new pg.Pool({ connectionString: stack.workerUrl, max: 4 });
    closers.push(() => workerPool.end());
    const defaults = loadConfig({});
    // The app is built from this checkout's source for the run (as the browser test does): a
    // web/dist left from an older build, or none on a fresh checkout, would measure the wrong thing.
    const webDist = await buildWebApp('clawbase-bench-web-');
    closers.push(async () => fs.rmSync(webDist, { recursive: true, force: true }));
    const deps: DashboardDeps = {
      db: workerPool, feedUrl: stack.authenticatorUrl, jwtSecret: stack.jwtSecret, audience: 'clawbase', restUrl: rest.url, restAdminUrl: rest.adminUrl,
      publicRestUrl: rest.url, publicFunctionsUrl: undefined, restPort: Number(new URL(rest.url).port), ollamaHost: 'http://127.0.0.1:9',
      gatewayHttpUrl: undefined, s3: defaults.s3, webDist, log: () => {},
    };
    const hub = new FeedHub(stack.authenticatorUrl, () => {});
    closers.push(() => hub.close());
    const get = () => deps;
    const functions = await startFunctionsServer({
      host: '127.0.0.1', port: 0, log: () => {}, fallback: webApp(get),
      functions: [loginFunction(get), refreshFunction(get), logoutFunction(get), liveFunction(get, () => hub), metricsFunction(get), healthFunction(get)],
    });
    closers.push(() => functions.stop(1000));
    const scrape = await timeIt(iterations, async () => {
      const r = await fetch(`${functions.url}/functions/v1/metrics`);
      await r.text();
    });
    const collect = await timeIt(iterations, async () => void (await collectMetrics(deps)));
    figures.push({
      name: 'GET /functions/v1/metrics p95',
      value: scrape.p95,
      unit: 'ms',
      limit: { name: 'the same rollup queries in-process p95', value: collect.p95 },
      ratio: collect.p95 / scrape.p95,
      target: { text: `p95 ≤ ${targetMs} ms`, met: scrape.p95 <= targetMs },
      extra: { p50: scrape.p50 },
    });
    // The health panel's first data: every part probed (in parallel, 2 s timeout each).
    let parts: { name: string; latency_ms: number | null; status: string }[] = [];
    const health = await timeIt(Math.min(iterations, 30), async () => {
      const r = await fetch(`${functions.url}/functions/v1/health`);
      parts = ((await r.json()) as { parts: typeof parts }).parts;
    });
    figures.push({
      name: 'GET /functions/v1/health p95',
      value: health.p95,
      unit: 'ms',
      target: { text: `p95 ≤ ${targetMs} ms`, met: health.p95 <= targetMs },
      extra: { p50: health.p50, ...Object.fromEntries(parts.map((p) => [`${p.name}_ms`, p.latency_ms ?? p.status])) },
    });
    // The live feed's read: what one wake-up of one stream costs (keyset, role-scoped).
    const viewer = { role: 'viewer' as const, claims: { role: 'viewer', aud: 'clawbase' }, exp: Math.floor(Date.now() / 1000) + 3600 };
    const head = await hub.head(viewer);
    const feedRead = await timeIt(iterations, async () => void (await hub.after(viewer, head - 50, 500)));
    figures.push({
      name: 'live feed keyset read of the last 50 rows p95',
      value: feedRead.p95,
      unit: 'ms',
      target: { text: `p95 ≤ ${targetMs} ms`, met: feedRead.p95 <= targetMs },
      extra: { p50: feedRead.p50 },
    });

    const notes = [
      'ratio = pg per-request transaction p95 / PostgREST p95 (100% means PostgREST adds nothing over the database work itself).',
      ...plans.map((p) => `plan of a slow panel: ${p}`),
    ];
    try {
      const browser = await browserFigures({
        opts, restUrl: rest.url, functionsUrl: functions.url, login: { email, password }, viewerToken: token, webDist, messages,
      });
      figures.push(...browser.figures);
      notes.push(...browser.notes);
    } catch (err) {
      // The query figures above stand on their own.
      notes.push(`browser figures failed: ${(err as Error).message.split('\n')[0]}`);
    }
    const { rows: [size] } = await owner.query<{ messages: string; usage_rows: string }>(
      `select (select count(*) from api.messages)::text as messages, (select count(*) from api.usage_hourly)::text as usage_rows`);
    return {
      bench: 'dashboard',
      setup: { messages: Number(size!.messages), usage_hourly_rows: Number(size!.usage_rows), seed_s: Number(seedSeconds.toFixed(0)), iterations, concurrency: 1, ...machine() },
      figures,
      notes,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await stack.stop();
  }
}

if (isMain(import.meta.url)) await runStandalone(run);
