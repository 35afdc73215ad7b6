// kill -9 of the worker in the middle of the log upload, then a restart: every log ends up in S3
// exactly once, and at no moment is a log neither on disk nor verified in S3.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { quickAddJob } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeFolders, waitFor, writeOld, type Folders } from './support/maintenance.ts';
import { startS3, type TestS3 } from './support/s3.ts';
import { createTestDatabase } from './support/stack.ts';
import pg from 'pg';

const root = path.resolve(import.meta.dirname, '..');
let db: { name: string; ownerUrl: string };
let owner: pg.Pool;
let s3: TestS3;
let folders: Folders;
const children: ChildProcess[] = [];
const FILES = 30;

beforeAll(async () => {
  [db, s3] = await Promise.all([createTestDatabase('crash'), startS3('crash-logs')]);
  owner = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  folders = makeFolders('crash');
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await owner?.end();
  await s3?.close();
  if (folders) fs.rmSync(folders.root, { recursive: true, force: true });
});

/** A ~1.5 MB log whose text compresses only so far (so gzip and upload take a moment each). */
function content(i: number): string {
  const lines: string[] = [];
  let h = createHash('sha256').update(String(i)).digest('hex');
  for (let n = 0; n < 12_000; n++) {
    if (n % 8 === 0) h = createHash('sha256').update(h).digest('hex');
    lines.push(`{"n":${n},"file":${i},"h":"${h.slice(n % 32, (n % 32) + 32)}"}`);
  }
  return lines.join('\n') + '\n';
}

function startWorkerProcess(): ChildProcess {
  const url = new URL(db.ownerUrl);
  const child = spawn(process.execPath, ['bin/clawbase.mjs', 'worker'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: url.href,
      CLAWBASE_WORKER_PASSWORD: inject('cluster').workerPassword,
      CLAWBASE_HOME: path.join(folders.root, 'home'),
      CLAWBASE_LOG_DIRS: folders.transcripts,
      CLAWBASE_LOG_FLUSH_AFTER_DAYS: '1',
      OPENCLAW_WORKSPACE: folders.workspace,
      OLLAMA_HOST: 'http://127.0.0.1:9',
      S3_ENDPOINT: s3.settings.endpoint,
      S3_REGION: s3.settings.region,
      S3_BUCKET_LOGS: 'crash-logs',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
  });
  children.push(child);
  return child;
}

const fileName = (i: number) => path.join(folders.transcripts, 'main/sessions', `s${String(i).padStart(2, '0')}.jsonl`);
const keyOf = (i: number, keys: string[]) => keys.filter((k) => k.startsWith(`logs/agents/main/sessions/s${String(i).padStart(2, '0')}.jsonl.`));

describe('log flush crash safety', () => {
  it('kill -9 mid-upload, restart: each log exactly once in S3, none lost, none left locally', async () => {
    for (let i = 0; i < FILES; i++) writeOld(fileName(i), content(i), 3);
    const first = startWorkerProcess();
    await quickAddJob({ connectionString: db.ownerUrl }, 'maintenance_sweep', { steps: ['log_flush'] });
    await waitFor(async () => (await s3.keys()).length >= 4, 60_000, 'some uploads');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    // Right after the crash: every log is on disk or in S3, some are already flushed, some are not.
    const afterCrash = await s3.keys();
    for (let i = 0; i < FILES; i++) expect({ i, safe: fs.existsSync(fileName(i)) || keyOf(i, afterCrash).length === 1 }).toEqual({ i, safe: true });
    const left = Array.from({ length: FILES }, (_, i) => i).filter((i) => fs.existsSync(fileName(i)));
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(FILES);

    // The killed worker's job is still locked. The restarted worker sees that no live process
    // holds that worker id's advisory lock and frees the job at once (not after graphile-worker's
    // 4-hour lock timeout); the rerun flushes the rest and finds the object of a file uploaded
    // just before the kill. No new sweep is queued: the killed one finishes by itself.
    const { rows: [locked] } = await owner.query(`select count(*)::int as n from graphile_worker._private_jobs where locked_by is not null`);
    expect(locked.n).toBeGreaterThan(0);
    const restarted = startWorkerProcess();
    let output = '';
    restarted.stdout!.on('data', (d) => (output += d));
    restarted.stderr!.on('data', (d) => (output += d));
    await waitFor(async () => left.every((i) => !fs.existsSync(fileName(i))), 120_000, 'the killed job to be freed and finish').catch((err: Error) => {
      throw new Error(`${err.message}; the restarted worker said:\n${output}`);
    });
    await waitFor(
      async () => (await owner.query(`select 1 from graphile_worker._private_jobs where locked_by is not null`)).rowCount === 0,
      60_000,
      'no job left locked',
    );
    expect(output).toMatch(/freed the jobs of 1 dead worker/);
    const keys = await s3.keys();
    expect(keys).toHaveLength(FILES);
    for (let i = 0; i < FILES; i++) {
      expect(keyOf(i, keys)).toHaveLength(1);
      expect(fs.existsSync(fileName(i))).toBe(false);
    }
    for (const i of [0, left[0]!, FILES - 1]) {
      const obj = await s3.client.send(new GetObjectCommand({ Bucket: 'crash-logs', Key: keyOf(i, keys)[0] }));
      expect(gunzipSync(Buffer.from(await obj.Body!.transformToByteArray())).toString() === content(i)).toBe(true);
    }
  }, 240_000);
});
