// The workspace's own memory files (MEMORY.md, memory/YYYY-MM-DD.md) become searchable knowledge
// documents of the workspace's agent. Content hashes decide: an unchanged file costs one stat and
// one read, never a write; a file gone from the workspace takes its document with it.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { retryOnConflict, type Queryable } from '../db.ts';

export interface SyncCounts {
  scanned: number;
  changed: number;
  unchanged: number;
  removed: number;
  [key: string]: number;
}

const dailyNote = /^\d{4}-\d{2}-\d{2}\.md$/;

/** Workspace-relative paths of the memory files, never following a link out of the workspace. */
async function memoryFiles(workspace: string): Promise<string[]> {
  const found: string[] = [];
  const regular = async (rel: string) => {
    try {
      return (await fs.lstat(path.join(workspace, rel))).isFile();
    } catch {
      return false;
    }
  };
  if (await regular('MEMORY.md')) found.push('MEMORY.md');
  let names: string[] = [];
  try {
    if ((await fs.lstat(path.join(workspace, 'memory'))).isDirectory()) names = await fs.readdir(path.join(workspace, 'memory'));
  } catch {
    names = [];
  }
  for (const name of names.sort()) {
    if (dailyNote.test(name) && (await regular(`memory/${name}`))) found.push(`memory/${name}`);
  }
  return found;
}

export async function syncWorkspaceMemory(db: Queryable, workspace: string, agentId: string): Promise<SyncCounts> {
  const files = await memoryFiles(workspace);
  const { rows } = await db.query<{ source_path: string; content_hash: string }>(
    `select source_path, content_hash from api.knowledge_docs where agent_id = $1 and source = 'workspace'`,
    [agentId],
  );
  const known = new Map(rows.map((r) => [r.source_path, r.content_hash]));
  const counts: SyncCounts = { scanned: files.length, changed: 0, unchanged: 0, removed: 0 };
  for (const rel of files) {
    const content = await fs.readFile(path.join(workspace, rel), 'utf8');
    const hash = createHash('sha256').update(content, 'utf8').digest('hex');
    if (known.get(rel) === hash) {
      counts.unchanged++;
      continue;
    }
    // The rechunk trigger writes search items that the embedding job may be updating meanwhile: a
    // deadlock between the two (seen once in CI) is retried, the upsert being idempotent.
    await retryOnConflict(() => db.query(
      `insert into api.knowledge_docs (agent_id, title, source, source_path, content)
       values ($1, $2, 'workspace', $3, $4)
       on conflict (agent_id, source_path) do update set content = excluded.content, title = excluded.title
       where api.knowledge_docs.content_hash is distinct from excluded.content_hash`,
      [agentId, rel === 'MEMORY.md' ? 'MEMORY.md (long-term memory)' : `Daily notes ${path.basename(rel, '.md')}`, rel, content],
    ));
    counts.changed++;
  }
  const gone = [...known.keys()].filter((p) => !files.includes(p));
  if (gone.length) {
    const res = await retryOnConflict(() => db.query(`delete from api.knowledge_docs where agent_id = $1 and source = 'workspace' and source_path = any ($2)`, [agentId, gone]));
    counts.removed = res.rowCount ?? 0;
  }
  return counts;
}
