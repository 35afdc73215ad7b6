// Physical base backups with PostgreSQL's own low-level API: pg_backup_start on one connection,
// a tar of the data directory (what the docs say to leave out, left out), pg_backup_stop, and
// the backup_label it returns kept with the backup. No pg_basebackup needed.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { encryptBuffer, encryptStream } from './crypto.ts';
import { parallelGzip } from './parallel-gzip.ts';
import { putVerified, storeUrl, type BackupStore } from './store.ts';
import { shipWal } from './wal.ts';

/** Left out of a base backup (PostgreSQL docs, "Making a Base Backup Using the Low Level API"). */
export const baseBackupExcludes = [
  './pg_wal/*',
  './postmaster.pid',
  './postmaster.opts',
  './backup_label',
  './tablespace_map',
  './pg_replslot/*',
  './pg_dynshmem/*',
  './pg_notify/*',
  './pg_serial/*',
  './pg_snapshots/*',
  './pg_stat_tmp/*',
  './pg_subtrans/*',
  '*/pgsql_tmp*',
  '*/pg_internal.init',
];

export interface BaseManifest {
  id: number;
  label: string;
  startedAt: string;
  /** When pg_backup_stop returned: the backup is consistent for any target after this. */
  stoppedAt: string;
  walStart: string;
  walEnd: string;
  startWalFile: string;
  stopWalFile: string;
  timeline: number;
  backupLabel: string;
  tablespaceMap: string;
  keyId: string;
  data: { key: string; size: number; sha256: string; rawBytes: number };
  /** Clawbase's own files (CLAWBASE_HOME/secrets.json), base64; only ever stored inside this encrypted manifest. */
  config?: Record<string, string>;
}

export interface BaseBackupOptions {
  store: BackupStore;
  /** A login allowed to run pg_backup_start/stop (superuser, or `worker` by migration 000016)… */
  databaseUrl?: string;
  /** …or a session to use (held for the whole backup; graphile-worker's withPgClient). */
  session?: pg.ClientBase;
  dataDir: string;
  walArchiveDir: string;
  tmpDir: string;
  /** Where the run is recorded (api.backups); the id names the backup. */
  record?: pg.Pool | pg.Client | pg.PoolClient;
  /** Files kept (encrypted, in the manifest) to restore on a new machine, e.g. CLAWBASE_HOME/secrets.json. */
  configFiles?: string[];
  progress?: (line: string) => void;
}

export interface BaseBackupResult {
  id: number;
  manifest: BaseManifest;
  manifestKey: string;
  seconds: number;
  /** Seconds per phase: start (checkpoint), copy (tar+gzip+encrypt), stop, ship (WAL), upload. */
  phases: Record<string, number>;
}

export const baseDir = (store: BackupStore, id: number, startedAt: Date) =>
  `${store.prefix}/base/${startedAt.toISOString().replace(/[:.]/g, '-')}-${String(id).padStart(8, '0')}`;

