// Session summaries for the maintenance sweep: every session with messages newer than its last
// summary gets a new summary version, written by Ollama chat from a bounded prompt (the previous
// summary plus the newest messages), or, when no model answers, an extractive one marked as such.
import type { Ollama } from 'ollama';
import type { Queryable } from '../db.ts';
import { describeOllamaError } from './ollama.ts';

export interface SummariseOptions {
  model: string;
  host: string;
  /** Sessions handled per run (the next run takes the rest). */
  maxSessions?: number;
  /** Newest messages of a session put into one prompt. */
  maxMessages?: number;
  /** Characters of one message in the prompt. */
  maxMessageChars?: number;
  log?: (line: string) => void;
}

export interface SummaryCounts {
  sessions: number;
  llm: number;
  extractive: number;
  [key: string]: number;
}

interface Pending {
  agent_id: string;
  session_id: string;
  previous: string | null;
  /** Text, not Date: a JS Date would drop the microseconds and see the last message as new again. */
  since: string | null;
}

interface Msg {
  id: string;
  role: string;
  content: string | null;
  created_at: Date;
  tools: string[] | null;
}

const systemPrompt =
  'You keep the long-term memory of an AI agent. Summarise the conversation below in at most 8 short sentences: ' +
  'what the user asked for, decisions made, facts learned about the user, tools used, and what remains open. ' +
  'If a previous summary is given, fold it in. Answer with the summary only.';

export async function summariseSessions(db: Queryable, ollama: Ollama, opts: SummariseOptions): Promise<SummaryCounts> {
  const maxMessages = opts.maxMessages ?? 40;
  const maxChars = opts.maxMessageChars ?? 600;
  const { rows: pending } = await db.query<Pending>(
    `select s.agent_id, s.id as session_id, last.summary as previous, last.last_message_at::text as since
       from api.sessions s
       left join lateral (
         select c.summary, c.last_message_at from api.conversation_summaries c
          where c.agent_id = s.agent_id and c.session_id = s.id order by c.version desc limit 1) last on true
      where exists (select 1 from api.messages m
                     where m.agent_id = s.agent_id and m.session_id = s.id
                       and m.created_at > coalesce(last.last_message_at, '-infinity'))
      order by s.last_message_at desc nulls last
      limit $1`,
    [opts.maxSessions ?? 200],
  );
  const counts: SummaryCounts = { sessions: 0, llm: 0, extractive: 0 };
  let modelDown: string | undefined;
  for (const p of pending) {
    // The range is read once, as text, and written back as it was read.
    const { rows: window } = await db.query<{ n: number; first_id: string; last_id: string; first_at: string; last_at: string }>(
      `select count(*)::int as n,
              (array_agg(id order by created_at, id))[1] as first_id, (array_agg(id order by created_at desc, id desc))[1] as last_id,
              min(created_at)::text as first_at, max(created_at)::text as last_at
         from api.messages where agent_id = $1 and session_id = $2 and created_at > coalesce($3::timestamptz, '-infinity'::timestamptz)`,
      [p.agent_id, p.session_id, p.since],
    );
    const range = window[0]!;
    const { rows: recent } = await db.query<Msg>(
      `select m.id, m.role, m.content, m.created_at,
              (select array_agg(t.name order by t.started_at) from api.tool_calls t
                where t.agent_id = m.agent_id and t.session_id = m.session_id and t.message_id = m.id) as tools
         from api.messages m
        where m.agent_id = $1 and m.session_id = $2 and m.created_at > coalesce($3::timestamptz, '-infinity'::timestamptz)
          and m.created_at <= $4::timestamptz
        order by m.created_at desc, m.id desc limit $5`,
      [p.agent_id, p.session_id, p.since, range.last_at, maxMessages],
    );
    recent.reverse();
    let summary: string | undefined;
    let method: 'llm' | 'extractive' = 'llm';
    if (!modelDown) {
      try {
        const transcript = recent.map((m) => `${m.role}: ${(m.content ?? '').replace(/\s+/g, ' ').slice(0, maxChars)}${m.tools?.length ? ` [tools: ${m.tools.join(', ')}]` : ''}`).join('\n');
        const res = await ollama.chat({
          model: opts.model,
          stream: false,
          messages: [
            { role: 'system', content: systemPrompt },
            { role: 'user', content: `${p.previous ? `Previous summary:\n${p.previous}\n\n` : ''}Conversation:\n${transcript}` },
          ],
        });
        summary = res.message.content.trim() || undefined;
      } catch (err) {
        // One failure is enough to know: don't wait for the same timeout once per session.
        modelDown = describeOllamaError(err, opts.host);
        opts.log?.(`summaries: ${modelDown}; writing extractive summaries instead`);
      }
    }
    if (!summary) {
      summary = extractiveSummary(p.previous, recent);
      method = 'extractive';
    }
    try {
      await db.query(
        `insert into api.conversation_summaries
           (agent_id, session_id, summary, method, model, first_message_id, last_message_id, first_message_at, last_message_at, message_count)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [p.agent_id, p.session_id, summary, method, method === 'llm' ? opts.model : null, range.first_id, range.last_id, range.first_at, range.last_at, range.n],
      );
    } catch (err) {
      // The sweep's memory step archived the session meanwhile (foreign key gone): nothing to summarise.
      if ((err as { code?: string }).code === '23503') continue;
      throw err;
    }
    counts.sessions++;
    counts[method]++;
  }
  return counts;
}

const clip = (text: string, n: number) => {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

/** What recall needs when no model is there: the first asks, the tools used, the final answers. */
export function extractiveSummary(previous: string | null, messages: Msg[]): string {
  const asks = messages.filter((m) => m.role === 'user' && m.content?.trim()).slice(0, 3).map((m) => clip(m.content!, 200));
  const answers = messages.filter((m) => m.role === 'assistant' && m.content?.trim()).slice(-2).map((m) => clip(m.content!, 300));
  const tools = new Map<string, number>();
  for (const m of messages) for (const t of m.tools ?? []) tools.set(t, (tools.get(t) ?? 0) + 1);
  const parts = ['[extractive summary: no model answered]'];
  if (previous) parts.push(`Earlier: ${clip(previous, 400)}`);
  if (asks.length) parts.push(`Asked: ${asks.join(' | ')}`);
  if (tools.size) parts.push(`Tools used: ${[...tools].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n)).join(', ')}`);
  if (answers.length) parts.push(`Answered: ${answers.join(' | ')}`);
  return parts.join('\n');
}
