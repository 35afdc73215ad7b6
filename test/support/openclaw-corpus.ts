// Generated OpenClaw transcripts for tests and the ingest bench: entries shaped like the real
// 2026.9.6 fixtures, written as JSONL session files or into an agent SQLite database created with
// the real fixture's DDL (so the reader meets the genuine schema).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export const fixturesDir = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'openclaw', 'fixtures');
export const realSqliteFixture = path.join(fixturesDir, 'real-2026.9.6', 'openclaw-agent.sqlite');
export const legacyJsonlDir = path.join(fixturesDir, 'legacy-jsonl');

export type Entry = Record<string, unknown>;

const filler = 'The quick brown fox jumps over the lazy dog while the agent reads the workspace notes. ';
const text = (chars: number, seed: number) => `#${seed} ` + filler.repeat(Math.ceil(chars / filler.length)).slice(0, chars);
const hex = (n: number, width = 8) => n.toString(16).padStart(width, '0');

export function sessionId(i: number): string {
  const h = hex(i, 12);
  return `5e551011-0000-4000-8000-${h}`;
}

/**
 * `count` entries of one session: a session header, then turns of user → assistant (with a tool
 * call every other turn) → tool result → assistant, a custom entry now and then. Every fifth tool
 * result is ~3 KB (stored once, raw points to it).
 */
export function sessionEntries(sid: string, count: number, startMs = Date.UTC(2026, 10, 1)): Entry[] {
  const out: Entry[] = [{ type: 'session', version: 4, id: sid, timestamp: new Date(startMs).toISOString(), cwd: '/home/operator/.openclaw/workspace' }];
  let parent: string | null = null;
  let n = 0;
  let t = startMs;
  const push = (e: Entry) => {
    const id = `${sid.slice(-12)}-${hex(n++)}`;
    t += 1000;
    out.push({ ...e, id, parentId: parent, timestamp: new Date(t).toISOString() });
    parent = id;
    return id;
  };
  let turn = 0;
  while (out.length < count) {
    turn++;
    const left = count - out.length;
    push({ type: 'message', message: { role: 'user', content: text(80 + (turn % 7) * 20, turn), timestamp: t } });
    if (out.length >= count) break;
    const usage = { input: 1200 + turn, output: 40 + (turn % 50), cacheRead: 0, cacheWrite: 0, totalTokens: 1240 + turn + (turn % 50), cost: { input: 0.0012, output: 0.00008, cacheRead: 0, cacheWrite: 0, total: 0.00128 } };
    if (turn % 2 === 0 && left >= 4) {
      const callId = `call_${sid.slice(-6)}_${turn}`;
      push({ type: 'message', message: { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'toolCall', id: callId, name: 'read', arguments: { path: `notes/${turn}.md` } }], api: 'openai-completions', provider: 'fake', model: 'fake-model', usage, stopReason: 'toolUse', timestamp: t } });
      push({ type: 'message', message: { role: 'toolResult', toolCallId: callId, toolName: 'read', content: [{ type: 'text', text: text(turn % 10 === 0 ? 3000 : 200, turn) }], isError: turn % 14 === 0, timestamp: t } });
    }
    if (out.length >= count) break;
    push({ type: 'message', message: { role: 'assistant', content: [{ type: 'text', text: text(250, turn) }], api: 'openai-completions', provider: 'fake', model: 'fake-model', usage, stopReason: 'stop', timestamp: t } });
    if (out.length < count && turn % 5 === 0) push({ type: 'custom', customType: 'openclaw.cache-ttl', data: { prunedToolResults: [], turn } });
  }
  return out.slice(0, count);
}

