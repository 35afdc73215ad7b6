import type { Task } from 'graphile-worker';
import { cronSlot, recordRun } from '../cron-runs.ts';

/** Deletes expired memory, expired summaries and audit rows past retention (private.purge_expired). */
export const purgeExpired: Task = async (payload, helpers) => {
  await helpers.withPgClient((client) =>
    recordRun(client, { name: 'purge_expired', scheduledFor: cronSlot(payload) }, async () => {
      // A procedure that commits between batches cannot run inside a transaction block: plain CALL.
      const { rows } = await client.query<{ deleted: Record<string, number> }>('call private.purge_expired()');
      return rows[0]!.deleted;
    }),
  );
};
