--! Previous: sha1:6ff585c1d25a8d6f2ab6ec107132abea6fce2d51
--! Hash: sha1:88e6f35983fd4c6860e05bd34be50c024e1e5cd0
--! Message: ttl-purge

-- TTL rules: expired memory, expired summaries and audit rows past retention are deleted in
-- small batches, each its own transaction, so an agent's write never waits long behind the purge.

create procedure private.purge_expired(batch_size integer default 5000, inout deleted jsonb default '{}')
language plpgsql
as $$
-- No SET clause: a procedure with one cannot COMMIT between batches. Every name is schema-qualified instead.
declare
  audit_cutoff timestamptz := now() - (private.setting('audit_retention') #>> '{}')::interval;
  -- table, condition, row-lock clause: rows an agent is writing right now are skipped, not waited
  -- for (they are picked up next time); the append-only audit log needs no lock.
  rules text[] := array[
    'api.memory_kv',              'expires_at <= now()',           'for update skip locked',
    'api.conversation_summaries', 'expires_at <= now()',           'for update skip locked',
    'api.audit_log',              format('at < %L', audit_cutoff), ''];
  n bigint;
  total bigint;
begin
  for i in 1 .. array_length(rules, 1) by 3 loop
    total := 0;
    loop
      execute format('delete from %s where ctid = any (array(select ctid from %1$s where %s limit %s %s))',
                     rules[i], rules[i + 1], batch_size, rules[i + 2]);
      get diagnostics n = row_count;
      total := total + n;
      commit;
      exit when n < batch_size;
    end loop;
    deleted := deleted || jsonb_build_object(split_part(rules[i], '.', 2), total);
  end loop;
end
$$;
comment on procedure private.purge_expired(integer, jsonb) is 'Deletes expired memory_kv rows, expired conversation_summaries and audit_log rows past audit_retention, batch_size rows per transaction. Returns counts per table. Run: call private.purge_expired();';
grant execute on procedure private.purge_expired(integer, jsonb) to worker;
