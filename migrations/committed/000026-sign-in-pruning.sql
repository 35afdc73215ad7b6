--! Previous: sha1:acde43c45fc331b745c064ec9e02d8b7557e6fef
--! Hash: sha1:623475155e598905109c920f04731c51709cd5c1
--! Message: sign-in-pruning

-- Old sign-in rows were pruned by 1% of new logins: a quiet dashboard kept them for ever. The
-- maintenance sweep's cleanup step now calls this; how long each kind is kept is decided here.
create function private.prune_sign_ins(out login_attempts bigint, out refresh_tokens bigint)
language plpgsql security definer
set search_path = ''
as $$
begin
  -- Rate limits look back an hour; an expired refresh token is refused anyway.
  delete from private.login_attempts a where a.at < now() - interval '1 day';
  get diagnostics login_attempts = row_count;
  delete from private.refresh_tokens t where t.expires_at < now() - interval '7 days';
  get diagnostics refresh_tokens = row_count;
end
$$;
comment on function private.prune_sign_ins() is 'Deletes dashboard login attempts older than a day and refresh tokens expired for 7 days; returns how many of each. Run by the maintenance sweep''s cleanup step (worker only).';
revoke execute on function private.prune_sign_ins() from public;
grant execute on function private.prune_sign_ins() to worker;

comment on table private.login_attempts is 'Every dashboard login attempt (audited), for rate limiting per account and per address. Rows older than a day are deleted by the maintenance sweep (private.prune_sign_ins) and, now and then, by a new attempt.';
comment on table private.refresh_tokens is 'Dashboard refresh tokens, by SHA-256 hash only. Each is single use: refreshing marks it used and issues the next of its family; presenting a used one again revokes the whole family. Tokens expired for 7 days are deleted by the maintenance sweep (private.prune_sign_ins): an expired token is refused anyway.';
