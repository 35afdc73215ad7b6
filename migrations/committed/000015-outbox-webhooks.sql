--! Previous: sha1:a7920a315c47cd93de2780a83facf1d40adfdd25
--! Hash: sha1:7a1a63d91f34904edd7cc9361867fec7051301ac
--! Message: outbox-webhooks

-- Outbound automation: what happens here (alerts, tasks, sessions, sweeps, backups) is written to
-- an outbox in the same transaction as the change, and the worker delivers it to the operators'
-- webhooks (and ALERT_WEBHOOK_URL) with an HMAC-SHA256 signature, retries and a delivery log.

create table api.webhooks (
  id          bigint generated always as identity primary key,
  url         text not null check (url ~ '^https?://'),
  event_types text[] not null default '{*}' check (cardinality(event_types) > 0),
  secret      text not null check (length(secret) >= 16),
  enabled     boolean not null default true,
  description text not null default '',
  created_at  timestamptz not null default now()
);
comment on table api.webhooks is 'Where events are POSTed (e.g. n8n workflows). Operators manage them through PostgREST; the body is signed with the secret (header X-Clawbase-Signature: sha256=<hex HMAC of the body>).';
comment on column api.webhooks.id is 'Surrogate key.';
comment on column api.webhooks.url is 'http(s) URL the events are POSTed to.';
comment on column api.webhooks.event_types is 'Event types delivered (alert.opened, alert.acknowledged, alert.resolved, task.created, task.moved, session.started, session.ended, sweep.finished, backup.finished, backup.failed), or {*} for all.';
comment on column api.webhooks.secret is 'HMAC-SHA256 key for the signature header (at least 16 characters); operators only, never viewers.';
comment on column api.webhooks.enabled is 'Disabled webhooks receive nothing.';
comment on column api.webhooks.description is 'What the receiver does.';
comment on column api.webhooks.created_at is 'When it was added.';
alter table api.webhooks enable row level security;
grant select, insert, update, delete on api.webhooks to operator;
grant select on api.webhooks to worker;
-- Viewers see which webhooks exist, not their secrets.
grant select (id, url, event_types, enabled, description, created_at) on api.webhooks to viewer;
create policy staff_read on api.webhooks for select to viewer, operator, worker using (true);
comment on policy staff_read on api.webhooks is 'Staff and the worker read every webhook (viewers without the secret column).';
create policy operator_write on api.webhooks for all to operator using (true) with check (true);
comment on policy operator_write on api.webhooks is 'Operators add, change and remove webhooks.';
select private.audit_table('api.webhooks', 'id', 'keys');

create table api.outbox_events (
  id            bigint generated always as identity primary key,
  event_type    text not null,
  subject       text not null default '',
  payload       jsonb not null,
  created_at    timestamptz not null default now(),
  dispatched_at timestamptz
);
comment on table api.outbox_events is 'Events written in the same transaction as the change that caused them; the worker fans each out to its webhooks (dispatched_at).';
comment on column api.outbox_events.id is 'Surrogate key, in commit order per writer.';
comment on column api.outbox_events.event_type is 'alert.opened, alert.acknowledged, alert.resolved, task.created, task.moved, session.started, session.ended, sweep.finished, backup.finished or backup.failed.';
comment on column api.outbox_events.subject is 'Key of the row the event is about.';
comment on column api.outbox_events.payload is 'The row (or the figures) the event carries, as sent to the webhooks.';
comment on column api.outbox_events.created_at is 'When the change committed its event.';
comment on column api.outbox_events.dispatched_at is 'When the worker created its deliveries; null while waiting.';
create index outbox_events_pending_idx on api.outbox_events (id) where dispatched_at is null;
create index outbox_events_created_idx on api.outbox_events using brin (created_at);
select private.expose('api.outbox_events', '');

create table api.webhook_deliveries (
  id              bigint generated always as identity primary key,
  event_id        bigint not null references api.outbox_events on delete cascade,
  webhook_id      bigint references api.webhooks on delete cascade,
  url             text not null,
  status          text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts        integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  last_attempt_at timestamptz,
  response_status integer,
  last_error      text,
  delivered_at    timestamptz,
  created_at      timestamptz not null default now()
);
comment on table api.webhook_deliveries is 'Delivery log: one row per event and receiver, with its attempts; retried with exponential backoff until delivered or dead.';
comment on column api.webhook_deliveries.id is 'Surrogate key (sent as X-Clawbase-Delivery).';
comment on column api.webhook_deliveries.event_id is 'The event delivered.';
comment on column api.webhook_deliveries.webhook_id is 'The webhook; null for ALERT_WEBHOOK_URL.';
comment on column api.webhook_deliveries.url is 'Where it was POSTed.';
comment on column api.webhook_deliveries.status is 'pending (waiting or retrying), delivered (2xx), dead (gave up after the maximum attempts).';
comment on column api.webhook_deliveries.attempts is 'POSTs made so far.';
comment on column api.webhook_deliveries.next_attempt_at is 'When the next attempt is due (also the lease while one is in flight).';
comment on column api.webhook_deliveries.last_attempt_at is 'When the last POST was made.';
comment on column api.webhook_deliveries.response_status is 'HTTP status of the last attempt (null: no response).';
comment on column api.webhook_deliveries.last_error is 'Why the last attempt failed.';
comment on column api.webhook_deliveries.delivered_at is 'When the receiver answered 2xx.';
comment on column api.webhook_deliveries.created_at is 'When the delivery was created.';
create index webhook_deliveries_event_idx on api.webhook_deliveries (event_id);
create index webhook_deliveries_webhook_idx on api.webhook_deliveries (webhook_id);
create index webhook_deliveries_due_idx on api.webhook_deliveries (next_attempt_at) where status = 'pending';
select private.expose('api.webhook_deliveries', '');

