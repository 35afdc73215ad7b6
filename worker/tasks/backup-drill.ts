import path from 'node:path';
import type { Task } from 'graphile-worker';
import { cronSlot, recordRun, type Counts } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { runDrill } from '../backups/drill.ts';
import { openBackupStore } from '../backups/store.ts';

/** Daily: restore the newest backup into a scratch instance, check it, record RTO and RPO, throw it away. */
export const backupDrillTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    const store = openBackupStore(ctx.backups, ctx.s3);
    await helpers.withPgClient((client) =>
      recordRun(client, { name: 'backup_drill', scheduledFor: cronSlot(payload) }, async (): Promise<Counts> => {
        if (!store) return { skipped: 'S3_BUCKET_BACKUPS not set' };
        const r = await runDrill({
          store,
          tmpDir: path.join(ctx.maintenance.tempDir, 'backups'),
          database: ctx.database,
          localArchiveDir: ctx.backups.walArchiveDir,
          record: client,
          progress: (l) => helpers.logger.info(l),
        });
        return { backup_id: r.backupId, restore_seconds: Number(r.restoreSeconds.toFixed(1)), rpo_seconds: r.rpoSeconds === null ? 'unknown' : Number(r.rpoSeconds.toFixed(1)), indexes_checked: r.indexesChecked };
      }),
    );
  };
