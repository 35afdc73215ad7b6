// REST vs its physical limit: the same indexed memory read and the same memory upsert, at the same
// concurrency, (1) through PostgREST with JWT + RLS, (2) through `pg` doing what PostgREST does per
// request (one transaction: set role and claims, the pre-request check, the query), (3) as a bare
// pooled `pg` query. (2) is the fair limit for PostgREST-served work; (3) is the floor of the database.
import pg from 'pg';
import { Pool as HttpPool } from 'undici';
import { closedLoop, isMain, machine, runStandalone, type BenchOptions, type BenchReport, type Figure, type LoadResult } from './lib.ts';
import { startBenchStack } from './stack.ts';

const agents = 100;
const keysPerAgent = 1000;
const concurrency = 32;

const agentId = (i: number) => `agent-${i % agents}`;
const keyOf = (i: number) => `key-${(i * 7919) % keysPerAgent}`;

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const seconds = opts.quick ? 2 : 6;
  const stack = await startBenchStack({ max_connections: 200 });
  try {
    const owner = new pg.Pool({ connectionString: stack.ownerUrl, max: 4 });
    owner.on('error', ignoreShutdown);
    opts.log(`seeding ${agents} agents × ${keysPerAgent} memory rows…`);
    await owner.query(`insert into api.agents (id) select 'agent-' || a from generate_series(0, ${agents - 1}) a`);
    await owner.query(
      `insert into api.memory_kv (agent_id, key, value)
       select 'agent-' || a, 'key-' || k, jsonb_build_object('n', k, 'note', repeat('x', 64))
       from generate_series(0, ${agents - 1}) a, generate_series(0, ${keysPerAgent - 1}) k`,
    );
    await owner.query('vacuum analyze api.memory_kv');
    await owner.end();
    const tokens = await Promise.all(Array.from({ length: agents }, (_, i) => stack.token('agent', agentId(i))));

    const results: Record<string, LoadResult> = {};
    const measure = async (name: string, op: (i: number) => Promise<void>) => {
      opts.log(`${name}…`);
      results[name] = await closedLoop(op, concurrency, seconds);
      const r = results[name]!;
      opts.log(`  ${r.perSecond.toFixed(0)}/s p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms errors ${r.errors}`);
    };

    // (1) PostgREST, in the configuration `clawbase start` uses, and without the JWT cache.
    const variants = [
      { label: 'PostgREST (pool 10, JWT cache 300 s)', pool: 10, jwtCacheSeconds: 300 },
      { label: 'PostgREST (pool 10, no JWT cache)', pool: 10, jwtCacheSeconds: 0 },
      { label: 'PostgREST (pool 20, JWT cache 300 s)', pool: 20, jwtCacheSeconds: 300 },
    ];
    for (const v of variants) {
      const rest = await stack.startRest({ pool: v.pool, jwtCacheSeconds: v.jwtCacheSeconds });
      const http = new HttpPool(rest.url, { connections: concurrency, pipelining: 1 });
      const call = async (method: 'GET' | 'POST', path: string, i: number, body?: string) => {
        const res = await http.request({
          method,
          path,
          body,
          headers: {
            authorization: `Bearer ${tokens[i % agents]}`,
            'content-type': 'application/json',
            prefer: 'resolution=merge-duplicates,return=minimal',
          },
        });
        const text = await res.body.text();
        if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${text}`);
      };
      await measure(`read ${v.label}`, (i) => call('GET', `/memory_kv?key=eq.${keyOf(i)}&select=key,value`, i));
      await measure(`upsert ${v.label}`, (i) => call('POST', '/memory_kv', i, JSON.stringify({ key: keyOf(i), value: { n: i } })));
      await http.close();
      await rest.stop();
    }

    // (2) pg, PostgREST's per-request transaction, as the authenticator switching role, same pool size.
    const txPool = new pg.Pool({ connectionString: stack.authenticatorUrl, max: 10 });
    txPool.on('error', ignoreShutdown);
    const perRequest = async (i: number, sql: { name: string; text: string; values: unknown[] }, method: string) => {
      const client = await txPool.connect();
      try {
        await client.query('begin');
        await client.query({
          name: 'pgrst-settings',
          text: `select set_config('search_path', 'api', true), set_config('role', 'agent', true),
                        set_config('request.jwt.claims', $1, true), set_config('request.method', $2, true),
                        set_config('request.path', '/memory_kv', true)`,
          values: [JSON.stringify({ role: 'agent', agent_id: agentId(i), aud: 'clawbase' }), method],
        });
        await client.query({ name: 'pgrst-pre-request', text: 'select private.check_request()' });
        await client.query(sql);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    };
    await measure('read pg per-request transaction', (i) =>
      perRequest(i, { name: 'tx-read', text: 'select key, value from api.memory_kv where key = $1', values: [keyOf(i)] }, 'GET'),
    );
    await measure('upsert pg per-request transaction', (i) =>
      perRequest(
        i,
        {
          name: 'tx-upsert',
          text: 'insert into api.memory_kv (key, value) values ($1, $2) on conflict (agent_id, key) do update set value = excluded.value',
          values: [keyOf(i), { n: i }],
        },
        'POST',
      ),
    );
    await txPool.end();

    // (3) bare pooled pg, prepared, as the owner (no role switch, no RLS).
    const bare = new pg.Pool({ connectionString: stack.ownerUrl, max: 10 });
    bare.on('error', ignoreShutdown);
    await measure('read bare pg', async (i) => {
      await bare.query({ name: 'bare-read', text: 'select key, value from api.memory_kv where agent_id = $1 and key = $2', values: [agentId(i), keyOf(i)] });
    });
    await measure('upsert bare pg', async (i) => {
      await bare.query({
        name: 'bare-upsert',
        text: 'insert into api.memory_kv (agent_id, key, value) values ($1, $2, $3) on conflict (agent_id, key) do update set value = excluded.value',
        values: [agentId(i), keyOf(i), { n: i }],
      });
    });
    await bare.end();

    const figures: Figure[] = [];
    for (const op of ['read', 'upsert'] as const) {
      const tx = results[`${op} pg per-request transaction`]!;
      const floor = results[`${op} bare pg`]!;
      for (const v of variants) {
        const r = results[`${op} ${v.label}`]!;
        figures.push({
          name: `${op} via ${v.label}`,
          value: r.perSecond,
          unit: 'req/s',
          extra: { p50_ms: r.p50, p99_ms: r.p99, errors: r.errors, 'vs bare pg': `${((r.perSecond / floor.perSecond) * 100).toFixed(0)}%` },
          limit: { name: 'pg per-request transaction', value: tx.perSecond },
          ratio: r.perSecond / tx.perSecond,
          target: v === variants[0] ? { text: '≥ 60% of per-request transaction, p99 ≤ 30 ms', met: r.perSecond / tx.perSecond >= 0.6 && r.p99 <= 30 } : undefined,
        });
      }
      figures.push({ name: `${op} via pg per-request transaction`, value: tx.perSecond, unit: 'req/s', extra: { p50_ms: tx.p50, p99_ms: tx.p99 }, limit: { name: 'bare pg', value: floor.perSecond }, ratio: tx.perSecond / floor.perSecond });
      figures.push({ name: `${op} via bare pg`, value: floor.perSecond, unit: 'req/s', extra: { p50_ms: floor.p50, p99_ms: floor.p99 } });
    }
    return {
      bench: 'rest: PostgREST vs raw pg',
      setup: { ...machine(), concurrency, seconds, agents, keysPerAgent, rows: agents * keysPerAgent },
      figures,
      notes: ['The load generator (undici, node-pg) runs on the same 2 cores as PostgreSQL and PostgREST.'],
    };
  } finally {
    await stack.stop();
  }
}

if (isMain(import.meta.url)) await runStandalone(run);

/** An idle pooled client sees the server's shutdown as an error event; only that is expected here. */
function ignoreShutdown(err: Error & { code?: string }): void {
  if (err.code !== '57P01') throw err;
}