/** A tar of the data directory (GNU tar exit 1, "file changed as we read it", is expected on a live cluster). */
function tarDataDir(dataDir: string) {
  const child = spawn('tar', ['-C', dataDir, '-cf', '-', '--warning=no-file-changed', '--warning=no-file-removed', '--warning=no-file-shrank', ...baseBackupExcludes.map((e) => `--exclude=${e}`), '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<void>((resolve, reject) =>
    child.on('close', (code) => (code === 0 || code === 1 ? resolve() : reject(new Error(`tar of ${dataDir} failed (exit ${code}): ${stderr.trim()}`)))),
  );
  return { stdout: child.stdout, done };
}

/** Waits until the archiver has archived `file` (the backup's last segment). */
async function waitArchived(db: pg.ClientBase, file: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ last: string | null; failed: string | null }>(`select last_archived_wal as last, last_failed_wal as failed from pg_stat_archiver`);
    const last = rows[0]?.last ?? '';
    if (/^[0-9A-F]{24}$/.test(last.slice(0, 24)) && last.slice(0, 24) >= file) return;
    if (Date.now() > deadline) throw new Error(`WAL segment ${file} was not archived within ${timeoutMs / 1000} s (last archived ${last || 'none'}, last failed ${rows[0]?.failed ?? 'none'}): check archive_mode/archive_library and the PostgreSQL log`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function takeBaseBackup(opts: BaseBackupOptions): Promise<BaseBackupResult> {
  const { store } = opts;
  const say = opts.progress ?? (() => {});
  const t0 = performance.now();
  const startedAt = new Date();
  let id = Math.floor(startedAt.getTime() / 1000);
  if (opts.record) {
    const { rows } = await opts.record.query<{ id: string }>(`insert into api.backups (kind, key_id, started_at) values ('base', $1, $2) returning id`, [store.key.id, startedAt]);
    id = Number(rows[0]!.id);
  }
  const dir = baseDir(store, id, startedAt);
  fs.mkdirSync(opts.tmpDir, { recursive: true });
  const tmpFile = path.join(opts.tmpDir, `base-${id}-${process.pid}.tar.gz.enc`);
  const own = opts.session ? undefined : new pg.Client({ connectionString: opts.databaseUrl });
  const db: pg.ClientBase = opts.session ?? own!;
  try {
    await own?.connect();
    const mode = (await db.query<{ m: string }>(`select current_setting('archive_mode') as m`)).rows[0]!.m;
    if (mode === 'off') throw new Error('archive_mode is off: a base backup without the WAL after it cannot be restored. Set S3_BUCKET_BACKUPS (the embedded PostgreSQL then archives), or for an external server archive_mode=on with archive_library=basic_archive into CLAWBASE_WAL_ARCHIVE_DIR.');
    const label = `clawbase base ${id} ${startedAt.toISOString()}`;
    const phases: Record<string, number> = {};
    let mark = performance.now();
    const phase = (name: string) => {
      const now = performance.now();
      phases[name] = Number(((now - mark) / 1000).toFixed(2));
      mark = now;
    };
    const start = await db.query<{ lsn: string; file: string }>(
      `select lsn::text, pg_walfile_name(lsn) as file from pg_backup_start($1, fast => true) as lsn`,
      [label],
    );
    phase('start');
    say(`backup ${id}: started at WAL ${start.rows[0]!.lsn}, copying ${opts.dataDir}`);
    const tar = tarDataDir(opts.dataDir);
    let rawBytes = 0;
    tar.stdout.on('data', (c: Buffer) => (rawBytes += c.length));
    const sha = crypto.createHash('sha256');
    let size = 0;
    const out = fs.createWriteStream(tmpFile, { mode: 0o600 });
    const encrypt = encryptStream(store.key);
    encrypt.on('data', (c: Buffer) => {
      sha.update(c);
      size += c.length;
    });
    await Promise.all([pipeline(tar.stdout, parallelGzip({ level: 1 }), encrypt, out), tar.done]);
    phase('copy');
    const stop = await db.query<{ lsn: string; labelfile: string; spcmapfile: string; file: string }>(
      `select lsn::text, labelfile, spcmapfile, pg_walfile_name(lsn) as file from pg_backup_stop(wait_for_archive => false)`,
    );
    const s = stop.rows[0]!;
    // pg_backup_stop's own wait polls once a second: wait for the archiver here instead.
    await waitArchived(db, s.file);
    const stoppedAt = new Date();
    phase('stop');
    say(`backup ${id}: copied ${(rawBytes / 1048576).toFixed(1)} MiB → ${(size / 1048576).toFixed(1)} MiB; stopped at WAL ${s.lsn}`);
    // pg_backup_stop waited for the local archive only: the segments the backup needs must reach S3 too.
    const shipped = await shipWal(store, opts.walArchiveDir);
    if (shipped.error) throw new Error(`the WAL this backup needs could not be shipped: ${shipped.error}`);
    phase('ship');
    const data = await putVerified(store, `${dir}/data.tar.gz.enc`, { file: tmpFile });
    const manifest: BaseManifest = {
      id,
      label,
      startedAt: startedAt.toISOString(),
      stoppedAt: stoppedAt.toISOString(),
      walStart: start.rows[0]!.lsn,
      walEnd: s.lsn,
      startWalFile: start.rows[0]!.file,
      stopWalFile: s.file,
      timeline: parseInt(start.rows[0]!.file.slice(0, 8), 16),
      backupLabel: s.labelfile,
      tablespaceMap: s.spcmapfile ?? '',
      keyId: store.key.id,
      data: { ...data, rawBytes },
      config: Object.fromEntries((opts.configFiles ?? []).filter((f) => fs.existsSync(f)).map((f) => [path.basename(f), fs.readFileSync(f).toString('base64')])),
    };
    const manifestKey = `${dir}/manifest.json.enc`;
    await putVerified(store, manifestKey, encryptBuffer(store.key, Buffer.from(JSON.stringify(manifest))));
    phase('upload');
    const seconds = (performance.now() - t0) / 1000;
    say(`backup ${id}: uploaded and verified in ${seconds.toFixed(1)} s`);
    if (opts.record) {
      await opts.record.query(
        `update api.backups set status = 'succeeded', finished_at = $2, size_bytes = $3, content_hash = $4, location = $5,
                wal_start = $6, wal_end = $7, details = $8 where id = $1`,
        [id, stoppedAt, data.size, data.sha256, storeUrl(store, dir), manifest.walStart, manifest.walEnd,
         { label, raw_bytes: rawBytes, start_wal_file: manifest.startWalFile, stop_wal_file: manifest.stopWalFile, timeline: manifest.timeline,
           mib_per_s: Number((rawBytes / 1048576 / seconds).toFixed(1)), phases, backup_label: s.labelfile, upload_verified: true }],
      );
    }
    return { id, manifest, manifestKey, seconds, phases };
  } catch (err) {
    // A pooled session must not stay in backup mode (the next pg_backup_start there would fail).
    if (opts.session) await db.query('select pg_backup_stop(false)').catch(() => {});
    if (opts.record) await opts.record.query(`update api.backups set status = 'failed', finished_at = now(), error = $2 where id = $1`, [id, (err as Error).message]).catch(() => {});
    throw err;
  } finally {
    await own?.end().catch(() => {});
    fs.rmSync(tmpFile, { force: true });
  }
}
