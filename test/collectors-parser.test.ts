// The one parser behind all three sources, on the real fixtures and on generated hostile input.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlTailer } from '../worker/collectors/jsonl-tailer.ts';
import { BatchBuilder, type EntryContext } from '../worker/collectors/parser.ts';
import type { Batch, SourceContext } from '../worker/collectors/records.ts';
import { SqliteReader } from '../worker/collectors/sqlite-reader.ts';
import { AgentSqlite, legacyJsonlDir, realSqliteFixture, sessionEntries, sessionId } from './support/openclaw-corpus.ts';
import { tempDirs } from './support/temp-dirs.ts';

const limits = { maxContentBytes: 64 * 1024 };

function collect(stateDir: string): { ctx: SourceContext; batches: Batch[]; logs: string[] } {
  const batches: Batch[] = [];
  const logs: string[] = [];
  return { batches, logs, ctx: { stateDir, limits, batchSize: 1000, lanes: 2, emit: async (b) => void batches.push(b), log: (l) => logs.push(l) } };
}

function all<K extends 'messages' | 'toolCalls' | 'errors' | 'sessions'>(batches: Batch[], k: K): Batch[K] {
  return batches.flatMap((b) => b[k] as unknown[]) as Batch[K];
}

const stateDirs = tempDirs();
afterAll(() => stateDirs.removeAll());
function tempState(): string {
  return stateDirs.make('clawbase-openclaw-');
}

describe('JSONL fixtures (legacy era)', () => {
  it('reads both sessions, maps roles and usage, joins tool calls to results, and leaves the partial last line', async () => {
    const state = tempState();
    const dir = path.join(state, 'agents', 'main', 'sessions');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(legacyJsonlDir)) fs.copyFileSync(path.join(legacyJsonlDir, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'sessions.json'), JSON.stringify({ 'agent:main:main': { sessionId: '7a41d3c2-9e6b-4f10-8d25-b3c7e9a05f16', lastChannel: 'telegram' } }));
    fs.writeFileSync(path.join(dir, 'old.jsonl.reset.2026-10-01'), '{"type":"message"}\n');
    const { ctx, batches } = collect(state);
    const tailer = new JsonlTailer(ctx, new Map());
    expect(await tailer.poll()).toBe(23);

    const messages = all(batches, 'messages');
    const partial = fs.readFileSync(path.join(dir, '7a41d3c2-9e6b-4f10-8d25-b3c7e9a05f16.jsonl'), 'utf8');
    expect(partial.endsWith('\n')).toBe(false);
    expect(messages.find((m) => m.id === 'deadbeef')).toBeUndefined();
    expect(messages.map((m) => m.role).filter((r) => r === 'tool_result')).toHaveLength(4);
    const assistant = messages.find((m) => m.id === '9531985d')!;
    expect(assistant).toMatchObject({ role: 'assistant', provider: 'ollama', model: 'llama3.2:3b', inputTokens: 900, outputTokens: 40, totalTokens: 940, costUsd: 0, stopReason: 'toolUse', content: 'Let me check.' });
    expect(messages.find((m) => m.id === 'c0mp0001')).toMatchObject({ role: 'system', entryType: 'compaction', content: 'User asked about calendar, a backup diagram, and a missing research note.' });
    const calls = all(batches, 'toolCalls');
    expect(calls.find((c) => c.id === 'call_0f5c_2')).toMatchObject({ name: 'read', messageId: '8e81973e', resultMessageId: '6b4cb242', result: 'ENOENT: no such file', isError: true, arguments: '{"path":"research/missing.md"}' });
    expect(all(batches, 'sessions').find((s) => s.id === '7a41d3c2-9e6b-4f10-8d25-b3c7e9a05f16')).toMatchObject({ sessionKey: 'agent:main:main', channel: 'telegram', provider: 'ollama' });
    expect(all(batches, 'errors')).toEqual([]);

    // The checkpoint stops before the partial line; finishing it makes exactly that entry appear.
    const cp = batches.flatMap((b) => b.checkpoints).filter((c) => c.stream.endsWith('7a41d3c2-9e6b-4f10-8d25-b3c7e9a05f16.jsonl')).at(-1)!;
    expect(cp.position.offset).toBe(Buffer.byteLength(partial.slice(0, partial.lastIndexOf('\n') + 1)));
    fs.appendFileSync(path.join(dir, '7a41d3c2-9e6b-4f10-8d25-b3c7e9a05f16.jsonl'), 'ere?","timestamp":1795468000000}}\n');
    batches.length = 0;
    expect(await tailer.poll()).toBe(1);
    expect(all(batches, 'messages').map((m) => [m.id, m.content])).toEqual([['deadbeef', 'are you there?']]);
  });
});

