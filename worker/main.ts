// The worker process: graphile-worker with Clawbase's task list and crontab, as the `worker` login.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger, parseCrontab, run, type ParsedCronItem, type Runner, type TaskList } from 'graphile-worker';
import type { WorkerContext } from './context.ts';
import { startLockRecovery } from './lock-recovery.ts';
import { makeTaskList, selectTasks, type TaskSelection } from './tasks/index.ts';

export const crontabPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crontab');

/**
 * The crontab lines whose task is in `taskList`. graphile-worker schedules every line it is given
 * (whether or not the process runs that task): a process limited to some tasks schedules only
 * theirs, and the process running the rest schedules the others.
 */
export function cronItemsFor(taskList: TaskList, crontab = fs.readFileSync(crontabPath, 'utf8')): ParsedCronItem[] {
  return parseCrontab(crontab).filter((item) => Object.hasOwn(taskList, item.task));
}

export interface WorkerOptions {
  /** Login URL of the `worker` role. */
  connectionString: string;
  context: WorkerContext;
  concurrency?: number;
  /** Run only some tasks (and their crontab lines); all without it. */
  tasks?: TaskSelection;
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
    // Jobs are fetched by task name: a process never takes a job of a task it does not run.
    const taskList = selectTasks(makeTaskList(opts.context), opts.tasks);
    const runner = await run({
      connectionString: opts.connectionString,
      concurrency: opts.concurrency ?? 4,
      taskList,
      parsedCronItems: cronItemsFor(taskList),
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
