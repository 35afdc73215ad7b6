// Every exposed table × role × verb, through the real PostgREST: allowed where intended,
// denied (and nothing changed) everywhere else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgrestClient } from '@supabase/postgrest-js';
import { startTestStack, type TestStack } from './support/stack.ts';

type Verb = 'select' | 'insert' | 'update' | 'delete';
type Row = Record<string, unknown>;

interface TableCase {
  table: string;
  /** Column that names the owning agent; null for tables agents never see. */
  owner: 'agent_id' | null;
  /** Column holding a value unique to each test row. */
  marker: string;
  row(agent: string, tag: string): Row;
  /** Rows the test row depends on, inserted by the owner first. */
  prepare?(agent: string, tag: string): Promise<void>;
  /** The change an update test makes; a function where each test needs a fresh value. */
  patch: Row | (() => Row);
  agent: Verb[];
  operator: Verb[];
}

const all: Verb[] = ['select', 'insert', 'update', 'delete'];
let ordinal = 0;
const docs: Record<string, number> = {};

const cases: TableCase[] = [
  { table: 'sessions', owner: 'agent_id', marker: 'id', row: (a, t) => ({ agent_id: a, id: t }), patch: { channel: 'patched' }, agent: ['select', 'insert', 'update'], operator: ['select'] },
  { table: 'messages', owner: 'agent_id', marker: 'id', row: (a, t) => ({ agent_id: a, session_id: `s-${a}`, id: t, role: 'user', content: 'hi' }), patch: { content: 'patched' }, agent: ['select', 'insert'], operator: ['select'] },
  { table: 'tool_calls', owner: 'agent_id', marker: 'id', row: (a, t) => ({ agent_id: a, session_id: `s-${a}`, id: t, name: 'read' }), patch: { result: 'patched' }, agent: ['select', 'insert'], operator: ['select'] },
  { table: 'memory_kv', owner: 'agent_id', marker: 'key', row: (a, t) => ({ agent_id: a, key: t, value: { n: 1 } }), patch: { value: 'patched' }, agent: all, operator: all },
  { table: 'conversation_summaries', owner: 'agent_id', marker: 'summary', row: (a, t) => ({ agent_id: a, session_id: `s-${a}`, summary: t }), patch: { model: 'patched' }, agent: all, operator: all },
  { table: 'knowledge_docs', owner: 'agent_id', marker: 'title', row: (a, t) => ({ agent_id: a, title: t, content: 'text' }), patch: { content: 'patched' }, agent: all, operator: all },
  { table: 'knowledge_chunks', owner: 'agent_id', marker: 'content', row: (a, t) => ({ agent_id: a, doc_id: docs[a], ordinal: ++ordinal, content: t }), patch: () => ({ ordinal: 1_000_000 + ++ordinal }), agent: all, operator: all },
  { table: 'tasks', owner: 'agent_id', marker: 'title', row: (a, t) => ({ agent_id: a, title: t }), patch: { description: 'patched' }, agent: all, operator: all },
  {
    table: 'search_items', owner: 'agent_id', marker: 'memory_key', row: (a, t) => ({ agent_id: a, kind: 'memory', memory_key: t, content: 'x' }),
    prepare: async (a, t) => void (await stack.sql.query(`insert into api.memory_kv (agent_id, key, value) values ($1, $2, '1') on conflict do nothing`, [a, t])),
    patch: { title: 'patched' }, agent: ['select'], operator: ['select'],
  },
  { table: 'health_checks', owner: null, marker: 'service', row: (_a, t) => ({ service: t, status: 'up' }), patch: { detail: 'patched' }, agent: [], operator: ['select'] },
  { table: 'alerts', owner: null, marker: 'subject', row: (_a, t) => ({ rule: 'test_rule', subject: t, message: 'm' }), patch: { status: 'acknowledged' }, agent: [], operator: ['select', 'update'] },
  { table: 'cron_runs', owner: null, marker: 'name', row: (_a, t) => ({ name: t }), patch: { status: 'failed' }, agent: [], operator: ['select'] },
  { table: 'backups', owner: null, marker: 'location', row: (_a, t) => ({ kind: 'base', location: t }), patch: { status: 'failed' }, agent: [], operator: ['select'] },
  { table: 'ingest_errors', owner: null, marker: 'file', row: (a, t) => ({ source: 'jsonl', agent_id: a, file: t, error: 'malformed line' }), patch: { error: 'patched' }, agent: [], operator: ['select'] },
  { table: 'audit_log', owner: null, marker: 'table_name', row: (_a, t) => ({ actor_role: 'test', table_name: t, operation: 'INSERT', row_key: {} }), patch: { actor_role: 'patched' }, agent: [], operator: ['select'] },
];

