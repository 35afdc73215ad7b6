import type { Task } from 'graphile-worker';
import { cronSlot, recordRun } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { healthCounts, runHealthCheck } from '../health/check.ts';

/** Every 5 minutes: probes into health_checks, alert rules applied. */
export const healthCheckTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    await helpers.withPgClient((client) =>
      recordRun(client, { name: 'health_check', scheduledFor: cronSlot(payload) }, async () => healthCounts(await runHealthCheck(client, ctx))),
    );
  };
