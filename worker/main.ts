// The worker process: graphile-worker with Clawbase's task list and crontab, as the `worker` login.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger, run, type Runner } from 'graphile-worker';
import type { WorkerContext } from './context.ts';
import { startLockRecovery } from './lock-recovery.ts';
import { makeTaskList } from './tasks/index.ts';

export const crontabPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crontab');

export interface WorkerOptions {
  /** Login URL of the `worker` role. */
  connectionString: string;
  context: WorkerContext;
  concurrency?: number;
  log?: (line: string) => void;
}

export async function startWorker(opts: WorkerOptions): Promise<Runner> {
  const log = opts.log ?? ((line) => console.log(line));
  const logger = new Logger((scope) => (level, message) => {
    if (level === 'debug') return;
    log(`[worker${scope.taskIdentifier ? `:${scope.taskIdentifier}` : ''}] ${level}: ${message}`);
  });
  const recovery = startLockRecovery({ connectionString: opts.connectionString, log });
  try {
    const runner = await run({
      connectionString: opts.connectionString,
      concurrency: opts.concurrency ?? 4,
      taskList: makeTaskList(opts.context),
      crontab: fs.readFileSync(crontabPath, 'utf8'),
      // The process owner (clawbase worker) handles SIGINT/SIGTERM and calls runner.stop().
      noHandleSignals: true,
      logger,
      events: recovery.events,
    });
    void runner.promise.finally(() => recovery.stop());
    return runner;
  } catch (err) {
    await recovery.stop();
    throw err;
  }
}
