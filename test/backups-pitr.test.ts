// Point-in-time restore against a real cluster, s3rver and the low-level backup API: back up,
// write more, kill -9 the server, restore to a moment between two commits.
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBaseBackup } from '../worker/backups/base.ts';
import { decryptBuffer } from '../worker/backups/crypto.ts';
import { freeLoopbackPort, prepareRestore, startRestored } from '../worker/backups/restore.ts';
import { shipWal } from '../worker/backups/wal.ts';
import { makeRoot, sourcePassword, startSource, testKey, testStore, type SourceCluster } from './support/backups.ts';
import { startS3, type TestS3 } from './support/s3.ts';
import { createTestDatabase } from './support/stack.ts';

const bucket = 'clawbase-backups';
let s3: TestS3;
let source: SourceCluster;
let catalog: pg.Pool;
const key = testKey();
const cleanup: Array<() => Promise<void>> = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  let db: { ownerUrl: string };
  [s3, source, db] = await Promise.all([startS3(bucket), startSource('pitr'), createTestDatabase('backups_pitr')]);
  catalog = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  await source.sql(`create table notes (id int primary key, body text, at timestamptz not null default clock_timestamp())`);
}, 60_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  await source?.close();
  await catalog?.end();
  await s3?.close();
});

async function restoreAndQuery(store: ReturnType<typeof testStore>, opts: { at?: Date }, label: string) {
  const root = makeRoot(label);
  const dataDir = path.join(root, 'pg');
  const prepared = await prepareRestore({ store, targetDir: dataDir, tmpDir: path.join(root, 'tmp'), at: opts.at, progress: () => {} });
  const started = await startRestored({ dataDir, walDir: prepared.walDir, port: await freeLoopbackPort(), superuserPassword: sourcePassword, logFile: path.join(root, 'postgres.log'), settings: { archive_mode: 'off' } });
  cleanup.push(async () => {
    await started.server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const client = new pg.Client({ connectionString: started.server.url('postgres') });
  await client.connect();
  const { rows } = await client.query(`select id from notes order by id`);
  await client.end();
  return { prepared, started, ids: rows.map((r) => r.id as number) };
}

describe('base backup + WAL archive + point-in-time restore', () => {
  it('restores after kill -9 to a timestamp between two writes: exactly the rows committed before it', async () => {
    const store = testStore(s3, bucket, key);
    await source.sql(`insert into notes (id, body) values (1, 'before the backup')`);
    const backup = await takeBaseBackup({ store, databaseUrl: source.url, dataDir: source.dataDir, walArchiveDir: source.archiveDir, tmpDir: source.tmpDir, record: catalog });
    const row = (await catalog.query(`select * from api.backups where id = $1`, [backup.id])).rows[0];
    expect(row).toMatchObject({ kind: 'base', status: 'succeeded', key_id: key.id, wal_start: backup.manifest.walStart, wal_end: backup.manifest.walEnd });
    expect(row.content_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(row.size_bytes)).toBeGreaterThan(0);
    expect(backup.manifest.backupLabel).toContain('START WAL LOCATION');

    await source.sql(`insert into notes (id, body) values (2, 'after the backup')`);
    await sleep(200);
    const between = new Date();
    await sleep(200);
    await source.sql(`insert into notes (id, body) values (3, 'after the target')`);
    await source.switchAndArchive();
    const shipped = await shipWal(store, source.archiveDir);
    expect(shipped.error).toBeUndefined();
    expect(shipped.shipped.length).toBeGreaterThan(0);

    process.kill(source.server.pid!, 'SIGKILL');
    await source.server.exited;

    try {
      const { ids, prepared, started } = await restoreAndQuery(store, { at: between }, 'pitr-restore');
      expect(prepared.manifest.id).toBe(backup.id);
      expect(ids).toEqual([1, 2]);
      expect(started.replayedTo!.getTime()).toBeLessThan(between.getTime());
    } finally {
      await source.start();
    }
  });

  it('a corrupted base backup is detected with a clear error and the restore falls back to the older one', async () => {
    const store = testStore(s3, bucket, key);
    await source.sql(`insert into notes (id, body) values (10, 'between backups')`);
    const older = await takeBaseBackup({ store, databaseUrl: source.url, dataDir: source.dataDir, walArchiveDir: source.archiveDir, tmpDir: source.tmpDir });
    const newer = await takeBaseBackup({ store, databaseUrl: source.url, dataDir: source.dataDir, walArchiveDir: source.archiveDir, tmpDir: source.tmpDir });
    // Flip bytes in the middle of the newer backup's data object, same size.
    const obj = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: newer.manifest.data.key }));
    const bytes = Buffer.from(await obj.Body!.transformToByteArray());
    for (let i = 0; i < 64; i++) bytes[Math.floor(bytes.length / 2) + i]! ^= 0xff;
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: newer.manifest.data.key, Body: bytes, ContentLength: bytes.length }));
    await source.sql(`insert into notes (id, body) values (11, 'after both')`);
    await source.switchAndArchive();
    expect((await shipWal(store, source.archiveDir)).error).toBeUndefined();

    const { ids, prepared } = await restoreAndQuery(store, {}, 'fallback-restore');
    expect(prepared.skipped).toHaveLength(1);
    expect(prepared.skipped[0]!.id).toBe(newer.id);
    expect(prepared.skipped[0]!.error).toMatch(/is corrupted \(SHA-256/);
    expect(prepared.manifest.id).toBe(older.id);
    // The older backup plus the WAL after it still reaches the latest row.
    expect(ids).toEqual(expect.arrayContaining([10, 11]));
  });

  it('two shippers at once (the 5 s loop, backup_wal, a base backup) ship each segment once and both succeed', async () => {
    const store = testStore(s3, bucket, key);
    const closed: string[] = [];
    for (let i = 0; i < 3; i++) {
      await source.sql(`insert into notes (id, body) values ($1, 'concurrent shipping')`, [30 + i]);
      closed.push(await source.switchAndArchive());
    }
    const [a, b] = await Promise.all([shipWal(store, source.archiveDir), shipWal(store, source.archiveDir)]);
    expect(a.error).toBeUndefined();
    expect(b.error).toBeUndefined();
    const shipped = [...a.shipped, ...b.shipped];
    for (const f of closed) expect(shipped.filter((n) => n === f)).toHaveLength(1);
    // A shipper that must not wait gives up at once while another holds the lock.
    fs.writeFileSync(path.join(source.archiveDir, '.clawbase-ship.lock'), `${process.pid}\n`);
    try {
      expect((await shipWal(store, source.archiveDir, { waitMs: 0 })).error).toMatch(/another shipper/);
    } finally {
      fs.rmSync(path.join(source.archiveDir, '.clawbase-ship.lock'));
    }
  });

  it('nothing in the bucket is readable without the key', async () => {
    const store = testStore(s3, bucket, key);
    const marker = 'PLAINTEXT-MARKER-' + 'x7q'.repeat(10);
    await source.sql(`insert into notes (id, body) values (20, $1)`, [marker]);
    await source.sql(`checkpoint`);
    // Clawbase's secrets travel with the base backup, encrypted in its manifest.
    const secretsFile = path.join(source.root, 'secrets.json');
    fs.writeFileSync(secretsFile, JSON.stringify({ superuserPassword: marker }));
    await takeBaseBackup({ store, databaseUrl: source.url, dataDir: source.dataDir, walArchiveDir: source.archiveDir, tmpDir: source.tmpDir, configFiles: [secretsFile] });
    await source.switchAndArchive();
    expect((await shipWal(store, source.archiveDir)).error).toBeUndefined();
    const keys = await s3.keys(store.prefix + '/');
    expect(keys.some((k) => k.includes('/wal/'))).toBe(true);
    expect(keys.some((k) => k.endsWith('data.tar.gz.enc'))).toBe(true);
    let foundDecoded = false;
    let foundSecrets = false;
    for (const k of keys) {
      const obj = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      const raw = Buffer.from(await obj.Body!.transformToByteArray());
      expect(raw.includes(marker), `${k} holds the plaintext`).toBe(false);
      expect(raw.includes('START WAL LOCATION'), `${k} holds a plaintext backup_label`).toBe(false);
      expect(raw.includes(fs.readFileSync(secretsFile).toString('base64')), `${k} holds the secrets readable`).toBe(false);
      // With the key the marker is there (so the search above could have found it).
      const plain = decryptBuffer(key, raw);
      const zlib = await import('node:zlib');
      const inflated = k.endsWith('.gz.enc') ? zlib.gunzipSync(plain) : k.endsWith('.br.enc') ? zlib.brotliDecompressSync(plain) : plain;
      if (inflated.includes(marker)) foundDecoded = true;
      if (k.endsWith('manifest.json.enc') && JSON.parse(inflated.toString()).config?.['secrets.json']) foundSecrets = true;
    }
    expect(foundDecoded).toBe(true);
    expect(foundSecrets).toBe(true);
  });
});
