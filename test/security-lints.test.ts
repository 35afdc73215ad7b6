// Security lints as tests, in the spirit of the Supabase advisors, plus a fuzz run of the API:
// hostile filters, bodies and RPC arguments get a clear 4xx, never a 5xx, and write nothing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './support/stack.ts';

let stack: TestStack;
let db: pg.Pool;

beforeAll(async () => {
  stack = await startTestStack('lints');
  db = stack.sql;
});
afterAll(async () => stack?.stop());

const apiRoles = ['anon', 'agent', 'viewer', 'operator'];

/**
 * What each API role may execute in the api and private schemas. A new function an API role can
 * call must be added here on purpose; everything else stays unreachable.
 */
const executable: Record<string, string[]> = {
  // PostgREST runs the pre-request check as anon for requests without a token.
  anon: ['private.check_request()', 'private.current_actor()', 'private.current_agent_id()', 'private.jwt_claims()'],
  agent: [
    'api.memory_get(text)',
    'api.memory_search(text,real[],integer,text[],integer)',
    'private.check_request()',
    'private.cosine(extensions.cube[],extensions.cube[])',
    'private.current_actor()',
    'private.current_agent_id()',
    'private.embedding_bits(real[])',
    'private.embedding_cubes(real[])',
    'private.embedding_pieces(real[])',
    'private.jwt_claims()',
    'private.setting(text)',
    'private.sha256_hex(text)',
    'private.unit_vector(real[])',
    'private.vector_probe_lists(text,bit varying,integer)',
  ],
};
executable.viewer = executable.agent!.filter((f) => f !== 'api.memory_get(text)');
executable.operator = [...executable.viewer, 'api.restore_session(text,text)', 'api.run_cron_job(text)', 'api.move_task(bigint,text,bigint,bigint)'];

describe('security lints', () => {
  it('anon is granted nothing in api or private', async () => {
    const { rows } = await db.query(`
      select table_schema || '.' || table_name || ' ' || privilege_type as grant_
      from information_schema.role_table_grants where grantee = 'anon' and table_schema in ('api', 'private')`);
    expect(rows.map((r) => r.grant_)).toEqual([]);
  });

  it.each(apiRoles)('%s can execute exactly the functions it is meant to', async (role) => {
    const { rows } = await db.query(
      `select regexp_replace(p.oid::regprocedure::text, ',\\s*', ',', 'g') as fn from pg_proc p
       where p.pronamespace in ('api'::regnamespace, 'private'::regnamespace) and p.prokind in ('f', 'p')
         and has_function_privilege($1, p.oid, 'execute')
       order by 1`,
      [role],
    );
    expect(rows.map((r) => r.fn).sort()).toEqual([...executable[role]!].sort());
  });

  it('every security definer function is executable by no API role unless listed, and pins search_path', async () => {
    const { rows } = await db.query(`
      select p.oid::regprocedure::text as fn,
             exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%') as pinned
      from pg_proc p where p.prosecdef and p.pronamespace in ('api'::regnamespace, 'private'::regnamespace)`);
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) expect({ fn: r.fn, pinned: r.pinned }).toEqual({ fn: r.fn, pinned: true });
  });

  it('every foreign key leads an index (deletes of the parent never scan the child)', async () => {
    // All the key's columns must lead the index, and a partial index only counts when its
    // predicate is "column IS NOT NULL", which the cascade's "column = $1" implies. (A partial
    // index on kind = 'memory' was not used by the cascade: the full-size sweep bench spent 13
    // minutes deleting 100k expired memory rows, each scanning its agent's search items.)
    const { rows } = await db.query(`
      select c.conrelid::regclass::text as tbl, c.conname,
             exists (select 1 from pg_index i
                     where i.indrelid = c.conrelid
                       and (select array_agg(k order by k) from unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)]) k)
                           = (select array_agg(k order by k) from unnest(c.conkey) k)
                       and (i.indpred is null or pg_get_expr(i.indpred, i.indrelid) ~ '^\\(?\\w+ IS NOT NULL\\)?$')) as indexed
      from pg_constraint c
      where c.contype = 'f' and c.connamespace in ('api'::regnamespace, 'private'::regnamespace)`);
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.filter((r) => !r.indexed).map((r) => `${r.tbl}.${r.conname}`)).toEqual([]);
  });

  it('every column an agent policy filters on leads an index', async () => {
    const { rows } = await db.query(`
      select distinct p.polrelid::regclass::text as tbl, a.attname as col,
             exists (select 1 from pg_index i where i.indrelid = p.polrelid and i.indkey[0] = a.attnum) as indexed
      from pg_policy p
      join pg_attribute a on a.attrelid = p.polrelid and a.attnum > 0
      where p.polrelid::regclass::text like 'api.%'
        and coalesce(pg_get_expr(p.polqual, p.polrelid), '') || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
            ~ ('\\m' || a.attname || '\\M\\s*=\\s*\\(\\s*SELECT\\s+private\\.current_agent_id')`);
    expect(rows.length).toBeGreaterThan(8);
    for (const r of rows) expect({ column: `${r.tbl}.${r.col}`, indexed: r.indexed }).toEqual({ column: `${r.tbl}.${r.col}`, indexed: true });
  });
});

