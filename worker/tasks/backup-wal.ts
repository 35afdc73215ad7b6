import type { Task } from 'graphile-worker';
import { cronSlot, recordRun, type Counts } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { openBackupStore } from '../backups/store.ts';
import { shipWal } from '../backups/wal.ts';

/**
 * Every minute: archived WAL segments to the bucket. S3 down fails the run (recorded, alerting)
 * and keeps every segment locally; the next run ships them in order, so there is no gap.
 */
export const backupWalTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    const store = openBackupStore(ctx.backups, ctx.s3);
    await helpers.withPgClient((client) =>
      recordRun(client, { name: 'backup_wal', scheduledFor: cronSlot(payload) }, async (): Promise<Counts> => {
        if (!store) return { skipped: 'S3_BUCKET_BACKUPS not set' };
        const r = await shipWal(store, ctx.backups.walArchiveDir);
        if (r.shipped.length) {
          await client.query(
            `insert into api.backups (kind, status, finished_at, size_bytes, location, key_id, wal_start, wal_end, verified_at, details)
             values ('wal', 'succeeded', now(), $1, $2, $3, $4, $5, now(), $6)`,
            [r.bytes, `s3://${store.bucket}/${store.prefix}/wal/`, store.key.id, r.shipped[0], r.shipped.at(-1), { files: r.shipped.length, upload_verified: true }],
          );
        }
        if (r.error) throw new Error(`WAL shipping stopped at ${r.error}; ${r.pending} files kept in ${ctx.backups.walArchiveDir} and shipped when the bucket is reachable`);
        return { shipped: r.shipped.length, pending: r.pending, bytes: r.bytes };
      }),
    );
  };
