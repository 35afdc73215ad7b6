--! Previous: sha1:4a71f76dad1e388fec227dd3cec0a91d9f8274b2
--! Hash: sha1:6ff585c1d25a8d6f2ab6ec107132abea6fce2d51
--! Message: operations

-- What keeps the system honest: health probes, alerts, scheduled-job runs, backups.
-- Written by the worker; staff read them; operators acknowledge alerts. Agents see none of it.

create table api.health_checks (
  id         bigint generated always as identity primary key,
  checked_at timestamptz not null default now(),
  service    text not null,
  status     text not null check (status in ('up', 'degraded', 'down', 'not_configured')),
  latency_ms real check (latency_ms >= 0),
  detail     text,
  metrics    jsonb not null default '{}'
);
comment on table api.health_checks is 'Time series of health probes (PostgreSQL, PostgREST, worker, Ollama, Gateway, host, …), one row per probe.';
comment on column api.health_checks.id is 'Surrogate key.';
comment on column api.health_checks.checked_at is 'When the probe ran.';
comment on column api.health_checks.service is 'What was probed (postgres, postgrest, worker, ollama, gateway, host, …).';
comment on column api.health_checks.status is 'up, degraded, down, or not_configured (no URL set: not an outage).';
comment on column api.health_checks.latency_ms is 'Probe round trip in milliseconds.';
comment on column api.health_checks.detail is 'Human-readable reason for a non-up status.';
comment on column api.health_checks.metrics is 'Figures the probe read (connections, queue depth, CPU, disk, …).';
create index health_checks_service_time_idx on api.health_checks (service, checked_at desc);
create index health_checks_time_idx on api.health_checks using brin (checked_at);
select private.expose('api.health_checks', '');
select private.audit_table('api.health_checks', 'id', 'keys');

create table api.alerts (
  id              bigint generated always as identity primary key,
  rule            text not null,
  subject         text not null default '',
  severity        text not null default 'warning' check (severity in ('info', 'warning', 'critical')),
  status          text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  message         text not null,
  details         jsonb not null default '{}',
  opened_at       timestamptz not null default now(),
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at     timestamptz,
  check ((status = 'resolved') = (resolved_at is not null))
);
comment on table api.alerts is 'Alerts raised by the health checks and the maintenance sweep: at most one unresolved alert per rule and subject.';
comment on column api.alerts.id is 'Surrogate key.';
comment on column api.alerts.rule is 'The rule that fired (service_down, disk_full, backup_late, …).';
comment on column api.alerts.subject is 'What it is about (a service, an agent, a disk); empty when the rule has one subject.';
comment on column api.alerts.severity is 'info, warning or critical.';
comment on column api.alerts.status is 'open → acknowledged (by an operator) → resolved (when the condition clears).';
comment on column api.alerts.message is 'What is wrong and what to do, in one sentence.';
comment on column api.alerts.details is 'Figures behind the alert.';
comment on column api.alerts.opened_at is 'When the condition was first seen.';
comment on column api.alerts.acknowledged_at is 'When an operator acknowledged it.';
comment on column api.alerts.acknowledged_by is 'Who acknowledged it.';
comment on column api.alerts.resolved_at is 'When the condition cleared.';
create unique index alerts_one_unresolved_idx on api.alerts (rule, subject) where status <> 'resolved';
create index alerts_opened_idx on api.alerts (opened_at desc);
select private.expose('api.alerts', '');
grant update (status, acknowledged_at, acknowledged_by) on api.alerts to operator;
create policy operator_acknowledge on api.alerts for update to operator
  using (status = 'open') with check (status = 'acknowledged');
comment on policy operator_acknowledge on api.alerts is 'Operators may only move an open alert to acknowledged; resolving is the checks'' job.';
select private.audit_table('api.alerts', 'id');

