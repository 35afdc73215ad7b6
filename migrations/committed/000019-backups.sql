--! Previous: sha1:bc839159eeea833602f72e3b07abea2169c1f773
--! Hash: sha1:938d4a449f808f7ea0874a22a0c04d8a042a78d4
--! Message: backups

-- Backups and disaster recovery: the worker takes base backups with PostgreSQL's low-level API
-- (as the `worker` login), ships WAL, snapshots the workspace and runs the daily restore drill.
-- Results go to api.backups (000008); schedules are mirrored for the dashboard.

-- pg_backup_start/stop are superuser-only unless granted; the worker takes the base backups.
grant execute on function pg_catalog.pg_backup_start(text, boolean) to worker;
grant execute on function pg_catalog.pg_backup_stop(boolean) to worker;
grant execute on function pg_catalog.pg_switch_wal() to worker;

-- Daily jobs run at an hour of the day, not at midnight: the slot's offset from 00:00 UTC.
alter table private.schedules add column slot_offset interval not null default interval '0' check (slot_offset >= interval '0');
comment on column private.schedules.slot_offset is 'Offset of the slots from 00:00 UTC (e.g. 2 hours for a daily job at 02:00).';

insert into private.schedules (name, cron, every, slot_offset, description) values
  ('backup_wal', '* * * * *', '1 minute', '0', 'Ships archived WAL segments to the backup bucket (encrypted, verified, then deleted locally).'),
  ('backup_base', '0 2 * * *', '1 day', '2 hours', 'Full base backup of PostgreSQL (pg_backup_start/stop), encrypted to the backup bucket; base-backup retention.'),
  ('backup_workspace', '0 */6 * * *', '6 hours', '0', 'Workspace snapshot with restic, restic check, then retention.'),
  ('backup_drill', '30 3 * * *', '1 day', '3 hours 30 minutes', 'Restore drill: newest backup into a scratch instance, amcheck, RTO and RPO recorded.');

create or replace view api.maintenance_schedule with (security_invoker = true) as
  select s.name, s.cron, s.every, s.description,
         date_bin(s.every, now(), timestamptz '2000-01-01 00:00:00+00' + s.slot_offset) + s.every as next_run_at,
         r.started_at as last_started_at, r.finished_at as last_finished_at, r.status as last_status, r.error as last_error
  from private.schedules s
  left join lateral (select started_at, finished_at, status, error from api.cron_runs c
                     where c.name = s.name and c.parent_id is null order by c.started_at desc limit 1) r on true;

-- The dashboard's backups panel: the latest of each kind with its verification and drill figures.
create view api.backup_status with (security_invoker = true) as
  select distinct on (b.kind) b.kind, b.id, b.status, b.started_at, b.finished_at, b.size_bytes, b.wal_start, b.wal_end,
         b.verified_at, b.verify_status, b.restore_seconds, b.rpo_seconds, b.error,
         (select max(v.verified_at) from api.backups v where v.kind = b.kind and v.verify_status = 'ok') as last_verified_at
  from api.backups b
  where b.status <> 'pruned'
  order by b.kind, b.started_at desc;
comment on view api.backup_status is 'The newest backup of each kind (base, wal, workspace) with its verification and the restore drill''s RTO and RPO: the dashboard''s backups panel.';
comment on column api.backup_status.kind is 'base, wal or workspace.';
comment on column api.backup_status.id is 'The backup row (api.backups.id).';
comment on column api.backup_status.status is 'running, succeeded or failed.';
comment on column api.backup_status.started_at is 'When it started.';
comment on column api.backup_status.finished_at is 'When it finished.';
comment on column api.backup_status.size_bytes is 'Bytes stored.';
comment on column api.backup_status.wal_start is 'First WAL position or segment it covers.';
comment on column api.backup_status.wal_end is 'Last WAL position or segment it covers.';
comment on column api.backup_status.verified_at is 'When the restore drill last checked it.';
comment on column api.backup_status.verify_status is 'ok or failed, from the restore drill.';
comment on column api.backup_status.restore_seconds is 'Measured time to a usable database (RTO).';
comment on column api.backup_status.rpo_seconds is 'Measured data-loss window (RPO).';
comment on column api.backup_status.error is 'Why it failed, if it did.';
comment on column api.backup_status.last_verified_at is 'The newest successful verification of this kind.';
grant select on api.backup_status to viewer, operator, worker;
