// The health probes: each answers up / degraded / down / not_configured with its figures, and
// never throws (a probe that cannot run is itself a finding).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Queryable } from '../db.ts';
import type { WorkerContext } from '../context.ts';
import { hostMetrics } from './host.ts';

export type ProbeStatus = 'up' | 'degraded' | 'down' | 'not_configured';

export interface ProbeResult {
  service: string;
  status: ProbeStatus;
  latencyMs: number | null;
  detail: string | null;
  metrics: Record<string, unknown>;
}

const TIMEOUT_MS = 3000;

async function timed(service: string, fn: () => Promise<Omit<ProbeResult, 'service' | 'latencyMs'>>): Promise<ProbeResult> {
  const t0 = performance.now();
  try {
    const r = await fn();
    return { service, latencyMs: Math.round((performance.now() - t0) * 10) / 10, ...r };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    return { service, status: 'down', latencyMs: Math.round(performance.now() - t0), detail: `${e.message}${why && why !== e.message ? ` (${why})` : ''}`, metrics: {} };
  }
}

const notConfigured = (service: string, variable: string): ProbeResult => ({
  service,
  status: 'not_configured',
  latencyMs: null,
  detail: `set ${variable} to probe it`,
  metrics: {},
});

async function httpProbe(url: string, okText?: RegExp): Promise<Omit<ProbeResult, 'service' | 'latencyMs'>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = (await res.text()).slice(0, 200);
  if (res.ok && (!okText || okText.test(body))) return { status: 'up', detail: null, metrics: { http_status: res.status } };
  return { status: 'down', detail: `GET ${url} answered ${res.status}${body ? `: ${body}` : ''}`, metrics: { http_status: res.status } };
}

export async function probePostgres(db: Queryable): Promise<ProbeResult> {
  return timed('postgres', async () => {
    const { rows } = await db.query<{ used: number; max: number; archiver_failing: boolean; failed_count: string; version: string }>(`
      select (select count(*) from pg_stat_activity)::int as used,
             current_setting('max_connections')::int as max,
             coalesce(a.last_failed_time > coalesce(a.last_archived_time, '-infinity'), false) as archiver_failing,
             a.failed_count, current_setting('server_version') as version
      from pg_stat_archiver a`);
    const r = rows[0]!;
    const share = r.used / r.max;
    const metrics = { connections: r.used, max_connections: r.max, connections_percent: Math.round(share * 1000) / 10, archiver_failed_count: Number(r.failed_count), version: r.version };
    if (r.archiver_failing) return { status: 'degraded', detail: 'WAL archiving is failing: check archive_command / the backup shipper log', metrics };
    if (share > 0.8) return { status: 'degraded', detail: `${r.used} of ${r.max} connections in use: raise max_connections or lower pool sizes`, metrics };
    return { status: 'up', detail: null, metrics };
  });
}

export async function probeWorkerQueue(db: Queryable): Promise<ProbeResult> {
  return timed('worker', async () => {
    const { rows } = await db.query<{ pending: number; running: number; failed: number; oldest_pending_s: number | null }>(`
      select count(*) filter (where locked_at is null and attempts < max_attempts and run_at <= now())::int as pending,
             count(*) filter (where locked_at is not null)::int as running,
             count(*) filter (where attempts >= max_attempts)::int as failed,
             extract(epoch from now() - min(run_at) filter (where locked_at is null and attempts < max_attempts and run_at <= now()))::real as oldest_pending_s
      from graphile_worker.jobs`);
    const r = rows[0]!;
    const metrics = { queue_depth: r.pending, running: r.running, failed_jobs: r.failed, oldest_pending_seconds: r.oldest_pending_s };
    if ((r.oldest_pending_s ?? 0) > 600) return { status: 'degraded', detail: `a job has waited ${Math.round(r.oldest_pending_s!)} s: is the worker running and keeping up?`, metrics };
    if (r.failed > 0) return { status: 'degraded', detail: `${r.failed} job(s) failed for good: see graphile_worker.jobs (last_error)`, metrics };
    return { status: 'up', detail: null, metrics };
  });
}

/** Redis: a bare RESP PING over TCP (no client library for one command). */
function redisPing(url: string): Promise<Omit<ProbeResult, 'service' | 'latencyMs'>> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const fail = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    sock.setTimeout(TIMEOUT_MS, () => fail(new Error(`no answer from Redis at ${u.host} within ${TIMEOUT_MS} ms`)));
    sock.on('error', fail);
    sock.on('connect', () => {
      const auth = u.password ? `AUTH ${decodeURIComponent(u.username || 'default')} ${decodeURIComponent(u.password)}\r\n` : '';
      sock.write(`${auth}PING\r\n`);
    });
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      if (/\+PONG\r\n/.test(buf)) {
        sock.end();
        resolve({ status: 'up', detail: null, metrics: {} });
      } else if (/^-/m.test(buf)) {
        sock.end();
        resolve({ status: 'down', detail: `Redis answered: ${buf.trim()}`, metrics: {} });
      }
    });
  });
}

