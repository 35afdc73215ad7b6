// Sweep step "log_flush": log files (legacy JSONL transcripts, our rotated logs) untouched for N
// days are gzipped, uploaded to S3_BUCKET_LOGS under a content-addressed key, verified (size,
// MD5 ETag and our SHA-256 metadata), and only then deleted locally. A crash anywhere leaves the
// local file or a verified object (or both); a rerun finds the object by its key and never
// uploads the same content twice.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { HeadObjectCommand, NotFound, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PoolClient } from 'pg';
import type { WorkerContext } from '../context.ts';
import { makeS3Client } from '../../lib/s3.ts';

/** Transcripts and logs, rotated copies included; never what is already compressed. */
const LOG_FILE = /\.(jsonl|log)(\.[\w-]+)?$/;
const DAY_MS = 86_400_000;

export interface LogFile {
  root: string;
  file: string;
  size: number;
}

/** Files under the roots old enough to flush, oldest first. */
export function findLogFiles(roots: string[], olderThanMs: number): LogFile[] {
  const out: Array<LogFile & { mtime: number }> = [];
  const walk = (root: string, dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(root, p);
      // A bare *.log is live (a process holds it open): only its rotated copies are flushed.
      else if (e.isFile() && LOG_FILE.test(e.name) && !e.name.endsWith('.gz') && !e.name.endsWith('.log')) {
        const st = fs.statSync(p);
        if (st.mtimeMs < olderThanMs) out.push({ root, file: p, size: st.size, mtime: st.mtimeMs });
      }
    }
  };
  for (const r of roots) walk(r, r);
  return out.sort((a, b) => a.mtime - b.mtime).map(({ root, file, size }) => ({ root, file, size }));
}

interface Gzipped {
  path: string;
  size: number;
  sha256: string;
  md5: string;
}

/** gzip to a scratch file, hashing the compressed bytes on the way (node's gzip is deterministic). */
async function gzipToTemp(file: string, tempDir: string): Promise<Gzipped> {
  fs.mkdirSync(tempDir, { recursive: true });
  const out = path.join(tempDir, `log-flush-${process.pid}-${path.basename(file)}.gz`);
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  const gz = zlib.createGzip({ level: 6 });
  gz.on('data', (chunk: Buffer) => {
    sha.update(chunk);
    md5.update(chunk);
    size += chunk.length;
  });
  await pipeline(fs.createReadStream(file), gz, fs.createWriteStream(out));
  return { path: out, size, sha256: sha.digest('hex'), md5: md5.digest('hex') };
}

/** The object key: host-independent path under the root, plus the content hash. */
export function objectKey(root: string, file: string, sha256: string): string {
  const rel = path.relative(root, file).split(path.sep).join('/');
  return `logs/${path.basename(root)}/${rel}.${sha256.slice(0, 16)}.gz`;
}

async function verified(s3: S3Client, bucket: string, key: string, gz: Gzipped): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const etag = head.ETag?.replace(/"/g, '');
    return head.ContentLength === gz.size && head.Metadata?.sha256 === gz.sha256 && (!etag || etag.includes('-') || etag === gz.md5);
  } catch (err) {
    if (err instanceof NotFound || (err as { name?: string }).name === 'NotFound') return false;
    throw err;
  }
}

export interface FlushCounts {
  files: number;
  uploaded: number;
  already_in_s3: number;
  bytes_in: number;
  bytes_out: number;
  [k: string]: number | string;
}

export async function flushLogs(s3: S3Client, bucket: string, files: LogFile[], tempDir: string, log: (line: string) => void = () => {}): Promise<FlushCounts> {
  const counts: FlushCounts = { files: files.length, uploaded: 0, already_in_s3: 0, bytes_in: 0, bytes_out: 0 };
  for (const f of files) {
    const gz = await gzipToTemp(f.file, tempDir);
    try {
      const key = objectKey(f.root, f.file, gz.sha256);
      if (await verified(s3, bucket, key, gz)) {
        counts.already_in_s3++;
      } else {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: fs.createReadStream(gz.path),
            ContentLength: gz.size,
            ContentType: 'application/gzip',
            Metadata: { sha256: gz.sha256, 'source-bytes': String(f.size) },
          }),
        );
        if (!(await verified(s3, bucket, key, gz))) {
          throw new Error(`s3://${bucket}/${key} does not match what was uploaded (size or checksum): the local file ${f.file} is kept; check the object store`);
        }
        counts.uploaded++;
        counts.bytes_out += gz.size;
        log(`flushed ${f.file} → s3://${bucket}/${key}`);
      }
      counts.bytes_in += f.size;
      try {
        fs.rmSync(f.file);
      } catch (err) {
        // A read-only mount (e.g. OpenClaw's state in docker compose): the object is safe in S3 and
        // found again by its key next time; say so instead of failing the step on every run.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') throw err;
        counts.not_deleted = Number(counts.not_deleted ?? 0) + 1;
        counts.not_deleted_reason = `${code}: ${path.dirname(f.file)} is not writable for the worker (mount it read-write or leave it out of CLAWBASE_LOG_DIRS)`;
      }
    } finally {
      fs.rmSync(gz.path, { force: true });
    }
  }
  return counts;
}

export async function logFlushStep(_client: PoolClient, ctx: WorkerContext, log: (line: string) => void): Promise<Record<string, number | string>> {
  const bucket = ctx.s3.logsBucket;
  if (!bucket) return { skipped: 'S3_BUCKET_LOGS is not set: old logs stay on disk' };
  const files = findLogFiles(ctx.maintenance.logDirs, Date.now() - ctx.maintenance.logFlushAfterDays * DAY_MS);
  if (!files.length) return { files: 0, uploaded: 0, already_in_s3: 0 };
  const s3 = makeS3Client(ctx.s3);
  try {
    return await flushLogs(s3, bucket, files, ctx.maintenance.tempDir, log);
  } finally {
    s3.destroy();
  }
}
