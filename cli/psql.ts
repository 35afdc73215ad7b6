import { spawn, spawnSync } from 'node:child_process';
import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import type { Command } from './main.ts';

export const psqlCommand: Command = {
  name: 'psql',
  summary: 'Open psql on the Clawbase database (as its owner).',
  usage: `Usage: clawbase psql [PSQL-ARGS…]

Opens psql on DATABASE_URL or the running embedded cluster, as the database owner, with the
password passed in the environment (never on the command line). Extra arguments go to psql:
  clawbase psql -c "select key, value from api.memory_kv where agent_id = 'main'"
Needs the psql client: on Debian/Ubuntu, apt-get install postgresql-client.`,
  async run(args) {
    if (spawnSync('psql', ['--version']).error) {
      throw new Error('psql is not installed. On Debian/Ubuntu: sudo apt-get install postgresql-client (any version ≥ 12 talks to PostgreSQL 17).');
    }
    const config = loadConfig();
    const url = new URL(databaseUrls(config, loadSecrets(config)).owner);
    const env = {
      ...process.env,
      PGHOST: url.hostname,
      PGPORT: url.port || '5432',
      PGUSER: decodeURIComponent(url.username),
      PGPASSWORD: decodeURIComponent(url.password),
      PGDATABASE: url.pathname.slice(1),
      PGOPTIONS: '-c search_path=api,private,public',
      PGAPPNAME: 'clawbase psql',
    };
    const child = spawn('psql', args, { stdio: 'inherit', env });
    return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  },
};
