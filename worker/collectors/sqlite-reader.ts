// SQLite era (OpenClaw 2026.8+): $OPENCLAW_STATE_DIR/agents/<agent>/agent/openclaw-agent.sqlite,
// opened read-only while the Gateway writes it (WAL mode). transcript_events is read per session by
// keyset (session_id, seq > last committed seq); rows too large for event_json are zstd-compressed
// in event_zstd and decoded here. Sessions get their key, channel and model from session_windows and
// their counters from session_nodes. PRAGMA data_version tells when another connection committed.
import Database from 'better-sqlite3';
import { decompress } from 'fzstd';
import fs from 'node:fs';
import { listAgents, relative, sqlitePath, validAgentId } from './discovery.ts';
import { BatchBuilder, type EntryContext } from './parser.ts';
import { laneOf, type Batch, type SourceContext } from './records.ts';
import { decodeUtf8, excerpt } from './text.ts';

/** schema_meta.schema_version values this reader was checked against (2026.9.6 writes 23). */
export const knownSchemaVersions = new Set([23]);

export interface SqlitePosition {
  seq: number;
  /** schema_meta.created_at of the database the seq belongs to: a recreated file starts over. */
  db: number;
}

interface EventRow {
  seq: number;
  event_json: string | null;
  event_zstd: Buffer | null;
  event_utf8_bytes: number | null;
  created_at: number;
}

interface WindowRow {
  session_id: string;
  session_key: string;
  channel: string | null;
  model_provider: string | null;
  model: string | null;
  created_at: number | null;
  status: string | null;
  chat_type: string | null;
  entry_json: string | null;
}

const sessionNodeCounters = ['inputTokens', 'outputTokens', 'totalTokens', 'cacheRead', 'cacheWrite', 'estimatedCostUsd', 'status', 'runtimeMs', 'compactionCount', 'chatType', 'lastRunId'];

/** One agent database. */
class AgentDatabase {
  private db: Database.Database;
  private dataVersion = -1;
  readonly createdAt: number;
  private selectEvents: Database.Statement<[string, number, number], EventRow>;
  private selectWindows: Database.Statement<[], WindowRow>;

