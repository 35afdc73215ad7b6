import type { Task } from 'graphile-worker';
import type { WorkerContext } from '../context.ts';
import { maintainVectorLists } from '../memory/vector-lists.ts';

/**
 * Hourly: trains memory_search's vector lists once enough items are embedded and retrains them
 * when the items have doubled (a count and nothing else when not due). Every statement commits on
 * its own, so the row moves of a retraining hold their locks one small batch at a time.
 */
export const maintainVectorListsTask =
  (ctx: WorkerContext): Task =>
  async (_payload, helpers) => {
    await helpers.withPgClient(async (client) => {
      const counts = await maintainVectorLists(client, { model: ctx.embedModel, log: (line) => helpers.logger.info(line) });
      if (counts.trained || counts.reassigned || counts.dropped_lists) helpers.logger.info(`vector lists: ${JSON.stringify(counts)}`);
    });
  };
