// The collectors' process: the JSONL tailer and the SQLite reader poll the state folder, the
// Gateway observer listens; their batches go to N writers (one connection each). Batches of one
// stream always go to the same writer, in order, so a checkpoint never passes rows not yet written.
import pg from 'pg';
import type { IngestConfig } from '../../lib/config.ts';
import { loadCheckpoints } from './checkpoints.ts';
import { GatewayObserver, type HealthRecord } from './gateway-observer.ts';
import { JsonlTailer } from './jsonl-tailer.ts';
import type { Batch, Source, SourceContext, WriteResult } from './records.ts';
import { SqliteReader } from './sqlite-reader.ts';
import { BatchWriter } from './writer.ts';

export interface IngestOptions {
  /** Login URL of the `worker` role (BYPASSRLS, so COPY works). */
  connectionString: string;
  stateDir: string;
  settings: IngestConfig;
  /** Backfill what is there and return; otherwise follow until `signal` aborts. */
  once: boolean;
  gateway?: { url: string; token: string };
  signal: AbortSignal;
  log(line: string): void;
  /** Called once sources and writers run (the supervisor waits for the ready line). */
  onReady?(): void;
  onProgress?(p: Progress): void;
  /** Bench hook: every Gateway event, with the commit of the batch that carried it. */
  onGatewayEventCommitted?(receivedAt: number, result: WriteResult): void;
}

export interface SourceTotals {
  /** Entries read, by type (message:user, message:assistant, message:toolResult, compaction, error, …). */
  entries: Record<string, number>;
  /** Rows newly stored. */
  messages: number;
  toolCalls: number;
  errors: number;
  batches: number;
}

export interface Progress {
  totals: Record<Source, SourceTotals>;
  elapsedSeconds: number;
  /** Backfill only: how far the JSONL bytes and SQLite rows are read (0–1), when known. */
  jsonlFraction?: number;
  sqliteFraction?: number;
}

export interface IngestSummary {
  totals: Record<Source, SourceTotals>;
  seconds: number;
}

const emptyTotals = (): SourceTotals => ({ entries: {}, messages: 0, toolCalls: 0, errors: 0, batches: 0 });

/** A writer with its queue: batches go in order; `push` waits while two are already waiting. */
class Lane {
  private queue: Batch[] = [];
  private wake: (() => void) | undefined;
  private roomWaiters: Array<() => void> = [];
  private closed = false;
  readonly done: Promise<void>;

  constructor(private writer: BatchWriter, private onWritten: (b: Batch, r: WriteResult) => void, private onFatal: (err: Error) => void, signal: AbortSignal) {
    this.done = this.loop(signal);
  }

  async push(batch: Batch): Promise<void> {
    this.queue.push(batch);
    this.wake?.();
    while (this.queue.length > 2 && !this.closed) await new Promise<void>((r) => this.roomWaiters.push(r));
  }

  close(): void {
    this.closed = true;
    this.wake?.();
    for (const r of this.roomWaiters.splice(0)) r();
  }

  private async loop(signal: AbortSignal): Promise<void> {
    for (;;) {
      const batch = this.queue.shift();
      if (!batch) {
        if (this.closed) break;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      for (const r of this.roomWaiters.splice(0)) r();
      try {
        this.onWritten(batch, await this.writer.write(batch, signal));
      } catch (err) {
        this.onFatal(err as Error);
        this.queue.length = 0;
        this.closed = true;
        for (const r of this.roomWaiters.splice(0)) r();
        break;
      }
    }
    await this.writer.close();
  }
}

export async function runIngest(opts: IngestOptions): Promise<IngestSummary> {
  const t0 = performance.now();
  const totals: Record<Source, SourceTotals> = { jsonl: emptyTotals(), sqlite: emptyTotals(), gateway: emptyTotals() };
  const checkpoints = await loadCheckpoints(opts.connectionString);
  let fatal: Error | undefined;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  const lanes = Array.from({ length: opts.settings.writers }, () =>
    new Lane(
      new BatchWriter({ connectionString: opts.connectionString, log: opts.log }),
      (batch, r) => {
        const t = totals[batch.source];
        for (const [k, n] of Object.entries(batch.entries)) t.entries[k] = (t.entries[k] ?? 0) + n;
        t.messages += r.messages;
        t.toolCalls += r.toolCalls;
        t.errors += r.errors;
        t.batches++;
      },
      (err) => {
        fatal ??= new Error(`writing to PostgreSQL failed: ${err.message}. Is the database migrated (clawbase migrate)?`, { cause: err });
        stop.abort();
      },
      stop.signal,
    ),
  );
  const ctx: SourceContext = {
    stateDir: opts.stateDir,
    limits: { maxContentBytes: opts.settings.maxContentBytes },
    batchSize: opts.settings.batchSize,
    lanes: lanes.length,
    emit: (batch) => lanes[batch.lane % lanes.length]!.push(batch),
    log: opts.log,
  };
  const jsonl = new JsonlTailer(ctx, checkpoints.jsonl);
  const sqlite = new SqliteReader(ctx, checkpoints.sqlite);
  let health: pg.Client | undefined;
  let observer: Promise<void> | undefined;
  if (opts.gateway && !opts.once) {
    health = new pg.Client({ connectionString: opts.connectionString, application_name: 'clawbase ingest health' });
    health.on('error', () => {});
    await health.connect();
    const h = health;
    const recordHealth = async (r: HealthRecord) => {
      await h.query(`insert into api.health_checks (service, status, latency_ms, detail, metrics) values ('gateway', $1, $2, $3, $4)`, [r.status, r.latencyMs, r.detail, JSON.stringify(r.metrics)]);
    };
    const gw = new GatewayObserver(ctx, { url: opts.gateway.url, token: opts.gateway.token, recordHealth, onEventCommitted: opts.onGatewayEventCommitted }, checkpoints.gateway);
    observer = gw.run(stop.signal);
  }

  const jsonlTotal = opts.once ? jsonl.pendingBytes() : 0;
  const sqliteTotal = opts.once ? sqlite.pendingRows() : 0;
  let sqliteRead = 0;
  const progress = () =>
    opts.onProgress?.({
      totals,
      elapsedSeconds: (performance.now() - t0) / 1000,
      jsonlFraction: jsonlTotal ? Math.min(1, jsonl.bytesRead / jsonlTotal) : undefined,
      sqliteFraction: sqliteTotal ? Math.min(1, sqliteRead / sqliteTotal) : undefined,
    });
  const ticker = opts.onProgress ? setInterval(progress, 250) : undefined;
  opts.onReady?.();

  try {
    for (;;) {
      if (stop.signal.aborted) break;
      let read = 0;
      try {
        read += await jsonl.poll(stop.signal);
        const n = await sqlite.poll(stop.signal);
        sqliteRead += n;
        read += n;
      } catch (err) {
        opts.log(`ingest: a poll failed: ${(err as Error).message}; trying again`);
      }
      if (opts.once && read === 0) break;
      if (!opts.once && read === 0) await sleep(opts.settings.pollMs, stop.signal);
    }
  } finally {
    stop.abort();
    await observer;
    for (const lane of lanes) lane.close();
    await Promise.all(lanes.map((l) => l.done));
    if (ticker) clearInterval(ticker);
    progress();
    sqlite.close();
    await health?.end().catch(() => {});
    opts.signal.removeEventListener('abort', onAbort);
  }
  if (fatal) throw fatal;
  return { totals, seconds: (performance.now() - t0) / 1000 };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
