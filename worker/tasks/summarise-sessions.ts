import type { Task } from 'graphile-worker';
import { cronSlot, recordRun } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { summariseSessions } from '../memory/summarise.ts';

/** Summarises every session window with new messages (Ollama chat, or extractive when it is down). */
export const summariseSessionsTask =
  (ctx: WorkerContext): Task =>
  async (payload, helpers) => {
    await helpers.withPgClient((client) =>
      recordRun(client, { name: 'summarise_sessions', scheduledFor: cronSlot(payload) }, () =>
        summariseSessions(client, ctx.ollama, { model: ctx.chatModel, host: ctx.ollamaHost, log: (l) => helpers.logger.warn(l) }),
      ),
    );
  };
