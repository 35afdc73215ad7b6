// One real PostgreSQL 17 for the whole run; every test file clones the migrated template database.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabaseIfMissing, startEmbeddedPostgres, type RunningPostgres } from '../../db/embedded.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { freePort } from './ports.ts';

export const templateDatabase = 'clawbase_template';

export interface TestCluster {
  /** Superuser URL of the cluster's `postgres` database. */
  adminUrl: string;
  superuserPassword: string;
  authenticatorPassword: string;
  workerPassword: string;
  jwtSecret: string;
  tmpRoot: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: TestCluster;
  }
}

let pg: RunningPostgres | undefined;
let tmpRoot = '';

export async function setup(project: TestProject) {
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-test-'));
  // The server runs as OS user postgres when we are root: let it pass through.
  fs.chmodSync(tmpRoot, 0o711);
  const secrets = {
    superuserPassword: 'test-superuser-password',
    authenticatorPassword: 'test-authenticator-password',
    workerPassword: 'test-worker-password',
    jwtSecret: 'test-jwt-secret-that-is-longer-than-32-characters',
  };
  pg = await startEmbeddedPostgres({
    dataDir: path.join(tmpRoot, 'pg'),
    port: await freePort(),
    superuserPassword: secrets.superuserPassword,
    logFile: path.join(tmpRoot, 'postgres.log'),
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  await createDatabaseIfMissing(pg.url('postgres'), templateDatabase);
  await migrateDatabase(pg.url(templateDatabase), { ...secrets, apiStatementTimeout: '8s' });
  project.provide('cluster', { adminUrl: pg.url('postgres'), tmpRoot, ...secrets });
}

export async function teardown() {
  await pg?.stop();
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
}
