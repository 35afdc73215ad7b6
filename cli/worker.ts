import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import { openBackupStore } from '../worker/backups/store.ts';
import { shipWal } from '../worker/backups/wal.ts';
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
    // Between the once-a-minute backup_wal runs, segments leave the local archive within seconds
    // (RPO = archive_timeout + this). Failures are left to backup_wal, which records and alerts.
    const store = openBackupStore(config.backups, config.s3);
    let shipping = false;
    const shipper = store
      ? setInterval(() => {
          if (shipping) return;
          shipping = true;
          void shipWal(store, config.backups.walArchiveDir, { waitMs: 0 })
            .catch(() => undefined)
            .finally(() => (shipping = false));
        }, 5000)
      : undefined;
    console.log('worker ready');
    const signal = await Promise.race([
      new Promise<string>((resolve) => process.once('SIGINT', () => resolve('SIGINT'))),
      new Promise<string>((resolve) => process.once('SIGTERM', () => resolve('SIGTERM'))),
      runner.promise.then(() => 'runner stopped'),
    ]);
    console.log(`worker: ${signal}, stopping`);
    if (shipper) clearInterval(shipper);
    await runner.stop();
    return 0;
  },
};
