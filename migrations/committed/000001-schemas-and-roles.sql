--! Previous: -
--! Hash: sha1:5dae7d5d4153b1d8e534e0bd63389377022a629a
--! Message: schemas-and-roles

-- Schemas, trusted extensions and the roles every later migration grants to.
-- Roles are cluster-wide, so each is created only when missing (tests clone many databases
-- from one cluster). Passwords are not set here: `clawbase migrate` sets them from
-- CLAWBASE_HOME/secrets.json, so no secret is ever in a migration.

create extension if not exists pgcrypto;
create extension if not exists pg_trgm;

create schema if not exists api;
comment on schema api is 'What PostgREST serves: every table and function here is an HTTP resource, guarded by grants and row-level security.';
create schema if not exists private;
comment on schema private is 'Internal helpers (JWT claim readers, audit and TTL machinery, settings). Never exposed over HTTP.';

do $$
declare
  r record;
begin
  for r in
    select * from (values
      ('anon',          false, false, false, 'Unauthenticated HTTP requests: allowed nothing.'),
      ('agent',         false, false, false, 'One OpenClaw agent, via PostgREST with a JWT; row-level security scopes it to its agent_id claim.'),
      ('viewer',        false, false, false, 'Dashboard user who may read everything and change nothing.'),
      ('operator',      false, false, false, 'Dashboard user who reads everything and writes tasks, memory and alert acknowledgements.'),
      ('authenticator', true,  true,  false, 'PostgREST''s login. It has no rights of its own and switches to the JWT''s role per request.'),
      ('worker',        true,  false, true,  'The worker''s login (maintenance sweep, collectors). Bypasses RLS so it can COPY; grants limit what it touches.')
    ) as t(name, login, noinherit, bypassrls, note)
  loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      execute format('create role %I %s %s %s', r.name,
        case when r.login then 'login' else 'nologin' end,
        case when r.noinherit then 'noinherit' else 'inherit' end,
        case when r.bypassrls then 'bypassrls' else 'nobypassrls' end);
    end if;
    execute format('comment on role %I is %L', r.name, r.note);
  end loop;
end
$$;

grant anon, agent, viewer, operator to authenticator;

-- Nobody gets anything by default; each table and function grants what its roles need.
alter default privileges revoke execute on functions from public;
revoke all on schema public from public;
revoke create on schema public from public;
grant usage on schema api to anon, agent, viewer, operator, worker;
grant usage on schema private to agent, viewer, operator, worker;
