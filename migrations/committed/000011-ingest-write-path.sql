--! Previous: sha1:8072c0f174ed779be2061c9a084f96e56f0ebb7d
--! Hash: sha1:0eab5a15b0859b0800c193106715bc553192ba90
--! Message: ingest write path

-- The collectors' write path: what lets a batch go in at the speed of one COPY stream.
-- 1. Transcript text and raw entries are stored uncompressed (STORAGE EXTERNAL): pglz cost a third
--    of the ingest rate (NOTES.md: 15k → 24k rows/s), and this build has no lz4.
-- 2. Rows the collectors insert (as the worker login) into messages and tool_calls are not copied
--    into audit_log: each carries its source and ingested_at, and its origin is in the transcript;
--    auditing them wrote a second row per entry and halved the ingest rate. Inserts through the
--    API, and every update and delete (the worker's archive sweep included), are still audited.
alter table api.messages alter column content set storage external, alter column raw set storage external;
alter table api.tool_calls alter column arguments set storage external, alter column result set storage external;

drop trigger if exists audit_insert on api.messages;
create trigger audit_insert after insert on api.messages referencing new table as new_rows
  for each statement when (current_user <> 'worker') execute function private.audit_changes('agent_id,session_id,id', 'keys');
drop trigger if exists audit_insert on api.tool_calls;
create trigger audit_insert after insert on api.tool_calls referencing new table as new_rows
  for each statement when (current_user <> 'worker') execute function private.audit_changes('agent_id,session_id,id', 'keys');
