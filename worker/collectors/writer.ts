// Writes one batch in one transaction: sessions, messages, tool calls, errors and the checkpoints
// of the sources it came from, then NOTIFY clawbase_activity. Rows past a checkpoint are new to this
// source, so they are COPYed straight into the tables; only when another source (or a rewind) got
// there first does the batch go through a staging table and ON CONFLICT, so each entry is stored once.
import pg from 'pg';
import { copyInto, copyText, type CopyValue } from './copy.ts';
import type { Batch, IngestErrorRow, MessageRow, ToolCallRow, WriteResult } from './records.ts';
import { excerpt } from './text.ts';

export const activityChannel = 'clawbase_activity';

const messageColumns = [
  'agent_id', 'session_id', 'id', 'parent_id', 'entry_type', 'role', 'channel', 'sender', 'content', 'content_bytes',
  'content_truncated', 'provider', 'model', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens',
  'total_tokens', 'cost_usd', 'stop_reason', 'error_message', 'is_heartbeat', 'run_id', 'created_at', 'source', 'raw',
] as const;

const toolCallColumns = [
  'agent_id', 'session_id', 'id', 'message_id', 'result_message_id', 'name', 'arguments', 'result', 'result_bytes',
  'result_truncated', 'is_error', 'started_at', 'finished_at',
] as const;

const messageValues = (m: MessageRow, source: string): CopyValue[] => [
  m.agentId, m.sessionId, m.id, m.parentId, m.entryType, m.role, m.channel, m.sender, m.content, m.contentBytes,
  m.contentTruncated, m.provider, m.model, m.inputTokens, m.outputTokens, m.cacheReadTokens, m.cacheWriteTokens,
  m.totalTokens, m.costUsd, m.stopReason, m.errorMessage, m.isHeartbeat, m.runId, m.createdAt, source, m.raw,
];

const toolCallValues = (t: ToolCallRow): CopyValue[] => [
  t.agentId, t.sessionId, t.id, t.messageId, t.resultMessageId, t.name, t.arguments, t.result, t.resultBytes,
  t.resultTruncated, t.isError, t.startedAt, t.finishedAt,
];

const list = (cols: readonly string[], prefix = '') => cols.map((c) => prefix + c).join(', ');

// A transcript copy (sqlite, jsonl) replaces a live Gateway copy of the same entry; otherwise the first stays.
const mergeMessages = `
  with merged as (
    insert into api.messages as m (${list(messageColumns)})
    select distinct on (agent_id, session_id, id) ${list(messageColumns)} from pg_temp.messages_stage
    order by agent_id, session_id, id
    on conflict (agent_id, session_id, id) do update set
      ${messageColumns.filter((c) => !['agent_id', 'session_id', 'id'].includes(c)).map((c) => `${c} = excluded.${c}`).join(', ')},
      ingested_at = now()
    where m.source = 'gateway' and excluded.source <> 'gateway'
    returning xmax = 0 as inserted)
  select count(*) filter (where inserted)::int as inserted from merged`;

const fillIfMissing = (c: string) => `(t.${c} is null and excluded.${c} is not null)`;
const mergeToolCalls = `
  with merged as (
    insert into api.tool_calls as t (${list(toolCallColumns)})
    select distinct on (agent_id, session_id, id) ${list(toolCallColumns)} from pg_temp.tool_calls_stage
    order by agent_id, session_id, id
    on conflict (agent_id, session_id, id) do update set
      message_id = coalesce(t.message_id, excluded.message_id),
      result_message_id = coalesce(t.result_message_id, excluded.result_message_id),
      name = case when t.name = 'unknown' then excluded.name else t.name end,
      arguments = coalesce(t.arguments, excluded.arguments),
      result = coalesce(t.result, excluded.result),
      result_bytes = case when t.result is null then excluded.result_bytes else t.result_bytes end,
      result_truncated = case when t.result is null then excluded.result_truncated else t.result_truncated end,
      is_error = coalesce(t.is_error, excluded.is_error),
      started_at = coalesce(t.started_at, excluded.started_at),
      finished_at = coalesce(t.finished_at, excluded.finished_at)
    where ${['message_id', 'result_message_id', 'arguments', 'result', 'is_error', 'started_at', 'finished_at'].map(fillIfMissing).join(' or ')}
       or (t.name = 'unknown' and excluded.name <> 'unknown')
    returning xmax = 0 as inserted)
  select count(*) filter (where inserted)::int as inserted from merged`;