-- Writes one event per changed row and queues the delivery job; restore and archive moves set
-- clawbase.suppress_events so moving history around does not replay "session started".
create function private.emit_events() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  emitted bigint;
begin
  if current_setting('clawbase.suppress_events', true) = 'on' then return null; end if;
  if tg_table_name = 'alerts' then
    if tg_op = 'INSERT' then
      insert into api.outbox_events (event_type, subject, payload)
      select 'alert.opened', r.rule || ':' || r.subject, to_jsonb(r) from new_rows r;
    else
      insert into api.outbox_events (event_type, subject, payload)
      select 'alert.' || n.status, n.rule || ':' || n.subject, to_jsonb(n)
      from new_rows n join old_rows o on o.id = n.id where n.status <> o.status;
    end if;
  elsif tg_table_name = 'tasks' then
    if tg_op = 'INSERT' then
      insert into api.outbox_events (event_type, subject, payload)
      select 'task.created', r.id::text, to_jsonb(r) from new_rows r;
    else
      insert into api.outbox_events (event_type, subject, payload)
      select 'task.moved', n.id::text, to_jsonb(n) || jsonb_build_object('previous_status', o.status)
      from new_rows n join old_rows o on o.id = n.id where n.status <> o.status;
    end if;
  elsif tg_table_name = 'sessions' then
    if tg_op = 'INSERT' then
      insert into api.outbox_events (event_type, subject, payload)
      select 'session.started', r.agent_id || '/' || r.id,
             jsonb_build_object('agent_id', r.agent_id, 'session_id', r.id, 'channel', r.channel, 'started_at', r.started_at) from new_rows r;
    else
      insert into api.outbox_events (event_type, subject, payload)
      select 'session.ended', n.agent_id || '/' || n.id,
             jsonb_build_object('agent_id', n.agent_id, 'session_id', n.id, 'channel', n.channel, 'started_at', n.started_at, 'ended_at', n.ended_at)
      from new_rows n join old_rows o on o.agent_id = n.agent_id and o.id = n.id
      where n.ended_at is not null and o.ended_at is null;
    end if;
  elsif tg_table_name = 'cron_runs' then
    insert into api.outbox_events (event_type, subject, payload)
    select 'sweep.finished', n.id::text, to_jsonb(n)
    from new_rows n join old_rows o on o.id = n.id
    where n.name = 'maintenance_sweep' and n.parent_id is null and n.finished_at is not null
      and (o.finished_at is null or o.status <> n.status);
  elsif tg_table_name = 'backups' then
    if tg_op = 'INSERT' then
      insert into api.outbox_events (event_type, subject, payload)
      select case r.status when 'succeeded' then 'backup.finished' else 'backup.failed' end, r.id::text, to_jsonb(r) - 'details'
      from new_rows r where r.status in ('succeeded', 'failed');
    else
      insert into api.outbox_events (event_type, subject, payload)
      select case n.status when 'succeeded' then 'backup.finished' else 'backup.failed' end, n.id::text, to_jsonb(n) - 'details'
      from new_rows n join old_rows o on o.id = n.id
      where n.status in ('succeeded', 'failed') and o.status is distinct from n.status;
    end if;
  end if;
  get diagnostics emitted = row_count;
  if emitted > 0 then
    perform graphile_worker.add_job('deliver_webhooks', '{}'::json, job_key => 'deliver_webhooks', job_key_mode => 'preserve_run_at', max_attempts => 25);
  end if;
  return null;
end
$$;
comment on function private.emit_events() is 'Statement-level AFTER trigger: writes outbox events for the changed rows (alerts, tasks, sessions, the sweep run, backups) in the same transaction, and queues deliver_webhooks.';

create trigger emit_insert after insert on api.alerts referencing new table as new_rows for each statement execute function private.emit_events();
create trigger emit_update after update on api.alerts referencing old table as old_rows new table as new_rows for each statement execute function private.emit_events();
create trigger emit_insert after insert on api.tasks referencing new table as new_rows for each statement execute function private.emit_events();
create trigger emit_update after update on api.tasks referencing old table as old_rows new table as new_rows for each statement execute function private.emit_events();
create trigger emit_insert after insert on api.sessions referencing new table as new_rows for each statement execute function private.emit_events();
create trigger emit_update after update on api.sessions referencing old table as old_rows new table as new_rows for each statement execute function private.emit_events();
create trigger emit_update after update on api.cron_runs referencing old table as old_rows new table as new_rows for each statement execute function private.emit_events();
create trigger emit_insert after insert on api.backups referencing new table as new_rows for each statement execute function private.emit_events();
create trigger emit_update after update on api.backups referencing old table as old_rows new table as new_rows for each statement execute function private.emit_events();

grant maintain on api.outbox_events, api.webhook_deliveries to worker;
