import type { Task } from 'graphile-worker';
import type { WorkerContext } from '../context.ts';
import { embedPending } from '../memory/embed.ts';

/**
 * Queued by a trigger whenever search items need a vector. Ollama down: the job fails, the items
 * keep their embed_error (api.embedding_backlog shows them) and graphile-worker retries with backoff.
 */
export const embedPendingTask =
  (ctx: WorkerContext): Task =>
  async (_payload, helpers) => {
    await helpers.withPgClient(async (client) => {
      const counts = await embedPending(client, ctx.ollama, { model: ctx.embedModel, host: ctx.ollamaHost });
      if (counts.embedded) helpers.logger.info(`embedded ${counts.embedded} item(s) in ${counts.batches} batch(es)`);
    });
  };
