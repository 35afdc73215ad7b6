// The live view: a passive operator.read client of the OpenClaw Gateway. It subscribes to the
// session list and to each session's messages, turns session.message / session.tool /
// sessions.changed events into the same rows the transcript readers write (same keys, so stored
// once), and after every (re)connect catches up with chat.history. It also records the Gateway's
// health: /readyz every 30 s and ticks that stop arriving.
import { connectGateway, type GatewayConnection, type GatewayEvent } from './gateway-client.ts';
import { BatchBuilder, contentText, type EntryContext } from './parser.ts';
import { laneOf, type Batch, type SourceContext, type WriteResult } from './records.ts';
import { cleanJson, utf8Bytes, truncateUtf8 } from './text.ts';
import { validAgentId } from './discovery.ts';

export interface HealthRecord {
  status: 'up' | 'degraded' | 'down';
  latencyMs: number | null;
  detail: string | null;
  metrics: Record<string, unknown>;
}

export interface GatewayObserverOptions {
  url: string;
  token: string;
  /** Writes one api.health_checks row for service 'gateway'. */
  recordHealth(h: HealthRecord): Promise<void>;
  /** Called for every event received, with the batch's commit result once written (bench: latency). */
  onEventCommitted?(eventReceivedAt: number, result: WriteResult): void;
  onFrame?(dir: 'in' | 'out', frame: unknown): void;
  readyzIntervalMs?: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

export interface GatewayPosition {
  /** Highest message seq of the session seen (OpenClaw's __openclaw.seq). */
  messageSeq: number;
  sessionId: string | null;
}

const maxBackoffMs = 5_000;

export class GatewayObserver {
  private conn: GatewayConnection | undefined;
  private subscribed = new Set<string>();
  private sessionIds = new Map<string, { sessionId: string; agentId: string }>();
  private heartbeatRuns = new Map<string, boolean>();
  private builder: BatchBuilder | undefined;
  private receivedAt: number[] = [];
  private flushScheduled = false;
  private lastTick = 0;
  private tickAlarm = false;
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  connected = false;

  constructor(private ctx: SourceContext, private opts: GatewayObserverOptions, private positions: Map<string, Record<string, unknown>>) {}

  private lane(): number {
    return laneOf(this.opts.url, this.ctx.lanes);
  }

  /**
   * Runs until `signal` aborts: connects, and reconnects with backoff (1 s doubling to 5 s). The
   * Gateway is on this machine (or its compose network): a failed attempt costs one refused
   * connection, and a 30 s ceiling left the collectors away up to 30 s after it came back (the
   * soak's Gateway fault: reconnected 22.6 s after it was back).
   */
  async run(signal: AbortSignal): Promise<void> {
    const readyz = setInterval(() => void this.probeReadyz(), this.opts.readyzIntervalMs ?? 30_000);
    const tickWatch = setInterval(() => void this.checkTicks(), 5_000);
    this.timers.push(readyz, tickWatch);
    void this.probeReadyz();
    let backoff = 1000;
    let failures = 0;
    try {
      while (!signal.aborted) {
        try {
          const started = performance.now();
          const conn = await connectGateway({ url: this.opts.url, token: this.opts.token, onEvent: (e) => this.onEvent(e), onFrame: this.opts.onFrame });
          this.conn = conn;
          this.connected = true;
          this.lastTick = Date.now();
          this.tickIntervalMs = conn.hello.tickIntervalMs;
          this.ctx.log(`ingest: Gateway ${conn.hello.serverVersion} connected at ${this.opts.url} (protocol 4)`);
          await this.opts.recordHealth({ status: 'up', latencyMs: performance.now() - started, detail: `connected, OpenClaw ${conn.hello.serverVersion}`, metrics: { serverVersion: conn.hello.serverVersion } }).catch(() => {});
          backoff = 1000;
          failures = 0;
          const onAbort = () => conn.close();
          signal.addEventListener('abort', onAbort, { once: true });
          await this.subscribeAll(conn).catch((err: Error) => this.ctx.log(`ingest: Gateway subscription failed: ${err.message}`));
          const { code, reason } = await conn.closed;
          signal.removeEventListener('abort', onAbort);
          this.connected = false;
          this.subscribed.clear();
          if (signal.aborted) break;
          this.ctx.log(`ingest: Gateway connection closed (${code}${reason ? ` ${reason}` : ''}); reconnecting`);
          await this.opts.recordHealth({ status: 'down', latencyMs: null, detail: `connection closed (${code} ${reason})`, metrics: {} }).catch(() => {});
        } catch (err) {
          this.connected = false;
          failures++;
          // Say it once, then every tenth time: a Gateway that is down for hours should not flood the log.
          if (failures === 1 || failures % 10 === 0) this.ctx.log(`ingest: ${(err as Error).message}; retrying in ${Math.round(backoff / 1000)} s`);
        }
        await sleep(backoff, signal);
        backoff = Math.min(maxBackoffMs, backoff * 2);
      }
    } finally {
      this.stopped = true;
      for (const t of this.timers) clearInterval(t);
      await this.flush();
    }
  }

