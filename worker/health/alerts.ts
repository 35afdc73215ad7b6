// Alert rules and their state: each evaluation says which (rule, subject) pairs fire now; a firing
// pair without an unresolved alert opens one, an unresolved alert whose pair no longer fires is
// resolved. The unique index on (rule, subject) where not resolved makes duplicates impossible.
// Every transition reaches the webhooks through the outbox trigger on api.alerts.
import type { Queryable } from '../db.ts';
import type { MaintenanceConfig } from '../../lib/config.ts';
import type { Activity, ProbeResult } from './probes.ts';

export interface Firing {
  rule: string;
  subject: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  details?: Record<string, unknown>;
}

export interface AlertChanges {
  opened: number;
  resolved: number;
}

/**
 * Applies one evaluation of `rules`: opens what fires, resolves what no longer does. Rules not
 * listed are left alone (a rule that could not be evaluated is not "clear").
 */
export async function applyAlerts(db: Queryable, rules: string[], firing: Firing[]): Promise<AlertChanges> {
  let opened = 0;
  for (const f of firing) {
    const { rowCount } = await db.query(
      `insert into api.alerts (rule, subject, severity, message, details) values ($1, $2, $3, $4, $5)
       on conflict (rule, subject) where status <> 'resolved' do nothing`,
      [f.rule, f.subject, f.severity, f.message, f.details ?? {}],
    );
    opened += rowCount ?? 0;
  }
  const { rowCount } = await db.query(
    `update api.alerts a set status = 'resolved', resolved_at = now()
     where a.status <> 'resolved' and a.rule = any ($1::text[])
       and not exists (select from jsonb_to_recordset($2::jsonb) f(rule text, subject text) where f.rule = a.rule and f.subject = a.subject)`,
    [rules, JSON.stringify(firing.map((f) => ({ rule: f.rule, subject: f.subject })))],
  );
  return { opened, resolved: rowCount ?? 0 };
}

export const healthRules = ['service_down', 'disk_full', 'memory_high', 'error_rate', 'token_budget', 'heartbeat_share', 'backup_failed', 'backup_late', 'sweep_failing', 'sweep_late'];