export function writeJsonlSession(stateDir: string, agentId: string, sid: string, entries: Entry[]): string {
  const dir = path.join(stateDir, 'agents', agentId, 'sessions');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${sid}.jsonl`);
  fs.writeFileSync(file, entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return file;
}

/** A zstd frame made of raw (stored) blocks: valid zstd that any decoder reads, no encoder needed. */
export function rawZstdFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(9);
  header.writeUInt32LE(0xfd2fb528, 0);
  header[4] = 0xa0; // single segment, 4-byte frame content size
  header.writeUInt32LE(data.length, 5);
  parts.push(header);
  const max = 128 * 1024;
  for (let off = 0; off < data.length || off === 0; off += max) {
    const block = data.subarray(off, off + max);
    const last = off + max >= data.length ? 1 : 0;
    const bh = Buffer.alloc(3);
    bh.writeUIntLE(last | (0 << 1) | (block.length << 3), 0, 3);
    parts.push(bh, block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

const agentTables = ['schema_meta', 'session_nodes', 'session_windows', 'transcript_events'];

/** A writable agent database with the real 2026.9.6 schema of the tables the reader uses. */
export class AgentSqlite {
  readonly db: Database.Database;
  private insert: Database.Statement;

  constructor(readonly file: string, agentId: string, opts: { schemaVersion?: number; createdAt?: number } = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const real = new Database(realSqliteFixture, { readonly: true, fileMustExist: true });
    const ddl = real.prepare(`select sql from sqlite_master where type = 'table' and name in (${agentTables.map(() => '?').join(', ')})`).all(...agentTables) as Array<{ sql: string }>;
    real.close();
    this.db = new Database(file);
    this.db.pragma('journal_mode = wal');
    // session_windows references tables this subset does not create.
    this.db.pragma('foreign_keys = off');
    for (const { sql } of ddl) this.db.exec(sql);
    const now = opts.createdAt ?? Date.now();
    this.db.prepare(`insert into schema_meta values ('primary', 'agent', ?, ?, '2026.9.6', ?, ?)`).run(opts.schemaVersion ?? 23, agentId, now, now);
    this.insert = this.db.prepare('insert into transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json) values (?, ?, ?, ?, ?, ?, ?)');
  }

  addSession(sid: string, key: string, opts: { channel?: string; provider?: string; model?: string } = {}): void {
    const now = Date.now();
    this.db.prepare(`insert or ignore into session_nodes (session_key, current_session_id, entry_json, updated_at) values (?, ?, ?, ?)`).run(key, sid, JSON.stringify({ sessionId: sid, inputTokens: 0, status: 'done' }), now);
    this.db.prepare(`insert or ignore into session_windows (session_id, session_key, created_at, updated_at, channel, model_provider, model) values (?, ?, ?, ?, ?, ?, ?)`).run(sid, key, now, now, opts.channel ?? null, opts.provider ?? 'fake', opts.model ?? 'fake-model');
  }

  /** Appends entries at seq `from`…; entries whose JSON is at least `compressAbove` bytes go to event_zstd. */
  append(sid: string, from: number, entries: Entry[], compressAbove = 2048): void {
    const tx = this.db.transaction(() => {
      entries.forEach((e, i) => {
        const json = JSON.stringify(e);
        const bytes = Buffer.byteLength(json);
        if (bytes >= compressAbove) {
          const nav = JSON.stringify({ version: 1, report: { kind: 'canonical' }, navigation: {}, reset: {}, model: {}, modelBytes: bytes, modelWithoutCheckpointBytes: bytes, withoutCustomDataBytes: bytes });
          this.insert.run(sid, from + i, null, Date.now(), rawZstdFrame(Buffer.from(json)), bytes, nav);
        } else {
          this.insert.run(sid, from + i, json, Date.now(), null, bytes, null);
        }
      });
    });
    tx();
  }

  /** A row written as-is (for malformed-input tests). */
  appendRaw(sid: string, seq: number, eventJson: string | null, eventZstd: Buffer | null = null, utf8Bytes: number | null = null): void {
    const nav = eventZstd ? JSON.stringify({ version: 1, report: { kind: 'canonical' }, navigation: {}, reset: {}, model: {}, modelBytes: 1, modelWithoutCheckpointBytes: 1, withoutCustomDataBytes: 1 }) : null;
    this.insert.run(sid, seq, eventJson, Date.now(), eventZstd, utf8Bytes ?? (eventJson ? Buffer.byteLength(eventJson) : 1), nav);
  }

  close(): void {
    this.db.close();
  }
}
