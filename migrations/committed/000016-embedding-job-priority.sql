--! Previous: sha1:7a1a63d91f34904edd7cc9361867fec7051301ac
--! Hash: sha1:ca61185ca116de606153cf19381a1da507cb08a5
--! Message: embedding-job-priority

-- Under a steady write load every statement on search_items queues an embed_pending job (no
-- shared job key, so writers never queue behind each other's job row). At the default priority
-- those jobs filled the queue ahead of the health checks and the maintenance sweep, which then
-- ran minutes late (measured in the soak: no health check ran in 4 minutes at 110 upserts/s).
-- Embedding is catch-up work: it now runs behind everything else (larger number = later).
create or replace function private.enqueue_embedding() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  -- One job per statement; the job embeds every pending item in batches, so a burst of writes
  -- costs one queue row, and concurrent writers never contend on a shared job key. Priority 10:
  -- health checks, the sweep, webhooks and backups (priority 0) are taken first.
  if exists (select from new_rows where embedding_model is null) then
    perform graphile_worker.add_job('embed_pending', '{}'::json, max_attempts => 25, priority => 10);
  end if;
  return null;
end
$$;
comment on function private.enqueue_embedding() is 'Statement-level AFTER trigger on search_items: queues an embed_pending job (priority 10, behind the operational jobs) when rows need an embedding.';
