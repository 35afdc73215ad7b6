// GET /functions/v1/health: the stack's readiness. 200 {status: "ok", parts} while every required
// part (PostgreSQL, PostgREST, the worker queue) is up; 503 {status: "degraded", failing, parts}
// otherwise. Optional parts (Ollama, the Gateway, S3) are listed but never fail readiness.
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { makeS3Client } from '../../lib/s3.ts';
import { probeWorkerQueue } from '../../worker/health/probes.ts';
import { defineFunction, type FunctionDefinition } from '../define.ts';
import { dashboardDeps, type DashboardDeps } from '../dashboard/deps.ts';
import { jsonResponse } from '../http-errors.ts';
import { staffOrLocal } from '../dashboard/session.ts';

export interface HealthPart {
  name: string;
  status: 'up' | 'down' | 'not_configured';
  required: boolean;
  latency_ms: number | null;
  detail: string | null;
  [figure: string]: unknown;
}

const timeoutMs = 2000;

async function part(name: string, required: boolean, probe: () => Promise<{ detail?: string | null; [k: string]: unknown } | void>): Promise<HealthPart> {
  const t0 = performance.now();
  const ms = () => Math.round((performance.now() - t0) * 10) / 10;
  try {
    const extra = await Promise.race([
      probe(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { name, required, latency_ms: ms(), detail: null, ...(extra ?? {}), status: 'up' };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { name, status: 'down', required, latency_ms: ms(), detail: `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` };
  }
}

const skipped = (name: string, variable: string): HealthPart => ({ name, status: 'not_configured', required: false, latency_ms: null, detail: `set ${variable} to check it` });

async function httpOk(url: string): Promise<{ detail: null; http_status: number }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch((err: Error & { cause?: Error & { code?: string; errors?: Array<{ code?: string }> } }) => {
    const c = err.cause;
    const why = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? err.message;
    throw new Error(`GET ${url} failed: ${why}`, { cause: err });
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return { detail: null, http_status: res.status };
}

export async function checkHealth(d: DashboardDeps): Promise<{ ok: boolean; parts: HealthPart[] }> {
  const parts = await Promise.all([
    part('postgres', true, async () => {
      await d.db.query('select 1');
    }),
    d.restAdminUrl ? part('postgrest', true, () => httpOk(`${d.restAdminUrl}/ready`)) : part('postgrest', true, () => httpOk(`${d.restUrl}/`)),
    part('worker', true, async () => {
      const q = await probeWorkerQueue(d.db);
      if (q.status === 'down') throw new Error(q.detail ?? 'the job queue cannot be read');
      return { detail: q.detail, queue_depth: q.metrics.queue_depth, running_jobs: q.metrics.running, failed_jobs: q.metrics.failed_jobs };
    }),
    part('ollama', false, () => httpOk(`${d.ollamaHost.replace(/\/$/, '')}/api/version`)),
    d.gatewayHttpUrl ? part('gateway', false, () => httpOk(`${d.gatewayHttpUrl}/readyz`)) : skipped('gateway', 'OPENCLAW_GATEWAY_URL'),
    d.s3.logsBucket
      ? part('s3', false, async () => {
          const client = makeS3Client(d.s3, { maxAttempts: 1 });
          try {
            await client.send(new HeadBucketCommand({ Bucket: d.s3.logsBucket }), { abortSignal: AbortSignal.timeout(timeoutMs) });
          } finally {
            client.destroy();
          }
        })
      : skipped('s3', 'S3_BUCKET_LOGS'),
  ]);
  return { ok: !parts.some((p) => p.required && p.status !== 'up'), parts };
}

export function healthFunction(deps: () => DashboardDeps = dashboardDeps): FunctionDefinition {
  return defineFunction({
    name: 'health',
    summary: 'GET: readiness of every part (200 ok, 503 degraded listing the failing ones); no token needed',
    methods: ['GET'],
    async handle(request) {
      const d = deps();
      const { ok, parts: all } = await checkHealth(d);
      // From outside without a staff token: the summary only (details name internal hosts and errors).
      const parts = (await staffOrLocal(d, request)) ? all.map(({ name, status, required, latency_ms }) => ({ name, status, required, latency_ms, detail: null })) : all;
      const failing = parts.filter((p) => p.status === 'down').map((p) => p.name);
      return jsonResponse(ok ? 200 : 503, ok ? { status: 'ok', parts, ...(failing.length ? { failing } : {}) } : { status: 'degraded', failing, parts });
    },
  });
}

export default healthFunction();
