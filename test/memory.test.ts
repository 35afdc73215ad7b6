// Memory: TTL and sliding TTL, HOT rows, chunking, hybrid search scoped by RLS, the embedding
// pipeline (trigger → job → Ollama → vector) including Ollama being down, summaries and their
// fallback, and the workspace's memory files.
import fs from 'node:fs';
import path from 'node:path';
import type { Runner } from 'graphile-worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bootstrap } from '../db/migrate.ts';
import { workerContext } from '../worker/context.ts';
import { beginMarker, endMarker, writeDailyActivity } from '../worker/memory/daily-activity.ts';
import { embedPending } from '../worker/memory/embed.ts';
import { makeOllama } from '../worker/memory/ollama.ts';
import { summariseSessions } from '../worker/memory/summarise.ts';
import { syncWorkspaceMemory } from '../worker/memory/workspace-sync.ts';
import { startWorker } from '../worker/main.ts';
import { fakeEmbedding, startFakeOllama, type FakeOllama } from './fixtures/fake-ollama.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

let stack: TestStack;
let ollama: FakeOllama;
let runner: Runner | undefined;
let workerDb: pg.Pool;

const settings = () => ({ host: ollama.url, embedModel: 'fake-embed', chatModel: 'fake-chat', timeoutMs: 1500 });

async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rpc(token: string, fn: string, body: unknown) {
  const res = await fetch(`${stack.restUrl}/rpc/${fn}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & Array<Record<string, unknown>> };
}

beforeAll(async () => {
  stack = await startTestStack('memory');
  ollama = await startFakeOllama();
  workerDb = new pg.Pool({ connectionString: stack.workerUrl, max: 3 });
  // The configured model, as `clawbase migrate` would store it from OLLAMA_EMBED_MODEL.
  const cluster = inject('cluster');
  await bootstrap(stack.ownerUrl, { ...cluster, apiStatementTimeout: '8s', embeddingModel: 'fake-embed' });
});

afterAll(async () => {
  await runner?.stop();
  await workerDb?.end();
  await ollama?.close();
  await stack?.stop();
});

describe('memory_kv TTL', () => {
  it('memory_get bumps last access, slides a sliding expiry, leaves a fixed one, and writes no audit row for a plain read', async () => {
    await stack.sql.query(`
      insert into api.memory_kv (agent_id, key, value, expires_at, sliding_ttl, last_accessed_at, updated_at) values
        ('ttl', 'sliding', '"s"', now() + interval '1 minute', interval '1 day', now() - interval '1 hour', now() - interval '1 hour'),
        ('ttl', 'fixed', '"f"', now() + interval '1 minute', null, now() - interval '1 hour', now() - interval '1 hour'),
        ('ttl', 'gone', '"g"', now() - interval '1 second', interval '1 day', now() - interval '1 hour', now() - interval '1 hour')`);
    const token = await stack.token('agent', 'ttl');
    const auditBefore = (await stack.sql.query(`select count(*)::int as n from api.audit_log where table_name = 'api.memory_kv' and row_key->>'key' = 'fixed'`)).rows[0].n;

    const sliding = await rpc(token, 'memory_get', { key: 'sliding' });
    expect(sliding.status).toBe(200);
    expect(sliding.body.value).toBe('s');
    expect(Date.parse(sliding.body.expires_at as string) - Date.now()).toBeGreaterThan(23 * 3600_000);

    const fixed = await rpc(token, 'memory_get', { key: 'fixed' });
    const { rows: [row] } = await stack.sql.query(`select expires_at, updated_at, last_accessed_at from api.memory_kv where agent_id = 'ttl' and key = 'fixed'`);
    expect(Date.parse(fixed.body.expires_at as string)).toBe(row.expires_at.getTime());
    expect(Date.now() - row.last_accessed_at.getTime()).toBeLessThan(60_000);
    expect(Date.now() - row.updated_at.getTime()).toBeGreaterThan(3000_000);
    const auditAfter = (await stack.sql.query(`select count(*)::int as n from api.audit_log where table_name = 'api.memory_kv' and row_key->>'key' = 'fixed'`)).rows[0].n;
    expect(auditAfter).toBe(auditBefore);

    const gone = await rpc(token, 'memory_get', { key: 'gone' });
    expect(gone.status).toBe(200);
    expect(gone.body.key).toBeNull();
  });

  it('lists a value as HOT once it reaches the configured threshold', async () => {
    await stack.sql.query(`insert into api.memory_kv (agent_id, key, value) values ('hot', 'mid', to_jsonb(repeat('x', 5000)))`);
    const viewer = await stack.client('viewer');
    const hot = async () => (await viewer.from('memory_kv_hot').select('key').eq('agent_id', 'hot')).data!.map((r) => r.key);
    expect(await hot()).toEqual([]);
    await stack.sql.query(`update private.settings set value = '4096' where key = 'memory_hot_threshold_bytes'`);
    try {
      expect(await hot()).toEqual(['mid']);
    } finally {
      await stack.sql.query(`update private.settings set value = '65536' where key = 'memory_hot_threshold_bytes'`);
    }
  });
});

describe('knowledge documents', () => {
  it('are chunked by SQL on write: about the target size, no word cut in two, re-chunked when the text changes', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} talks about photosynthesis and chlorophyll in leaves.`).join(' ');
    const agent = await stack.client('agent', 'docs');
    const { data, error } = await agent.from('knowledge_docs').insert({ title: 'Botany notes', content: `Intro paragraph.\n\n${long}\n\nClosing words.` }).select('id').single();
    expect(error).toBeNull();
    const chunks = (await stack.sql.query(`select content from api.knowledge_chunks where doc_id = $1 order by ordinal`, [data!.id])).rows.map((r) => r.content as string);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(1500);
      expect(c).not.toMatch(/^\S*[a-z]\S*$/); // not a lone fragment
    }
    expect(chunks.join(' ').split(/\s+/)).toContain('photosynthesis');
    expect(chunks.every((c) => !/\bphotosynth$|^esis\b/.test(c))).toBe(true);
    await agent.from('knowledge_docs').update({ content: 'Replaced entirely.' }).eq('id', data!.id);
    const after = (await stack.sql.query(`select content from api.knowledge_chunks where doc_id = $1`, [data!.id])).rows;
    expect(after).toEqual([{ content: 'Replaced entirely.' }]);
  });
});

