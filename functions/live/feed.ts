// The live activity feed behind GET /functions/v1/live: one shared LISTEN connection wakes every
// open stream when the collectors NOTIFY clawbase_activity; each stream then reads what is new
// by keyset (seq > cursor) through a transaction that takes the caller's role and claims, as
// PostgREST does, so row-level security decides what it sees.
import pg from 'pg';
import type { Caller } from '../dashboard/session.ts';

export const activityChannel = 'clawbase_activity';

/** Columns of api.activity_feed sent as event data (fts, a search vector, is not data). */
const feedColumns = [
  'seq', 'agent_id', 'session_id', 'id', 'created_at', 'role', 'channel', 'sender', 'content', 'model',
  'total_tokens', 'cost_usd', 'is_heartbeat', 'error_message', 'has_tool_calls', 'tool_error',
].join(', ');

export interface FeedRow {
  seq: number;
  json: string;
}

/**
 * Shared by every stream of the process: one LISTEN connection (reconnected with backoff; a
 * reconnect wakes everyone, since a notification may have been missed) and a small pool for the
 * role-scoped reads.
 */
export class FeedHub {
  private listener: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(private readonly url: string, private readonly log: (line: string) => void) {
    this.pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'clawbase live feed' });
    this.pool.on('error', (err) => log(`live feed: a pooled connection failed (${err.message})`));
  }

  /** Registers a stream's wake-up; resolves once LISTEN is in place. Returns the unsubscribe. */
  async subscribe(wake: () => void): Promise<() => void> {
    this.wakers.add(wake);
    await this.ensureListening();
    return () => this.wakers.delete(wake);
  }

  private wakeAll(): void {
    for (const w of this.wakers) w();
  }

  private ensureListening(): Promise<void> {
    if (this.listener || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      for (let attempt = 0; !this.closed; attempt++) {
        const client = new pg.Client({ connectionString: this.url, application_name: 'clawbase live listen' });
        try {
          await client.connect();
          client.on('notification', (n) => n.channel === activityChannel && this.wakeAll());
          client.on('error', (err) => {
            this.log(`live feed: LISTEN connection lost (${err.message}); reconnecting`);
            if (this.listener === client) this.listener = undefined;
            client.end().catch(() => {});
            void this.ensureListening().then(() => this.wakeAll());
          });
          await client.query(`listen ${activityChannel}`);
          this.listener = client;
          return;
        } catch (err) {
          await client.end().catch(() => {});
          if (attempt === 0) this.log(`live feed: cannot LISTEN (${(err as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
        }
      }
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Runs `sql` as the caller: set local role and request.jwt.claims, like a PostgREST request. */
  private async asCaller<T extends pg.QueryResultRow>(caller: Caller, sql: string, params: unknown[]): Promise<T[]> {
    const client = await this.pool.connect();
    try {
      await client.query('begin read only');
      await client.query(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [caller.role, JSON.stringify(caller.claims)]);
      const { rows } = await client.query<T>(sql, params);
      await client.query('commit');
      return rows;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** The newest seq the caller can see (where a stream without Last-Event-ID starts). */
  async head(caller: Caller): Promise<number> {
    const rows = await this.asCaller<{ seq: string | null }>(caller, 'select max(seq) as seq from api.activity_feed', []);
    return Number(rows[0]?.seq ?? 0);
  }

  /** Rows after `after` the caller may see, in seq order. */
  async after(caller: Caller, after: number, limit: number): Promise<FeedRow[]> {
    const rows = await this.asCaller<{ seq: string; json: string }>(
      caller,
      `select f.seq, to_jsonb(f)::text as json from (select ${feedColumns} from api.activity_feed where seq > $1 order by seq limit $2) f`,
      [after, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), json: r.json }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const l = this.listener;
    this.listener = undefined;
    await Promise.all([l?.end().catch(() => {}), this.pool.end().catch(() => {})]);
  }
}

/**
 * Which rows a stream has sent. seq is assigned at insert and two writers commit in either order,
 * so a row may become visible after a higher seq was sent: each read starts a little behind the
 * cursor (where it stood `lookbackMs` ago, at most `lookbackRows` back) and skips what was sent.
 */
export class Cursor {
  private readonly sent = new Set<number>();
  private readonly history: Array<{ at: number; before: number }> = [];

  constructor(public position: number, private readonly lookbackMs = 10_000, private readonly lookbackRows = 2000) {}

  /** Where the next read starts. */
  floor(now = Date.now()): number {
    // Advances older than the window are settled; the first one inside it says where the cursor stood.
    while (this.history.length && this.history[0]!.at <= now - this.lookbackMs) this.history.shift();
    const old = this.history.length ? this.history[0]!.before : this.position;
    const floor = Math.max(old, this.position - this.lookbackRows);
    for (const s of this.sent) if (s <= floor) this.sent.delete(s);
    return floor;
  }

  /** True when the row is new to this stream (and records it as sent). */
  take(seq: number): boolean {
    if (this.sent.has(seq)) return false;
    this.sent.add(seq);
    if (seq > this.position) {
      this.history.push({ at: Date.now(), before: this.position });
      this.position = seq;
    }
    return true;
  }
}
