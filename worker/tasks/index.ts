// The worker's task list: one task per file, named as the crontab and add_job calls name them.
import type { TaskList } from 'graphile-worker';
import type { WorkerContext } from '../context.ts';
import { backupBaseTask } from './backup-base.ts';
import { backupDrillTask } from './backup-drill.ts';
import { backupWalTask } from './backup-wal.ts';
import { backupWorkspaceTask } from './backup-workspace.ts';
import { deliverWebhooksTask } from './deliver-webhooks.ts';
import { embedPendingTask } from './embed-pending.ts';
import { foldUsage } from './fold-usage.ts';
import { healthCheckTask } from './health-check.ts';
import { maintainVectorListsTask } from './maintain-vector-lists.ts';
import { maintenanceStepTask } from './maintenance-step.ts';
import { maintenanceSweep } from './maintenance-sweep.ts';
import { purgeExpired } from './purge-expired.ts';
import { summariseSessionsTask } from './summarise-sessions.ts';
import { syncWorkspaceMemoryTask } from './sync-workspace-memory.ts';

export function makeTaskList(ctx: WorkerContext): TaskList {
  return {
    maintenance_sweep: maintenanceSweep,
    maintenance_step: maintenanceStepTask(ctx),
    health_check: healthCheckTask(ctx),
    deliver_webhooks: deliverWebhooksTask(ctx),
    purge_expired: purgeExpired,
    embed_pending: embedPendingTask(ctx),
    maintain_vector_lists: maintainVectorListsTask(ctx),
    summarise_sessions: summariseSessionsTask(ctx),
    sync_workspace_memory: syncWorkspaceMemoryTask(ctx),
    fold_usage: foldUsage,
    backup_wal: backupWalTask(ctx),
    backup_base: backupBaseTask(ctx),
    backup_workspace: backupWorkspaceTask(ctx),
    backup_drill: backupDrillTask(ctx),
  };
}

/**
 * Tasks a worker process can be limited to, or run without (`clawbase worker --only/--without`).
 * database-backups read PostgreSQL's data folder and empty its WAL archive, so they run where
 * those are readable: in docker compose only the `backup` service, as the database's OS user, can.
 * (backup_workspace is not one of them: it reads the agent's workspace, as its owner.)
 */
export const taskGroups = {
  'database-backups': ['backup_wal', 'backup_base', 'backup_drill'],
} as const satisfies Record<string, readonly string[]>;

export type TaskGroup = keyof typeof taskGroups;

/** Which tasks one worker process runs: all (undefined), one group only, or all but one group. */
export type TaskSelection = { only: TaskGroup } | { without: TaskGroup };

export function isTaskGroup(name: string): name is TaskGroup {
  return Object.hasOwn(taskGroups, name);
}

/** Whether a process with this selection runs the task `name`. */
export function runsTask(name: string, selection?: TaskSelection): boolean {
  if (!selection) return true;
  const inGroup = (group: TaskGroup) => (taskGroups[group] as readonly string[]).includes(name);
  return 'only' in selection ? inGroup(selection.only) : !inGroup(selection.without);
}

/** The part of `list` a process with this selection runs. */
export function selectTasks(list: TaskList, selection?: TaskSelection): TaskList {
  return Object.fromEntries(Object.entries(list).filter(([name]) => runsTask(name, selection)));
}
