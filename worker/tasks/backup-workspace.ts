import path from 'node:path';
import type { Task } from 'graphile-worker';
import { cronSlot, recordRun, type Counts } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { snapshotWorkspace, type ResticRepo } from '../backups/restic.ts';

export function resticRepo(ctx: WorkerContext): ResticRepo | undefined {
  const b = ctx.backups;
  if (!b.resticRepository || !b.resticPassword) return undefined;
  return {
    repository: b.resticRepository,
    password: b.resticPassword,
    cacheDir: path.join(ctx.maintenance.tempDir, '..', 'cache', 'restic'),
    s3: b.resticRepository.startsWith('s3:') ? ctx.s3 : undefined,
    cacert: process.env.RESTIC_CACERT || undefined,
  };
}

/** Every 6 h: a restic snapshot of the workspace, `restic check`, then retention (never the newest). */
export const backupWorkspaceTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    const repo = resticRepo(ctx);
    await helpers.withPgClient((client) =>
      recordRun(client, { name: 'backup_workspace', scheduledFor: cronSlot(payload) }, async (): Promise<Counts> => {
        if (!repo) return { skipped: 'RESTIC_REPOSITORY not set' };
        const { rows } = await client.query<{ id: string }>(`insert into api.backups (kind, location) values ('workspace', $1) returning id`, [repo.repository.replace(/\/\/[^@/]*@/, '//')]);
        const id = rows[0]!.id;
        try {
          const s = await snapshotWorkspace(repo, ctx.workspace, ctx.backups.keepWorkspaceDays);
          await client.query(
            `update api.backups set status = 'succeeded', finished_at = now(), snapshot_id = $2, size_bytes = $3, verified_at = now(), verify_status = 'ok',
                    details = $4 where id = $1`,
            [id, s.snapshotId, s.dataAdded, { total_bytes: s.totalBytes, files_new: s.filesNew, files_changed: s.filesChanged, seconds: s.seconds, checked_by: 'restic check', forgotten: s.removed }],
          );
          if (s.removed.length) await client.query(`update api.backups set status = 'pruned' where kind = 'workspace' and snapshot_id = any($1)`, [s.removed]);
          return { snapshot: s.snapshotId.slice(0, 8), data_added: s.dataAdded, forgotten: s.removed.length };
        } catch (err) {
          await client.query(`update api.backups set status = 'failed', finished_at = now(), error = $2 where id = $1`, [id, (err as Error).message]);
          throw err;
        }
      }),
    );
  };
