// Retention of base backups and WAL: a backup older than the window goes only when a newer base
// backup has passed the restore drill, and the newest verified one never goes. WAL older than the
// oldest kept base backup's first segment goes with it.
import path from 'node:path';
import type pg from 'pg';
import { deleteKeys, listKeys, type BackupStore } from './store.ts';

export interface PruneResult {
  pruned: number[];
  walDeleted: number;
  kept: number;
}

export async function pruneBaseBackups(db: pg.ClientBase | pg.Pool, store: BackupStore, keepDays: number, now = new Date()): Promise<PruneResult> {
  const { rows } = await db.query<{ id: string; started_at: Date; location: string | null; verify_status: string | null; start_wal_file: string | null }>(
    `select id, started_at, location, verify_status, details->>'start_wal_file' as start_wal_file
     from api.backups where kind = 'base' and status = 'succeeded' order by started_at desc`,
  );
  const newestVerified = rows.find((r) => r.verify_status === 'ok');
  const result: PruneResult = { pruned: [], walDeleted: 0, kept: rows.length };
  if (!newestVerified) return result;
  const cutoff = now.getTime() - keepDays * 86_400_000;
  const prefix = `s3://${store.bucket}/`;
  for (const r of rows) {
    if (r === newestVerified || r.started_at >= newestVerified.started_at || r.started_at.getTime() >= cutoff) continue;
    if (r.location?.startsWith(prefix)) {
      const dir = r.location.slice(prefix.length);
      const keys = (await listKeys(store, dir.slice(store.prefix.length + 1) + '/')).map((k) => k.key);
      await deleteKeys(store, keys);
    }
    await db.query(`update api.backups set status = 'pruned', details = details || jsonb_build_object('pruned_at', now()) where id = $1`, [r.id]);
    result.pruned.push(Number(r.id));
  }
  const kept = rows.filter((r) => !result.pruned.includes(Number(r.id)));
  result.kept = kept.length;
  // WAL before the oldest kept backup can no longer be replayed from any backup.
  const oldest = kept.at(-1)?.start_wal_file;
  if (oldest) {
    const stale = (await listKeys(store, 'wal/'))
      .map((k) => k.key)
      .filter((k) => /^[0-9A-F]{24}/.test(path.basename(k)) && path.basename(k).slice(8, 24) < oldest.slice(8));
    await deleteKeys(store, stale);
    result.walDeleted = stale.length;
  }
  return result;
}
