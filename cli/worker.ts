import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import { openBackupStore } from '../worker/backups/store.ts';
import { shipWal } from '../worker/backups/wal.ts';
import { workerContext } from '../worker/context.ts';
import { startWorker } from '../worker/main.ts';
import { isTaskGroup, runsTask, taskGroups, type TaskSelection } from '../worker/tasks/index.ts';
import type { Command } from './main.ts';

const groups = Object.keys(taskGroups).join(', ');

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Run the graphile-worker process (started by `clawbase start`; run more for scale).',
  usage: `Usage: clawbase worker [--only GROUP | --without GROUP]

Runs the task queue and the crontab in worker/crontab as the database login "worker", against
DATABASE_URL or the embedded cluster (which must be running). \`clawbase start\` runs one; more
can run side by side (jobs are taken with SKIP LOCKED). Stops cleanly on SIGINT/SIGTERM.

  --only GROUP     run only this group's tasks and crontab lines.
  --without GROUP  run every other task and crontab line.

Groups: database-backups (${taskGroups['database-backups'].join(', ')}, and the loop that ships
the WAL archive every 5 s). They read PostgreSQL's data folder and empty its WAL archive, so they
run where both are readable: in docker compose the \`backup\` service runs
\`worker --only database-backups\` as the database's OS user, and the \`worker\` service runs
\`worker --without database-backups\`. A process takes only jobs of its own tasks and schedules
only their crontab lines, so two processes with complementary selections share the work.`,
  async run(args) {
    const tasks = parseWorkerArgs(args);
    const config = loadConfig();
    const urls = databaseUrls(config, loadSecrets(config));
    const runner = await startWorker({ connectionString: urls.worker, context: workerContext(config), tasks });
    // Between the once-a-minute backup_wal runs, segments leave the local archive within seconds
    // (RPO = archive_timeout + this). Failures are left to backup_wal, which records and alerts.
    const store = runsTask('backup_wal', tasks) ? openBackupStore(config.backups, config.s3) : undefined;
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
    console.log(`worker ready${tasks ? ` (${'only' in tasks ? `only ${tasks.only}` : `without ${tasks.without}`})` : ''}`);
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

/** `--only GROUP` or `--without GROUP` (also `--only=GROUP`), at most one of them. */
export function parseWorkerArgs(args: string[]): TaskSelection | undefined {
  let selection: TaskSelection | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag !== '--only' && flag !== '--without') throw new Error(`unknown option ${a}: see clawbase worker --help`);
    const group = inline ?? args[++i];
    if (group === undefined || !isTaskGroup(group)) throw new Error(`${flag} needs a task group (${groups}), got ${group === undefined ? 'nothing' : `"${group}"`}`);
    if (selection) throw new Error('give --only or --without once: a worker runs one group, or all but one');
    selection = flag === '--only' ? { only: group } : { without: group };
  }
  return selection;
}
