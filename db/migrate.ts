// Applies the committed migrations (graphile-migrate) and the per-install bootstrap that
// cannot live in a migration: role passwords (secrets) and API role settings (configuration).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@graphile/logger';
import { migrate, type Settings } from 'graphile-migrate';
import { Logger as WorkerLogger, runMigrations as installWorkerSchema } from 'graphile-worker';
import pg from 'pg';

export const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export interface BootstrapOptions {
  authenticatorPassword: string;
  workerPassword: string;
  apiStatementTimeout: string;
  /** OLLAMA_EMBED_MODEL: when it differs from the stored one, everything is re-embedded in the background. */
  embeddingModel?: string;
}

/** graphile-migrate settings with its chatter routed to `onInfo` and errors to stderr. */
export function migrateSettings(connectionString: string, onInfo: (line: string) => void): Settings {
  const logger = new Logger(() => (level, message) => {
    if (level === 'error') console.error(message);
    else onInfo(message);
  });
  return { connectionString, migrationsFolder, logger };
}

/**
 * graphile-worker's own schema first (our migrations may call graphile_worker.add_job), then
 * Clawbase's committed migrations.
 */
export async function applyMigrations(ownerUrl: string, onInfo: (line: string) => void = () => {}): Promise<void> {
  await installWorkerSchema({ connectionString: ownerUrl, logger: new WorkerLogger(() => () => {}) });
  await migrate(migrateSettings(ownerUrl, onInfo));
}

/** Everything `clawbase migrate` does: schema, then the per-install bootstrap. */
export async function migrateDatabase(ownerUrl: string, opts: BootstrapOptions, onInfo: (line: string) => void = () => {}): Promise<void> {
  await applyMigrations(ownerUrl, onInfo);
  await bootstrap(ownerUrl, opts);
}

export async function bootstrap(ownerUrl: string, opts: BootstrapOptions): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('begin');
    // Keep the passwords out of the server log even when statement logging is on.
    await client.query("set local log_statement = 'none'");
    await client.query(`alter role authenticator with login password ${client.escapeLiteral(opts.authenticatorPassword)}`);
    await client.query(`alter role worker with login password ${client.escapeLiteral(opts.workerPassword)}`);
    for (const role of ['anon', 'agent', 'viewer', 'operator']) {
      await client.query(`alter role ${role} set statement_timeout = ${client.escapeLiteral(opts.apiStatementTimeout)}`);
    }
    // The worker login runs graphile-worker's queue but may not change its schema.
    await client.query(`grant usage on schema graphile_worker to worker`);
    await client.query(`grant select, insert, update, delete on all tables in schema graphile_worker to worker`);
    await client.query(`grant usage, select on all sequences in schema graphile_worker to worker`);
    await client.query(`grant execute on all functions in schema graphile_worker to worker`);
    if (opts.embeddingModel) {
      const changed = await client.query(
        `update private.settings set value = to_jsonb($1::text) where key = 'embedding_model' and value is distinct from to_jsonb($1::text)`,
        [opts.embeddingModel],
      );
      if (changed.rowCount) await client.query(`select graphile_worker.add_job('embed_pending', '{}'::json, max_attempts => 25, priority => 10)`);
    }
    await client.query('commit');
    // PostgREST caches the schema: tell it to reload after any migration.
    await client.query("notify pgrst, 'reload schema'");
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}
