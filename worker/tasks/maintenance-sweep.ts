import type { Task } from 'graphile-worker';
import { cronSlot } from '../cron-runs.ts';
import { isStepName, stepNames, sweepName } from '../maintenance/sweep.ts';

/**
 * The maintenance sweep's cron job: records the run and queues one maintenance_step job per step,
 * in one transaction (a crash leaves neither a run without steps nor steps without a run).
 * Payload (manual runs): {"steps": ["memory", …]} to run only some steps.
 */
export const maintenanceSweep: Task = async (payload, helpers) => {
  const only = (payload as { steps?: unknown } | null)?.steps;
  const chosen = Array.isArray(only) ? only.filter((s): s is string => typeof s === 'string') : [...stepNames];
  const unknown = chosen.filter((s) => !isStepName(s));
  if (unknown.length) throw new Error(`unknown sweep step(s) ${unknown.join(', ')}: use ${stepNames.join(', ')}`);
  const slot = cronSlot(payload);
  await helpers.withPgClient(async (client) => {
    await client.query('begin');
    try {
      const { rows } = await client.query<{ id: string }>(
        `insert into api.cron_runs (name, scheduled_for, counts) values ($1, $2, $3) returning id`,
        [sweepName, slot ?? null, Object.fromEntries(chosen.map((s) => [s, 'pending']))],
      );
      const sweepId = Number(rows[0]!.id);
      for (const step of chosen) {
        // No named queue: a queue locked by a worker that died would hold every later sweep for
        // graphile-worker's 4-hour lock timeout; steps are independent jobs instead (each safe to
        // run beside the others; the summariser skips a session archived under it).
        await client.query(`select graphile_worker.add_job('maintenance_step', $1::json, job_key => $2, max_attempts => 5)`, [
          JSON.stringify({ sweepId, step, scheduledFor: slot ?? null }),
          `maintenance_step:${sweepId}:${step}`,
        ]);
      }
      await client.query('commit');
      helpers.logger.info(`maintenance sweep ${sweepId}: queued ${chosen.join(', ')}`);
    } catch (err) {
      await client.query('rollback');
      throw err;
    }
  });
};
