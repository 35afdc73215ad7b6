--! Previous: sha1:acde43c45fc331b745c064ec9e02d8b7557e6fef
--! Hash: sha1:32610877faef395fb305bc76842a8ade86f75ea2
--! Message: sign-in-pruning

-- Old sign-in rows were pruned by 1% of new logins: a quiet dashboard kept them for ever. The
-- maintenance sweep's cleanup step now deletes them (as the worker login, in batches).
grant select, delete on private.login_attempts to worker;
grant select, delete on private.refresh_tokens to worker;

comment on table private.login_attempts is 'Every dashboard login attempt (audited), for rate limiting per account and per address. Rows older than a day are deleted by the maintenance sweep (cleanup step) and, now and then, by a new attempt.';
comment on table private.refresh_tokens is 'Dashboard refresh tokens, by SHA-256 hash only. Each is single use: refreshing marks it used and issues the next of its family; presenting a used one again revokes the whole family. Tokens expired for 7 days are deleted by the maintenance sweep (cleanup step): an expired token is refused anyway.';
