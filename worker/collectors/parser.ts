// One parser for all three sources: an OpenClaw transcript entry (the same object in JSONL files,
// SQLite rows and Gateway events, see shared/openclaw/FORMAT.md) becomes rows of sessions,
// messages and tool_calls. Bad input becomes an ingest_errors row and the batch goes on.
import { emptyBatch, type Batch, type IngestErrorRow, type MessageRow, type SessionRow, type Source, type ToolCallRow } from './records.ts';
import { cleanJson, cleanText, excerpt, truncateUtf8, utf8Bytes } from './text.ts';

export interface ParseLimits {
  /** Text past this many UTF-8 bytes is stored truncated (full size recorded). */
  maxContentBytes: number;
}

/** Where an entry came from: who it belongs to and where to point an error. */
export interface EntryContext {
  source: Source;
  agentId: string;
  sessionId: string;
  /** JSONL file, SQLite database (relative to the state dir) or Gateway URL. */
  file: string;
  /** Line, seq or event seq. */
  position: number | null;
  sessionKey?: string | null;
  channel?: string | null;
  /** Used when the entry has no usable timestamp (e.g. SQLite created_at). */
  fallbackTime?: number;
  /** Known from elsewhere (the Gateway's agent events carry it per run). */
  isHeartbeat?: boolean;
}

/** Text of at least this many characters is stored once, in its typed column; raw points there. */
export const storedOnceChars = 1024;
/** A tool result message keeps this much of the text as a preview; the whole is tool_calls.result. */
export const toolResultPreviewChars = 1000;

export const knownEntryTypes = new Set([
  'session', 'message', 'model_change', 'thinking_level_change', 'compaction', 'reset', 'custom',
  'custom_message', 'branch_summary', 'label', 'session_info',
]);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? cleanText(v) : null);
const count = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2147483647 ? v : null);
const money = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e6 ? v : null);

function isoTime(v: unknown): string | null {
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  const d = new Date(v);
  const t = d.getTime();
  return Number.isFinite(t) && t > 0 && t < 4102444800000 ? d.toISOString() : null;
}

/** Text blocks joined, from a string or a list of content blocks. */
export function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  let out: string | null = null;
  for (const b of content) {
    if (isObject(b) && b.type === 'text' && typeof b.text === 'string') out = out === null ? b.text : `${out}\n${b.text}`;
  }
  return out;
}

/**
 * Accumulates the rows of many entries into one batch: sessions merged by id, a tool call and its
 * result merged into one tool_calls row when both are in the batch.
 */
export class BatchBuilder {
  readonly batch: Batch;
  private sessions = new Map<string, SessionRow>();
  private calls = new Map<string, ToolCallRow>();

  constructor(source: Source, shard: string, lane: number, private limits: ParseLimits) {
    this.batch = emptyBatch(source, shard, lane);
  }

  get size(): number {
    return this.batch.messages.length + this.calls.size + this.batch.errors.length;
  }

  finish(): Batch {
    this.batch.sessions = [...this.sessions.values()];
    this.batch.toolCalls = [...this.calls.values()];
    return this.batch;
  }

  private tally(kind: string): void {
    this.batch.entries[kind] = (this.batch.entries[kind] ?? 0) + 1;
  }

  error(ctx: EntryContext, error: string, raw: string | Uint8Array | null): void {
    const row: IngestErrorRow = {
      source: ctx.source,
      agentId: ctx.agentId || null,
      file: ctx.file,
      sessionId: ctx.sessionId || null,
      position: ctx.position,
      error,
      rawExcerpt: raw === null ? null : excerpt(raw),
    };
    this.batch.errors.push(row);
    this.tally('error');
  }