describe('memory_search', () => {
  beforeAll(async () => {
    runner = await startWorker({ connectionString: stack.workerUrl, context: workerContext({ ollama: settings(), workspace: '/nonexistent', workspaceAgent: 'main' }), concurrency: 2, log: () => {} });
    const alice = await stack.client('agent', 'alice');
    const bob = await stack.client('agent', 'bob');
    await alice.from('memory_kv').insert([
      { key: 'home.city', value: 'Alice lives in Berlin near the river' },
      { key: 'hobby', value: 'Alice enjoys cycling and mountain bikes on weekends' },
    ]);
    await alice.from('knowledge_docs').insert({ title: 'Kubernetes runbook', content: 'Restart the ingress controller when certificates rotate.' });
    await bob.from('memory_kv').insert({ key: 'secret.plan', value: 'Bob lives in Berlin and plans a surprise party' });
    await waitFor(async () => {
      const { rows } = await stack.sql.query(`select count(*) filter (where embedding_model is null)::int as pending, count(*)::int as n from api.search_items`);
      return rows[0].n >= 4 && rows[0].pending === 0;
    }, 'every item embedded');
  });

  it('finds by full text and ranks the best match first', async () => {
    const token = await stack.token('agent', 'alice');
    const { status, body } = await rpc(token, 'memory_search', { query: 'cycling bikes' });
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({ kind: 'memory', memory_key: 'hobby' });
    expect(body[0]!.text_rank).toBe(1);
  });

  it('finds a misspelt title by trigram similarity', async () => {
    const token = await stack.token('agent', 'alice');
    const { body } = await rpc(token, 'memory_search', { query: 'kubernets runbok' });
    expect(body.map((r) => r.title)).toContain('Kubernetes runbook');
  });

  it('fuses vector similarity: a query embedding alone finds the related memory', async () => {
    const token = await stack.token('agent', 'alice');
    const { status, body } = await rpc(token, 'memory_search', { query: '', query_embedding: fakeEmbedding('where does alice live river berlin'), k: 3 });
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({ memory_key: 'home.city', vector_rank: 1 });
    expect(body[0]!.similarity as number).toBeGreaterThan(0.3);
  });

  it("never returns another agent's memory, by text or by vector", async () => {
    const token = await stack.token('agent', 'alice');
    const byText = await rpc(token, 'memory_search', { query: 'surprise party Berlin' });
    const byVector = await rpc(token, 'memory_search', { query: 'party', query_embedding: fakeEmbedding('Bob lives in Berlin and plans a surprise party') });
    for (const r of [...byText.body, ...byVector.body]) expect(r.memory_key).not.toBe('secret.plan');
    const bobToken = await stack.token('agent', 'bob');
    expect((await rpc(bobToken, 'memory_search', { query: 'surprise party' })).body.map((r) => r.memory_key)).toEqual(['secret.plan']);
  });

  it('rejects a search with neither text nor vector, and a k out of range, with a 400', async () => {
    const token = await stack.token('agent', 'alice');
    expect((await rpc(token, 'memory_search', { query: '  ' })).status).toBe(400);
    const bad = await rpc(token, 'memory_search', { query: 'x', k: 1000 });
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toMatch(/k must be between 1 and 100/);
  });

  it('hides expired memories from search at once', async () => {
    await stack.sql.query(`update api.memory_kv set expires_at = now() - interval '1 second' where agent_id = 'alice' and key = 'hobby'`);
    const token = await stack.token('agent', 'alice');
    expect((await rpc(token, 'memory_search', { query: 'cycling bikes' })).body).toEqual([]);
  });
});

