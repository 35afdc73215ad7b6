// One health check: every probe stored in health_checks, then the alert rules applied.
import type { Queryable } from '../db.ts';
import type { WorkerContext } from '../context.ts';
import { applyAlerts, evaluateHealthRules, healthRules, type AlertChanges } from './alerts.ts';
import { runProbes, type ProbeResult } from './probes.ts';

export interface HealthCheckResult {
  probes: ProbeResult[];
  alerts: AlertChanges;
}

export async function runHealthCheck(db: Queryable, ctx: WorkerContext): Promise<HealthCheckResult> {
  const probes = await runProbes(db, ctx);
  await db.query(
    `insert into api.health_checks (service, status, latency_ms, detail, metrics)
     select service, status, latency_ms, detail, metrics from jsonb_to_recordset($1::jsonb)
       as p(service text, status text, latency_ms real, detail text, metrics jsonb)`,
    [JSON.stringify(probes.map((p) => ({ service: p.service, status: p.status, latency_ms: p.latencyMs, detail: p.detail, metrics: p.metrics })))],
  );
  const firing = await evaluateHealthRules(db, probes, ctx.maintenance);
  const alerts = await applyAlerts(db, healthRules, firing);
  return { probes, alerts };
}

export function healthCounts(r: HealthCheckResult): Record<string, number> {
  const counts: Record<string, number> = { probes: r.probes.length, alerts_opened: r.alerts.opened, alerts_resolved: r.alerts.resolved };
  for (const p of r.probes) counts[p.status] = (counts[p.status] ?? 0) + 1;
  return counts;
}
