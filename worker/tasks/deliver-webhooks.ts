import type { Task } from 'graphile-worker';
import type { WorkerContext } from '../context.ts';
import { deliverWebhooks } from '../webhooks/deliver.ts';

/**
 * Queued by the outbox trigger (one job key, so a burst of events is one job): delivers what is
 * due, then schedules itself for the earliest retry still pending.
 */
export const deliverWebhooksTask =
  (ctx: WorkerContext): Task =>
  async (_payload, helpers) => {
    const m = ctx.maintenance;
    const counts = await helpers.withPgClient((client) =>
      deliverWebhooks(client, { alertWebhookUrl: m.alertWebhookUrl, alertWebhookSecret: m.alertWebhookSecret, maxAttempts: m.webhookMaxAttempts }),
    );
    if (counts.delivered || counts.failed_attempts) {
      helpers.logger.info(`webhooks: ${counts.delivered} delivered, ${counts.failed_attempts} failed attempt(s), ${counts.dead} dead`);
    }
    if (counts.next_due_at) {
      await helpers.addJob('deliver_webhooks', {}, { jobKey: 'deliver_webhooks_retry', jobKeyMode: 'replace', runAt: new Date(counts.next_due_at) });
    }
  };
