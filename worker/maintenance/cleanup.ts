// Sweep step "cleanup": temp files older than a day, audit rows past retention, old operational
// rows, rotation of our own logs, VACUUM (ANALYZE) of the tables that churned, and a disk report
// that frees space (oldest rotated logs first) and alerts when the disk stays above the limit.
import fs from 'node:fs';
import path from 'node:path';
import type { PoolClient } from 'pg';
import type { MaintenanceConfig } from '../../lib/config.ts';
import { applyAlerts } from '../health/alerts.ts';
import { diskUsage } from '../health/host.ts';
import { existingAncestor } from '../health/probes.ts';

const DAY_MS = 86_400_000;

/** Deletes regular files under `dir` last modified before `cutoffMs`, then empty folders. */
export function deleteOlderThan(dir: string, cutoffMs: number): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      n += deleteOlderThan(p, cutoffMs);
      if (fs.readdirSync(p).length === 0 && fs.statSync(p).mtimeMs < cutoffMs) fs.rmdirSync(p);
    } else if (entry.isFile() && fs.statSync(p).mtimeMs < cutoffMs) {
      fs.rmSync(p);
      n++;
    }
  }
  return n;
}

/**
 * Copy-truncate rotation: a log over `maxBytes` is copied to `<name>.<UTC stamp>` and emptied in
 * place (the writing process keeps its open descriptor); the log flush ships the rotated copies.
 */
export function rotateLogs(dir: string, maxBytes: number, now = new Date()): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (!name.endsWith('.log')) continue;
    const st = fs.statSync(p);
    if (!st.isFile() || st.size <= maxBytes) continue;
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    fs.copyFileSync(p, `${p}.${stamp}`);
    fs.truncateSync(p, 0);
    n++;
  }
  return n;
}

/**
 * Frees disk by deleting the oldest rotated copies of our own logs (`<name>.log.<stamp>`, what
 * rotateLogs leaves; the log flush ships them to S3 first when it is configured) until `overLimit`
 * says the disk is back under its limit. Live logs, transcripts and the database are never touched.
 */
export function freeDiskFromRotatedLogs(dir: string, overLimit: () => boolean): { deleted: number; bytes: number } {
  const freed = { deleted: 0, bytes: 0 };
  if (!fs.existsSync(dir) || !overLimit()) return freed;
  const rotated = fs
    .readdirSync(dir)
    .filter((name) => /\.log\.[^/]+$/.test(name))
    .map((name) => {
      const p = path.join(dir, name);
      const st = fs.statSync(p);
      return { p, mtime: st.mtimeMs, size: st.size, file: st.isFile() };
    })
    .filter((f) => f.file)
    .sort((a, b) => a.mtime - b.mtime);
  for (const f of rotated) {
    if (!overLimit()) break;
    fs.rmSync(f.p);
    freed.deleted++;
    freed.bytes += f.size;
  }
  return freed;
}

/** Tables the sweep deletes from; vacuumed when their dead rows are worth it. */
const churnTables = [
  'api.memory_kv', 'api.conversation_summaries', 'api.search_items', 'api.messages', 'api.tool_calls', 'api.sessions',
  'api.audit_log', 'api.health_checks', 'api.cron_runs', 'api.outbox_events', 'api.webhook_deliveries',
];