const upsertSessions = `
  insert into api.sessions as s (agent_id, id, session_key, channel, provider, model, source, started_at, last_message_at, ended_at, metadata)
  select agent_id, id, session_key, channel, provider, model, $2, coalesce(started_at, last_message_at, now()), last_message_at, ended_at, coalesce(metadata, '{}')
  from json_to_recordset($1::json) as r(agent_id text, id text, session_key text, channel text, provider text, model text,
                                       started_at timestamptz, last_message_at timestamptz, ended_at timestamptz, metadata jsonb)
  order by agent_id, id
  on conflict (agent_id, id) do update set
    session_key = coalesce(excluded.session_key, s.session_key),
    channel = coalesce(excluded.channel, s.channel),
    provider = coalesce(excluded.provider, s.provider),
    model = coalesce(excluded.model, s.model),
    started_at = least(s.started_at, excluded.started_at),
    last_message_at = greatest(s.last_message_at, excluded.last_message_at),
    ended_at = coalesce(excluded.ended_at, s.ended_at),
    metadata = s.metadata || excluded.metadata
  where (s.session_key, s.channel, s.provider, s.model, s.started_at, s.last_message_at, s.ended_at, s.metadata)
    is distinct from (coalesce(excluded.session_key, s.session_key), coalesce(excluded.channel, s.channel),
                      coalesce(excluded.provider, s.provider), coalesce(excluded.model, s.model),
                      least(s.started_at, excluded.started_at), greatest(s.last_message_at, excluded.last_message_at),
                      coalesce(excluded.ended_at, s.ended_at), s.metadata || excluded.metadata)`;

const insertErrors = `
  insert into api.ingest_errors (source, agent_id, file, session_id, position, error, raw_excerpt)
  select source, agent_id, file, session_id, position, error, raw_excerpt
  from json_to_recordset($1::json) as r(source text, agent_id text, file text, session_id text, position bigint, error text, raw_excerpt text)
  on conflict (source, file, (coalesce(session_id, '')), (coalesce(position, -1)), (md5(error))) do nothing`;

const saveCheckpoints = `
  insert into private.ingest_checkpoints (source, stream, position)
  select source, stream, position from json_to_recordset($1::json) as r(source text, stream text, position jsonb)
  order by source, stream
  on conflict (source, stream) do update set position = excluded.position, updated_at = now()`;

const pgCode = (err: unknown) => (err as { code?: string }).code;
/** Errors after which the same transaction may simply be tried again. */
const retryable = (err: unknown) => ['40P01', '40001', '55P03'].includes(pgCode(err) ?? '') || isConnectionError(err);
export const isConnectionError = (err: unknown) =>
  /ECONNREFUSED|ECONNRESET|EPIPE|terminat|Connection terminated|not queryable|57P0[123]/i.test(`${(err as Error).message} ${pgCode(err) ?? ''}`);

export interface WriterOptions {
  connectionString: string;
  log: (line: string) => void;
}

/** One writer: one connection, batches written one after another. */
export class BatchWriter {
  private client: pg.Client | undefined;
  private staged = false;

