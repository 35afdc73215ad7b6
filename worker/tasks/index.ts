// The worker's task list: one task per file, named as the crontab and add_job calls name them.
import type { TaskList } from 'graphile-worker';
import type { WorkerContext } from '../context.ts';
import { embedPendingTask } from './embed-pending.ts';
import { purgeExpired } from './purge-expired.ts';
import { summariseSessionsTask } from './summarise-sessions.ts';
import { syncWorkspaceMemoryTask } from './sync-workspace-memory.ts';

export function makeTaskList(ctx: WorkerContext): TaskList {
  return {
    purge_expired: purgeExpired,
    embed_pending: embedPendingTask(ctx),
    summarise_sessions: summariseSessionsTask(ctx),
    sync_workspace_memory: syncWorkspaceMemoryTask(ctx),
  };
}
