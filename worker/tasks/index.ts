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
