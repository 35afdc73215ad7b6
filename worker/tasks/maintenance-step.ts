import type { Task } from 'graphile-worker';
import { recordRun } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { isStepName, settleSweep, stepAlert, steps, sweepName } from '../maintenance/sweep.ts';

/**
 * One step of one sweep, as its own job: a failure is recorded (child run, sweep_step_failed alert)
 * and rethrown so graphile-worker retries this step alone with backoff.
 */
export const maintenanceStepTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    const { sweepId, step, scheduledFor } = payload as { sweepId: number; step: string; scheduledFor?: string | null };
    if (!isStepName(step)) throw new Error(`unknown sweep step "${step}"`);
    await helpers.withPgClient(async (client) => {
      let failure: Error | undefined;
      try {
        await recordRun(client, { name: `${sweepName}.${step}`, parentId: sweepId, scheduledFor: scheduledFor ?? undefined }, () =>
          steps[step](client, ctx, (line) => helpers.logger.info(`${step}: ${line}`)),
        );
      } catch (err) {
        failure = err as Error;
      }
      await stepAlert(client, step, failure);
      await settleSweep(client, sweepId);
      if (failure) throw failure;
    });
  };
