import path from 'node:path';
import type { Task } from 'graphile-worker';
import { cronSlot, recordRun, type Counts } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { takeBaseBackup } from '../backups/base.ts';
import { pruneBaseBackups } from '../backups/retention.ts';
import { openBackupStore } from '../backups/store.ts';

/** Daily at 02:00 UTC: a base backup on one held session, then retention of the older ones. */
export const backupBaseTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    const store = openBackupStore(ctx.backups, ctx.s3);
    await helpers.withPgClient((client) =>
      recordRun(client, { name: 'backup_base', scheduledFor: cronSlot(payload) }, async (): Promise<Counts> => {
        if (!store) return { skipped: 'S3_BUCKET_BACKUPS not set' };
        const b = await takeBaseBackup({
          store,
          session: client,
          record: client,
          dataDir: ctx.backups.pgDataDir,
          walArchiveDir: ctx.backups.walArchiveDir,
          tmpDir: path.join(ctx.maintenance.tempDir, 'backups'),
          configFiles: [path.join(ctx.home, 'secrets.json')],
          progress: (l) => helpers.logger.info(l),
        });
        const pruned = await pruneBaseBackups(client, store, ctx.backups.keepBaseDays);
        return { backup_id: b.id, bytes: b.manifest.data.size, seconds: Number(b.seconds.toFixed(1)), pruned: pruned.pruned.length, wal_deleted: pruned.walDeleted };
      }),
    );
  };
