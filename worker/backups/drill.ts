// The daily restore drill: the newest backup restored into a scratch instance on a random loopback
// port, checked (amcheck on every btree index, row counts), timed (RTO), its recovery point
// measured (RPO), recorded on the backup's row, then thrown away.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freeLoopbackPort, prepareRestore, startRestored } from './restore.ts';
import type { BackupStore } from './store.ts';
import { postgresOwner } from './wal.ts';

export interface DrillOptions {
  store: BackupStore;
  /** Scratch space; the drill's folder under it is removed afterwards. */
  tmpDir: string;
  /** The database inside the cluster to check (the application database). */
  database: string;
  localArchiveDir?: string;
  /** Where the result is recorded (api.backups of the base backup used). */
  record?: pg.ClientBase | pg.Pool;
  progress?: (line: string) => void;
}

export interface DrillResult {
  backupId: number;
  restoreSeconds: number;
  rpoSeconds: number | null;
  /** The last commit the restore replayed (its recovery point). */
  replayedTo: Date | null;
  indexesChecked: number;
  tables: Record<string, number>;
  ok: boolean;
  error?: string;
  skipped: Array<{ id: number; error: string }>;
  /** The newest 1,000 audit-log rows the copy holds, compared with the source row for row. */
  sample?: SampleCheck;
}

export interface SampleCheck {
  table: string;
  from: number;
  to: number;
  restored: { n: number; md5: string | null };
  source: { n: number; md5: string | null };
  match: boolean;
}

/**
 * api.audit_log is append-only: the rows the restored copy has must be in the source unchanged.
 * Compares count and an md5 over the newest 1,000 of them (ids up to the copy's newest).
 */
async function compareSample(restored: pg.ClientBase, source: pg.ClientBase | pg.Pool): Promise<SampleCheck | undefined> {
  const exists = await restored.query(`select to_regclass('api.audit_log') is not null as ok`);
  if (!exists.rows[0].ok) return undefined;
  const { rows } = await restored.query<{ max: string | null }>(`select max(id)::text as max from api.audit_log`);
  if (!rows[0]!.max) return undefined;
  const to = Number(rows[0]!.max);
  const from = Math.max(1, to - 999);
  const q = `select count(*)::int as n, md5(string_agg(t::text, '|' order by t.id)) as md5 from api.audit_log t where t.id between $1 and $2`;
  const r = (await restored.query<{ n: number; md5: string | null }>(q, [from, to])).rows[0]!;
  const s = (await source.query<{ n: number; md5: string | null }>(q, [from, to])).rows[0]!;
  return { table: 'api.audit_log', from, to, restored: r, source: s, match: r.n === s.n && r.md5 === s.md5 };
}

/** Lets the drill's own connection in over a private Unix socket, without knowing any password. */
function allowLocalSocket(dataDir: string, socketDir: string): void {
  const hba = path.join(dataDir, 'pg_hba.conf');
  fs.writeFileSync(hba, `# clawbase restore drill: its own socket only\nlocal all all trust\n${fs.readFileSync(hba, 'utf8')}`);
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const owner = postgresOwner();
  if (owner) fs.chownSync(socketDir, owner.uid, owner.gid);
}

