// The first query of the panels a page load waits on, without Lit: the panels build them here,
// and early.ts sends the same requests before the app's code has even been evaluated.
import type { PostgrestClient } from '@supabase/postgrest-js';

export const feedPageSize = 50;
const feedColumns = 'seq,agent_id,session_id,id,created_at,role,channel,sender,content,model,total_tokens,cost_usd,is_heartbeat,error_message,has_tool_calls,tool_error';

export const feedRanges: Record<string, { label: string; seconds?: number }> = {
  '1h': { label: 'Last hour', seconds: 3600 },
  '24h': { label: 'Last 24 hours', seconds: 86_400 },
  '7d': { label: 'Last 7 days', seconds: 604_800 },
  '30d': { label: 'Last 30 days', seconds: 2_592_000 },
  all: { label: 'Any time' },
};
export const feedRoles = ['user', 'assistant', 'tool_result', 'system'];

export interface FeedFilters {
  q: string;
  agent: string;
  channel: string;
  role: string;
  range: string;
  errors: boolean;
}

/** The activity feed's filters as a shared URL gives them (unknown values fall back to "any"). */
export function feedFilters(q: URLSearchParams): FeedFilters {
  const range = q.get('range') ?? 'all';
  return {
    q: q.get('q') ?? '',
    agent: q.get('agent') ?? '',
    channel: q.get('channel') ?? '',
    role: feedRoles.includes(q.get('role') ?? '') ? q.get('role')! : '',
    range: range in feedRanges ? range : 'all',
    errors: q.get('errors') === '1',
  };
}

/** One page of the feed, newest first; `before` is the keyset cursor (a seq) of "load older". */
export function feedQuery(c: PostgrestClient, f: FeedFilters, before?: number) {
  let q = c.from('activity_feed').select(feedColumns);
  if (f.agent) q = q.eq('agent_id', f.agent);
  if (f.channel) q = q.eq('channel', f.channel);
  if (f.role) q = q.eq('role', f.role);
  if (f.errors) q = q.or('error_message.not.is.null,tool_error.is.true');
  const seconds = feedRanges[f.range]?.seconds;
  if (seconds) q = q.gte('created_at', new Date(Date.now() - seconds * 1000).toISOString());
  if (f.q.trim()) q = q.textSearch('fts', f.q.trim(), { type: 'websearch', config: 'simple' });
  if (before !== undefined) q = q.lt('seq', before);
  return q.order('seq', { ascending: false }).limit(feedPageSize);
}

export const taskColumns = 'id,title,description,status,kind,position,agent_id,due_at,created_by,updated_at';

/** Every task in board order (the kanban shows them all). */
export const tasksQuery = (c: PostgrestClient) => c.from('tasks').select(taskColumns).order('position').order('id').limit(1000);