describe('embedding pipeline', () => {
  it('keeps items pending with the error visible while Ollama is down, and embeds them when it is back', async () => {
    ollama.mode = 'fail';
    const carol = await stack.client('agent', 'carol');
    await carol.from('memory_kv').insert({ key: 'diet', value: 'Carol is vegetarian and allergic to peanuts' });
    const operator = await stack.client('operator');
    const backlog = await waitFor(async () => {
      const { data } = await operator.from('embedding_backlog').select('*').eq('kind', 'memory');
      return data?.[0]?.last_error ? data[0] : undefined;
    }, 'the failure to show in embedding_backlog');
    expect(backlog.pending).toBeGreaterThanOrEqual(1);
    expect(backlog.last_error).toMatch(/failing on purpose/);
    ollama.mode = 'ok';
    // graphile-worker retries the failed job on its own (exponential backoff, first after ~3 s).
    const row = await waitFor(async () => {
      const { rows } = await stack.sql.query(`select embedding_model, embed_error, length(embedding_bits) as bits from api.search_items where agent_id = 'carol'`);
      return rows[0]?.embedding_model ? rows[0] : undefined;
    }, 'the retried job to embed the item');
    expect(row).toEqual({ embedding_model: 'fake-embed', embed_error: null, bits: 768 });
  });

  it('re-embeds everything in the background when the configured model changes', async () => {
    const before = (await stack.sql.query(`select count(*)::int as n from api.search_items where embedding_model = 'fake-embed'`)).rows[0].n;
    expect(before).toBeGreaterThan(0);
    const cluster = inject('cluster');
    await bootstrap(stack.ownerUrl, { ...cluster, apiStatementTimeout: '8s', embeddingModel: 'fake-embed-v2' });
    await runner!.stop();
    runner = await startWorker({ connectionString: stack.workerUrl, context: workerContext({ ollama: { ...settings(), embedModel: 'fake-embed-v2' }, workspace: '/nonexistent', workspaceAgent: 'main' }), log: () => {} });
    await waitFor(async () => {
      const { rows } = await stack.sql.query(`select count(*) filter (where embedding_model = 'fake-embed-v2')::int as v2, count(*)::int as n from api.search_items`);
      return rows[0].v2 === rows[0].n;
    }, 'every item re-embedded with the new model');
    expect(ollama.requests.some((r) => r.path === '/api/embed' && r.body.model === 'fake-embed-v2')).toBe(true);
  });
});