export async function runDrill(opts: DrillOptions): Promise<DrillResult> {
  const say = opts.progress ?? (() => {});
  const startedAt = new Date();
  const t0 = performance.now();
  fs.mkdirSync(opts.tmpDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(opts.tmpDir, 'drill-'));
  fs.chmodSync(root, 0o711);
  const dataDir = path.join(root, 'pg');
  const socketDir = path.join(root, 'socket');
  let server: Awaited<ReturnType<typeof startRestored>>['server'] | undefined;
  let backupId = 0;
  try {
    const prepared = await prepareRestore({ store: opts.store, targetDir: dataDir, tmpDir: path.join(root, 'tmp'), localArchiveDir: opts.localArchiveDir, progress: say });
    backupId = prepared.manifest.id;
    allowLocalSocket(dataDir, socketDir);
    const port = await freeLoopbackPort();
    const started = await startRestored({
      dataDir,
      walDir: prepared.walDir,
      port,
      superuserPassword: 'unused-by-the-drill',
      connect: { host: socketDir, port, user: 'postgres', database: 'postgres' },
      logFile: path.join(root, 'postgres.log'),
      // The scratch copy must never archive into the production archive.
      settings: { archive_mode: 'off', hot_standby: 'off', unix_socket_directories: socketDir, shared_buffers: '64MB', max_connections: 10 },
    });
    server = started.server;
    const db = new pg.Client({ host: socketDir, port, user: 'postgres', database: opts.database });
    await db.connect();
    const restoreSeconds = (performance.now() - t0) / 1000;
    say(`drill: backup ${backupId} usable after ${restoreSeconds.toFixed(1)} s`);
    try {
      await db.query('create extension if not exists amcheck');
      const { rows: indexes } = await db.query<{ oid: number; name: string }>(
        `select c.oid, c.oid::regclass::text as name from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am a on a.oid = c.relam
         where a.amname = 'btree' and i.indisvalid and i.indisready and c.relpersistence <> 't'`,
      );
      for (const ix of indexes) await db.query('select bt_index_check($1::regclass)', [ix.oid]);
      const { rows: tables } = await db.query<{ name: string }>(
        `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' order by 1`,
      );
      const counts: Record<string, number> = {};
      for (const t of tables) counts[t.name] = Number((await db.query(`select count(*) as n from ${t.name}`)).rows[0].n);
      const sample = opts.record ? await compareSample(db, opts.record) : undefined;
      if (sample && !sample.match) {
        throw new Error(`sample check failed: ${sample.table} ids ${sample.from}–${sample.to} differ between the restored copy (${sample.restored.n} rows, md5 ${sample.restored.md5}) and the source (${sample.source.n} rows, md5 ${sample.source.md5})`);
      }
      const rpoSeconds = started.replayedTo ? Math.max(0, (startedAt.getTime() - started.replayedTo.getTime()) / 1000) : null;
      const result: DrillResult = { backupId, restoreSeconds, rpoSeconds, replayedTo: started.replayedTo, indexesChecked: indexes.length, tables: counts, ok: true, skipped: prepared.skipped, sample };
      await record(opts, result);
      return result;
    } finally {
      await db.end().catch(() => {});
    }
  } catch (err) {
    // Keep the scratch server's log: the reason a restore failed is usually only there.
    const log = path.join(root, 'postgres.log');
    if (fs.existsSync(log)) {
      const kept = path.join(opts.tmpDir, `${path.basename(root)}-failed.log`);
      fs.copyFileSync(log, kept);
      (err as Error).message += ` (scratch server log kept at ${kept})`;
    }
    const result: DrillResult = { backupId, restoreSeconds: (performance.now() - t0) / 1000, rpoSeconds: null, replayedTo: null, indexesChecked: 0, tables: {}, ok: false, error: (err as Error).message, skipped: [] };
    if (backupId) await record(opts, result);
    throw err;
  } finally {
    await server?.stop().catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function record(opts: DrillOptions, r: DrillResult): Promise<void> {
  if (!opts.record) return;
  await opts.record.query(
    `update api.backups set verified_at = now(), verify_status = $2, restore_seconds = $3, rpo_seconds = $4, error = $5,
            details = details || jsonb_build_object('drill', $6::jsonb) where id = $1 and kind = 'base'`,
    [r.backupId, r.ok ? 'ok' : 'failed', r.restoreSeconds, r.rpoSeconds, r.error ?? null,
     { at: new Date().toISOString(), indexes_checked: r.indexesChecked, sample: r.sample ?? null, tables: Object.keys(r.tables).length, rows: Object.values(r.tables).reduce((a, b) => a + b, 0), skipped: r.skipped }],
  );
}
