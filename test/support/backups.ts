// A PostgreSQL cluster of its own with WAL archiving on (the backup tests kill it), plus the
// bucket and key the backups go to.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../db/embedded.ts';
import { parseBackupKey, type BackupKey } from '../../worker/backups/crypto.ts';
import type { BackupStore } from '../../worker/backups/store.ts';
import { prepareWalArchiveDir, walArchiveSettings } from '../../worker/backups/wal.ts';
import { freePort } from './ports.ts';
import type { TestS3 } from './s3.ts';

export const sourcePassword = 'backup-source-superuser-password';

export interface SourceCluster {
  root: string;
  dataDir: string;
  archiveDir: string;
  tmpDir: string;
  port: number;
  server: RunningPostgres;
  url: string;
  sql(text: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** Closes the current segment and waits until the archiver has put it in the local archive. */
  switchAndArchive(): Promise<string>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function makeRoot(label: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `backups-${label}-`));
  // PostgreSQL runs as OS user postgres when we are root: let it pass through.
  fs.chmodSync(root, 0o711);
  return root;
}

export async function startSource(label: string): Promise<SourceCluster> {
  const root = makeRoot(label);
  const dataDir = path.join(root, 'pg');
  const archiveDir = path.join(root, 'wal-archive');
  const tmpDir = path.join(root, 'tmp');
  prepareWalArchiveDir(archiveDir);
  const port = await freePort();
  const settings = { ...walArchiveSettings(archiveDir), fsync: 'off', shared_buffers: '32MB', max_connections: 20 };
  const start = () => startEmbeddedPostgres({ dataDir, port, superuserPassword: sourcePassword, logFile: path.join(root, 'postgres.log'), settings });
  const c: SourceCluster = {
    root,
    dataDir,
    archiveDir,
    tmpDir,
    port,
    server: await start(),
    url: '',
    async sql(text, params) {
      const client = new pg.Client({ connectionString: c.url });
      await client.connect();
      try {
        return await client.query(text, params);
      } finally {
        await client.end();
      }
    },
    async switchAndArchive() {
      // A record first, so the switch always closes a segment (a switch at a segment start is a no-op).
      await c.sql(`select pg_logical_emit_message(false, 'clawbase-test', 'switch')`);
      const { rows } = await c.sql(`select pg_walfile_name(pg_switch_wal()) as f`);
      const file = rows[0].f as string;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await c.sql(`select last_archived_wal from pg_stat_archiver`);
        if ((r.rows[0].last_archived_wal ?? '') >= file) return file;
        if (Date.now() > deadline) throw new Error(`segment ${file} was not archived within 30 s; see ${root}/postgres.log`);
        await new Promise((r2) => setTimeout(r2, 50));
      }
    },
    async start() {
      c.server = await start();
    },
    async close() {
      await c.server.stop().catch(() => {});
      // CLAWBASE_KEEP_TEST_DIRS=1 keeps logs and folders for a post-mortem.
      if (!process.env.CLAWBASE_KEEP_TEST_DIRS) fs.rmSync(root, { recursive: true, force: true });
    },
  };
  c.url = c.server.url('postgres');
  return c;
}

export function testKey(): BackupKey {
  return parseBackupKey(crypto.randomBytes(32).toString('base64'));
}

export function testStore(s3: TestS3, bucket: string, key: BackupKey, prefix = `t${process.pid}-${crypto.randomBytes(3).toString('hex')}`): BackupStore {
  return { client: s3.client, bucket, prefix, key };
}