  private tickIntervalMs = 30_000;

  private async subscribeAll(conn: GatewayConnection): Promise<void> {
    const res = await conn.request<Json>('sessions.subscribe', { limit: 500 });
    const list = isObject(res.list) && Array.isArray(res.list.sessions) ? res.list.sessions : [];
    for (const s of list) if (isObject(s)) await this.subscribeSession(conn, s);
  }

  private async subscribeSession(conn: GatewayConnection, s: Json): Promise<void> {
    const key = str(s.key);
    if (!key || this.subscribed.has(key)) return;
    this.subscribed.add(key);
    this.noteSession(key, s);
    await conn.request('sessions.messages.subscribe', { key });
    await this.catchUp(conn, key);
  }

  private noteSession(key: string, s: Json): void {
    const sessionId = str(s.sessionId);
    const agentId = str(s.agentId) ?? key.split(':')[1] ?? null;
    if (sessionId && agentId) this.sessionIds.set(key, { sessionId, agentId });
  }

  /** Messages persisted while we were away: chat.history, keyed like the live ones, stored once. */
  private async catchUp(conn: GatewayConnection, key: string): Promise<void> {
    const res = await conn.request<Json>('chat.history', { sessionKey: key, limit: 1000 }, 30_000);
    const messages = Array.isArray(res.messages) ? res.messages : [];
    const known = this.sessionIds.get(key);
    const sessionId = str(res.sessionId) ?? (isObject(res.session) ? str(res.session.sessionId) : null) ?? known?.sessionId ?? null;
    const agentId = known?.agentId ?? key.split(':')[1] ?? null;
    if (!sessionId || !agentId) return;
    const pos = this.positions.get(`${this.opts.url}#${key}`) as GatewayPosition | undefined;
    const after = pos && pos.sessionId === sessionId ? pos.messageSeq : -1;
    for (const m of messages) {
      if (!isObject(m)) continue;
      const meta = isObject(m.__openclaw) ? m.__openclaw : {};
      const seq = typeof meta.seq === 'number' ? meta.seq : null;
      if (seq !== null && seq <= after) continue;
      this.addMessage({ agentId, sessionId, key, message: m, messageId: str(meta.id) ?? str(m.id), seq, receivedAt: Date.now() });
    }
  }

