// The audit trail records every write with the right actor; TTL rules delete exactly what expired.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestStack, workerLoginUrl, type TestStack } from './support/stack.ts';

let stack: TestStack;
let worker: pg.Client;

beforeAll(async () => {
  stack = await startTestStack('audit');
  worker = new pg.Client({ connectionString: workerLoginUrl(stack.ownerUrl) });
  await worker.connect();
});
afterAll(async () => {
  await worker?.end();
  await stack?.stop();
});

const auditOf = async (table: string, key: Record<string, unknown>) =>
  (
    await stack.sql.query(
      `select actor_role, actor_agent_id, db_user, operation, old_values, new_values from api.audit_log
       where table_name = $1 and row_key = $2 order by id`,
      [table, key],
    )
  ).rows;

describe('audit_log', () => {
  it('records an agent upsert as INSERT then UPDATE with the agent as actor and both row images', async () => {
    const alice = await stack.client('agent', 'alice');
    await alice.from('memory_kv').upsert({ key: 'colour', value: 'red' });
    await alice.from('memory_kv').upsert({ key: 'colour', value: 'blue' });
    const rows = await auditOf('api.memory_kv', { agent_id: 'alice', key: 'colour' });
    expect(rows.map((r) => [r.operation, r.actor_role, r.actor_agent_id, r.db_user])).toEqual([
      ['INSERT', 'agent', 'alice', 'authenticator'],
      ['UPDATE', 'agent', 'alice', 'authenticator'],
    ]);
    expect(rows[0].new_values.value).toBe('red');
    expect(rows[1].old_values.value).toBe('red');
    expect(rows[1].new_values.value).toBe('blue');
  });

  it('records an operator change and a delete with the old row', async () => {
    const { rows: [task] } = await stack.sql.query(`insert into api.tasks (title) values ('write docs') returning id`);
    const operator = await stack.client('operator');
    expect((await operator.from('tasks').update({ status: 'in_progress' }).eq('id', task.id)).error).toBeNull();
    expect((await operator.from('tasks').delete().eq('id', task.id)).error).toBeNull();
    const rows = await auditOf('api.tasks', { id: Number(task.id) });
    expect(rows.map((r) => [r.operation, r.actor_role])).toEqual([
      ['INSERT', 'postgres'],
      ['UPDATE', 'operator'],
      ['DELETE', 'operator'],
    ]);
    expect(rows[2].old_values.status).toBe('in_progress');
    expect(rows[2].new_values).toBeNull();
  });

  it('names the worker login as actor of its direct writes, and keeps only keys for telemetry tables', async () => {
    await worker.query(`insert into api.sessions (agent_id, id, source) values ('bob', 's1', 'sqlite')`);
    await worker.query(`insert into api.messages (agent_id, session_id, id, role, content) values ('bob', 's1', 'm1', 'user', 'hello')`);
    const rows = await auditOf('api.messages', { agent_id: 'bob', session_id: 's1', id: 'm1' });
    expect(rows).toEqual([{ actor_role: 'worker', actor_agent_id: null, db_user: 'worker', operation: 'INSERT', old_values: null, new_values: null }]);
  });

  it('writes one audit row per row of a multi-row statement', async () => {
    await stack.sql.query(`insert into api.sessions (agent_id, id) values ('carol', 'bulk')`);
    await worker.query(
      `insert into api.messages (agent_id, session_id, id, role) select 'carol', 'bulk', 'm' || g, 'user' from generate_series(1, 500) g`,
    );
    const { rows } = await stack.sql.query(`select count(*)::int as n from api.audit_log where table_name = 'api.messages' and row_key->>'agent_id' = 'carol'`);
    expect(rows[0].n).toBe(500);
  });

  it('cannot be changed by the worker either, except deletion by retention', async () => {
    await expect(worker.query(`update api.audit_log set actor_role = 'nobody'`)).rejects.toThrow(/permission denied/);
    await expect(worker.query(`insert into api.audit_log (actor_role, table_name, operation, row_key) values ('x', 'x', 'INSERT', '{}')`)).rejects.toThrow(/permission denied/);
  });

  it('audits a delete by anyone but the worker even when they set the archive-move setting', async () => {
    await stack.sql.query(`insert into api.memory_kv (agent_id, key, value) values ('erin', 'gone', '"x"')`);
    const url = new URL(stack.ownerUrl);
    url.username = 'authenticator';
    url.password = inject('cluster').authenticatorPassword;
    const c = new pg.Client({ connectionString: url.href });
    await c.connect();
    try {
      await c.query('begin');
      await c.query(`select set_config('role', 'operator', true), set_config('request.jwt.claims', '{"role":"operator"}', true), set_config('clawbase.audit_moves', 'archive', true)`);
      expect((await c.query(`delete from api.memory_kv where agent_id = 'erin' and key = 'gone'`)).rowCount).toBe(1);
      await c.query('commit');
    } finally {
      await c.end();
    }
    expect(await auditOf('api.memory_kv', { agent_id: 'erin', key: 'gone' })).toEqual([
      expect.objectContaining({ operation: 'INSERT' }),
      expect.objectContaining({ operation: 'DELETE', actor_role: 'operator' }),
    ]);
  });
});

