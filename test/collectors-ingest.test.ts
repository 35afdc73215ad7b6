// The collector process against a real database while the test writes OpenClaw's files under it.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorEnv, count, startCollector, waitFor, type Collector } from './support/collector.ts';
import { AgentSqlite, sessionEntries, sessionId, writeJsonlSession, type Entry } from './support/openclaw-corpus.ts';
import { createTestDatabase } from './support/stack.ts';
import { tempDirs } from './support/temp-dirs.ts';

let sql: pg.Pool;
let ownerUrl: string;
const running: Collector[] = [];

beforeAll(async () => {
  const db = await createTestDatabase('collectors');
  ownerUrl = db.ownerUrl;
  sql = new pg.Pool({ connectionString: ownerUrl, max: 2 });
});
afterAll(async () => {
  for (const c of running) c.child.kill('SIGKILL');
  await sql?.end();
  stateDirs.removeAll();
});
const stateDirs = tempDirs();
const stateDir = stateDirs.make;

const line = (e: Entry) => JSON.stringify(e) + '\n';
const messagesOf = (agent: string, session: string) => count(sql, 'select count(*) as n from api.messages where agent_id = $1 and session_id = $2', [agent, session]);

describe('clawbase ingest, following', () => {
  it('picks up appends, waits for partial lines, survives rotation and truncation, and finds a new SQLite agent: exact counts', async () => {
    const state = stateDir('clawbase-follow-');
    const collector = await startCollector(collectorEnv(ownerUrl, state, { CLAWBASE_INGEST_POLL_MS: '50', CLAWBASE_INGEST_BATCH: '40' }));
    running.push(collector);
    expect(collector.output()).toMatch(/Gateway observer is off/);
    const sid = sessionId(100);
    const all = sessionEntries(sid, 120);
    const file = writeJsonlSession(state, 'follow', sid, all.slice(0, 30));
    await waitFor(async () => (await messagesOf('follow', sid)) === 29, '29 messages');

    // An append arriving in two writes: nothing of the half line is stored until its newline.
    fs.appendFileSync(file, all.slice(30, 50).map(line).join(''));
    const half = line(all[50]!);
    fs.appendFileSync(file, half.slice(0, 40));
    await waitFor(async () => (await messagesOf('follow', sid)) === 49, '49 messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(await messagesOf('follow', sid)).toBe(49);
    fs.appendFileSync(file, half.slice(40));
    await waitFor(async () => (await messagesOf('follow', sid)) === 50, '50 messages');

    // Rotation: the old file gets its last lines, is renamed away, and a new file takes its name;
    // the lines the old file got just before the rename are read from it (by inode), not lost.
    fs.appendFileSync(file, all.slice(51, 56).map(line).join(''));
    fs.renameSync(file, `${file}.reset.2026-11-29`);
    fs.writeFileSync(file, all.slice(56, 60).map(line).join(''));
    await waitFor(async () => (await messagesOf('follow', sid)) === 59, '59 messages after rotation');

    // Truncation in place: the file starts over with old entries and two new ones.
    fs.writeFileSync(file, [...all.slice(0, 3), ...all.slice(60, 62)].map(line).join(''));
    await waitFor(async () => (await messagesOf('follow', sid)) === 61, '61 messages after truncation');

    // An agent whose SQLite database appears while the collector runs.
    const db = new AgentSqlite(path.join(state, 'agents', 'sqlagent', 'agent', 'openclaw-agent.sqlite'), 'sqlagent');
    const s1 = sessionId(201);
    const s2 = sessionId(202);
    db.addSession(s1, 'agent:sqlagent:main', { channel: 'telegram' });
    db.addSession(s2, 'agent:sqlagent:cron');
    const e1 = sessionEntries(s1, 90);
    const e2 = sessionEntries(s2, 45);
    db.append(s1, 0, e1.slice(0, 50), 1500);
    db.append(s2, 0, e2, 1500);
    await waitFor(async () => (await messagesOf('sqlagent', s1)) === 49 && (await messagesOf('sqlagent', s2)) === 44, 'SQLite rows');
    db.append(s1, 50, e1.slice(50), 1500);
    await waitFor(async () => (await messagesOf('sqlagent', s1)) === 89, 'appended SQLite rows');
    db.close();

    const { rows: [session] } = await sql.query(`select session_key, channel, source from api.sessions where agent_id = 'sqlagent' and id = $1`, [s1]);
    expect(session).toEqual({ session_key: 'agent:sqlagent:main', channel: 'telegram', source: 'sqlite' });
    const written = [...all.slice(0, 62), ...e1, ...e2];
    const blocks = (e: Entry) => { const c = (e.message as Entry | undefined)?.content; return Array.isArray(c) ? (c as Entry[]) : []; };
    const callIds = written.flatMap((e) => blocks(e).filter((b) => b.type === 'toolCall').map((b) => b.id));
    const answered = new Set(written.map((e) => (e.message as Entry | undefined)?.toolCallId).filter(Boolean));
    expect(await count(sql, `select count(*) as n from api.tool_calls where agent_id in ('follow', 'sqlagent')`)).toBe(callIds.length);
    expect(await count(sql, `select count(*) as n from api.tool_calls where agent_id in ('follow', 'sqlagent') and result is null`)).toBe(callIds.filter((id) => !answered.has(id)).length);
    expect((await sql.query(`select error from api.ingest_errors where agent_id in ('follow', 'sqlagent')`)).rows).toEqual([]);

    collector.child.kill('SIGTERM');
    expect(await collector.exited).toBe(0);
    expect(collector.output()).toMatch(/SIGTERM, finishing the batches in hand and stopping/);
  });
});

describe('clawbase ingest, killed mid-batch', () => {
  it('resumes after kill -9 from its committed checkpoints: every entry exactly once', async () => {
    const state = stateDir('clawbase-kill-');
    const perSession = 1500;
    const jsonlSessions = 16;
    for (let i = 0; i < jsonlSessions; i++) writeJsonlSession(state, 'killj', sessionId(300 + i), sessionEntries(sessionId(300 + i), perSession));
    const db = new AgentSqlite(path.join(state, 'agents', 'kills', 'agent', 'openclaw-agent.sqlite'), 'kills');
    for (let i = 0; i < 8; i++) {
      db.addSession(sessionId(400 + i), `agent:kills:s${i}`);
      db.append(sessionId(400 + i), 0, sessionEntries(sessionId(400 + i), perSession));
    }
    db.close();
    const total = (jsonlSessions + 8) * (perSession - 1);
    const env = collectorEnv(ownerUrl, state, { CLAWBASE_INGEST_BATCH: '300' });
    const messages = () => count(sql, `select count(*) as n from api.messages where agent_id in ('killj', 'kills')`);

    const first = await startCollector(env);
    running.push(first);
    await waitFor(async () => (await messages()) > 3000, 'the first few thousand rows', 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const afterKill = await messages();
    expect(afterKill).toBeLessThan(total);

    const second = await startCollector(env, ['--once']);
    running.push(second);
    expect(await second.exited).toBe(0);
    expect(second.output()).toMatch(/Backfill finished/);
    expect(await messages()).toBe(total);
    const calls = sessionEntries(sessionId(300), perSession).filter((e) => ((e.message as Entry | undefined)?.content as Entry[] | undefined)?.some?.((b) => b.type === 'toolCall')).length;
    expect(await count(sql, `select count(*) as n from api.tool_calls where agent_id in ('killj', 'kills') and result is not null`)).toBe(calls * 24);
    expect(await count(sql, `select count(*) as n from api.ingest_errors where agent_id in ('killj', 'kills')`)).toBe(0);

    // A third run finds nothing new: every source is at its checkpoint.
    const third = await startCollector(env, ['--once']);
    running.push(third);
    expect(await third.exited).toBe(0);
    expect(third.output()).toMatch(/nothing new/);
    expect(await messages()).toBe(total);
  });
});
