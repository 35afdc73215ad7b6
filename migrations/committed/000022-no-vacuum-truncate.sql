--! Previous: sha1:cabe66348e539c9c1532a19371555faca40f69ae
--! Hash: sha1:45485f138e8e88456f93236a7ccb2df62736e2dc
--! Message: no-vacuum-truncate

-- The tables the maintenance sweep deletes from in bulk: when (auto)vacuum gives their emptied
-- tail pages back to the OS it takes an ACCESS EXCLUSIVE lock, and every agent write to the
-- table waits behind it (0.4 s in the full-size sweep bench). The freed space is reused by the
-- next inserts anyway, so these tables keep it.
alter table api.memory_kv set (vacuum_truncate = false);
alter table api.search_items set (vacuum_truncate = false);
alter table api.conversation_summaries set (vacuum_truncate = false);
alter table api.messages set (vacuum_truncate = false);
alter table api.tool_calls set (vacuum_truncate = false);
alter table api.sessions set (vacuum_truncate = false);