export async function cleanupStep(client: PoolClient, cfg: MaintenanceConfig, log: (line: string) => void = () => {}): Promise<Record<string, number | string>> {
  const counts: Record<string, number | string> = {};
  fs.mkdirSync(cfg.tempDir, { recursive: true });
  counts.temp_files_deleted = deleteOlderThan(cfg.tempDir, Date.now() - DAY_MS);
  counts.logs_rotated = rotateLogs(cfg.logsDir, cfg.logRotateBytes);

  // A run whose worker was killed stays "running" for ever: close it after 6 hours, saying why.
  const { rowCount: abandoned } = await client.query(
    `update api.cron_runs set status = 'failed', finished_at = clock_timestamp(),
            error = 'abandoned: no result 6 hours after it started (the process running it died?); later runs are unaffected'
     where status = 'running' and started_at < now() - interval '6 hours'`,
  );
  counts.runs_abandoned = abandoned ?? 0;

  const del = async (table: string, condition: string, skipLocked = true) => {
    const { rows } = await client.query<{ deleted: string }>('call private.delete_in_batches($1::regclass, $2, 5000, $3, 0)', [table, condition, skipLocked]);
    return Number(rows[0]!.deleted);
  };
  const { rows: ret } = await client.query<{ cutoff: string }>(`select (private.setting('audit_retention') #>> '{}') as cutoff`);
  counts.audit_deleted = await del('api.audit_log', `at < now() - ${quoteLiteral(ret[0]!.cutoff)}::interval`, false);
  // The dashboard charts 7 days: health rows are kept 30, delivered events 30, runs 90.
  counts.health_checks_deleted = await del('api.health_checks', `checked_at < now() - interval '30 days'`);
  counts.outbox_deleted = await del('api.outbox_events', `dispatched_at < now() - interval '30 days' and not exists (select from api.webhook_deliveries d where d.event_id = api.outbox_events.id and d.status = 'pending')`);
  counts.cron_runs_deleted = await del('api.cron_runs', `started_at < now() - interval '90 days' and parent_id is null`);
  // Sign-in rows: private.prune_sign_ins decides how long each kind is kept.
  const { rows: signIns } = await client.query<{ login_attempts: string; refresh_tokens: string }>('select * from private.prune_sign_ins()');
  counts.login_attempts_deleted = Number(signIns[0]!.login_attempts);
  counts.refresh_tokens_deleted = Number(signIns[0]!.refresh_tokens);

  // VACUUM (ANALYZE) where at least 10% (or 10,000) of the rows are dead: what this sweep churned.
  const { rows: dead } = await client.query<{ rel: string }>(
    `select schemaname || '.' || relname as rel from pg_stat_user_tables
     where schemaname || '.' || relname = any ($1) and n_dead_tup > least(10000, greatest(100, n_live_tup / 10))`,
    [churnTables],
  );
  // TRUNCATE false: giving emptied tail pages back to the OS takes an ACCESS EXCLUSIVE lock that
  // stalled agent upserts for ~0.4 s in the full-size sweep bench; the space is reused anyway.
  for (const { rel } of dead) {
    await client.query(`vacuum (analyze, truncate false) ${rel}`);
    log(`vacuumed ${rel}`);
  }
  counts.vacuumed = dead.map((d) => d.rel).join(',') || 'none';

  const diskPath = existingAncestor(path.dirname(cfg.logsDir));
  const freed = freeDiskFromRotatedLogs(cfg.logsDir, () => diskUsage(diskPath).usedPercent > cfg.diskAlertPercent);
  counts.rotated_logs_deleted_for_space = freed.deleted;
  if (freed.deleted) log(`disk over ${cfg.diskAlertPercent}%: deleted the ${freed.deleted} oldest rotated logs (${freed.bytes} bytes)`);
  const disk = diskUsage(diskPath);
  counts.disk_used_percent = Math.round(disk.usedPercent * 10) / 10;
  counts.disk_free_bytes = disk.freeBytes;
  const firing =
    disk.usedPercent > cfg.diskAlertPercent
      ? [{ rule: 'disk_full', subject: disk.path, severity: 'critical' as const, message: `disk ${disk.path} is ${counts.disk_used_percent}% full after cleanup (limit ${cfg.diskAlertPercent}%): free space or lower CLAWBASE_LOG_FLUSH_AFTER_DAYS`, details: { ...disk } }]
      : [];
  // Only this disk's alert is ours to open or resolve here.
  if (firing.length) await applyAlerts(client, [], firing);
  return counts;
}

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;
