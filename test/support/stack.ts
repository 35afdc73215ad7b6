// Per-file test fixtures: a fresh database cloned from the migrated template, the real
// PostgREST in front of it, tokens, and raw-SQL access as owner.
import path from 'node:path';
import { PostgrestClient } from '@supabase/postgrest-js';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabaseIfMissing } from '../../db/embedded.ts';
import { withDatabase } from '../../lib/database-urls.ts';
import { mintToken, type TokenRole } from '../../lib/jwt.ts';
import { startPostgrest, type RunningPostgrest } from '../../rest/postgrest.ts';
import { templateDatabase } from './global-setup.ts';
import { freePort } from './ports.ts';

export const audience = 'clawbase';

export interface TestStack {
  database: string;
  ownerUrl: string;
  /** The same database as the least-privileged `worker` login. */
  workerUrl: string;
  restUrl: string;
  /** PostgREST's admin server (/live, /ready). */
  restAdminUrl: string;
  /** Owner connection (superuser): for arranging and checking what the API may not show. */
  sql: pg.Pool;
  token(role: TokenRole, agentId?: string, ttlSeconds?: number): Promise<string>;
  /** A postgrest-js client acting as `role` (and agent) with a fresh token. */
  client(role: TokenRole | 'anon', agentId?: string): Promise<PostgrestClient>;
  stop(): Promise<void>;
}

let counter = 0;

/** A fresh database cloned from the migrated template: its owner's URL and the `worker` login's. */
export async function createTestDatabase(label: string): Promise<{ name: string; ownerUrl: string; workerUrl: string }> {
  const cluster = inject('cluster');
  const name = `t_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${process.pid}_${counter++}`;
  await createDatabaseIfMissing(cluster.adminUrl, name, templateDatabase);
  const ownerUrl = withDatabase(cluster.adminUrl, name);
  return { name, ownerUrl, workerUrl: workerLoginUrl(ownerUrl) };
}

/** The same database as `ownerUrl`, logged in as the least-privileged `worker` role. */
export function workerLoginUrl(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  url.username = 'worker';
  url.password = inject('cluster').workerPassword;
  return url.href;
}

export async function startTestStack(label: string): Promise<TestStack> {
  const cluster = inject('cluster');
  const { name, ownerUrl } = await createTestDatabase(label);
  const authUrl = new URL(ownerUrl);
  authUrl.username = 'authenticator';
  authUrl.password = cluster.authenticatorPassword;
  const port = await freePort();
  const rest: RunningPostgrest = await startPostgrest({
    dbUri: authUrl.href,
    jwtSecret: cluster.jwtSecret,
    jwtAudience: audience,
    port,
    adminPort: await freePort(),
    maxRows: 1000,
    pool: 4,
    runDir: path.join(cluster.tmpRoot, 'run'),
    logFile: path.join(cluster.tmpRoot, `postgrest-${name}.log`),
  });
  const sql = new pg.Pool({ connectionString: ownerUrl, max: 4 });
  const token = (role: TokenRole, agentId?: string, ttlSeconds = 600) =>
    mintToken({ secret: cluster.jwtSecret, audience, role, agentId, ttlSeconds });
  const workerUrl = new URL(ownerUrl);
  workerUrl.username = 'worker';
  workerUrl.password = cluster.workerPassword;
  return {
    database: name,
    ownerUrl,
    workerUrl: workerUrl.href,
    restUrl: rest.url,
    restAdminUrl: rest.adminUrl,
    sql,
    token,
    async client(role, agentId) {
      const headers: Record<string, string> = role === 'anon' ? {} : { Authorization: `Bearer ${await token(role, agentId)}` };
      return new PostgrestClient(rest.url, { headers });
    },
    async stop() {
      await rest.stop();
      await sql.end();
      const admin = new pg.Client({ connectionString: cluster.adminUrl });
      await admin.connect();
      await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
      await admin.end();
    },
  };
}