create table api.cron_runs (
  id            bigint generated always as identity primary key,
  name          text not null,
  parent_id     bigint references api.cron_runs on delete cascade,
  scheduled_for timestamptz,
  started_at    timestamptz not null default now(),
  finished_at   timestamptz,
  status        text not null default 'running' check (status in ('running', 'succeeded', 'failed', 'skipped')),
  error         text,
  counts        jsonb not null default '{}',
  duration_ms   integer generated always as ((extract(epoch from (finished_at - started_at)) * 1000)::integer) stored
);
comment on table api.cron_runs is 'Every run of a scheduled job (the maintenance sweep, health checks, backups) and of each sweep step (parent_id).';
comment on column api.cron_runs.id is 'Surrogate key.';
comment on column api.cron_runs.name is 'Job or step name, e.g. maintenance_sweep or maintenance_sweep.memory.';
comment on column api.cron_runs.parent_id is 'The run this step belongs to; null for a whole job.';
comment on column api.cron_runs.scheduled_for is 'The schedule slot the run is for (backfilled runs keep their slot).';
comment on column api.cron_runs.started_at is 'When it started.';
comment on column api.cron_runs.finished_at is 'When it finished; null while running.';
comment on column api.cron_runs.status is 'running, succeeded, failed or skipped.';
comment on column api.cron_runs.error is 'Error message of a failed run.';
comment on column api.cron_runs.counts is 'What it did, e.g. {"deleted": 120, "archived": 3}.';
comment on column api.cron_runs.duration_ms is 'finished_at − started_at in milliseconds.';
create index cron_runs_name_started_idx on api.cron_runs (name, started_at desc);
create index cron_runs_parent_idx on api.cron_runs (parent_id);
select private.expose('api.cron_runs', '');
select private.audit_table('api.cron_runs', 'id', 'keys');

create table api.backups (
  id              bigint generated always as identity primary key,
  kind            text not null check (kind in ('base', 'wal', 'workspace', 'config')),
  status          text not null default 'running' check (status in ('running', 'succeeded', 'failed', 'pruned')),
  started_at      timestamptz not null default now(),
  finished_at     timestamptz,
  size_bytes      bigint check (size_bytes >= 0),
  content_hash    text,
  snapshot_id     text,
  location        text,
  key_id          text,
  wal_start       text,
  wal_end         text,
  verified_at     timestamptz,
  verify_status   text check (verify_status in ('ok', 'failed')),
  restore_seconds real check (restore_seconds >= 0),
  rpo_seconds     real check (rpo_seconds >= 0),
  error           text,
  details         jsonb not null default '{}'
);
comment on table api.backups is 'Every backup taken (base backups, WAL, workspace snapshots) with its verification by the restore drill.';
comment on column api.backups.id is 'Surrogate key.';
comment on column api.backups.kind is 'base (PostgreSQL base backup), wal (archived segment range), workspace (snapshot), config.';
comment on column api.backups.status is 'running, succeeded, failed, or pruned by retention.';
comment on column api.backups.started_at is 'When it started.';
comment on column api.backups.finished_at is 'When it finished.';
comment on column api.backups.size_bytes is 'Bytes stored (after compression and encryption).';
comment on column api.backups.content_hash is 'SHA-256 of the stored object(s), for verification.';
comment on column api.backups.snapshot_id is 'Snapshot id of the backup engine (e.g. restic) for workspace snapshots.';
comment on column api.backups.location is 'Where it is stored (s3://bucket/key or a repository path).';
comment on column api.backups.key_id is 'Id of the encryption key used (never the key).';
comment on column api.backups.wal_start is 'First WAL segment/LSN the backup needs.';
comment on column api.backups.wal_end is 'Last WAL segment/LSN the backup needs.';
comment on column api.backups.verified_at is 'When the restore drill last checked it.';
comment on column api.backups.verify_status is 'ok or failed, from the restore drill.';
comment on column api.backups.restore_seconds is 'Measured time to a usable database in the drill (RTO).';
comment on column api.backups.rpo_seconds is 'Measured data-loss window in the drill (RPO).';
comment on column api.backups.error is 'Error message of a failed backup or verification.';
comment on column api.backups.details is 'Other figures (file counts, throughput, restore command).';
create index backups_kind_started_idx on api.backups (kind, started_at desc);
select private.expose('api.backups', '');
select private.audit_table('api.backups', 'id');
