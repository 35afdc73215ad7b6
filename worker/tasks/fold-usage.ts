import type { Task } from 'graphile-worker';

/**
 * Folds the usage the triggers appended to private.usage_deltas into api.usage_hourly (the
 * collectors fold after each batch; this catches writes from elsewhere, e.g. agents via PostgREST).
 * Every minute, not recorded in cron_runs (1,440 rows a day would say nothing).
 */
export const foldUsage: Task = async (_payload, helpers) => {
  await helpers.withPgClient((client) => client.query('select private.fold_usage()'));
};
