// The maintenance sweep (every 30 minutes, UTC): one cron job that records the run and fans out
// one job per step; each step is idempotent, retried on its own, recorded as a child run, and a
// failing step never keeps the others from running. Not OpenClaw's "heartbeat" (an agent turn).
import type { PoolClient } from 'pg';
import type { Counts } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { applyAlerts } from '../health/alerts.ts';
import { healthCounts, runHealthCheck } from '../health/check.ts';
import { summariseSessions } from '../memory/summarise.ts';
import { cleanupStep } from './cleanup.ts';
import { gitStep } from './git.ts';
import { logFlushStep } from './log-flush.ts';
import { memoryStep } from './memory.ts';

export const sweepName = 'maintenance_sweep';
export const stepNames = ['memory', 'summaries', 'log_flush', 'git', 'health', 'cleanup'] as const;
export type StepName = (typeof stepNames)[number];

export type StepFn = (client: PoolClient, ctx: WorkerContext, log: (line: string) => void) => Promise<Counts>;

export const steps: Record<StepName, StepFn> = {
  memory: (client, ctx) => memoryStep(client, { archiveAfterDays: ctx.maintenance.archiveAfterDays }),
  summaries: (client, ctx, log) => summariseSessions(client, ctx.ollama, { model: ctx.chatModel, host: ctx.ollamaHost, log }),
  log_flush: (client, ctx, log) => logFlushStep(client, ctx, log),
  git: (client, ctx, log) => gitStep(client, ctx, log),
  health: async (client, ctx) => healthCounts(await runHealthCheck(client, ctx)),
  cleanup: (client, ctx, log) => cleanupStep(client, ctx.maintenance, log),
};

export function isStepName(name: string): name is StepName {
  return (stepNames as readonly string[]).includes(name);
}

/** Opens or resolves the alert of one step after an attempt. */
export async function stepAlert(client: PoolClient, step: StepName, error: Error | undefined): Promise<void> {
  const firing = error
    ? [{ rule: 'sweep_step_failed', subject: step, severity: 'warning' as const, message: `maintenance sweep step ${step} failed (it is retried): ${error.message}` }]
    : [];
  if (error) await applyAlerts(client, [], firing);
  else {
    await client.query(`update api.alerts set status = 'resolved', resolved_at = now() where rule = 'sweep_step_failed' and subject = $1 and status <> 'resolved'`, [step]);
  }
}

/**
 * Recomputes the sweep run from its steps' latest attempts: succeeded once every step has
 * succeeded, failed (with the failing steps named) while any latest attempt failed, else running.
 * Row-locked so two steps finishing together cannot both miss the last one.
 */
export async function settleSweep(client: PoolClient, sweepId: number): Promise<string> {
  await client.query('begin');
  try {
    const { rows: parent } = await client.query<{ status: string; counts: Record<string, unknown> }>('select status, counts from api.cron_runs where id = $1 for update', [sweepId]);
    if (!parent[0]) {
      await client.query('rollback');
      return 'missing';
    }
    const { rows } = await client.query<{ name: string; status: string; error: string | null; counts: Counts }>(
      `select distinct on (name) name, status, error, counts from api.cron_runs where parent_id = $1 order by name, started_at desc, id desc`,
      [sweepId],
    );
    const byStep = new Map(rows.map((r) => [r.name.slice(sweepName.length + 1), r]));
    // The steps this sweep queued are the keys of its counts (all of them, or those asked for).
    const planned = stepNames.filter((s) => s in parent[0]!.counts);
    const failed = planned.filter((s) => byStep.get(s)?.status === 'failed');
    const done = planned.filter((s) => byStep.get(s)?.status === 'succeeded');
    const status = failed.length ? 'failed' : done.length === planned.length ? 'succeeded' : 'running';
    const counts: Record<string, string> = {};
    for (const s of planned) counts[s] = byStep.get(s)?.status ?? 'pending';
    const error = failed.length ? failed.map((s) => `${s}: ${byStep.get(s)!.error}`).join('; ') : null;
    await client.query(
      `update api.cron_runs set status = $2, counts = $3, error = $4,
              finished_at = case when $2 = 'running' then null else clock_timestamp() end
       where id = $1 and (status, counts, error) is distinct from ($2, $3::jsonb, $4)`,
      [sweepId, status, counts, error],
    );
    await client.query('commit');
    return status;
  } catch (err) {
    await client.query('rollback');
    throw err;
  }
}
