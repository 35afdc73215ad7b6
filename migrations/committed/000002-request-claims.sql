--! Previous: sha1:5dae7d5d4153b1d8e534e0bd63389377022a629a
--! Hash: sha1:48c0a118044bfa3c996f1b4b5d94a8242d0ddbe3
--! Message: request-claims

-- Reading the JWT claims PostgREST puts into request.jwt.claims, and vetting them before a request runs.
-- Policies call these wrapped as (select private.current_agent_id()) so PostgreSQL evaluates
-- them once per statement (an initplan) instead of once per row.

create function private.jwt_claims() returns jsonb
language sql stable
set search_path = ''
as $$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;
comment on function private.jwt_claims() is 'The verified JWT claims of the current PostgREST request, or {} outside one.';

create function private.current_agent_id() returns text
language sql stable
set search_path = ''
as $$ select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'agent_id' $$;
comment on function private.current_agent_id() is 'The agent_id claim of the calling agent''s JWT; null for non-agent callers.';

create function private.current_actor() returns text
language sql stable
set search_path = ''
as $$ select coalesce(private.jwt_claims() ->> 'role', session_user::text) $$;
comment on function private.current_actor() is 'Who is acting: the JWT role of an HTTP request, else the database login (worker, a DBA).';

create function private.check_request() returns void
language plpgsql stable
set search_path = ''
as $$
declare
  claims jsonb := private.jwt_claims();
begin
  if claims ->> 'role' = 'agent'
     and coalesce(claims ->> 'agent_id', '') !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'CB401', 'message', 'agent token has no valid agent_id claim',
                                  'hint', 'mint agent tokens with: clawbase token --role agent --agent <id>')::text,
      detail = json_build_object('status', 401, 'headers', json_build_object('WWW-Authenticate', 'Bearer error="invalid_token"'))::text;
  end if;
end
$$;
comment on function private.check_request() is 'PostgREST db-pre-request hook: rejects an agent token without a well-formed agent_id claim with 401 before anything runs.';

grant execute on function private.jwt_claims(), private.current_agent_id(), private.current_actor(), private.check_request()
  to anon, agent, viewer, operator;
revoke execute on function private.jwt_claims(), private.current_agent_id(), private.current_actor(), private.check_request() from public;
