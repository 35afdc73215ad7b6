// The backup jobs as the worker runs them, as the `worker` login, against a cluster that archives
// its WAL: base backup, WAL shipping through an S3 outage with no gap, the restore drill, restic
// workspace snapshots, and retention that never removes the only verified backup.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger, quickAddJob, run, type Runner } from 'graphile-worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseIfMissing } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { loadConfig } from '../lib/config.ts';
import { withDatabase } from '../lib/database-urls.ts';
import { pruneBaseBackups } from '../worker/backups/retention.ts';
import { evaluateHealthRules } from '../worker/health/alerts.ts';
import { restoreWorkspace } from '../worker/backups/restic.ts';
import { freeLoopbackPort, prepareRestore, startRestored } from '../worker/backups/restore.ts';
import { listKeys } from '../worker/backups/store.ts';
import { encryptBuffer } from '../worker/backups/crypto.ts';
import { decodeWalObject, walObjectKey, walObjectName } from '../worker/backups/wal.ts';
import { workerContext, type WorkerContext } from '../worker/context.ts';
import { makeTaskList } from '../worker/tasks/index.ts';
import { resticRepo } from '../worker/tasks/backup-workspace.ts';
import { makeRoot, sourcePassword, startSource, testKey, testStore, type SourceCluster } from './support/backups.ts';
import { waitFor } from './support/maintenance.ts';
import { startS3, type TestS3 } from './support/s3.ts';
import { createTestDatabase } from './support/stack.ts';

const bucket = 'clawbase-backups';
const key = testKey();
const workerPassword = 'backup-test-worker-password';
let s3: TestS3;
let source: SourceCluster;
let owner: pg.Pool;
let runner: Runner;
let workerPool: pg.Pool;
let ctx: WorkerContext;
let workspace: string;
const prefix = `w${process.pid}`;

beforeAll(async () => {
  [s3, source] = await Promise.all([startS3(bucket), startSource('worker')]);
  await createDatabaseIfMissing(source.url, 'clawbase');
  const ownerUrl = withDatabase(source.url, 'clawbase');
  await migrateDatabase(ownerUrl, { authenticatorPassword: 'backup-test-authenticator-pw', workerPassword, apiStatementTimeout: '8s' });
  owner = new pg.Pool({ connectionString: ownerUrl, max: 2 });
  owner.on('error', () => {});
  await owner.query(`create table public.ledger (id int primary key, note text not null)`);
  workspace = path.join(source.root, 'workspace');
  fs.mkdirSync(path.join(workspace, 'memory'), { recursive: true });
  for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(workspace, 'memory', `note-${i}.md`), crypto.randomBytes(20_000).toString('base64'));
  const defaults = loadConfig({});
  ctx = workerContext({
    ollama: { host: 'http://127.0.0.1:9', embedModel: 'x', chatModel: 'x', timeoutMs: 1000 },
    workspace,
    workspaceAgent: 'main',
    s3: { ...s3.settings },
    database: 'clawbase',
    maintenance: { ...defaults.maintenance, tempDir: source.tmpDir },
    backups: {
      ...defaults.backups,
      bucket,
      prefix,
      encryptionKey: key.key.toString('base64'),
      walArchiveDir: source.archiveDir,
      pgDataDir: source.dataDir,
      resticRepository: path.join(source.root, 'restic-repo'),
      resticPassword: 'restic-test-password',
    },
  });
  const workerUrl = new URL(ownerUrl);
  workerUrl.username = 'worker';
  workerUrl.password = workerPassword;
  workerPool = new pg.Pool({ connectionString: workerUrl.href, max: 4 });
  workerPool.on('error', () => {});
  runner = await run({
    pgPool: workerPool,
    concurrency: 2,
    taskList: makeTaskList(ctx),
    noHandleSignals: true,
    logger: new Logger(() => (level, message) => fs.appendFileSync(path.join(source.root, 'worker.log'), `${level}: ${message}\n`)),
  });
}, 120_000);

afterAll(async () => {
  await runner?.stop();
  await workerPool?.end();
  await owner?.end();
  await source?.close();
  await s3?.close();
});

/** Queues a job and waits for its cron_runs row to finish. */
async function runJob(name: string): Promise<{ status: string; error: string | null; counts: Record<string, unknown> }> {
  const { rows } = await owner.query(`select coalesce(max(id), 0) as id from api.cron_runs`);
  await quickAddJob({ pgPool: owner }, name, {}, { maxAttempts: 1 });
  return waitFor(async () => {
    const r = await owner.query(`select status, error, counts from api.cron_runs where name = $1 and id > $2 and status <> 'running' order by id limit 1`, [name, rows[0].id]);
    return r.rows[0];
  }, 120_000, `${name} to finish`);
}

const segmentIndex = (name: string) => parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16, 24), 16);