describe('API fuzz: hostile input never gets a 5xx and writes nothing; malformed input gets a 4xx that says why', () => {
  const huge = 'x'.repeat(200_000);
  // 'error': must be refused with a 4xx; 'harmless': may also succeed (it reads or matches nothing).
  type Case = [name: string, method: string, path: string, body?: string, expect?: 'error' | 'harmless'];
  const cases: Case[] = [
    ['unknown column filter', 'GET', '/memory_kv?nope=eq.1'],
    ['unknown operator', 'GET', '/memory_kv?key=zz.1'],
    ['unclosed in-list', 'GET', '/memory_kv?key=in.(a,b'],
    ['SQL in order', 'GET', '/memory_kv?order=key;drop table api.memory_kv', undefined, 'harmless'],
    ['negative limit', 'GET', '/memory_kv?limit=-1'],
    ['non-numeric offset', 'GET', '/memory_kv?offset=abc', undefined, 'harmless'],
    ['embedding a missing relation', 'GET', '/memory_kv?select=*,secrets(*)'],
    ['oversized filter value', 'GET', `/memory_kv?key=eq.${huge}`],
    ['NUL in a filter', 'GET', '/memory_kv?key=eq.a%00b', undefined, 'harmless'],
    ['regex bomb in match', 'GET', `/memory_kv?key=match.${encodeURIComponent('(a+)+$')}`, undefined, 'harmless'],
    ['invalid JSON body', 'POST', '/memory_kv', '{"key": "k", "value": '],
    ['wrong type for a column', 'POST', '/memory_kv', '{"key": "k", "value": 1, "pinned": "maybe"}'],
    ['NUL byte in text', 'POST', '/memory_kv', '{"key": "a\\u0000b", "value": 1}'],
    ['key longer than allowed', 'POST', '/memory_kv', JSON.stringify({ key: 'k'.repeat(600), value: 1 })],
    ['empty key', 'POST', '/memory_kv', '{"key": "", "value": 1}'],
    ['unknown column in body', 'POST', '/memory_kv', '{"key": "k", "value": 1, "is_admin": true}'],
    ['forged agent_id in body', 'POST', '/memory_kv', '{"agent_id": "someone-else", "key": "k", "value": 1}'],
    ['generated column in body', 'POST', '/memory_kv', '{"key": "k", "value": 1, "size_bytes": 1}'],
    ['bad interval', 'POST', '/memory_kv', '{"key": "k", "value": 1, "sliding_ttl": "forever"}'],
    ['negative interval', 'POST', '/memory_kv', '{"key": "k", "value": 1, "sliding_ttl": "-1 day"}'],
    ['bad timestamp', 'POST', '/memory_kv', '{"key": "k", "value": 1, "expires_at": "tomorrow-ish"}'],
    ['task with a bad status', 'POST', '/tasks', '{"title": "t", "status": "blocked"}'],
    ['task with an empty title', 'POST', '/tasks', '{"title": ""}'],
    ['rpc with a missing argument', 'POST', '/rpc/memory_get', '{}'],
    ['rpc with a wrong argument type', 'POST', '/rpc/memory_search', '{"query": "x", "k": "ten"}'],
    ['rpc with k out of range', 'POST', '/rpc/memory_search', '{"query": "x", "k": 0}'],
    ['rpc with an unknown argument', 'POST', '/rpc/memory_search', '{"query": "x", "drop": true}'],
    ['rpc with a non-numeric embedding', 'POST', '/rpc/memory_search', '{"query": "x", "query_embedding": ["a"]}'],
    ['rpc with an oversized query', 'POST', '/rpc/memory_search', JSON.stringify({ query: huge }), 'harmless'],
    ['rpc that does not exist', 'POST', '/rpc/pg_sleep', '{"seconds": 10}'],
    ['patch without a filter on audit_log', 'PATCH', '/audit_log', '{"actor_role": "x"}'],
    ['delete everything from audit_log', 'DELETE', '/audit_log'],
  ];

  it.each(cases)('%s', async (_name, method, path, body, kind = 'error') => {
    const count = async () => (await db.query(`select (select count(*) from api.memory_kv) + (select count(*) from api.tasks) + (select count(*) from api.audit_log where table_name <> 'api.agents') as n`)).rows[0].n;
    const before = await count();
    const token = await stack.token('agent', 'fuzz');
    const res = await fetch(`${stack.restUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Prefer: 'return=minimal' },
      body,
    });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBeLessThan(500);
    if (kind === 'error') {
      expect(res.status, text.slice(0, 300)).toBeGreaterThanOrEqual(400);
      // A refusal says what is wrong (PostgREST's JSON error; the HTTP server's own plain text for a URL too long to parse).
      if (res.headers.get('content-type')?.includes('json')) expect((JSON.parse(text) as { message?: string }).message).toEqual(expect.any(String));
      else expect(text.trim()).not.toBe('');
    }
    expect(await count()).toBe(before);
  });

  it('a hostile query does not take the database down: a valid request still works afterwards', async () => {
    const token = await stack.token('agent', 'fuzz');
    const res = await fetch(`${stack.restUrl}/memory_kv`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: 'still-fine', value: true }),
    });
    expect(res.status).toBe(201);
  });
});