describe('SQLite fixture (2026.9.6, with zstd-compressed rows)', () => {
  it('reads every event, decodes the compressed tool results, and maps the session through session_windows', async () => {
    const state = tempState();
    const dir = path.join(state, 'agents', 'main', 'agent');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(realSqliteFixture, path.join(dir, 'openclaw-agent.sqlite'));
    const { ctx, batches, logs } = collect(state);
    const reader = new SqliteReader(ctx, new Map());
    expect(await reader.poll()).toBe(22);
    reader.close();
    expect(logs.filter((l) => /WARNING/.test(l))).toEqual([]);
    const messages = all(batches, 'messages');
    expect(messages).toHaveLength(21);
    const results = messages.filter((m) => m.role === 'tool_result');
    expect(results.map((m) => m.id)).toEqual(['fec7f5f2-0d45-4017-8367-637ba613e52e', '2ac3a93e-5e30-4493-ae9c-9aa4b14d5872']);
    // These two rows are event_json NULL + event_zstd in the file: decoded, full text in tool_calls.result.
    expect(results[0]!.content).toMatch(/^# AGENTS\.md - Your Workspace/);
    expect(results[0]!.contentBytes).toBeGreaterThan(5000);
    expect(results[0]!.contentTruncated).toBe(true);
    expect(JSON.parse(results[0]!.raw).message.content[0].text).toEqual({ $clawbase: 'tool_calls.result', chars: expect.any(Number) });
    const call = all(batches, 'toolCalls').find((c) => c.id === 'call_fake_1')!;
    expect(call.result).toMatch(/^# AGENTS\.md/);
    expect(call.resultBytes).toBe(results[0]!.contentBytes);
    const usage = messages.filter((m) => m.role === 'assistant').map((m) => [m.inputTokens, m.outputTokens, m.costUsd]);
    expect(usage).toContainEqual([1202, 42, 0.001286]);
    expect(all(batches, 'sessions')[0]).toMatchObject({ id: 'c337f731-ddde-4dba-86ee-5f61da3962c7', sessionKey: 'agent:main:main', provider: 'fake', model: 'fake-model' });
    expect(batches.flatMap((b) => b.checkpoints).at(-1)!.position).toMatchObject({ seq: 21 });
  });

  it('says clearly when it meets a schema version it does not know, and still reads what it can', async () => {
    const state = tempState();
    const db = new AgentSqlite(path.join(state, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'), 'main', { schemaVersion: 99 });
    db.addSession(sessionId(1), 'agent:main:main');
    db.append(sessionId(1), 0, sessionEntries(sessionId(1), 5));
    db.close();
    const { ctx, batches, logs } = collect(state);
    const reader = new SqliteReader(ctx, new Map());
    expect(await reader.poll()).toBe(5);
    reader.close();
    expect(logs.join('\n')).toMatch(/schema_version 99 .* this collector knows 23/);
    expect(all(batches, 'errors').map((e) => e.error)).toEqual([expect.stringMatching(/schema_version 99/)]);
  });
});

describe('hostile input', () => {
  const ctx = (position: number): EntryContext => ({ source: 'jsonl', agentId: 'main', sessionId: 's1', file: 'agents/main/sessions/s1.jsonl', position });

  it('records malformed lines, unknown types, bad UTF-8 and oversized entries, and keeps every valid entry around them', async () => {
    const state = tempState();
    const dir = path.join(state, 'agents', 'main', 'sessions');
    fs.mkdirSync(dir, { recursive: true });
    const good = sessionEntries(sessionId(7), 6).map((e) => Buffer.from(JSON.stringify(e) + '\n'));
    const huge = JSON.stringify({ type: 'message', id: 'huge-1', parentId: null, timestamp: '2026-11-01T00:00:00Z', message: { role: 'user', content: 'é'.repeat(100_000) } });
    const lines = [
      good[0]!, good[1]!,
      Buffer.from('{"type":"message","id":"broken",\n'),
      good[2]!,
      Buffer.concat([Buffer.from('{"type":"message","id":"badutf8","message":{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('"}}\n')]),
      good[3]!,
      Buffer.from('{"type":"hologram","id":"holo-1","timestamp":"2026-11-01T00:00:00Z","payload":{"x":1}}\n'),
      Buffer.from('{"type":"message","id":"nul-1","timestamp":"2026-11-01T00:00:00Z","message":{"role":"user","content":"a\\u0000b"}}\n'),
      Buffer.from('[1,2,3]\n'),
      Buffer.from(huge + '\n'),
      good[4]!, good[5]!,
    ];
    fs.writeFileSync(path.join(dir, `${sessionId(7)}.jsonl`), Buffer.concat(lines));
    const { ctx: sctx, batches } = collect(state);
    await new JsonlTailer(sctx, new Map()).poll();
    const messages = all(batches, 'messages');
    const errors = all(batches, 'errors');
    // 5 valid generated entries (the 6th is the session header) + the unknown type, the NUL one and the huge one.
    expect(messages.map((m) => m.id)).toEqual([
      ...sessionEntries(sessionId(7), 6).slice(1, 4).map((e) => e.id), 'holo-1', 'nul-1', 'huge-1', ...sessionEntries(sessionId(7), 6).slice(4).map((e) => e.id),
    ]);
    expect(errors.map((e) => [e.position, e.error.replace(/ \(.*\)/, '')])).toEqual([
      [3, 'line 3 is not valid JSON: skipped'],
      [5, 'line 5 is not valid UTF-8: skipped'],
      [7, 'unknown entry type "hologram": stored as a system row with its raw entry'],
      [9, 'not a JSON object: skipped'],
      [10, expect.stringMatching(/^text of user message huge-1 is 200000 bytes, over the 65536-byte limit: stored truncated with its full size$/)],
    ]);
    expect(errors.find((e) => e.position === 5)!.rawExcerpt).toContain('badutf8');
    const hugeRow = messages.find((m) => m.id === 'huge-1')!;
    expect(hugeRow).toMatchObject({ contentBytes: 200_000, contentTruncated: true });
    expect(Buffer.byteLength(hugeRow.content!)).toBeLessThanOrEqual(65536);
    expect(hugeRow.content!.endsWith('é')).toBe(true);
    // The text is stored once: raw points at the column instead of repeating it.
    expect(JSON.parse(hugeRow.raw).message.content).toEqual({ $clawbase: 'messages.content', chars: 100_000 });
    expect(messages.find((m) => m.id === 'nul-1')!.content).toBe('a\uFFFDb');
    expect(messages.find((m) => m.id === 'holo-1')).toMatchObject({ role: 'system', entryType: 'hologram' });
  });

  it('gives a tool result without a call id and an entry without an id a clear error instead of a row', () => {
    const b = new BatchBuilder('jsonl', 'x', 0, limits);
    expect(b.entry({ type: 'message', timestamp: '2026-11-01T00:00:00Z', message: { role: 'user', content: 'no id' } }, null, ctx(1))).toBe(false);
    expect(b.entry({ type: 'message', id: 'r1', timestamp: '2026-11-01T00:00:00Z', message: { role: 'toolResult', content: 'x', isError: false } }, null, ctx(2))).toBe(true);
    const batch = b.finish();
    expect(batch.messages.map((m) => m.role)).toEqual(['tool_result']);
    expect(batch.toolCalls).toEqual([]);
    expect(batch.errors.map((e) => e.error)).toEqual(['message entry has no usable id (a string of 1–200 characters): skipped', 'tool result r1 has no toolCallId: stored as a message, not joined to a call']);
  });
});
