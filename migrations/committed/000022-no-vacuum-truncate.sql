--! Previous: sha1:4db894c4fac1901cc3ee9ed77187cadb11cb12cf
--! Hash: sha1:c55dac99fb9795c149baa36e886a7f115cae091b
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
