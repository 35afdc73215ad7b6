// `clawbase restore` end to end: refuses to touch live data without --force, keeps what it
// replaces, restores database and workspace to a moment between two writes.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { takeBaseBackup } from '../worker/backups/base.ts';
import { snapshotWorkspace } from '../worker/backups/restic.ts';
import { shipWal } from '../worker/backups/wal.ts';
import { startSource, testKey, testStore, type SourceCluster } from './support/backups.ts';
import { startS3, type TestS3 } from './support/s3.ts';

const bucket = 'clawbase-backups';
const key = testKey();
let s3: TestS3;
let source: SourceCluster;
let workspace: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

beforeAll(async () => {
  [s3, source] = await Promise.all([startS3(bucket), startSource('cli')]);
  workspace = path.join(source.root, 'workspace');
  fs.mkdirSync(workspace);
  const store = testStore(s3, bucket, key);
  Object.assign(process.env, {
    CLAWBASE_HOME: path.join(source.root, 'home'),
    CLAWBASE_PG_DATA_DIR: source.dataDir,
    CLAWBASE_WAL_ARCHIVE_DIR: source.archiveDir,
    CLAWBASE_PG_PORT: String(source.port),
    S3_ENDPOINT: s3.settings.endpoint,
    S3_ACCESS_KEY_ID: s3.settings.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.settings.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    S3_BUCKET_BACKUPS: bucket,
    CLAWBASE_BACKUP_PREFIX: store.prefix,
    BACKUP_ENCRYPTION_KEY: key.key.toString('hex'),
    OPENCLAW_WORKSPACE: workspace,
    RESTIC_REPOSITORY: path.join(source.root, 'restic'),
    RESTIC_PASSWORD: 'restic-cli-test-password',
  });
}, 60_000);

afterAll(async () => {
  await source?.close();
  await s3?.close();
});

describe('clawbase restore', () => {
  it('--help explains the options', async () => {
    const r = await cli('restore', '--help');
    expect(r.code).toBe(0);
    for (const o of ['--at TIMESTAMP', '--backup ID', '--workspace', '--target DIR', '--force']) expect(r.out).toContain(o);
  });

  it('refuses to overwrite live data without --force, then restores database and workspace to a moment between two writes and keeps the replaced data', async () => {
    const store = testStore(s3, bucket, key, process.env.CLAWBASE_BACKUP_PREFIX);
    const repo = { repository: process.env.RESTIC_REPOSITORY!, password: process.env.RESTIC_PASSWORD!, cacheDir: path.join(source.root, 'restic-cache') };
    await source.sql(`create table items (id int primary key)`);
    await source.sql(`insert into items values (1)`);
    fs.writeFileSync(path.join(workspace, 'MEMORY.md'), 'version 1');
    await snapshotWorkspace(repo, workspace, 7);
    const home = process.env.CLAWBASE_HOME!;
    fs.mkdirSync(home, { recursive: true });
    const secrets = JSON.stringify({ superuserPassword: 'the-backed-up-one' });
    fs.writeFileSync(path.join(home, 'secrets.json'), secrets);
    const backup = await takeBaseBackup({ store, databaseUrl: source.url, dataDir: source.dataDir, walArchiveDir: source.archiveDir, tmpDir: source.tmpDir, configFiles: [path.join(home, 'secrets.json')] });
    fs.writeFileSync(path.join(home, 'secrets.json'), JSON.stringify({ superuserPassword: 'generated-on-a-new-machine' }));
    await source.sql(`insert into items values (2)`);
    await sleep(1100);
    const between = new Date();
    await sleep(1100);
    await source.sql(`insert into items values (3)`);
    fs.writeFileSync(path.join(workspace, 'MEMORY.md'), 'version 2');
    await snapshotWorkspace(repo, workspace, 7);
    await source.switchAndArchive();
    expect((await shipWal(store, source.archiveDir)).error).toBeUndefined();

    const list = await cli('restore', '--list');
    expect(list.code).toBe(0);
    expect(list.out).toContain(String(backup.id));

    // While PostgreSQL runs, even --force is refused.
    const running = await cli('restore', '--force');
    expect(running.code).toBe(1);
    expect(running.err).toMatch(/is running on .*stop Clawbase first/);

    await source.server.stop();
    const refused = await cli('restore', '--at', between.toISOString());
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/holds data: nothing was changed/);
    expect(fs.existsSync(path.join(source.dataDir, 'PG_VERSION'))).toBe(true);
    expect(fs.readdirSync(source.root).filter((f) => f.includes('.replaced-'))).toEqual([]);

    const r = await cli('restore', '--at', between.toISOString(), '--workspace', '--force');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/downloading/);
    expect(r.out).toMatch(/database restored in/);
    const replaced = fs.readdirSync(source.root).filter((f) => f.startsWith('pg.replaced-'));
    expect(replaced).toHaveLength(1);
    expect(fs.existsSync(path.join(source.root, replaced[0]!, 'PG_VERSION'))).toBe(true);
    expect(fs.readFileSync(path.join(workspace, 'MEMORY.md'), 'utf8')).toBe('version 1');
    expect(fs.readdirSync(source.root).filter((f) => f.startsWith('workspace.replaced-'))).toHaveLength(1);

    // secrets.json comes back with the database whose logins use it; the other one is kept aside.
    expect(fs.readFileSync(path.join(home, 'secrets.json'), 'utf8')).toBe(secrets);
    expect(fs.readdirSync(home).filter((f) => f.startsWith('secrets.json.replaced-'))).toHaveLength(1);

    await source.start();
    const { rows } = await source.sql(`select id from items order by id`);
    expect(rows.map((x) => x.id)).toEqual([1, 2]);
    // The restored server is a normal primary again (recovery settings reset).
    expect((await source.sql(`select pg_is_in_recovery() as r`)).rows[0].r).toBe(false);
    expect((await source.sql(`show recovery_target_time`)).rows[0].recovery_target_time).toBe('');

    // A commit on the new timeline that never reached any archive (no segment switch), then kill -9:
    // a restore to the latest point takes it from the replaced folder's pg_wal.
    await source.sql(`insert into items values (4)`);
    process.kill(source.server.pid!, 'SIGKILL');
    await source.server.exited;
    const latest = await cli('restore', '--force');
    expect(latest.err).toBe('');
    expect(latest.code).toBe(0);
    await source.start();
    expect((await source.sql(`select id from items order by id`)).rows.map((x) => x.id)).toEqual([1, 2, 4]);
  });
});