  private onEvent(e: GatewayEvent): void {
    const receivedAt = Date.now();
    const p = e.payload;
    switch (e.event) {
      case 'tick':
        this.lastTick = receivedAt;
        if (this.tickAlarm) {
          this.tickAlarm = false;
          void this.opts.recordHealth({ status: 'up', latencyMs: null, detail: 'ticks arrive again', metrics: {} }).catch(() => {});
        }
        return;
      case 'agent': {
        const runId = str(p.runId);
        if (runId && typeof p.isHeartbeat === 'boolean') {
          this.heartbeatRuns.set(runId, p.isHeartbeat);
          if (this.heartbeatRuns.size > 2000) this.heartbeatRuns.delete(this.heartbeatRuns.keys().next().value!);
        }
        return;
      }
      case 'health':
        void this.opts.recordHealth({
          status: p.ok === false ? 'degraded' : 'up', latencyMs: typeof p.durationMs === 'number' ? p.durationMs : null,
          detail: p.ok === false ? 'Gateway reports itself unhealthy' : null,
          metrics: { ok: p.ok, eventLoop: p.eventLoop, plugins: isObject(p.plugins) ? { errors: p.plugins.errors } : undefined },
        }).catch(() => {});
        return;
      case 'sessions.changed': {
        const key = str(p.sessionKey);
        const session = isObject(p.session) ? p.session : null;
        if (!key || !session) return;
        this.noteSession(key, { ...session, agentId: p.agentId ?? session.agentId });
        if (this.conn && !this.subscribed.has(key)) void this.subscribeSession(this.conn, { ...session, key }).catch(() => this.subscribed.delete(key));
        this.addSessionTotals(key, session, receivedAt);
        return;
      }
      case 'session.message': {
        const key = str(p.sessionKey);
        const message = isObject(p.message) ? p.message : null;
        if (!key || !message) return;
        const sessionId = str(p.sessionId) ?? this.sessionIds.get(key)?.sessionId ?? null;
        const agentId = str(p.agentId) ?? this.sessionIds.get(key)?.agentId ?? null;
        if (!sessionId || !agentId) return;
        this.sessionIds.set(key, { sessionId, agentId });
        const meta = isObject(message.__openclaw) ? message.__openclaw : {};
        const seq = typeof p.messageSeq === 'number' ? p.messageSeq : typeof meta.seq === 'number' ? meta.seq : null;
        this.addMessage({ agentId, sessionId, key, message, messageId: str(p.messageId) ?? str(meta.id), seq, receivedAt, eventSeq: e.seq });
        return;
      }
      case 'session.tool':
        this.addTool(p, receivedAt, e.seq);
        return;
      default:
        return;
    }
  }

  private batch(): BatchBuilder {
    this.builder ??= new BatchBuilder('gateway', this.opts.url, this.lane(), this.ctx.limits);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Events of one moment (a message and its session update) go together; nothing waits longer.
      setImmediate(() => void this.flush());
    }
    return this.builder;
  }

  private ctxFor(agentId: string, sessionId: string, key: string, position: number | null, runId: string | null): EntryContext {
    return {
      source: 'gateway', agentId, sessionId, file: this.opts.url, position, sessionKey: key,
      isHeartbeat: runId ? this.heartbeatRuns.get(runId) ?? false : false,
    };
  }

  private addMessage(m: { agentId: string; sessionId: string; key: string; message: Json; messageId: string | null; seq: number | null; receivedAt: number; eventSeq?: number }): void {
    if (!validAgentId(m.agentId)) return;
    const b = this.batch();
    const meta = isObject(m.message.__openclaw) ? m.message.__openclaw : {};
    const ctx = this.ctxFor(m.agentId, m.sessionId, m.key, m.eventSeq ?? m.seq, str(meta.runId));
    if (!m.messageId) {
      b.error(ctx, `Gateway message in ${m.key} has no id: not stored (the transcript readers will store it)`, JSON.stringify(m.message));
      return;
    }
    const ts = typeof m.message.timestamp === 'number' ? new Date(m.message.timestamp).toISOString() : undefined;
    const recordTs = typeof meta.recordTimestampMs === 'number' ? new Date(meta.recordTimestampMs).toISOString() : ts;
    // The same object as a transcript entry, so one parser maps both.
    const entry = { type: 'message', id: m.messageId, parentId: null, timestamp: recordTs, message: m.message };
    b.entry(entry, null, ctx);
    this.receivedAt.push(m.receivedAt);
    if (m.seq !== null) {
      const stream = `${this.opts.url}#${m.key}`;
      const had = this.positions.get(stream) as GatewayPosition | undefined;
      if (!had || had.sessionId !== m.sessionId || had.messageSeq < m.seq) {
        const position: GatewayPosition = { messageSeq: m.seq, sessionId: m.sessionId };
        this.positions.set(stream, { ...position });
        const cps = b.batch.checkpoints;
        const i = cps.findIndex((c) => c.stream === stream);
        if (i >= 0) cps.splice(i, 1);
        cps.push({ source: 'gateway', stream, position: { ...position } });
      }
    }
  }