export interface Activity {
  messages_last_hour: number;
  errors_last_hour: number;
  error_rate_percent: number;
  tokens_last_hour: number;
  cost_usd_last_hour: number;
  tokens_today: number;
  heartbeat_tokens_today: number;
  tokens_today_by_agent: Record<string, number>;
}

/** Error rate and token spend per hour from messages and tool_calls. */
export async function activity(db: Queryable): Promise<Activity> {
  const { rows } = await db.query<{ msgs: number; msg_errors: number; tools: number; tool_errors: number; tokens: string; cost: string }>(`
    select count(*) filter (where role = 'assistant')::int as msgs,
           count(*) filter (where role = 'assistant' and (error_message is not null or stop_reason = 'error'))::int as msg_errors,
           (select count(*) from api.tool_calls where started_at > now() - interval '1 hour')::int as tools,
           (select count(*) from api.tool_calls where started_at > now() - interval '1 hour' and is_error)::int as tool_errors,
           coalesce(sum(total_tokens), 0) as tokens, coalesce(sum(cost_usd), 0) as cost
    from api.messages where created_at > now() - interval '1 hour'`);
  const { rows: today } = await db.query<{ agent_id: string; tokens: string; heartbeat: string }>(`
    select agent_id, coalesce(sum(total_tokens), 0) as tokens, coalesce(sum(total_tokens) filter (where is_heartbeat), 0) as heartbeat
    from api.messages where created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'
    group by agent_id`);
  const r = rows[0]!;
  const events = r.msgs + r.tools;
  const errors = r.msg_errors + r.tool_errors;
  const byAgent: Record<string, number> = {};
  for (const t of today) byAgent[t.agent_id] = Number(t.tokens);
  return {
    messages_last_hour: r.msgs,
    errors_last_hour: errors,
    error_rate_percent: events ? Math.round((1000 * errors) / events) / 10 : 0,
    tokens_last_hour: Number(r.tokens),
    cost_usd_last_hour: Number(r.cost),
    tokens_today: today.reduce((s, t) => s + Number(t.tokens), 0),
    heartbeat_tokens_today: today.reduce((s, t) => s + Number(t.heartbeat), 0),
    tokens_today_by_agent: byAgent,
  };
}

/** Runs every probe (in parallel) and returns one result per service. */
export async function runProbes(db: Queryable, ctx: WorkerContext): Promise<ProbeResult[]> {
  const m = ctx.maintenance;
  // The database probes share one connection: one after the other; the HTTP probes in parallel.
  const postgres = await probePostgres(db);
  const worker = await probeWorkerQueue(db);
  const act = await timed('activity', async () => ({ status: 'up' as const, detail: null, metrics: { ...(await activity(db)) } }));
  const others = await Promise.all([
    ctx.restAdminUrl ? timed('postgrest', () => httpProbe(`${ctx.restAdminUrl}/ready`)) : Promise.resolve(notConfigured('postgrest', 'CLAWBASE_REST_ADMIN_PORT')),
    timed('ollama', () => httpProbe(`${ctx.ollamaHost.replace(/\/$/, '')}/api/version`)),
    m.gatewayConfigured ? timed('gateway', () => httpProbe(`${ctx.gatewayHttpUrl}/readyz`)) : Promise.resolve(notConfigured('gateway', 'OPENCLAW_GATEWAY_URL')),
    m.n8nUrl ? timed('n8n', () => httpProbe(`${m.n8nUrl}/healthz`)) : Promise.resolve(notConfigured('n8n', 'N8N_URL')),
    m.redisUrl ? timed('redis', () => redisPing(m.redisUrl!)) : Promise.resolve(notConfigured('redis', 'REDIS_URL')),
    timed('host', async () => {
      const h = await hostMetrics(existingAncestor(path.dirname(ctx.maintenance.logsDir)));
      return { status: 'up' as const, detail: null, metrics: { ...h } };
    }),
  ]);
  const [postgrest, ...rest] = others;
  return [postgres, postgrest!, worker, ...rest, act];
}

/** The folder itself or its nearest existing parent (statfs needs a path that exists). */
export function existingAncestor(dir: string): string {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}