  /** The session row for ctx, created on first use; `patch` fills or moves its fields. */
  session(ctx: EntryContext, patch: Partial<SessionRow> = {}): SessionRow {
    const key = `${ctx.agentId}\u0000${ctx.sessionId}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = {
        agentId: ctx.agentId, id: ctx.sessionId, sessionKey: ctx.sessionKey ?? null, channel: ctx.channel ?? null,
        provider: null, model: null, startedAt: null, lastMessageAt: null, endedAt: null, metadata: {},
      };
      this.sessions.set(key, s);
    }
    if (patch.metadata) s.metadata = { ...s.metadata, ...patch.metadata };
    if (patch.startedAt && (!s.startedAt || patch.startedAt < s.startedAt)) s.startedAt = patch.startedAt;
    if (patch.lastMessageAt && (!s.lastMessageAt || patch.lastMessageAt > s.lastMessageAt)) s.lastMessageAt = patch.lastMessageAt;
    if (patch.endedAt) s.endedAt = patch.endedAt;
    if (patch.sessionKey) s.sessionKey = patch.sessionKey;
    if (patch.channel) s.channel = patch.channel;
    if (patch.provider) s.provider = patch.provider;
    if (patch.model) s.model = patch.model;
    return s;
  }

  /** A tool call seen from any side (the assistant's block, the result, a Gateway event). */
  toolCall(row: ToolCallRow): void {
    const key = `${row.agentId}\u0000${row.sessionId}\u0000${row.id}`;
    const had = this.calls.get(key);
    if (!had) {
      this.calls.set(key, row);
      return;
    }
    had.messageId ??= row.messageId;
    had.resultMessageId ??= row.resultMessageId;
    had.arguments ??= row.arguments;
    if (had.result === null && row.result !== null) {
      had.result = row.result;
      had.resultBytes = row.resultBytes;
      had.resultTruncated = row.resultTruncated;
    }
    had.isError ??= row.isError;
    had.startedAt ??= row.startedAt;
    had.finishedAt ??= row.finishedAt;
    if (!had.name) had.name = row.name;
  }

  /** Bounded text and its full size. */
  private bounded(text: string | null, ctx: EntryContext, what: string): { text: string | null; bytes: number | null; truncated: boolean } {
    if (text === null) return { text: null, bytes: null, truncated: false };
    const clean = cleanText(text);
    const bytes = utf8Bytes(clean);
    if (bytes <= this.limits.maxContentBytes) return { text: clean, bytes, truncated: false };
    this.error(ctx, `${what} is ${bytes} bytes, over the ${this.limits.maxContentBytes}-byte limit: stored truncated with its full size`, clean);
    return { text: truncateUtf8(clean, this.limits.maxContentBytes), bytes, truncated: true };
  }

  /**
   * One transcript entry. `rawText` is the entry exactly as read (reused for messages.raw when
   * nothing in it needs replacing); returns false when the entry was rejected into ingest_errors.
   */
  entry(value: unknown, rawText: string | null, ctx: EntryContext): boolean {
    if (!isObject(value)) {
      this.error(ctx, `not a JSON object (${Array.isArray(value) ? 'array' : typeof value}): skipped`, rawText);
      return false;
    }
    const type = typeof value.type === 'string' ? value.type : null;
    if (!type) {
      this.error(ctx, 'entry has no type: skipped', rawText ?? JSON.stringify(value));
      return false;
    }
    const time = isoTime(value.timestamp) ?? (isObject(value.message) ? isoTime(value.message.timestamp) : null) ?? isoTime(ctx.fallbackTime) ?? new Date().toISOString();
    if (type === 'session') {
      this.tally('session');
      this.session(ctx, {
        startedAt: time,
        metadata: { version: value.version, cwd: typeof value.cwd === 'string' ? cleanText(value.cwd) : undefined },
      });
      return true;
    }
    const id = typeof value.id === 'string' && value.id.length > 0 && value.id.length <= 200 ? value.id : null;
    if (!id) {
      this.error(ctx, `${type} entry has no usable id (a string of 1–200 characters): skipped`, rawText ?? JSON.stringify(value));
      return false;
    }
    if (!/^[a-z][a-z0-9_.:-]{0,63}$/.test(type)) {
      this.error(ctx, `entry type ${JSON.stringify(type.slice(0, 80))} is not a valid type name: skipped`, rawText ?? JSON.stringify(value));
      return false;
    }
    const unknownType = !knownEntryTypes.has(type);
    if (unknownType) this.error(ctx, `unknown entry type "${type}": stored as a system row with its raw entry`, null);

    let rawReplaced = false;
    let raw: Json = value;
    const replaceInRaw = (edit: (copy: Json) => void) => {
      if (!rawReplaced) {
        raw = structuredClone(value);
        rawReplaced = true;
      }
      edit(raw);
    };

    const row: MessageRow = {
      agentId: ctx.agentId, sessionId: ctx.sessionId, id, parentId: str(value.parentId), entryType: type, role: 'system',
      channel: ctx.channel ?? null, sender: null, content: null, contentBytes: null, contentTruncated: false,
      provider: null, model: null, inputTokens: null, outputTokens: null, cacheReadTokens: null, cacheWriteTokens: null,
      totalTokens: null, costUsd: null, stopReason: null, errorMessage: null, isHeartbeat: ctx.isHeartbeat ?? false,
      runId: null, createdAt: time, raw: '',
    };

    if (type === 'message') {
      const message = isObject(value.message) ? value.message : null;
      if (!message) {
        this.error(ctx, 'message entry without a message object: stored as a system row with its raw entry', null);
      } else {
        this.message(message, row, ctx, replaceInRaw);
      }
    } else {
      this.tally(unknownType ? `unknown:${type}` : type);
      // The text-bearing entries keep their text in content too.
      const text = type === 'compaction' || type === 'branch_summary' ? str(value.summary) : type === 'custom_message' ? contentText(value.content) : type === 'label' ? str(value.label) : null;
      const b = this.bounded(text, ctx, `text of ${type} entry ${id}`);
      row.content = b.text;
      row.contentBytes = b.bytes;
      row.contentTruncated = b.truncated;
      if (type === 'model_change') {
        row.provider = str(value.provider);
        row.model = str(value.modelId);
        this.session(ctx, { provider: row.provider, model: row.model });
      }
      if (type === 'reset') this.session(ctx, { endedAt: time });
    }

    let json = rawReplaced || rawText === null ? JSON.stringify(raw) : rawText;
    if (json.length > this.limits.maxContentBytes && utf8Bytes(json) > this.limits.maxContentBytes) {
      const bytes = utf8Bytes(json);
      this.error(ctx, `entry ${id} is ${bytes} bytes of JSON, over the ${this.limits.maxContentBytes}-byte limit: stored with its typed columns, raw kept as an excerpt`, json);
      json = JSON.stringify({ $clawbase: 'raw entry too large', bytes, type, id, excerpt: excerpt(json, 4000) });
    }
    row.raw = cleanJson(json);
    this.batch.messages.push(row);
    this.session(ctx, { lastMessageAt: time });
    return true;
  }

  private message(message: Json, row: MessageRow, ctx: EntryContext, replaceInRaw: (edit: (copy: Json) => void) => void): void {
    const role = message.role;
    const meta = isObject(message.__openclaw) ? message.__openclaw : null;
    row.runId = str(meta?.runId);
    if (meta?.isHeartbeat === true || message.isHeartbeat === true) row.isHeartbeat = true;
    const content = message.content;
    /** Replaces long text in the raw copy by a pointer to the column that holds it. */
    const pointLongText = (column: string) => {
      if (typeof content === 'string') {
        if (content.length >= storedOnceChars) replaceInRaw((c) => ((c.message as Json).content = { $clawbase: column, chars: content.length }));
      } else if (Array.isArray(content)) {
        content.forEach((b, i) => {
          if (isObject(b) && b.type === 'text' && typeof b.text === 'string' && b.text.length >= storedOnceChars) {
            const chars = b.text.length;
            replaceInRaw((c) => (((c.message as Json).content as Json[])[i]!.text = { $clawbase: column, chars }));
          }
        });
      }
    };

    if (role === 'user' || role === 'assistant' || role === 'system') {
      this.tally(`message:${role}`);
      row.role = role;
      const b = this.bounded(contentText(content), ctx, `text of ${role} message ${row.id}`);
      row.content = b.text;
      row.contentBytes = b.bytes;
      row.contentTruncated = b.truncated;
      pointLongText('messages.content');
      if (role === 'assistant') this.assistant(message, row, ctx, replaceInRaw);
    } else if (role === 'toolResult') {
      this.tally('message:toolResult');
      row.role = 'tool_result';
      const toolName = str(message.toolName);
      row.sender = toolName;
      const full = this.bounded(contentText(content), ctx, `tool result ${row.id}`);
      // The whole text lives in tool_calls.result; the message keeps a preview.
      if (full.text !== null && full.text.length > storedOnceChars) {
        row.content = full.text.slice(0, toolResultPreviewChars);
        row.contentTruncated = true;
      } else {
        row.content = full.text;
        row.contentTruncated = full.truncated;
      }
      row.contentBytes = full.bytes;
      pointLongText('tool_calls.result');
      const callId = str(message.toolCallId);
      if (!callId) {
        this.error(ctx, `tool result ${row.id} has no toolCallId: stored as a message, not joined to a call`, null);
      } else {
        this.toolCall({
          agentId: ctx.agentId, sessionId: ctx.sessionId, id: callId.slice(0, 200), messageId: null, resultMessageId: row.id,
          name: toolName ?? 'unknown', arguments: null, result: full.text ?? '', resultBytes: full.bytes ?? 0,
          resultTruncated: full.truncated, isError: message.isError === true, startedAt: null, finishedAt: isoTime(message.timestamp) ?? row.createdAt,
        });
      }
    } else {
      this.tally(`message:${typeof role === 'string' ? role : 'none'}`);
      this.error(ctx, `message ${row.id} has unknown role ${JSON.stringify(role)}: stored as a system row with its raw entry`, null);
      const b = this.bounded(contentText(content), ctx, `text of message ${row.id}`);
      row.content = b.text;
      row.contentBytes = b.bytes;
      row.contentTruncated = b.truncated;
    }
  }

  private assistant(message: Json, row: MessageRow, ctx: EntryContext, replaceInRaw: (edit: (copy: Json) => void) => void): void {
    row.provider = str(message.provider);
    row.model = str(message.model);
    row.sender = ctx.agentId;
    row.stopReason = str(message.stopReason);
    row.errorMessage = str(message.errorMessage);
    const usage = isObject(message.usage) ? message.usage : null;
    if (usage) {
      row.inputTokens = count(usage.input);
      row.outputTokens = count(usage.output);
      row.cacheReadTokens = count(usage.cacheRead);
      row.cacheWriteTokens = count(usage.cacheWrite);
      row.totalTokens = count(usage.totalTokens);
      row.costUsd = isObject(usage.cost) ? money(usage.cost.total) : null;
    }
    if (row.provider || row.model) this.session(ctx, { provider: row.provider, model: row.model });
    if (!Array.isArray(message.content)) return;
    message.content.forEach((block, i) => {
      if (!isObject(block) || block.type !== 'toolCall') return;
      const callId = str(block.id);
      if (!callId) {
        this.error(ctx, `tool call block ${i} of message ${row.id} has no id: kept in raw only`, null);
        return;
      }
      let args = block.arguments === undefined ? null : cleanJson(JSON.stringify(block.arguments));
      if (args !== null && args.length >= storedOnceChars) {
        const bytes = utf8Bytes(args);
        if (bytes > this.limits.maxContentBytes) {
          this.error(ctx, `arguments of tool call ${callId} are ${bytes} bytes, over the ${this.limits.maxContentBytes}-byte limit: stored as an excerpt`, args);
          args = JSON.stringify({ $clawbase: 'arguments too large', bytes, excerpt: excerpt(args, 4000) });
        }
        replaceInRaw((c) => ((((c.message as Json).content as Json[])[i] as Json).arguments = { $clawbase: 'tool_calls.arguments', bytes }));
      }
      this.toolCall({
        agentId: ctx.agentId, sessionId: ctx.sessionId, id: callId.slice(0, 200), messageId: row.id, resultMessageId: null,
        name: str(block.name) ?? 'unknown', arguments: args, result: null, resultBytes: null, resultTruncated: false,
        isError: null, startedAt: row.createdAt, finishedAt: null,
      });
    });
  }
}