describe('session summaries', () => {
  beforeAll(async () => {
    await stack.sql.query(`insert into api.sessions (agent_id, id) values ('sum', 's1')`);
    await stack.sql.query(`
      insert into api.messages (agent_id, session_id, id, role, content, created_at) values
        ('sum', 's1', 'm1', 'user', 'Please book a table for two in Lisbon', now() - interval '10 minutes'),
        ('sum', 's1', 'm2', 'assistant', 'Booked Tasca do Chico at 8pm', now() - interval '9 minutes')`);
    await stack.sql.query(`insert into api.tool_calls (agent_id, session_id, id, message_id, name, started_at) values ('sum', 's1', 't1', 'm2', 'browser', now())`);
  });

  it('writes an llm summary with the message range it covers, and nothing while no new messages arrive', async () => {
    ollama.mode = 'ok';
    const client = makeOllama({ host: ollama.url, timeoutMs: 1500 });
    const counts = await summariseSessions(workerDb, client, { model: 'fake-chat', host: ollama.url });
    expect(counts).toMatchObject({ sessions: 1, llm: 1, extractive: 0 });
    const { rows } = await stack.sql.query(`select version, method, model, summary, first_message_id, last_message_id, message_count from api.conversation_summaries where agent_id = 'sum'`);
    expect(rows).toEqual([{ version: 1, method: 'llm', model: 'fake-chat', summary: expect.stringMatching(/^Summary by fake-chat: /), first_message_id: 'm1', last_message_id: 'm2', message_count: 2 }]);
    expect(await summariseSessions(workerDb, client, { model: 'fake-chat', host: ollama.url })).toMatchObject({ sessions: 0 });
  });

  it.each(['fail', 'hang'] as const)('falls back to an extractive summary, marked as such, when Ollama is %s', async (mode) => {
    await stack.sql.query(`insert into api.messages (agent_id, session_id, id, role, content) values ('sum', 's1', $1, 'user', 'Also order flowers for Maria')`, [`m-${mode}`]);
    ollama.mode = mode;
    const client = makeOllama({ host: ollama.url, timeoutMs: 800 });
    const counts = await summariseSessions(workerDb, client, { model: 'fake-chat', host: ollama.url });
    ollama.mode = 'ok';
    expect(counts).toMatchObject({ sessions: 1, llm: 0, extractive: 1 });
    const { rows: [latest] } = await stack.sql.query(`select method, model, summary, message_count from api.conversation_summaries where agent_id = 'sum' order by version desc limit 1`);
    expect(latest.method).toBe('extractive');
    expect(latest.model).toBeNull();
    expect(latest.message_count).toBe(1);
    expect(latest.summary).toMatch(/extractive summary/);
    expect(latest.summary).toMatch(/Asked: Also order flowers for Maria/);
    expect(latest.summary).toMatch(/Earlier: /);
  });
});