  constructor(private opts: WriterOptions) {}

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: 'clawbase ingest' });
    client.on('error', () => {
      // A dropped connection surfaces on the next query; forget it so that one reconnects.
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
    this.staged = false;
    return client;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }

  /**
   * Writes the batch, retrying deadlocks and lost connections with backoff. A row the database
   * refuses is found by splitting the batch, recorded in ingest_errors, and the rest is written.
   */
  async write(batch: Batch, signal?: AbortSignal): Promise<WriteResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.writeOnce(batch);
      } catch (err) {
        if (retryable(err)) {
          if (isConnectionError(err)) await this.close();
          if (signal?.aborted) throw err;
          const wait = Math.min(10_000, 100 * 2 ** Math.min(attempt, 7));
          if (attempt === 0 || attempt % 10 === 0) this.opts.log(`ingest: writing a ${batch.source} batch failed (${(err as Error).message}); retrying in ${wait} ms`);
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        return this.writeSplit(batch, err);
      }
    }
  }

  private async writeSplit(batch: Batch, err: unknown): Promise<WriteResult> {
    const rows = batch.messages.length + batch.toolCalls.length;
    // Nothing left to set aside: the database refuses the errors or checkpoints themselves (schema missing?).
    if (rows === 0) throw err;
    if (rows === 1) {
      const bad = batch.messages[0] ?? batch.toolCalls[0];
      const what = batch.messages[0] ? `message ${bad?.id}` : `tool call ${bad?.id}`;
      const error: IngestErrorRow = {
        source: batch.source, agentId: bad?.agentId ?? null, file: batch.checkpoints[0]?.stream ?? batch.shard,
        sessionId: bad?.sessionId ?? null, position: null,
        error: `the database refused ${what}: ${(err as Error).message}: skipped`,
        rawExcerpt: batch.messages[0] ? excerpt(batch.messages[0].raw) : bad ? excerpt(JSON.stringify(bad)) : null,
      };
      return this.write({ ...batch, messages: [], toolCalls: [], errors: [...batch.errors, error] });
    }
    const all: Array<{ m?: MessageRow; t?: ToolCallRow }> = [...batch.messages.map((m) => ({ m })), ...batch.toolCalls.map((t) => ({ t }))];
    const half = Math.ceil(all.length / 2);
    const pick = (part: typeof all) => ({
      messages: part.flatMap((x) => (x.m ? [x.m] : [])),
      toolCalls: part.flatMap((x) => (x.t ? [x.t] : [])),
    });
    // The first half carries no checkpoint: a crash between the halves re-reads, never skips.
    const first = await this.write({ ...batch, ...pick(all.slice(0, half)), errors: [], checkpoints: [], onCommitted: undefined, entries: {} });
    const second = await this.write({ ...batch, ...pick(all.slice(half)) });
    return { messages: first.messages + second.messages, toolCalls: first.toolCalls + second.toolCalls, errors: first.errors + second.errors, committedAt: second.committedAt };
  }

  private async stage(client: pg.Client): Promise<void> {
    if (this.staged) return;
    // INCLUDING STORAGE keeps the no-compression setting; the indexes (and any GIN) are not copied.
    await client.query(`create temp table if not exists messages_stage (like api.messages including defaults including storage) on commit delete rows`);
    await client.query(`create temp table if not exists tool_calls_stage (like api.tool_calls including defaults including storage) on commit delete rows`);
    // seq is an identity column of api.messages (assigned on insert); LIKE copies its NOT NULL but not the identity.
    await client.query(`alter table pg_temp.messages_stage drop column if exists seq`);
    this.staged = true;
  }

  /** COPY straight into `table`; on a duplicate key, through the staging table and `merge`. */
  private async copyOrMerge(client: pg.Client, table: string, stage: string, columns: readonly string[], text: string, merge: string, direct: boolean): Promise<number> {
    if (direct) {
      await client.query('savepoint direct_copy');
      try {
        const n = await copyInto(client, table, columns, text);
        await client.query('release savepoint direct_copy');
        return n;
      } catch (err) {
        if (pgCode(err) !== '23505') throw err;
        await client.query('rollback to savepoint direct_copy');
      }
    }
    await this.stage(client);
    await client.query(`truncate ${stage}`);
    await copyInto(client, stage, columns, text);
    const { rows } = await client.query<{ inserted: number }>(merge);
    return rows[0]?.inserted ?? 0;
  }

  private async writeOnce(batch: Batch): Promise<WriteResult> {
    const client = await this.connection();
    await client.query('begin');
    try {
      let messages = 0;
      let toolCalls = 0;
      if (batch.sessions.length) {
        const sessions = batch.sessions.map((s) => ({
          agent_id: s.agentId, id: s.id, session_key: s.sessionKey, channel: s.channel, provider: s.provider, model: s.model,
          started_at: s.startedAt, last_message_at: s.lastMessageAt, ended_at: s.endedAt, metadata: s.metadata,
        }));
        await client.query(upsertSessions, [JSON.stringify(sessions), batch.source]);
      }
      if (batch.messages.length) {
        const text = copyText(batch.messages.map((m) => messageValues(m, batch.source)));
        messages = await this.copyOrMerge(client, 'api.messages', 'pg_temp.messages_stage', messageColumns, text, mergeMessages, batch.source !== 'gateway');
      }
      if (batch.toolCalls.length) {
        // Calls seen first from their assistant message are new; results of calls from an earlier batch, and
        // anything from the Gateway, meet an existing row and are merged.
        const fresh = batch.source === 'gateway' ? [] : batch.toolCalls.filter((t) => t.messageId !== null);
        const joins = batch.source === 'gateway' ? batch.toolCalls : batch.toolCalls.filter((t) => t.messageId === null);
        if (fresh.length) toolCalls += await this.copyOrMerge(client, 'api.tool_calls', 'pg_temp.tool_calls_stage', toolCallColumns, copyText(fresh.map(toolCallValues)), mergeToolCalls, true);
        if (joins.length) toolCalls += await this.copyOrMerge(client, 'api.tool_calls', 'pg_temp.tool_calls_stage', toolCallColumns, copyText(joins.map(toolCallValues)), mergeToolCalls, false);
      }
      if (batch.errors.length) {
        const errors = batch.errors.map((e) => ({
          source: e.source, agent_id: e.agentId, file: e.file, session_id: e.sessionId, position: e.position, error: e.error, raw_excerpt: e.rawExcerpt,
        }));
        await client.query(insertErrors, [JSON.stringify(errors)]);
      }
      if (batch.checkpoints.length) await client.query(saveCheckpoints, [JSON.stringify(batch.checkpoints)]);
      if (messages || toolCalls) await client.query('select pg_notify($1, $2)', [activityChannel, activityPayload(batch, messages, toolCalls)]);
      await client.query('commit');
      const result = { messages, toolCalls, errors: batch.errors.length, committedAt: Date.now() };
      batch.onCommitted?.(result);
      // Fold the usage the triggers recorded into the hourly rollup (skipped when the other writer is folding).
      if (messages || toolCalls) await client.query('select private.fold_usage()').catch((err: Error) => this.opts.log(`ingest: folding usage failed (${err.message}); the worker folds it within a minute`));
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    }
  }
}

/** The NOTIFY payload: small (PostgreSQL allows < 8000 bytes), enough for a feed to query by keyset. */
export function activityPayload(batch: Batch, messages: number, toolCalls: number): string {
  const agents = new Set(batch.sessions.map((s) => s.agentId));
  const sessions = new Set(batch.sessions.map((s) => s.id));
  const one = <T>(set: Set<T>) => (set.size === 1 ? [...set][0]! : null);
  const last = batch.messages.reduce<string | null>((max, m) => (max === null || m.createdAt > max ? m.createdAt : max), null);
  const payload = {
    source: batch.source,
    agent_id: one(agents),
    session_id: one(sessions),
    sessions: sessions.size,
    messages,
    tool_calls: toolCalls,
    last_created_at: last,
    last_ingested_at: new Date().toISOString(),
  };
  const text = JSON.stringify(payload);
  return text.length < 8000 ? text : JSON.stringify({ ...payload, agent_id: null, session_id: null });
}
