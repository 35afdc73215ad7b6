// Migrations replay from empty to the same schema, twice is a no-op, and the schema documents itself.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyMigrations } from '../db/migrate.ts';
import { withDatabase } from '../lib/database-urls.ts';
import { createTestDatabase } from './support/stack.ts';

const fingerprintSql = `
  select 'column' as kind, table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as item
    from information_schema.columns where table_schema in ('api', 'private')
  union all select 'policy', schemaname || '.' || tablename || '.' || policyname || ' ' || cmd || ' ' || array_to_string(roles, ',') || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    from pg_policies where schemaname in ('api', 'private')
  union all select 'function', p.oid::regprocedure::text || ' ' || md5(p.prosrc) from pg_proc p where p.pronamespace in ('api'::regnamespace, 'private'::regnamespace)
  union all select 'trigger', tgrelid::regclass::text || '.' || tgname from pg_trigger where not tgisinternal
  union all select 'index', indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) from pg_index i join pg_class c on c.oid = i.indrelid where c.relnamespace in ('api'::regnamespace, 'private'::regnamespace)
  union all select 'grant', table_schema || '.' || table_name || ' ' || grantee || ' ' || privilege_type from information_schema.role_table_grants where table_schema in ('api', 'private')
  order by 1, 2`;

let owner: pg.Client;
let template: pg.Client;
let emptyUrl: string;

beforeAll(async () => {
  const cluster = inject('cluster');
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  const name = `replay_${process.pid}`;
  await admin.query(`drop database if exists ${name}`);
  await admin.query(`create database ${name}`);
  await admin.end();
  emptyUrl = withDatabase(cluster.adminUrl, name);
  owner = new pg.Client({ connectionString: emptyUrl });
  const cloned = await createTestDatabase('lint');
  template = new pg.Client({ connectionString: cloned.ownerUrl });
  await Promise.all([owner.connect(), template.connect()]);
});
afterAll(async () => {
  await owner?.end();
  await template?.end();
});

describe('migrations', () => {
  it('replay from an empty database to exactly the schema the tests run on, and a second run changes nothing', async () => {
    await applyMigrations(emptyUrl);
    const replayed = (await owner.query(fingerprintSql)).rows;
    const reference = (await template.query(fingerprintSql)).rows;
    expect(replayed.length).toBeGreaterThan(100);
    expect(replayed).toEqual(reference);
    await applyMigrations(emptyUrl);
    expect((await owner.query(fingerprintSql)).rows).toEqual(reference);
  });
});

describe('the schema documents and protects itself', () => {
  it('every table, view and column in api and private has a comment', async () => {
    const { rows } = await template.query(`
      select c.relnamespace::regnamespace || '.' || c.relname || coalesce('.' || a.attname, '') as missing
      from pg_class c
      left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.relnamespace in ('api'::regnamespace, 'private'::regnamespace) and c.relkind in ('r', 'v', 'p')
        and (col_description(c.oid, a.attnum) is null and a.attname is not null
             or a.attname is null and obj_description(c.oid, 'pg_class') is null)
      union all
      select c.relnamespace::regnamespace || '.' || c.relname from pg_class c
      where c.relnamespace in ('api'::regnamespace, 'private'::regnamespace) and c.relkind in ('r', 'v', 'p')
        and obj_description(c.oid, 'pg_class') is null`);
    expect(rows.map((r) => r.missing)).toEqual([]);
  });

  it('every function and procedure in api and private has a comment', async () => {
    const { rows } = await template.query(`
      select p.oid::regprocedure::text as missing from pg_proc p
      where p.pronamespace in ('api'::regnamespace, 'private'::regnamespace) and obj_description(p.oid, 'pg_proc') is null`);
    expect(rows.map((r) => r.missing)).toEqual([]);
  });

  it('every table in api has row-level security and at least one policy', async () => {
    const { rows } = await template.query(`
      select c.relname as table, c.relrowsecurity as rls, (select count(*) from pg_policy p where p.polrelid = c.oid)::int as policies
      from pg_class c where c.relnamespace = 'api'::regnamespace and c.relkind = 'r' order by 1`);
    expect(rows.length).toBeGreaterThanOrEqual(14);
    for (const r of rows) expect({ table: r.table, rls: r.rls, hasPolicy: r.policies > 0 }).toEqual({ table: r.table, rls: true, hasPolicy: true });
  });

  it("every view in api runs with the caller's rights (security_invoker)", async () => {
    const { rows } = await template.query(`
      select c.relname from pg_class c where c.relnamespace = 'api'::regnamespace and c.relkind = 'v'
        and not coalesce('security_invoker=true' = any (c.reloptions), false)`);
    expect(rows).toEqual([]);
  });

  it('every security definer function pins its search_path', async () => {
    const { rows } = await template.query(`
      select p.oid::regprocedure::text as fn from pg_proc p
      where p.prosecdef and p.pronamespace in ('api'::regnamespace, 'private'::regnamespace)
        and not exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%')`);
    expect(rows).toEqual([]);
  });

  it('policies call claim helpers wrapped in (select …) so they run once per statement', async () => {
    const { rows } = await template.query(`
      select tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr from pg_policies where schemaname = 'api'`);
    for (const r of rows) {
      const bare = (r.expr as string).replace(/\(\s*select\s+private\.current_agent_id\(\)[^)]*\)/gi, '');
      expect({ policy: `${r.tablename}.${r.policyname}`, bare: /current_agent_id\(\)/.test(bare) }).toEqual({ policy: `${r.tablename}.${r.policyname}`, bare: false });
    }
  });
});