describe('workspace memory files', () => {
  const workspace = () => path.join(inject('cluster').tmpRoot, `workspace-${process.pid}`);

  it('syncs MEMORY.md and daily notes by content hash, and drops documents whose file is gone', async () => {
    const ws = workspace();
    fs.mkdirSync(path.join(ws, 'memory'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'MEMORY.md'), '# Long-term\n\nThe user prefers short answers.');
    fs.writeFileSync(path.join(ws, 'memory', '2026-11-28.md'), 'Talked about the garden.');
    fs.writeFileSync(path.join(ws, 'memory', 'notes.txt'), 'not a daily note');
    fs.writeFileSync(path.join(inject('cluster').tmpRoot, 'outside.md'), 'outside the workspace');
    fs.symlinkSync(path.join(inject('cluster').tmpRoot, 'outside.md'), path.join(ws, 'memory', '2026-11-27.md'));

    expect(await syncWorkspaceMemory(workerDb, ws, 'wsagent')).toEqual({ scanned: 2, changed: 2, unchanged: 0, removed: 0 });
    const stamp = (await stack.sql.query(`select source_path, updated_at from api.knowledge_docs where agent_id = 'wsagent' order by 1`)).rows;
    expect(stamp.map((r) => r.source_path)).toEqual(['MEMORY.md', 'memory/2026-11-28.md']);

    expect(await syncWorkspaceMemory(workerDb, ws, 'wsagent')).toEqual({ scanned: 2, changed: 0, unchanged: 2, removed: 0 });
    expect((await stack.sql.query(`select source_path, updated_at from api.knowledge_docs where agent_id = 'wsagent' order by 1`)).rows).toEqual(stamp);

    fs.appendFileSync(path.join(ws, 'MEMORY.md'), '\nAlso: allergic to cats.');
    fs.rmSync(path.join(ws, 'memory', '2026-11-28.md'));
    expect(await syncWorkspaceMemory(workerDb, ws, 'wsagent')).toEqual({ scanned: 1, changed: 1, unchanged: 0, removed: 1 });
    const token = await stack.token('agent', 'wsagent');
    const found = await rpc(token, 'memory_search', { query: 'allergic cats' });
    expect(found.body[0]).toMatchObject({ kind: 'chunk', title: 'MEMORY.md (long-term memory)' });
  });

  it("writes the day's activity into memory/YYYY-MM-DD.md, keeping the agent's own notes and replacing only its block", async () => {
    const ws = workspace();
    const day = new Date().toISOString().slice(0, 10);
    const file = path.join(ws, 'memory', `${day}.md`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '# My notes\n\nRemember to water the plants.\n');
    await stack.sql.query(`insert into api.sessions (agent_id, id) values ('wsagent', 'today')`);
    await stack.sql.query(`insert into api.messages (agent_id, session_id, id, role, content, total_tokens, cost_usd) values ('wsagent', 'today', 'a', 'user', 'hi', 10, 0.001), ('wsagent', 'today', 'b', 'assistant', 'hello', 25, 0.002)`);

    await writeDailyActivity(workerDb, ws, 'wsagent', day);
    const first = fs.readFileSync(file, 'utf8');
    expect(first.startsWith('# My notes\n\nRemember to water the plants.')).toBe(true);
    expect(first).toContain(beginMarker);
    expect(first).toMatch(/1 session\(s\), 2 message\(s\) \(1 from users\)/);
    expect(first).toMatch(/35 tokens, \$0\.0030/);

    await stack.sql.query(`insert into api.messages (agent_id, session_id, id, role, content, total_tokens) values ('wsagent', 'today', 'c', 'user', 'more', 5)`);
    await writeDailyActivity(workerDb, ws, 'wsagent', day);
    const second = fs.readFileSync(file, 'utf8');
    expect(second.split(beginMarker)).toHaveLength(2);
    expect(second.split(endMarker)).toHaveLength(2);
    expect(second).toMatch(/3 message\(s\)/);
    expect(second.startsWith('# My notes\n\nRemember to water the plants.')).toBe(true);
  });
});

describe('embedding beside other writers', () => {
  it('skips the rows another transaction holds instead of waiting for them (a deadlock with the sweep\'s cascading deletes)', async () => {
    // The worker started above would embed these rows too (with its own model) while this test
    // looks at them: only the embed calls below may touch them.
    await runner?.stop();
    runner = undefined;
    await stack.sql.query(`insert into api.memory_kv (agent_id, key, value) values ('lockprobe', 'k1', '"one"'), ('lockprobe', 'k2', '"two"'), ('lockprobe', 'k3', '"three"')`);
    const { rows: items } = await stack.sql.query<{ id: string }>(`select id from api.search_items where agent_id = 'lockprobe' order by id`);
    expect(items.length).toBe(3);
    const held = items[1]!.id;
    const holder = await stack.sql.connect();
    const worker = await workerDb.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from api.search_items where id = $1 for update', [held]);
      // Waiting for the held row would run into this timeout and fail the call.
      await worker.query(`set statement_timeout = '5s'`);
      const counts = await embedPending(worker, makeOllama(settings()), { model: 'lock-probe', host: ollama.url, maxBatches: 1, batchSize: 1000 });
      expect(counts.skipped).toBeGreaterThanOrEqual(1);
      const { rows } = await stack.sql.query<{ id: string; embedding_model: string }>(`select id, embedding_model from api.search_items where id = any ($1::bigint[]) order by id`, [items.map((i) => i.id)]);
      expect(rows.find((r) => r.id === held)!.embedding_model).not.toBe('lock-probe');
      expect(rows.filter((r) => r.id !== held && r.embedding_model === 'lock-probe').length).toBeGreaterThanOrEqual(1);
      await holder.query('commit');
      // Released: the next run embeds it.
      const again = await embedPending(worker, makeOllama(settings()), { model: 'lock-probe', host: ollama.url, maxBatches: 1, batchSize: 1000 });
      expect(again.embedded).toBeGreaterThanOrEqual(1);
      expect((await stack.sql.query(`select embedding_model from api.search_items where id = $1`, [held])).rows[0].embedding_model).toBe('lock-probe');
    } finally {
      await holder.query('rollback').catch(() => {});
      holder.release();
      await worker.query('reset statement_timeout').catch(() => {});
      worker.release();
    }
  });
});