  constructor(readonly file: string, readonly rel: string, readonly agentId: string, log: (line: string) => void, onUnknownVersion: (message: string) => void) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.db.pragma('query_only = true');
    const meta = this.db.prepare(`select schema_version, app_version, created_at from schema_meta where role = 'agent' or meta_key = 'primary' limit 1`).get() as
      | { schema_version: number; app_version: string | null; created_at: number }
      | undefined;
    if (!meta) throw new Error(`${rel} has no schema_meta row: not an OpenClaw agent database`);
    this.createdAt = meta.created_at;
    if (!knownSchemaVersions.has(meta.schema_version)) {
      onUnknownVersion(
        `${rel} has schema_version ${meta.schema_version} (OpenClaw ${meta.app_version ?? 'unknown'}); this collector knows ${[...knownSchemaVersions].join(', ')}. ` +
          'Reading it anyway while transcript_events has the columns it needs; check the result and update Clawbase.',
      );
    }
    const columns = new Set((this.db.prepare(`select name from pragma_table_info('transcript_events')`).all() as Array<{ name: string }>).map((c) => c.name));
    const missing = ['session_id', 'seq', 'event_json', 'event_zstd', 'created_at'].filter((c) => !columns.has(c));
    if (missing.length) throw new Error(`${rel}: transcript_events lacks ${missing.join(', ')} (schema_version ${meta.schema_version}): cannot read it; update Clawbase`);
    this.selectEvents = this.db.prepare(
      `select seq, event_json, event_zstd, ${columns.has('event_utf8_bytes') ? 'event_utf8_bytes' : 'null as event_utf8_bytes'}, created_at
       from transcript_events where session_id = ? and seq > ? order by seq limit ?`,
    );
    this.selectWindows = this.db.prepare(
      `select w.session_id, w.session_key, w.channel, w.model_provider, w.model, w.created_at, w.status, w.chat_type, n.entry_json
       from session_windows w left join session_nodes n on n.session_key = w.session_key and n.current_session_id = w.session_id`,
    );
    void log;
  }

  /** True when another connection committed since the last call (or on the first call). */
  changed(): boolean {
    const v = this.db.pragma('data_version', { simple: true }) as number;
    if (v === this.dataVersion) return false;
    this.dataVersion = v;
    return true;
  }

  windows(): WindowRow[] {
    return this.selectWindows.all();
  }

  /** Sessions that have events but no session_windows row (should not happen; read them anyway). */
  orphanSessions(known: Set<string>): string[] {
    const rows = this.db.prepare('select distinct session_id from transcript_events').all() as Array<{ session_id: string }>;
    return rows.map((r) => r.session_id).filter((id) => !known.has(id));
  }

  events(sessionId: string, afterSeq: number, limit: number): EventRow[] {
    return this.selectEvents.all(sessionId, afterSeq, limit);
  }

  count(): number {
    return (this.db.prepare('select count(*) as n from transcript_events').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

export class SqliteReader {
  private dbs = new Map<string, AgentDatabase>();
  private failed = new Map<string, number>();
  private orphansChecked = new Set<string>();

  constructor(private ctx: SourceContext, private positions: Map<string, Record<string, unknown>>) {}

  private open(): AgentDatabase[] {
    for (const agent of listAgents(this.ctx.stateDir)) {
      const file = sqlitePath(agent.dir);
      if (this.dbs.has(file)) continue;
      if (!fs.existsSync(file)) continue;
      const rel = relative(this.ctx.stateDir, file);
      if (!validAgentId(agent.agentId)) {
        if (!this.failed.has(file)) this.ctx.log(`ingest: skipping ${rel}: agent id "${agent.agentId}" is not one Clawbase can store`);
        this.failed.set(file, Infinity);
        continue;
      }
      // A database that failed to open is tried again a minute later (it may be mid-creation).
      if ((this.failed.get(file) ?? 0) > Date.now()) continue;
      try {
        this.dbs.set(file, new AgentDatabase(file, rel, agent.agentId, this.ctx.log, (message) => this.unknownVersion(agent.agentId, rel, message)));
        this.failed.delete(file);
      } catch (err) {
        this.failed.set(file, Date.now() + 60_000);
        this.ctx.log(`ingest: cannot read ${rel}: ${(err as Error).message}; trying again in a minute`);
      }
    }
    return [...this.dbs.values()];
  }

  private unknownVersion(agentId: string, rel: string, message: string): void {
    this.ctx.log(`ingest: WARNING ${message}`);
    const b = new BatchBuilder('sqlite', rel, 0, this.ctx.limits);
    b.error({ source: 'sqlite', agentId, sessionId: '', file: rel, position: null }, message, null);
    void this.ctx.emit(b.finish());
  }

  /** Rows not yet read, for a progress bar (counts every database once). */
  pendingRows(): number {
    let total = 0;
    for (const db of this.open()) {
      total += db.count();
      for (const [stream, pos] of this.positions) if (stream.startsWith(`${db.rel}#`) && (pos as unknown as SqlitePosition).db === db.createdAt) total -= (pos as unknown as SqlitePosition).seq + 1;
    }
    return Math.max(0, total);
  }

  /** Reads every new event of every database that changed; resolves with the entries read. */
  async poll(signal?: AbortSignal): Promise<number> {
    let read = 0;
    for (const db of this.open()) {
      if (signal?.aborted) break;
      try {
        if (!db.changed()) continue;
        read += await this.readDatabase(db, signal);
      } catch (err) {
        this.ctx.log(`ingest: reading ${db.rel} failed: ${(err as Error).message}; reopening it on the next poll`);
        db.close();
        this.dbs.delete(db.file);
      }
    }
    return read;
  }

  private lastSeq(db: AgentDatabase, sessionId: string): number {
    const pos = this.positions.get(`${db.rel}#${sessionId}`) as SqlitePosition | undefined;
    return pos && pos.db === db.createdAt ? pos.seq : -1;
  }

  private async readDatabase(db: AgentDatabase, signal?: AbortSignal): Promise<number> {
    const windows = db.windows();
    const known = new Set(windows.map((w) => w.session_id));
    const sessions: Array<{ id: string; window: WindowRow | undefined }> = windows.map((w) => ({ id: w.session_id, window: w }));
    if (!this.orphansChecked.has(db.file)) {
      this.orphansChecked.add(db.file);
      for (const id of db.orphanSessions(known)) sessions.push({ id, window: undefined });
    }
    // One open batch per lane; sessions are spread over lanes so two writers share the work.
    const builders = new Map<number, BatchBuilder>();
    const streams = new Map<number, Map<string, number>>();
    const builderFor = (lane: number) => {
      let b = builders.get(lane);
      if (!b) {
        b = new BatchBuilder('sqlite', `${db.rel}#lane${lane}`, lane, this.ctx.limits);
        builders.set(lane, b);
        streams.set(lane, new Map());
      }
      return b;
    };
    const flush = async (lane: number) => {
      const b = builders.get(lane);
      if (!b) return;
      const batch: Batch = b.finish();
      for (const [sessionId, seq] of streams.get(lane)!) {
        const position: SqlitePosition = { seq, db: db.createdAt };
        batch.checkpoints.push({ source: 'sqlite', stream: `${db.rel}#${sessionId}`, position: { ...position } });
        this.positions.set(`${db.rel}#${sessionId}`, { ...position });
      }
      builders.delete(lane);
      streams.delete(lane);
      await this.ctx.emit(batch);
    };
    let read = 0;
    for (const s of sessions) {
      if (signal?.aborted) break;
      const lane = laneOf(s.id, this.ctx.lanes);
      let after = this.lastSeq(db, s.id);
      for (;;) {
        const rows = db.events(s.id, after, this.ctx.batchSize);
        if (!rows.length) break;
        const b = builderFor(lane);
        const ctx: EntryContext = {
          source: 'sqlite', agentId: db.agentId, sessionId: s.id, file: db.rel, position: null,
          sessionKey: s.window?.session_key ?? null, channel: s.window?.channel ?? null,
        };
        b.session(ctx, sessionPatch(s.window));
        for (const row of rows) {
          ctx.position = row.seq;
          ctx.fallbackTime = row.created_at;
          this.parseRow(b, row, ctx);
          after = row.seq;
        }
        read += rows.length;
        streams.get(lane)!.set(s.id, after);
        if (b.size >= this.ctx.batchSize) await flush(lane);
        if (rows.length < this.ctx.batchSize) break;
      }
    }
    for (const lane of [...builders.keys()]) await flush(lane);
    return read;
  }

  private parseRow(b: BatchBuilder, row: EventRow, ctx: EntryContext): void {
    let text: string | null = row.event_json;
    if (text === null) {
      if (!row.event_zstd) {
        b.error(ctx, `seq ${row.seq} has neither event_json nor event_zstd: skipped`, null);
        return;
      }
      let bytes: Uint8Array;
      try {
        bytes = decompress(row.event_zstd);
      } catch (err) {
        b.error(ctx, `seq ${row.seq}: event_zstd does not decompress (${(err as Error).message}): skipped`, excerpt(row.event_zstd.toString('base64')));
        return;
      }
      text = decodeUtf8(bytes);
      if (text === null) {
        b.error(ctx, `seq ${row.seq}: decompressed event is not valid UTF-8: skipped`, excerpt(bytes));
        return;
      }
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      b.error(ctx, `seq ${row.seq} is not valid JSON (${(err as Error).message}): skipped`, text);
      return;
    }
    b.entry(value, text, ctx);
  }

  close(): void {
    for (const db of this.dbs.values()) db.close();
    this.dbs.clear();
  }
}

function sessionPatch(w: WindowRow | undefined) {
  if (!w) return {};
  const metadata: Record<string, unknown> = { status: w.status ?? undefined, chatType: w.chat_type ?? undefined };
  if (w.entry_json) {
    try {
      const entry = JSON.parse(w.entry_json) as Record<string, unknown>;
      for (const k of sessionNodeCounters) if (entry[k] !== undefined) metadata[k] = entry[k];
    } catch {
      // counters are a nicety; the transcript is what matters
    }
  }
  const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : null);
  return {
    sessionKey: w.session_key, channel: w.channel, provider: w.model_provider, model: w.model,
    startedAt: iso(w.created_at), metadata,
  };
}
