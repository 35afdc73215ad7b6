// Writes the day's activity into the workspace as memory/YYYY-MM-DD.md, the daily-notes file
// OpenClaw reads. The agent writes that file too, so Clawbase only ever replaces its own block
// between markers and keeps every other line; the write is atomic (temp file, then rename).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db.ts';

export const beginMarker = '<!-- clawbase:activity:begin (written by Clawbase; edits inside are replaced) -->';
export const endMarker = '<!-- clawbase:activity:end -->';

interface DayFigures {
  sessions: number;
  messages: number;
  user_messages: number;
  tokens: number;
  cost_usd: string;
  heartbeat_tokens: number;
  tools: Array<{ name: string; calls: number; errors: number }> | null;
  done: Array<{ title: string }> | null;
  summaries: Array<{ session_id: string; summary: string }> | null;
}

export function renderActivity(day: string, f: DayFigures): string {
  const lines = [beginMarker, `## Activity on ${day} (UTC)`, ''];
  lines.push(`- ${f.sessions} session(s), ${f.messages} message(s) (${f.user_messages} from users)`);
  lines.push(`- ${f.tokens} tokens, $${Number(f.cost_usd).toFixed(4)}${f.heartbeat_tokens ? ` (OpenClaw heartbeat: ${f.heartbeat_tokens} tokens)` : ''}`);
  if (f.tools?.length) lines.push(`- tools: ${f.tools.map((t) => `${t.name} ×${t.calls}${t.errors ? ` (${t.errors} failed)` : ''}`).join(', ')}`);
  if (f.done?.length) lines.push(`- tasks done: ${f.done.map((t) => t.title).join('; ')}`);
  if (f.summaries?.length) {
    lines.push('', '### Conversations');
    for (const s of f.summaries) lines.push(`- ${s.session_id}: ${s.summary.replace(/\s+/g, ' ').slice(0, 500)}`);
  }
  lines.push(endMarker);
  return lines.join('\n');
}

/** The file with Clawbase's block replaced (or appended), everything else untouched. */
export function mergeActivity(existing: string, block: string): string {
  const start = existing.indexOf(beginMarker);
  const end = existing.indexOf(endMarker);
  if (start !== -1 && end > start) return existing.slice(0, start) + block + existing.slice(end + endMarker.length);
  if (!existing.trim()) return `${block}\n`;
  return `${existing.replace(/\n*$/, '')}\n\n${block}\n`;
}

export async function writeDailyActivity(db: Queryable, workspace: string, agentId: string, day: string): Promise<{ path: string; bytes: number }> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`day must be YYYY-MM-DD, got "${day}"`);
  const { rows } = await db.query<DayFigures>(
    `with bounds as (select $2::date::timestamptz as lo, ($2::date + 1)::timestamptz as hi)
     select
       (select count(distinct session_id)::int from api.messages, bounds where agent_id = $1 and created_at >= lo and created_at < hi) as sessions,
       (select count(*)::int from api.messages, bounds where agent_id = $1 and created_at >= lo and created_at < hi) as messages,
       (select count(*)::int from api.messages, bounds where agent_id = $1 and role = 'user' and created_at >= lo and created_at < hi) as user_messages,
       (select coalesce(sum(total_tokens), 0)::int from api.messages, bounds where agent_id = $1 and created_at >= lo and created_at < hi) as tokens,
       (select coalesce(sum(cost_usd), 0)::text from api.messages, bounds where agent_id = $1 and created_at >= lo and created_at < hi) as cost_usd,
       (select coalesce(sum(total_tokens) filter (where is_heartbeat), 0)::int from api.messages, bounds where agent_id = $1 and created_at >= lo and created_at < hi) as heartbeat_tokens,
       (select json_agg(t order by t.calls desc, t.name) from (
          select name, count(*)::int as calls, count(*) filter (where is_error)::int as errors
            from api.tool_calls, bounds where agent_id = $1 and started_at >= lo and started_at < hi group by name) t) as tools,
       (select json_agg(json_build_object('title', title) order by completed_at) from api.tasks, bounds
          where agent_id = $1 and completed_at >= lo and completed_at < hi) as done,
       (select json_agg(json_build_object('session_id', session_id, 'summary', summary) order by session_id) from (
          select distinct on (session_id) session_id, summary from api.conversation_summaries, bounds
           where agent_id = $1 and created_at >= lo and created_at < hi order by session_id, version desc) s) as summaries`,
    [agentId, day],
  );
  const file = path.join(workspace, 'memory', `${day}.md`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const existing = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const next = mergeActivity(existing, renderActivity(day, rows[0]!));
  if (next === existing) return { path: file, bytes: next.length };
  const tmp = `${file}.clawbase-${process.pid}.tmp`;
  await fs.writeFile(tmp, next, { mode: 0o644 });
  await fs.rename(tmp, file);
  return { path: file, bytes: next.length };
}
