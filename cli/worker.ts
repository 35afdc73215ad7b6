import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import { workerContext } from '../worker/context.ts';
import { startWorker } from '../worker/main.ts';
import type { Command } from './main.ts';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Run the graphile-worker process (started by `clawbase start`; run more for scale).',
  usage: `Usage: clawbase worker

Runs the task queue and the crontab in worker/crontab as the database login "worker", against
DATABASE_URL or the embedded cluster (which must be running). \`clawbase start\` runs one; more
can run side by side (jobs are taken with SKIP LOCKED). Stops cleanly on SIGINT/SIGTERM.`,
  async run() {
    const config = loadConfig();
    const urls = databaseUrls(config, loadSecrets(config));
    const runner = await startWorker({ connectionString: urls.worker, context: workerContext(config) });
    console.log('worker ready');
    const signal = await Promise.race([
      new Promise<string>((resolve) => process.once('SIGINT', () => resolve('SIGINT'))),
      new Promise<string>((resolve) => process.once('SIGTERM', () => resolve('SIGTERM'))),
      runner.promise.then(() => 'runner stopped'),
    ]);
    console.log(`worker: ${signal}, stopping`);
    await runner.stop();
    return 0;
  },
};