type Actor = { name: 'anon' | 'agent A' | 'agent B' | 'viewer' | 'operator'; agent?: string; other?: string };
const actors: Actor[] = [
  { name: 'anon' },
  { name: 'agent A', agent: 'alice', other: 'bob' },
  { name: 'agent B', agent: 'bob', other: 'alice' },
  { name: 'viewer' },
  { name: 'operator' },
];

function allowed(c: TableCase, actor: Actor, verb: Verb): boolean {
  switch (actor.name) {
    case 'anon':
      return false;
    case 'viewer':
      return verb === 'select';
    case 'operator':
      return c.operator.includes(verb);
    default:
      return c.agent.includes(verb);
  }
}

let stack: TestStack;
const clients = new Map<string, PostgrestClient>();
let seq = 0;
const tag = (c: TableCase) => `${c.table}-${process.pid}-${++seq}`;

async function seed(c: TableCase, agent: string): Promise<string> {
  const t = tag(c);
  await c.prepare?.(agent, t);
  const row = c.row(agent, t);
  // A trigger may have indexed the prepared row already (search_items mirrors memory_kv).
  if (c.prepare) await stack.sql.query(`delete from api.${c.table} where ${c.marker} = $1`, [t]);
  const cols = Object.keys(row);
  await stack.sql.query(
    `insert into api.${c.table} (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
    cols.map((k) => row[k]),
  );
  return t;
}

async function fetchRow(c: TableCase, marker: string): Promise<Row | undefined> {
  const { rows } = await stack.sql.query(`select * from api.${c.table} where ${c.marker} = $1`, [marker]);
  return rows[0] as Row | undefined;
}

beforeAll(async () => {
  stack = await startTestStack('rls');
  for (const a of ['alice', 'bob']) {
    await stack.sql.query(`insert into api.agents (id) values ($1)`, [a]);
    await stack.sql.query(`insert into api.sessions (agent_id, id) values ($1, $2)`, [a, `s-${a}`]);
    const { rows } = await stack.sql.query(`insert into api.knowledge_docs (agent_id, title, content) values ($1, 'parent', 'x') returning id`, [a]);
    docs[a] = rows[0].id as number;
  }
  for (const actor of actors) {
    const role = actor.name === 'anon' ? 'anon' : actor.agent ? 'agent' : (actor.name as 'viewer' | 'operator');
    clients.set(actor.name, await stack.client(role, actor.agent));
  }
});

afterAll(async () => {
  await stack?.stop();
});

describe.each(cases)('$table', (c) => {
  describe.each(actors)('as $name', (actor) => {
    const client = () => clients.get(actor.name)!;

    it(`select is ${actor.name === 'anon' ? 'denied' : 'scoped as intended'}`, async () => {
      const mine = await seed(c, actor.agent ?? 'alice');
      const theirs = await seed(c, actor.other ?? 'bob');
      const { data, error } = await client().from(c.table).select('*').in(c.marker, [mine, theirs]);
      const seen = (data ?? []).map((r: Row) => r[c.marker]).sort();
      if (!allowed(c, actor, 'select')) {
        expect(seen).toEqual([]);
        expect(error?.code ?? 'denied').toMatch(/42501|PGRST|denied/);
      } else if (actor.agent) {
        expect(error).toBeNull();
        expect(seen).toEqual([mine]);
      } else {
        expect(error).toBeNull();
        expect(seen).toEqual([mine, theirs].sort());
      }
    });

    it(`insert is ${allowed(c, actor, 'insert') ? 'allowed for its own rows only' : 'denied'}`, async () => {
      const own = tag(c);
      await c.prepare?.(actor.agent ?? 'alice', own);
      if (c.prepare) await stack.sql.query(`delete from api.${c.table} where ${c.marker} = $1`, [own]);
      const res = await client().from(c.table).insert(c.row(actor.agent ?? 'alice', own));
      if (allowed(c, actor, 'insert')) {
        expect(res.error).toBeNull();
        expect(await fetchRow(c, own)).toBeDefined();
      } else {
        expect(res.error).not.toBeNull();
        expect(await fetchRow(c, own)).toBeUndefined();
      }
      if (actor.other && c.owner) {
        const foreign = tag(c);
        const cross = await client().from(c.table).insert(c.row(actor.other, foreign));
        expect(cross.error).not.toBeNull();
        expect(await fetchRow(c, foreign)).toBeUndefined();
      }
    });

    it(`update is ${allowed(c, actor, 'update') ? 'allowed on its own rows only' : 'denied'}`, async () => {
      const mine = await seed(c, actor.agent ?? 'alice');
      const theirs = await seed(c, actor.other ?? 'bob');
      const patch = typeof c.patch === 'function' ? c.patch() : c.patch;
      const [col, value] = Object.entries(patch)[0]!;
      for (const m of [mine, theirs]) await client().from(c.table).update(patch).eq(c.marker, m);
      const changed = async (m: string) => JSON.stringify((await fetchRow(c, m))?.[col]) === JSON.stringify(value);
      const can = allowed(c, actor, 'update');
      expect(await changed(mine)).toBe(can);
      expect(await changed(theirs)).toBe(can && !actor.agent);
    });

    it(`delete is ${allowed(c, actor, 'delete') ? 'allowed on its own rows only' : 'denied'}`, async () => {
      const mine = await seed(c, actor.agent ?? 'alice');
      const theirs = await seed(c, actor.other ?? 'bob');
      for (const m of [mine, theirs]) await client().from(c.table).delete().eq(c.marker, m);
      const can = allowed(c, actor, 'delete');
      expect((await fetchRow(c, mine)) === undefined).toBe(can);
      expect((await fetchRow(c, theirs)) === undefined).toBe(can && !actor.agent);
    });
  });
});

describe('agents', () => {
  it.each([
    ['agent A', ['alice']],
    ['agent B', ['bob']],
    ['viewer', ['alice', 'bob']],
    ['operator', ['alice', 'bob']],
  ] as const)('%s sees %j', async (name, expected) => {
    const { data, error } = await clients.get(name)!.from('agents').select('id').in('id', ['alice', 'bob']).order('id');
    expect(error).toBeNull();
    expect(data!.map((r) => r.id)).toEqual(expected);
  });

  it.each(actors.map((a) => a.name))('%s cannot create, rename or delete agents', async (name) => {
    const c = clients.get(name)!;
    expect((await c.from('agents').insert({ id: `new-${name.replace(' ', '')}` })).error).not.toBeNull();
    await c.from('agents').update({ display_name: 'hijacked' }).eq('id', 'alice');
    await c.from('agents').delete().eq('id', 'bob');
    const { rows } = await stack.sql.query(`select id, display_name from api.agents where id in ('alice', 'bob') or id like 'new-%' order by id`);
    expect(rows).toEqual([
      { id: 'alice', display_name: null },
      { id: 'bob', display_name: null },
    ]);
  });
});

describe('memory_kv_hot', () => {
  it('lists only large values, and an agent only its own', async () => {
    const big = { blob: 'x'.repeat(70_000) };
    await stack.sql.query(`insert into api.memory_kv (agent_id, key, value) values ('alice', 'hot-a', $1), ('bob', 'hot-b', $1), ('alice', 'small', '1')`, [big]);
    const alice = await clients.get('agent A')!.from('memory_kv_hot').select('key, size_bytes');
    expect(alice.error).toBeNull();
    expect(alice.data!.map((r) => r.key)).toEqual(['hot-a']);
    expect(alice.data![0]!.size_bytes).toBeGreaterThanOrEqual(65536);
    const viewer = await clients.get('viewer')!.from('memory_kv_hot').select('key').order('key');
    expect(viewer.data!.map((r) => r.key)).toEqual(['hot-a', 'hot-b']);
  });
});
