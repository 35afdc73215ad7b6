import fs from 'node:fs';
import type { Task } from 'graphile-worker';
import { cronSlot, recordRun } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { writeDailyActivity } from '../memory/daily-activity.ts';
import { syncWorkspaceMemory } from '../memory/workspace-sync.ts';

const today = () => new Date().toISOString().slice(0, 10);

/**
 * Writes today's activity block into memory/YYYY-MM-DD.md, then syncs MEMORY.md and the daily
 * notes into knowledge_docs by content hash. No workspace folder: recorded as skipped, not failed.
 */
export const syncWorkspaceMemoryTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    await helpers.withPgClient((client) =>
      recordRun(client, { name: 'sync_workspace_memory', scheduledFor: cronSlot(payload) }, async () => {
        if (!fs.existsSync(ctx.workspace)) return { skipped: `no workspace at ${ctx.workspace} (OPENCLAW_WORKSPACE)` };
        await writeDailyActivity(client, ctx.workspace, ctx.workspaceAgent, today());
        return syncWorkspaceMemory(client, ctx.workspace, ctx.workspaceAgent);
      }),
    );
  };
