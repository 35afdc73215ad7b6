// The rows a collector hands to the writer: one shape for all three sources.
export type Source = 'jsonl' | 'sqlite' | 'gateway';

export interface SessionRow {
  agentId: string;
  id: string;
  sessionKey: string | null;
  channel: string | null;
  provider: string | null;
  model: string | null;
  startedAt: string | null;
  lastMessageAt: string | null;
  endedAt: string | null;
  /** Merged into sessions.metadata (counters, labels, header fields). */
  metadata: Record<string, unknown>;
}

export interface MessageRow {
  agentId: string;
  sessionId: string;
  id: string;
  parentId: string | null;
  entryType: string;
  role: 'user' | 'assistant' | 'tool_result' | 'system';
  channel: string | null;
  sender: string | null;
  content: string | null;
  contentBytes: number | null;
  contentTruncated: boolean;
  provider: string | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
  totalTokens: number | null;
  costUsd: number | null;
  stopReason: string | null;
  errorMessage: string | null;
  isHeartbeat: boolean;
  runId: string | null;
  createdAt: string;
  /** The entry as JSON text (large text replaced by a pointer to its column). */
  raw: string;
}

/** A tool call, its result, or both: merged by (agent, session, id) on the way in. */
export interface ToolCallRow {
  agentId: string;
  sessionId: string;
  id: string;
  messageId: string | null;
  resultMessageId: string | null;
  name: string;
  /** JSON text of the arguments. */
  arguments: string | null;
  result: string | null;
  resultBytes: number | null;
  resultTruncated: boolean;
  isError: boolean | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface IngestErrorRow {
  source: Source;
  agentId: string | null;
  file: string;
  sessionId: string | null;
  position: number | null;
  error: string;
  rawExcerpt: string | null;
}

export interface CheckpointRow {
  source: Source;
  stream: string;
  position: Record<string, unknown>;
}

/** Everything one read step produced; written in one transaction with its checkpoints. */
export interface Batch {
  source: Source;
  /** Batches with the same shard are written in order by the same writer (lane). */
  shard: string;
  lane: number;
  sessions: SessionRow[];
  messages: MessageRow[];
  toolCalls: ToolCallRow[];
  errors: IngestErrorRow[];
  checkpoints: CheckpointRow[];
  /** Entries read, by entry type (message roles as message:user, …), for progress and the final count. */
  entries: Record<string, number>;
  /** Called once the batch is committed (the Gateway observer measures latency with it). */
  onCommitted?: (result: WriteResult) => void;
}

export interface WriteResult {
  messages: number;
  toolCalls: number;
  errors: number;
  committedAt: number;
}

export function emptyBatch(source: Source, shard: string, lane: number): Batch {
  return { source, shard, lane, sessions: [], messages: [], toolCalls: [], errors: [], checkpoints: [], entries: {} };
}

export function batchSize(b: Batch): number {
  return b.messages.length + b.toolCalls.length + b.errors.length + b.sessions.length;
}

/** What every source gets from the ingest loop. */
export interface SourceContext {
  stateDir: string;
  limits: { maxContentBytes: number };
  batchSize: number;
  /** Number of writers; a source spreads independent streams over lanes 0..lanes-1. */
  lanes: number;
  /** Hands a batch to its writer; resolves when the writer's queue has room (backpressure). */
  emit(batch: Batch): Promise<void>;
  log(line: string): void;
}

/** A stable lane for a stream name. */
export function laneOf(name: string, lanes: number): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return (h >>> 0) % lanes;
}
