// Backups on this machine: full base backup throughput next to a plain `tar` of the same data
// folder (the physical limit), the incremental size after a 1% change (WAL for the database,
// restic for the workspace), and the drill's restore time (RTO) and the data-loss window (RPO)
// after a kill -9 while a writer commits every 200 ms. `--quick` uses ~100 MB instead of 1 GB.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { startS3 } from '../test/support/s3.ts';
import { freePort } from '../test/support/ports.ts';
import { takeBaseBackup } from '../worker/backups/base.ts';
import { parseBackupKey } from '../worker/backups/crypto.ts';
import { runDrill } from '../worker/backups/drill.ts';
import { snapshotWorkspace } from '../worker/backups/restic.ts';
import { prepareWalArchiveDir, shipWal, walArchiveSettings } from '../worker/backups/wal.ts';
import { isMain, runStandalone, type BenchOptions, type BenchReport } from './lib.ts';

const MiB = 1048576;

function dirBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir]).toString().split('\t')[0]);
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const dbRows = opts.quick ? 400_000 : 5_000_000;
  const wsFiles = opts.quick ? 60 : 1000;
  const writeSeconds = opts.quick ? 20 : 90;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-backup-'));
  fs.chmodSync(root, 0o711);
  const dataDir = path.join(root, 'pg');
  const archiveDir = path.join(root, 'wal-archive');
  prepareWalArchiveDir(archiveDir);
  const bucket = 'bench-backups';
  const s3 = await startS3(bucket);
  const store = { client: s3.client, bucket, prefix: 'bench', key: parseBackupKey(crypto.randomBytes(32).toString('base64')) };
  const password = 'bench-backup-superuser';
  const db = await startEmbeddedPostgres({ dataDir, port: await freePort(), superuserPassword: password, logFile: path.join(root, 'pg.log'), settings: { ...walArchiveSettings(archiveDir), shared_buffers: '128MB', max_wal_size: '2GB' } });
  const sql = new pg.Pool({ connectionString: db.url('postgres'), max: 2 });
  sql.on('error', () => {}); // the kill -9 below ends idle connections
  let writer: NodeJS.Timeout | undefined;
  let shipper: NodeJS.Timeout | undefined;
  try {
    opts.log(`loading ${dbRows} rows and ${wsFiles} workspace files …`);
    await sql.query(`create table items (id bigint primary key, payload text not null, committed_at timestamptz not null default clock_timestamp())`);
    await sql.query(`insert into items (id, payload) select g, repeat(md5(g::text || random()::text), 4) from generate_series(1, $1) g`, [dbRows]);
    await sql.query('checkpoint');
    await shipWal(store, archiveDir);
    const workspace = path.join(root, 'workspace');
    fs.mkdirSync(workspace);
    for (let i = 0; i < wsFiles; i++) fs.writeFileSync(path.join(workspace, `file-${i}.bin`), crypto.randomBytes(MiB));

    // The limit: GNU tar of the same folder to a local file.
    const dataBytes = dirBytes(dataDir) - dirBytes(path.join(dataDir, 'pg_wal'));
    let t = performance.now();
    const tar = spawnSync('tar', ['-C', dataDir, '-cf', path.join(root, 'plain.tar'), '--exclude=./pg_wal/*', '.']);
    const tarSeconds = (performance.now() - t) / 1000;
    if ((tar.status ?? 2) > 1) throw new Error(`tar failed: ${tar.stderr.toString()}`);
    const tarBytes = fs.statSync(path.join(root, 'plain.tar')).size;
    fs.rmSync(path.join(root, 'plain.tar'));
    const tarMiBs = tarBytes / MiB / tarSeconds;

    opts.log('base backup …');
    const backup = await takeBaseBackup({ store, databaseUrl: db.url('postgres'), dataDir, walArchiveDir: archiveDir, tmpDir: path.join(root, 'tmp') });
    const backupMiBs = backup.manifest.data.rawBytes / MiB / backup.seconds;
    const fullStored = backup.manifest.data.size;

    // Incremental: 1% of the rows changed (a contiguous range), shipped as WAL.
    await sql.query(`update items set payload = repeat(md5(random()::text), 4) where id <= $1`, [Math.floor(dbRows / 100)]);
    await sql.query(`select pg_logical_emit_message(false, 'bench', 'x')`);
    await sql.query('select pg_switch_wal()');
    await new Promise((r) => setTimeout(r, 1500));
    const inc = await shipWal(store, archiveDir);
    const walRatio = inc.bytes / fullStored;

    opts.log('workspace snapshots (restic) …');
    const repo = { repository: path.join(root, 'restic'), password: 'bench-restic-password', cacheDir: path.join(root, 'restic-cache') };
    const ws1 = await snapshotWorkspace(repo, workspace, 7);
    for (let i = 0; i < Math.max(1, Math.floor(wsFiles / 100)); i++) fs.writeFileSync(path.join(workspace, `file-${i}.bin`), crypto.randomBytes(MiB));
    const ws2 = await snapshotWorkspace(repo, workspace, 7);
    const wsRatio = ws2.dataAdded / ws1.dataAdded;

    // RPO: a writer commits every 200 ms, the shipper runs every 5 s (as in the worker), then kill -9.
    opts.log(`writing for ${writeSeconds} s, then kill -9 …`);
    let n = 0;
    writer = setInterval(() => void sql.query(`insert into items (id, payload) values ($1, 'rpo')`, [dbRows + ++n]).catch(() => {}), 200);
    let shipping = false;
    shipper = setInterval(() => {
      if (shipping) return;
      shipping = true;
      void shipWal(store, archiveDir, { waitMs: 0 }).finally(() => (shipping = false));
    }, 5000);
    await new Promise((r) => setTimeout(r, writeSeconds * 1000));
    const crashAt = new Date();
    process.kill(db.pid!, 'SIGKILL');
    clearInterval(writer);
    clearInterval(shipper);
    await db.exited;
    while (shipping) await new Promise((r) => setTimeout(r, 50));

    opts.log('restore drill (from the bucket only: the machine is lost) …');
    const drill = await runDrill({ store, tmpDir: path.join(root, 'drill'), database: 'postgres' });
    const rpo = drill.replayedTo ? (crashAt.getTime() - drill.replayedTo.getTime()) / 1000 : NaN;

    return {
      bench: 'backup',
      setup: {
        database_mib: Math.round(dataBytes / MiB),
        rows: dbRows,
        workspace_mib: wsFiles,
        archive_timeout_s: 50,
        shipper_interval_s: 5,
        writer: 'one commit every 200 ms',
      },
      figures: [
        {
          name: 'full base backup (pg_backup_start → tar → gzip 1 → AES-256-GCM → s3rver, verified)',
          value: Number(backupMiBs.toFixed(1)),
          unit: 'MiB/s',
          limit: { name: 'plain GNU tar of the same folder to a local file', value: Number(tarMiBs.toFixed(1)) },
          ratio: Number((backupMiBs / tarMiBs).toFixed(2)),
          extra: { seconds: Number(backup.seconds.toFixed(1)), ...Object.fromEntries(Object.entries(backup.phases).map(([k, v]) => [`${k}_s`, v])), raw_mib: Number((backup.manifest.data.rawBytes / MiB).toFixed(1)), stored_mib: Number((fullStored / MiB).toFixed(1)), stored_share: Number((fullStored / backup.manifest.data.rawBytes).toFixed(2)) },
        },
        {
          name: 'database incremental after changing 1% of rows (WAL shipped, compressed + encrypted)',
          value: Number((walRatio * 100).toFixed(2)),
          unit: '% of full',
          target: { text: '≤ 3%', met: walRatio <= 0.03 },
          extra: { wal_mib: Number((inc.bytes / MiB).toFixed(1)), segments: inc.shipped.length },
        },
        {
          name: 'workspace incremental after rewriting 1% of files (restic data added)',
          value: Number((wsRatio * 100).toFixed(2)),
          unit: '% of full',
          target: { text: '≤ 3%', met: wsRatio <= 0.03 },
          extra: { full_mib: Number((ws1.dataAdded / MiB).toFixed(1)), full_seconds: Number(ws1.seconds.toFixed(1)), incremental_mib: Number((ws2.dataAdded / MiB).toFixed(2)), incremental_seconds: Number(ws2.seconds.toFixed(1)) },
        },
        {
          name: 'RTO: restore drill from the bucket to a usable database (download, decrypt, untar, WAL replay, promotion)',
          value: Number(drill.restoreSeconds.toFixed(1)),
          unit: 's',
          target: { text: '≤ 60 s', met: drill.restoreSeconds <= 60 },
          extra: { amcheck_indexes: drill.indexesChecked, verified: drill.ok ? 'ok' : 'failed' },
        },
        {
          name: 'RPO: kill -9 time minus the last commit the restore recovered',
          value: Number(rpo.toFixed(1)),
          unit: 's',
          target: { text: '≤ 60 s', met: rpo <= 60 },
        },
      ],
      notes: [
        'ratio of the throughput figure = backup MiB/s ÷ plain tar MiB/s (read from the data folder, same run)',
        'RPO is bounded by archive_timeout (50 s) + the shipper interval; the writer ran ' + writeSeconds + ' s after the backup, so quick runs measure a shorter window than the bound',
        'the database incremental is the WAL of a contiguous 1% range (full-page images after a checkpoint included)',
      ],
    };
  } finally {
    if (writer) clearInterval(writer);
    if (shipper) clearInterval(shipper);
    await sql.end().catch(() => {});
    await db.stop().catch(() => {});
    await s3.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runStandalone(run);
