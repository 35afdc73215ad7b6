--! Previous: sha1:938d4a449f808f7ea0874a22a0c04d8a042a78d4
--! Hash: sha1:e62bf3a39f627ea21906460cb28ca77c6ec19d88
--! Message: embedding-jobs-coalesced

-- One embed_pending job per write statement was a flood: in the 2-minute soak (about 90 memory
-- upserts/s) 9,190 jobs queued, four of them at a time fought over the same pending rows, and
-- PostgREST latency climbed from 30 ms to over a second. A queued job embeds everything pending
-- when it runs, so a write only needs to queue one when none is waiting. The check is a read (no
-- job key, so writers never wait on each other); a job that starts between the check and the
-- writer's commit can miss those rows, which the minute-by-minute embed_pending in the crontab
-- picks up (searches fall back to text meanwhile).
create or replace function private.enqueue_embedding() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if exists (select from new_rows where embedding_model is null)
     and not exists (select from graphile_worker._private_jobs j
                     join graphile_worker._private_tasks t on t.id = j.task_id
                     where t.identifier = 'embed_pending' and j.locked_at is null and j.attempts = 0) then
    perform graphile_worker.add_job('embed_pending', '{}'::json, max_attempts => 25, priority => 10);
  end if;
  return null;
end
$$;
comment on function private.enqueue_embedding() is 'Statement-level AFTER trigger on search_items: queues an embed_pending job (priority 10) when rows need an embedding and none is waiting; the crontab runs one every minute for what a race leaves.';

insert into private.schedules (name, cron, every, description) values
  ('embed_pending', '* * * * *', '1 minute', 'Embeds memory rows, summaries and knowledge chunks still waiting for a vector (writes queue it too; this catches what they miss).');
