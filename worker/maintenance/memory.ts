// Sweep step "memory": expired memory and summaries deleted in small batches, HOT rows pruned by
// the memory rule, idle sessions archived. Each call commits per batch, so an agent's upsert
// waits at most one small batch (rows it holds are skipped, not waited for).
import type { PoolClient } from 'pg';

export interface MemoryStepOptions {
  archiveAfterDays: number;
  /** Rows per delete transaction (memory_kv, summaries). */
  deleteBatch?: number;
  /** Sessions per archive transaction. */
  archiveBatch?: number;
}

export async function memoryStep(client: PoolClient, opts: MemoryStepOptions): Promise<Record<string, number>> {
  const batch = opts.deleteBatch ?? 1000;
  // Procedures that COMMIT must run outside a transaction block: each CALL on its own.
  const del = async (table: string, condition: string) => {
    const { rows } = await client.query<{ deleted: string }>('call private.delete_in_batches($1::regclass, $2, $3, true, 0)', [table, condition, batch]);
    return Number(rows[0]!.deleted);
  };
  const expiredMemory = await del('api.memory_kv', 'expires_at <= now()');
  const expiredSummaries = await del('api.conversation_summaries', 'expires_at <= now()');
  const { rows: hot } = await client.query<{ pruned: string }>('call private.prune_hot_memory(500, 0)');
  const { rows: archived } = await client.query<{ archived: Record<string, number> }>(
    'call private.archive_sessions(make_interval(days => $1), $2, null)',
    [opts.archiveAfterDays, opts.archiveBatch ?? 50],
  );
  const a = archived[0]!.archived;
  return {
    expired_memory: expiredMemory,
    expired_summaries: expiredSummaries,
    hot_pruned: Number(hot[0]!.pruned),
    archived_sessions: a.sessions ?? 0,
    archived_messages: a.messages ?? 0,
    archived_tool_calls: a.tool_calls ?? 0,
  };
}