describe('TTL', () => {
  it('hides an expired memory from its agent at once, and an upsert over it starts a fresh key', async () => {
    await stack.sql.query(
      `insert into api.memory_kv (agent_id, key, value, expires_at, created_at) values ('dave', 'old', '"stale"', now() - interval '1 second', now() - interval '1 day')`,
    );
    const dave = await stack.client('agent', 'dave');
    expect((await dave.from('memory_kv').select('key').eq('key', 'old')).data).toEqual([]);
    const { data, error } = await dave.from('memory_kv').upsert({ key: 'old', value: 'fresh' }).select('value, expires_at, created_at');
    expect(error).toBeNull();
    expect(data![0]!.value).toBe('fresh');
    expect(data![0]!.expires_at).toBeNull();
    expect(Date.now() - Date.parse(data![0]!.created_at)).toBeLessThan(60_000);
    // Staff still see expiry in the memory browser until the sweep purges it.
    const viewer = await stack.client('viewer');
    expect((await viewer.from('memory_kv').select('key').eq('agent_id', 'dave')).data).toEqual([{ key: 'old' }]);
  });

  it('purge_expired deletes exactly the expired rows, in batches, and reports counts', async () => {
    await stack.sql.query(`insert into api.sessions (agent_id, id) values ('erin', 's')`);
    await stack.sql.query(`
      insert into api.memory_kv (agent_id, key, value, expires_at)
      select 'erin', 'k' || g, to_jsonb(g),
             case when g % 3 = 0 then now() - interval '1 minute' when g % 3 = 1 then now() + interval '1 hour' end
      from generate_series(1, 30) g`);
    await stack.sql.query(`
      insert into api.conversation_summaries (agent_id, session_id, summary, expires_at)
      select 'erin', 's', 'summary ' || g, case when g <= 4 then now() - interval '1 day' else now() + interval '29 days' end
      from generate_series(1, 7) g`);
    await stack.sql.query(`update api.audit_log set at = now() - interval '91 days' where table_name = 'api.sessions'`);
    const { rows: [{ n: oldAudit }] } = await stack.sql.query(`select count(*)::int as n from api.audit_log where at < now() - interval '90 days'`);
    expect(oldAudit).toBeGreaterThan(0);

    const { rows } = await worker.query(`call private.purge_expired(batch_size => 3)`);
    expect(rows[0].deleted).toEqual({ memory_kv: 10, conversation_summaries: 4, audit_log: oldAudit });

    const left = await stack.sql.query(`select key from api.memory_kv where agent_id = 'erin' order by key`);
    const expected = Array.from({ length: 30 }, (_, i) => i + 1).filter((g) => g % 3 !== 0).map((g) => `k${g}`).sort();
    expect(left.rows.map((r) => r.key)).toEqual(expected);
    const summaries = await stack.sql.query(`select count(*)::int as n from api.conversation_summaries where agent_id = 'erin'`);
    expect(summaries.rows[0].n).toBe(3);
    const audit = await stack.sql.query(`select count(*)::int as n from api.audit_log where at < now() - interval '90 days'`);
    expect(audit.rows[0].n).toBe(0);
  });

  it('gives a summary a 30-day lifetime and the next version by default', async () => {
    await stack.sql.query(`insert into api.sessions (agent_id, id) values ('frank', 's')`);
    const frank = await stack.client('agent', 'frank');
    await frank.from('conversation_summaries').insert({ session_id: 's', summary: 'first' });
    await frank.from('conversation_summaries').insert({ session_id: 's', summary: 'second' });
    const { data } = await frank.from('conversation_summaries').select('summary, version, created_at, expires_at').order('version');
    expect(data!.map((r) => [r.summary, r.version])).toEqual([['first', 1], ['second', 2]]);
    const days = (Date.parse(data![0]!.expires_at) - Date.parse(data![0]!.created_at)) / 86_400_000;
    expect(days).toBeCloseTo(30, 3);
  });
});
