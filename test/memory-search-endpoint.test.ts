// The functions endpoint embeds the query and searches with the caller's own rights.
import type { Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bootstrap } from '../db/migrate.ts';
import { memorySearch, type MemorySearchDeps } from '../functions/memory-search/handler.ts';
import { workerContext } from '../worker/context.ts';
import { startWorker } from '../worker/main.ts';
import { makeOllama } from '../worker/memory/ollama.ts';
import { startFakeOllama, type FakeOllama } from './fixtures/fake-ollama.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

let stack: TestStack;
let ollama: FakeOllama;
let runner: Runner;
let deps: MemorySearchDeps;

beforeAll(async () => {
  stack = await startTestStack('search_endpoint');
  ollama = await startFakeOllama();
  await bootstrap(stack.ownerUrl, { ...inject('cluster'), apiStatementTimeout: '8s', embeddingModel: 'fake-embed' });
  const settings = { host: ollama.url, embedModel: 'fake-embed', chatModel: 'fake-chat', timeoutMs: 1500 };
  runner = await startWorker({ connectionString: stack.workerUrl, context: workerContext({ ollama: settings, workspace: '/nonexistent', workspaceAgent: 'main' }), log: () => {} });
  deps = { restUrl: stack.restUrl, ollama: makeOllama(settings), ollamaHost: ollama.url, embedModel: 'fake-embed' };
  const alice = await stack.client('agent', 'alice');
  await alice.from('memory_kv').insert([
    { key: 'car', value: 'The red Volvo needs new winter tyres' },
    { key: 'doctor', value: 'Dentist appointment on Tuesday morning' },
  ]);
  const bob = await stack.client('agent', 'bob');
  await bob.from('memory_kv').insert({ key: 'car', value: 'Bob sold his Volvo tyres' });
  const deadline = Date.now() + 30_000;
  while ((await stack.sql.query(`select count(*)::int as n from api.search_items where embedding_model is null`)).rows[0].n > 0) {
    if (Date.now() > deadline) throw new Error('items were not embedded');
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  await runner?.stop();
  await ollama?.close();
  await stack?.stop();
});

describe('POST /functions/v1/memory/search', () => {
  it('embeds the query and returns hybrid results of the caller only', async () => {
    const auth = `Bearer ${await stack.token('agent', 'alice')}`;
    const res = await memorySearch(deps, { authorization: auth, body: { query: 'volvo tyres', k: 5 } });
    expect(res.status).toBe(200);
    const body = res.body as { results: Array<{ memory_key: string; vector_rank: number | null; text_rank: number | null }>; vector: boolean };
    expect(body.vector).toBe(true);
    expect(body.results.map((r) => r.memory_key)).toEqual(['car', ...body.results.slice(1).map((r) => r.memory_key)]);
    expect(body.results[0]).toMatchObject({ text_rank: 1, vector_rank: 1 });
    expect(body.results.filter((r) => r.memory_key === 'car')).toHaveLength(1);
    expect(ollama.requests.at(-1)).toMatchObject({ path: '/api/embed', body: { model: 'fake-embed', input: 'volvo tyres' } });
  });

  it('falls back to a text-only search, and says so, when Ollama is down', async () => {
    ollama.mode = 'fail';
    try {
      const auth = `Bearer ${await stack.token('agent', 'alice')}`;
      const res = await memorySearch(deps, { authorization: auth, body: { query: 'dentist' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ vector: false, warning: expect.stringMatching(/text-only search/), results: [{ memory_key: 'doctor', vector_rank: null }] });
    } finally {
      ollama.mode = 'ok';
    }
  });

  it.each([
    [{}, /"query" must be a non-empty string/],
    [{ query: 'x', k: 0 }, /"k" must be/],
    [{ query: 'x', kinds: ['secrets'] }, /"kinds" must be/],
    ['not json object', /JSON object/],
  ])('rejects %j with a 400 that says what to send', async (body, message) => {
    const res = await memorySearch(deps, { authorization: `Bearer ${await stack.token('agent', 'alice')}`, body });
    expect(res.status).toBe(400);
    expect((res.body as { message: string }).message).toMatch(message);
  });

  it('needs a token, and a bad one is refused by PostgREST', async () => {
    expect((await memorySearch(deps, { body: { query: 'x' } })).status).toBe(401);
    expect((await memorySearch(deps, { authorization: 'Bearer not.a.token', body: { query: 'x' } })).status).toBe(401);
  });
});