/** Evaluates the health rules over fresh probe results and what the database records. */
export async function evaluateHealthRules(db: Queryable, probes: ProbeResult[], cfg: MaintenanceConfig): Promise<Firing[]> {
  const firing: Firing[] = [];
  for (const p of probes) {
    if (p.status === 'down') {
      firing.push({ rule: 'service_down', subject: p.service, severity: 'critical', message: `${p.service} is down: ${p.detail ?? 'no detail'}`, details: p.metrics });
    }
  }
  const host = probes.find((p) => p.service === 'host')?.metrics as { disk?: { usedPercent: number; path: string }; memUsedPercent?: number } | undefined;
  if (host?.disk && host.disk.usedPercent > cfg.diskAlertPercent) {
    firing.push({ rule: 'disk_full', subject: host.disk.path, severity: 'critical', message: `disk ${host.disk.path} is ${host.disk.usedPercent}% full (limit ${cfg.diskAlertPercent}%): free space or move archives to S3`, details: host.disk });
  }
  if (host?.memUsedPercent !== undefined && host.memUsedPercent > cfg.memoryAlertPercent) {
    firing.push({ rule: 'memory_high', subject: '', severity: 'warning', message: `memory ${host.memUsedPercent}% in use (limit ${cfg.memoryAlertPercent}%)`, details: { used_percent: host.memUsedPercent } });
  }
  const act = probes.find((p) => p.service === 'activity')?.metrics as Activity | undefined;
  if (act) {
    // Fewer than 20 replies and tool calls in the hour: too few to call a rate.
    if (act.messages_last_hour >= 20 && act.error_rate_percent > cfg.errorRatePercent) {
      firing.push({ rule: 'error_rate', subject: '', severity: 'warning', message: `${act.error_rate_percent}% of replies and tool calls failed in the last hour (limit ${cfg.errorRatePercent}%)`, details: { errors: act.errors_last_hour, rate: act.error_rate_percent } });
    }
    if (cfg.dailyTokenBudget > 0) {
      for (const [agent, tokens] of Object.entries(act.tokens_today_by_agent)) {
        if (tokens > cfg.dailyTokenBudget) {
          firing.push({ rule: 'token_budget', subject: agent, severity: 'warning', message: `agent ${agent} spent ${tokens} tokens today, over the daily budget of ${cfg.dailyTokenBudget}`, details: { tokens, budget: cfg.dailyTokenBudget } });
        }
      }
    }
    if (act.tokens_today > 0) {
      const share = (100 * act.heartbeat_tokens_today) / act.tokens_today;
      if (share > cfg.heartbeatSharePercent) {
        firing.push({ rule: 'heartbeat_share', subject: '', severity: 'warning', message: `OpenClaw heartbeat turns used ${share.toFixed(1)}% of today's tokens (limit ${cfg.heartbeatSharePercent}%): lengthen the heartbeat interval`, details: { share } });
      }
    }
  }
  const { rows: backups } = await db.query<{ kind: string; status: string; error: string | null; last_ok: Date | null }>(`
    select distinct on (kind) kind, status, error,
           (select max(finished_at) from api.backups b2 where b2.kind = b.kind and b2.status = 'succeeded') as last_ok
    from api.backups b where kind in ('base', 'workspace') and status <> 'running' order by kind, started_at desc`);
  for (const b of backups) {
    if (b.status === 'failed') firing.push({ rule: 'backup_failed', subject: b.kind, severity: 'critical', message: `the last ${b.kind} backup failed: ${b.error ?? 'no error recorded'}` });
    const lateMs = cfg.backupIntervalHours * 1.5 * 3600_000;
    if (!b.last_ok || Date.now() - b.last_ok.getTime() > lateMs) {
      firing.push({ rule: 'backup_late', subject: b.kind, severity: 'critical', message: `no successful ${b.kind} backup in ${cfg.backupIntervalHours * 1.5} h (1.5 × CLAWBASE_BACKUP_INTERVAL_HOURS)`, details: { last_ok: b.last_ok } });
    }
  }
  // WAL shipping: three failed runs in a row (S3 down or refusing) while segments pile up locally.
  const { rows: wal } = await db.query<{ status: string; error: string | null }>(
    `select status, error from api.cron_runs where name = 'backup_wal' and parent_id is null and status in ('succeeded', 'failed') order by started_at desc limit 3`,
  );
  if (wal.length === 3 && wal.every((r) => r.status === 'failed')) {
    firing.push({ rule: 'backup_failed', subject: 'wal', severity: 'critical', message: `WAL shipping has failed 3 times in a row: ${wal[0]!.error ?? ''}` });
  }
  // The restore drill found the newest checked base backup unusable.
  const { rows: drill } = await db.query<{ id: string; error: string | null; verify_status: string }>(
    `select id, error, verify_status from api.backups where kind = 'base' and verify_status is not null order by verified_at desc nulls last limit 1`,
  );
  if (drill[0]?.verify_status === 'failed') {
    firing.push({ rule: 'backup_failed', subject: 'drill', severity: 'critical', message: `the restore drill of base backup ${drill[0].id} failed: ${drill[0].error ?? ''}` });
  }
  const { rows: sweep } = await db.query<{ status: string; error: string | null; started_at: Date }>(
    `select status, error, started_at from api.cron_runs where name = 'maintenance_sweep' and parent_id is null order by started_at desc limit 1`,
  );
  const last = sweep[0];
  if (last?.status === 'failed') firing.push({ rule: 'sweep_failing', subject: '', severity: 'warning', message: `the last maintenance sweep failed: ${last.error ?? ''}` });
  // Two slots and a margin: a sweep that has not started in 65 minutes is late (the worker is down or stuck).
  if (last && Date.now() - last.started_at.getTime() > 65 * 60_000) {
    firing.push({ rule: 'sweep_late', subject: '', severity: 'warning', message: `no maintenance sweep since ${last.started_at.toISOString()}: is the worker running?` });
  }
  return firing;
}