describe('backup jobs in the worker', () => {
  it('backup_base takes a verified base backup as the worker login and records it', async () => {
    await owner.query(`insert into public.ledger values (1, 'before the base backup')`);
    const r = await runJob('backup_base');
    expect(r.error).toBeNull();
    expect(r.status).toBe('succeeded');
    const { rows } = await owner.query(`select * from api.backups where kind = 'base'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'succeeded', key_id: key.id });
    expect(rows[0].wal_start).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(rows[0].details).toMatchObject({ upload_verified: true });
    expect(rows[0].details.backup_label).toContain('LABEL: clawbase base');
  });

  it('WAL shipping with S3 down keeps every segment locally and ships them, without a gap, when S3 is back', async () => {
    await s3.stop();
    const closed: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        await owner.query(`insert into public.ledger values ($1, 'during the outage')`, [100 + i]);
        closed.push(await source.switchAndArchive());
      }
      for (let i = 0; i < 3; i++) {
        const down = await runJob('backup_wal');
        expect(down.status).toBe('failed');
        expect(down.error).toMatch(/kept in .*shipped when the bucket is reachable/);
      }
      // Three failed runs in a row open backup_failed for the WAL.
      const firing = await evaluateHealthRules(owner, [], ctx.maintenance);
      expect(firing).toContainEqual(expect.objectContaining({ rule: 'backup_failed', subject: 'wal' }));
      const local = fs.readdirSync(source.archiveDir);
      for (const f of closed) expect(local).toContain(f);
    } finally {
      await s3.start();
    }
    const up = await runJob('backup_wal');
    expect(up.status).toBe('succeeded');
    expect(await evaluateHealthRules(owner, [], ctx.maintenance)).not.toContainEqual(expect.objectContaining({ rule: 'backup_failed', subject: 'wal' }));
    expect(fs.readdirSync(source.archiveDir).filter((f) => /^[0-9A-F]{24}$/.test(f))).toEqual([]);
    const segments = (await listKeys(testStore(s3, bucket, key, prefix), 'wal/'))
      .map((k) => walObjectName(k.key))
      .filter((n) => /^[0-9A-F]{24}$/.test(n));
    const idx = segments.map(segmentIndex);
    // Every segment from the first shipped to the last closed one is there.
    expect(idx.at(-1)).toBe(segmentIndex(closed.at(-1)!));
    for (let i = 1; i < idx.length; i++) expect(idx[i]! - idx[i - 1]!).toBe(1);
    // And a restore from the bucket alone replays through the outage.
    const root = makeRoot('worker-restore');
    const prepared = await prepareRestore({ store: testStore(s3, bucket, key, prefix), targetDir: path.join(root, 'pg'), tmpDir: path.join(root, 'tmp') });
    const started = await startRestored({ dataDir: path.join(root, 'pg'), walDir: prepared.walDir, port: await freeLoopbackPort(), superuserPassword: sourcePassword, logFile: path.join(root, 'pg.log'), settings: { archive_mode: 'off' } });
    try {
      const c = new pg.Client({ connectionString: started.server.url('clawbase') });
      await c.connect();
      const { rows } = await c.query(`select id from public.ledger order by id`);
      await c.end();
      expect(rows.map((r) => r.id)).toEqual([1, 100, 101, 102]);
    } finally {
      await started.server.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('backup_drill restores into a scratch instance, runs amcheck, records RTO and RPO, and removes the scratch copy', async () => {
    const r = await runJob('backup_drill');
    expect(r.error).toBeNull();
    expect(r.status).toBe('succeeded');
    const { rows } = await owner.query(`select * from api.backups where kind = 'base'`);
    expect(rows[0]).toMatchObject({ verify_status: 'ok' });
    expect(rows[0].restore_seconds).toBeGreaterThan(0);
    expect(rows[0].rpo_seconds).not.toBeNull();
    expect(rows[0].details.drill.indexes_checked).toBeGreaterThan(50);
    // The newest audit rows of the copy equal the source's, row for row.
    expect(rows[0].details.drill.sample).toMatchObject({ table: 'api.audit_log', match: true });
    expect(rows[0].details.drill.sample.restored.n).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(source.tmpDir, 'backups')).filter((d) => d.startsWith('drill-'))).toEqual([]);
    const status = await owner.query(`select kind, verify_status, restore_seconds from api.backup_status where kind = 'base'`);
    expect(status.rows[0].verify_status).toBe('ok');
  });

  it('backup_workspace snapshots with restic, checks, adds little after a small change, and restores', async () => {
    const first = await runJob('backup_workspace');
    expect(first.error).toBeNull();
    fs.writeFileSync(path.join(workspace, 'memory', 'note-0.md'), 'changed ' + crypto.randomBytes(20_000).toString('base64'));
    const second = await runJob('backup_workspace');
    expect(second.status).toBe('succeeded');
    const { rows } = await owner.query(`select snapshot_id, size_bytes, verify_status from api.backups where kind = 'workspace' order by id`);
    expect(rows).toHaveLength(2);
    expect(rows, JSON.stringify(rows)).toSatisfy((rs: typeof rows) => rs.every((r) => r.verify_status === 'ok' && /^[0-9a-f]{64}$/.test(r.snapshot_id)));
    expect(Number(rows[1].size_bytes)).toBeLessThan(Number(rows[0].size_bytes) * 0.1);
    const target = path.join(source.root, 'restored-workspace');
    await restoreWorkspace(resticRepo(ctx)!, target);
    expect(fs.readFileSync(path.join(target, 'memory', 'note-0.md'), 'utf8')).toMatch(/^changed /);
    expect(fs.readdirSync(path.join(target, 'memory'))).toHaveLength(100);
  });
});

describe('WAL objects', () => {
  it('are brotli under .br.enc, and the gzip ones shipped before (.gz.enc) still decode', async () => {
    const zlib = await import('node:zlib');
    const store = testStore(s3, 'unused', key, 'p');
    const segment = Buffer.concat([crypto.randomBytes(4096), Buffer.alloc(1 << 20)]);
    const name = '000000010000000000000007';
    const current = walObjectKey(store, name);
    expect(current).toBe(`p/wal/${name}.br.enc`);
    expect(walObjectName(current)).toBe(name);
    const brotli = encryptBuffer(key, zlib.brotliCompressSync(segment));
    expect(decodeWalObject(store, current, brotli).equals(segment)).toBe(true);
    const old = `p/wal/${name}.gz.enc`;
    expect(walObjectName(old)).toBe(name);
    expect(decodeWalObject(store, old, encryptBuffer(key, zlib.gzipSync(segment))).equals(segment)).toBe(true);
    // The suffix decides: a gzip body under the brotli name is an error, not a silent mix-up.
    expect(() => decodeWalObject(store, current, encryptBuffer(key, zlib.gzipSync(segment)))).toThrow();
  });
});

describe('retention', () => {
  it('never deletes the only verified backup, and prunes old ones once a newer one is verified', async () => {
    const db = await createTestDatabase('backups_retention');
    const catalog = new pg.Pool({ connectionString: db.ownerUrl, max: 1 });
    const store = testStore(s3, bucket, key, `r${process.pid}`);
    const days = (n: number) => new Date(Date.now() - n * 86_400_000);
    const add = async (name: string, age: number, verified: boolean) => {
      const dir = `${store.prefix}/base/${name}`;
      await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${dir}/data.tar.gz.enc`, Body: 'x' }));
      const { rows } = await catalog.query(
        `insert into api.backups (kind, status, started_at, finished_at, location, verify_status, details) values ('base', 'succeeded', $1, $1, $2, $3, '{"start_wal_file": "000000010000000000000010"}') returning id`,
        [days(age), `s3://${bucket}/${dir}`, verified ? 'ok' : null],
      );
      return Number(rows[0].id);
    };
    try {
      const oldVerified = await add('old-verified', 100, true);
      const oldUnverified = await add('old-unverified', 40, false);
      const fresh = await add('fresh', 0, false);
      let r = await pruneBaseBackups(catalog, store, 30);
      expect(r.pruned).toEqual([]);
      expect((await s3.keys(`${store.prefix}/base/`)).length).toBe(3);

      await catalog.query(`update api.backups set verify_status = 'ok' where id = $1`, [fresh]);
      r = await pruneBaseBackups(catalog, store, 30);
      expect(r.pruned.sort()).toEqual([oldVerified, oldUnverified].sort());
      expect(await s3.keys(`${store.prefix}/base/`)).toEqual([`${store.prefix}/base/fresh/data.tar.gz.enc`]);
      const { rows } = await catalog.query(`select id, status from api.backups order by id`);
      expect(rows.map((x) => x.status)).toEqual(['pruned', 'pruned', 'succeeded']);

      // The newest verified backup stays however old it is.
      await catalog.query(`update api.backups set started_at = $2 where id = $1`, [fresh, days(400)]);
      r = await pruneBaseBackups(catalog, store, 30);
      expect(r.pruned).toEqual([]);

      // A drill that finds the newest checked backup unusable opens backup_failed.
      await catalog.query(`update api.backups set verify_status = 'failed', verified_at = now(), error = 'amcheck: index corrupted' where id = $1`, [fresh]);
      const firing = await evaluateHealthRules(catalog, [], loadConfig({}).maintenance);
      expect(firing).toContainEqual(expect.objectContaining({ rule: 'backup_failed', subject: 'drill', message: expect.stringContaining('amcheck: index corrupted') }));
    } finally {
      await catalog.end();
    }
  });
});
