import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { migrateDatabase, migrationsFolder } from '../db/migrate.ts';
import { loadConfig } from '../lib/config.ts';
import { redact, withDatabase } from '../lib/database-urls.ts';
import { withRunningDatabase } from '../lib/stack.ts';
import type { Command } from './main.ts';

const require = createRequire(import.meta.url);

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply the committed migrations (graphile-migrate); `-- ARGS` runs any graphile-migrate command.',
  usage: `Usage: clawbase migrate [-- GRAPHILE-MIGRATE-ARGS]

Without arguments: applies every committed migration in migrations/committed to DATABASE_URL
(or the embedded cluster, started for the job if it is not running), then sets the role
passwords and API role settings, and tells PostgREST to reload its schema cache.

After --, the arguments go to graphile-migrate with DATABASE_URL, SHADOW_DATABASE_URL and
ROOT_DATABASE_URL set for this install, e.g.:
  clawbase migrate -- status
  clawbase migrate -- watch          # develop migrations/current.sql against a live database
  clawbase migrate -- commit -m "add foo"`,
  async run(args) {
    const config = loadConfig();
    const sep = args.indexOf('--');
    if (sep === -1 && args.length) throw new Error(`unexpected arguments: ${args.join(' ')} (graphile-migrate arguments go after --).`);
    return withRunningDatabase(config, async (urls, secrets) => {
      if (sep !== -1) return runGraphileMigrate(args.slice(sep + 1), urls.owner);
      const t0 = performance.now();
      await migrateDatabase(
        urls.owner,
        {
          authenticatorPassword: secrets.authenticatorPassword,
          workerPassword: secrets.workerPassword,
          apiStatementTimeout: config.apiStatementTimeout,
          embeddingModel: config.ollama.embedModel,
        },
        (line) => console.log(line),
      );
      console.log(`Database ${redact(urls.owner)} is up to date (${Math.round(performance.now() - t0)} ms).`);
      return 0;
    });
  },
};

function runGraphileMigrate(args: string[], ownerUrl: string): Promise<number> {
  const cli = path.join(path.dirname(require.resolve('graphile-migrate/package.json')), 'dist', 'cli.js');
  const name = new URL(ownerUrl).pathname.slice(1);
  const env = {
    ...process.env,
    DATABASE_URL: ownerUrl,
    SHADOW_DATABASE_URL: withDatabase(ownerUrl, `${name}_shadow`),
    ROOT_DATABASE_URL: withDatabase(ownerUrl, 'postgres'),
  };
  // graphile-migrate reads .gmrc from its working directory: the repository root.
  const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit', env, cwd: path.dirname(migrationsFolder) });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
