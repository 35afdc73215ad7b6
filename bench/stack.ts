// A throw-away Clawbase for benchmarks: embedded PostgreSQL in a temp folder, migrated, with the
// real PostgREST in front; settings as `clawbase start` uses them unless a bench overrides them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabaseIfMissing, startEmbeddedPostgres, type RunningPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { withDatabase } from '../lib/database-urls.ts';
import { mintToken, type TokenRole } from '../lib/jwt.ts';
import { startPostgrest, type PostgrestOptions, type RunningPostgrest } from '../rest/postgrest.ts';
import { freePort } from '../test/support/ports.ts';

export interface BenchStack {
  tmp: string;
  pg: RunningPostgres;
  ownerUrl: string;
  authenticatorUrl: string;
  workerUrl: string;
  jwtSecret: string;
  token(role: TokenRole, agentId?: string): Promise<string>;
  startRest(overrides?: Partial<PostgrestOptions>): Promise<RunningPostgrest>;
  stop(): Promise<void>;
}

export async function startBenchStack(settings: Record<string, string | number> = {}): Promise<BenchStack> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-bench-'));
  fs.chmodSync(tmp, 0o711);
  const secrets = {
    superuserPassword: 'bench-superuser',
    authenticatorPassword: 'bench-authenticator',
    workerPassword: 'bench-worker',
  };
  const jwtSecret = 'bench-jwt-secret-that-is-longer-than-32-characters';
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(tmp, 'pg'),
    port: await freePort(),
    superuserPassword: secrets.superuserPassword,
    logFile: path.join(tmp, 'postgres.log'),
    settings,
  });
  await createDatabaseIfMissing(pg.url('postgres'), 'clawbase');
  const ownerUrl = pg.url('clawbase');
  await migrateDatabase(ownerUrl, { ...secrets, apiStatementTimeout: '30s' });
  const as = (user: string, password: string) => {
    const u = new URL(withDatabase(ownerUrl, 'clawbase'));
    u.username = user;
    u.password = password;
    return u.href;
  };
  const rests: RunningPostgrest[] = [];
  return {
    tmp,
    pg,
    ownerUrl,
    authenticatorUrl: as('authenticator', secrets.authenticatorPassword),
    workerUrl: as('worker', secrets.workerPassword),
    jwtSecret,
    token: (role, agentId) => mintToken({ secret: jwtSecret, audience: 'clawbase', role, agentId, ttlSeconds: 3600 }),
    async startRest(overrides = {}) {
      const rest = await startPostgrest({
        dbUri: as('authenticator', secrets.authenticatorPassword),
        jwtSecret,
        jwtAudience: 'clawbase',
        port: await freePort(),
        adminPort: await freePort(),
        maxRows: 1000,
        pool: 10,
        runDir: path.join(tmp, 'run'),
        logFile: path.join(tmp, 'postgrest.log'),
        ...overrides,
      });
      rests.push(rest);
      return rest;
    },
    async stop() {
      for (const r of rests) await r.stop();
      await pg.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