  private addTool(p: Json, receivedAt: number, eventSeq?: number): void {
    const data = isObject(p.data) ? p.data : null;
    const key = str(p.sessionKey);
    if (!data || !key) return;
    const sessionId = str(p.sessionId) ?? this.sessionIds.get(key)?.sessionId ?? null;
    const agentId = str(p.agentId) ?? this.sessionIds.get(key)?.agentId ?? null;
    const callId = str(data.toolCallId);
    if (!sessionId || !agentId || !callId || !validAgentId(agentId)) return;
    const runId = str(p.runId);
    if (runId && typeof p.isHeartbeat === 'boolean') this.heartbeatRuns.set(runId, p.isHeartbeat);
    const at = new Date(typeof p.ts === 'number' ? p.ts : receivedAt).toISOString();
    const b = this.batch();
    const ctx = this.ctxFor(agentId, sessionId, key, eventSeq ?? null, runId);
    b.session(ctx, { lastMessageAt: at });
    const name = str(data.name) ?? 'unknown';
    if (data.phase === 'start') {
      b.toolCall({
        agentId, sessionId, id: callId.slice(0, 200), messageId: null, resultMessageId: null, name,
        arguments: data.args === undefined ? null : cleanJson(JSON.stringify(data.args)), result: null, resultBytes: null,
        resultTruncated: false, isError: null, startedAt: at, finishedAt: null,
      });
    } else if (data.phase === 'result') {
      const result = isObject(data.result) ? contentText(data.result.content) : typeof data.result === 'string' ? data.result : null;
      const text = result ?? '';
      const bytes = utf8Bytes(text);
      const max = this.ctx.limits.maxContentBytes;
      b.toolCall({
        agentId, sessionId, id: callId.slice(0, 200), messageId: null, resultMessageId: null, name, arguments: null,
        result: bytes > max ? truncateUtf8(text, max) : text.replace(/\0/g, '\uFFFD'), resultBytes: bytes, resultTruncated: bytes > max,
        isError: data.isError === true, startedAt: null, finishedAt: at,
      });
    } else return;
    this.receivedAt.push(receivedAt);
  }

  private addSessionTotals(key: string, s: Json, receivedAt: number): void {
    const ids = this.sessionIds.get(key);
    if (!ids || !validAgentId(ids.agentId)) return;
    const metadata: Json = {};
    for (const k of ['inputTokens', 'outputTokens', 'totalTokens', 'estimatedCostUsd', 'status', 'runtimeMs', 'lastRunId', 'kind', 'chatType']) if (s[k] !== undefined) metadata[k] = s[k];
    const b = this.batch();
    b.session(this.ctxFor(ids.agentId, ids.sessionId, key, null, null), {
      provider: str(s.modelProvider), model: str(s.model), channel: str(s.channel) ?? str(s.lastChannel), metadata,
    });
    void receivedAt;
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const b = this.builder;
    if (!b) return;
    this.builder = undefined;
    const batch: Batch = b.finish();
    const received = this.receivedAt;
    this.receivedAt = [];
    const onCommitted = this.opts.onEventCommitted;
    if (onCommitted) batch.onCommitted = (r) => received.forEach((t) => onCommitted(t, r));
    await this.ctx.emit(batch);
  }

  private async probeReadyz(): Promise<void> {
    if (this.stopped) return;
    const url = new URL(this.opts.url);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    url.pathname = '/readyz';
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const ms = performance.now() - t0;
      await this.opts.recordHealth({ status: res.ok ? 'up' : 'degraded', latencyMs: ms, detail: res.ok ? null : `/readyz answered ${res.status}`, metrics: { http: res.status } });
    } catch (err) {
      await this.opts.recordHealth({ status: 'down', latencyMs: null, detail: `/readyz unreachable: ${(err as Error).message}`, metrics: {} }).catch(() => {});
    }
  }

  private async checkTicks(): Promise<void> {
    if (!this.connected || this.tickAlarm) return;
    const missed = Math.floor((Date.now() - this.lastTick) / this.tickIntervalMs) - 1;
    if (missed >= 1) {
      this.tickAlarm = true;
      this.ctx.log(`ingest: the Gateway missed ${missed} tick(s) (none for ${Math.round((Date.now() - this.lastTick) / 1000)} s)`);
      await this.opts.recordHealth({ status: 'degraded', latencyMs: null, detail: `missed ${missed} tick(s)`, metrics: { missedTicks: missed } }).catch(() => {});
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
