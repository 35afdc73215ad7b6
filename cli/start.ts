import { loadConfig } from '../lib/config.ts';
import { startStack } from '../lib/stack.ts';
import type { Command } from './main.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'Run the whole system in the foreground (embedded PostgreSQL unless DATABASE_URL is set).',
  usage: `Usage: clawbase start

Starts PostgreSQL 17 (embedded, data in CLAWBASE_HOME, default ./.clawbase; or the server in
DATABASE_URL), applies the migrations, and serves the api schema with PostgREST on
127.0.0.1:CLAWBASE_REST_PORT (default 3000); runs the worker, the functions server
(127.0.0.1:CLAWBASE_FUNCTIONS_PORT, default 8080) and the read-only workspace file server
(CLAWBASE_FILES_PORT, default 8081). Stays in the foreground; Ctrl-C stops everything.
A second start reuses the data. See .env.example for every setting.`,
  async run(args) {
    if (args.length) throw new Error(`start takes no arguments (got ${args.join(' ')}); settings come from the environment.`);
    const config = loadConfig();
    const t0 = performance.now();
    const stack = await startStack(config);
    console.log(
      [
        '',
        `Clawbase is ready in ${((performance.now() - t0) / 1000).toFixed(1)} s.`,
        `  REST API   ${stack.restUrl}/  (OpenAPI description at that URL)`,
        `  functions  ${stack.functionsUrl}/functions/v1/  (try ${stack.functionsUrl}/functions/v1/version)`,
        `  dashboard  ${stack.functionsUrl}/  (Conductor; add a user first: npx clawbase user add --role operator you@example.com)`,
        `  health     ${stack.functionsUrl}/functions/v1/health, metrics ${stack.functionsUrl}/functions/v1/metrics`,
        `  files      ${stack.filesUrl ? `${stack.filesUrl}/  (public folders of ${config.workspace}, read-only)` : 'off'}`,
        `  data       ${config.databaseUrl ? 'DATABASE_URL' : config.home}`,
        '',
        'Get a token for an agent and write a memory:',
        '  TOKEN=$(npx clawbase token --role agent --agent main)',
        `  curl -X POST ${stack.restUrl}/memory_kv -H "Authorization: Bearer $TOKEN" \\`,
        `       -H 'Content-Type: application/json' -H 'Prefer: resolution=merge-duplicates' -d '{"key":"hello","value":"world"}'`,
        '',
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
    const signal = await new Promise<NodeJS.Signals | Error>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
      void stack.failed.then(resolve);
    });
    if (signal instanceof Error) {
      console.error(`Stopped: ${signal.message}`);
      return 1;
    }
    console.log(`\n${signal}: stopping…`);
    await stack.stop();
    console.log('Stopped cleanly.');
    return 0;
  },
};
