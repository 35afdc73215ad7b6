// Outbox delivery: events are fanned out to the matching webhooks (and ALERT_WEBHOOK_URL for
// alert.*), then POSTed with an HMAC-SHA256 signature. A failed POST is retried with exponential
// backoff (2^attempts seconds, at most an hour) until delivered or dead; a slow or dead receiver
// only delays its own deliveries (5 s timeout), never the sweep, which runs as other jobs.
import { createHmac } from 'node:crypto';
import type { Queryable } from '../db.ts';

export interface DeliverOptions {
  alertWebhookUrl?: string;
  alertWebhookSecret?: string;
  maxAttempts: number;
  timeoutMs?: number;
  /** Deliveries POSTed per call. */
  batch?: number;
}

export interface DeliverCounts {
  dispatched_events: number;
  delivered: number;
  failed_attempts: number;
  dead: number;
  /** When the earliest pending delivery is due, if any remains. */
  next_due_at: string | null;
}

export const signatureHeader = 'X-Clawbase-Signature';

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Creates the deliveries of events not yet dispatched. */
async function dispatch(db: Queryable, opts: DeliverOptions): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with ev as (
       update api.outbox_events e set dispatched_at = now()
       where e.id in (select id from api.outbox_events where dispatched_at is null order by id limit 1000 for update skip locked)
       returning e.id, e.event_type),
     hooks as (
       insert into api.webhook_deliveries (event_id, webhook_id, url)
       select ev.id, w.id, w.url from ev join api.webhooks w
         on w.enabled and (ev.event_type = any (w.event_types) or '*' = any (w.event_types)
                           or split_part(ev.event_type, '.', 1) || '.*' = any (w.event_types))
       returning 1),
     alert_hook as (
       insert into api.webhook_deliveries (event_id, webhook_id, url)
       select ev.id, null, $1 from ev where $1::text is not null and ev.event_type like 'alert.%'
       returning 1)
     select (select count(*) from ev)::int as n, (select count(*) from hooks) as h, (select count(*) from alert_hook) as a`,
    [opts.alertWebhookUrl ?? null],
  );
  return rows[0]!.n;
}

interface Due {
  id: string;
  url: string;
  attempts: number;
  secret: string | null;
  event_id: string;
  event_type: string;
  subject: string;
  payload: unknown;
  created_at: Date;
}

export async function deliverWebhooks(db: Queryable, opts: DeliverOptions): Promise<DeliverCounts> {
  const counts: DeliverCounts = { dispatched_events: await dispatch(db, opts), delivered: 0, failed_attempts: 0, dead: 0, next_due_at: null };
  const timeoutMs = opts.timeoutMs ?? 5000;
  for (;;) {
    // Claim due deliveries with a lease (next_attempt_at pushed ahead) instead of holding row
    // locks across HTTP calls; a worker that dies mid-POST leaves them due again after the lease.
    const { rows } = await db.query<Due>(
      `update api.webhook_deliveries d set next_attempt_at = now() + make_interval(secs => $2::double precision / 1000 * 3)
       from api.outbox_events e
       where d.id in (select id from api.webhook_deliveries where status = 'pending' and next_attempt_at <= now()
                      order by next_attempt_at limit $1 for update skip locked)
         and e.id = d.event_id
       returning d.id, d.url, d.attempts, (select w.secret from api.webhooks w where w.id = d.webhook_id) as secret,
                 e.id as event_id, e.event_type, e.subject, e.payload, e.created_at`,
      [opts.batch ?? 50, timeoutMs],
    );
    if (!rows.length) break;
    await Promise.all(
      rows.map(async (d) => {
        const body = JSON.stringify({ id: Number(d.event_id), type: d.event_type, subject: d.subject, created_at: d.created_at, data: d.payload });
        const secret = d.secret ?? opts.alertWebhookSecret;
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'user-agent': 'clawbase-webhooks',
          'X-Clawbase-Event': d.event_type,
          'X-Clawbase-Delivery': d.id,
        };
        if (secret) headers[signatureHeader] = sign(secret, body);
        let status: number | null = null;
        let error: string | null = null;
        try {
          const res = await fetch(d.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
          status = res.status;
          await res.arrayBuffer().catch(() => undefined);
          if (!res.ok) error = `receiver answered ${res.status}`;
        } catch (err) {
          const e = err as Error & { cause?: { code?: string } };
          error = `${e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`;
        }
        if (!error) {
          await db.query(
            `update api.webhook_deliveries set status = 'delivered', attempts = attempts + 1, last_attempt_at = now(), response_status = $2, last_error = null, delivered_at = now() where id = $1`,
            [d.id, status],
          );
          counts.delivered++;
        } else {
          const attempts = d.attempts + 1;
          const dead = attempts >= opts.maxAttempts;
          await db.query(
            `update api.webhook_deliveries set attempts = $2::integer, last_attempt_at = now(), response_status = $3, last_error = $4,
                    status = case when $5::boolean then 'dead' else 'pending' end,
                    next_attempt_at = now() + make_interval(secs => least(3600, power(2, $2::integer)))
             where id = $1`,
            [d.id, attempts, status, error, dead],
          );
          counts.failed_attempts++;
          if (dead) counts.dead++;
        }
      }),
    );
  }
  const { rows } = await db.query<{ due: Date | null }>(`select min(next_attempt_at) as due from api.webhook_deliveries where status = 'pending'`);
  counts.next_due_at = rows[0]!.due?.toISOString() ?? null;
  return counts;
}
