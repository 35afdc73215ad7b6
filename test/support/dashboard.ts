// The functions server with the dashboard's functions against a test stack (its own database,
// the real PostgREST in front of it), plus an SSE reader and a collector-style writer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { DashboardDeps } from '../../functions/dashboard/deps.ts';
import { webApp } from '../../functions/dashboard/web-app.ts';
import { healthFunction } from '../../functions/health/index.ts';
import type { RunningHttpServer } from '../../functions/http-server.ts';
import { FeedHub } from '../../functions/live/feed.ts';
import { liveFunction } from '../../functions/live/index.ts';
import { loginFunction } from '../../functions/login/index.ts';
import { logoutFunction } from '../../functions/logout/index.ts';
import { metricsFunction } from '../../functions/metrics/index.ts';
import { refreshFunction } from '../../functions/refresh/index.ts';
import { startFunctionsServer } from '../../functions/server.ts';
import { loadConfig } from '../../lib/config.ts';
import { audience, type TestStack } from './stack.ts';

export interface DashboardServer {
  url: string;
  deps: DashboardDeps;
  webDist: string;
  hub: FeedHub;
  stop(): Promise<void>;
}

/** Functions-server dependencies for a test stack: the worker login's pool, PostgREST, and Ollama down. */
export function testDashboardDeps(stack: TestStack, webDist: string, overrides: Partial<DashboardDeps> = {}): DashboardDeps {
  const cluster = inject('cluster');
  const feedUrl = new URL(stack.ownerUrl);
  feedUrl.username = 'authenticator';
  feedUrl.password = cluster.authenticatorPassword;
  return {
    db: new pg.Pool({ connectionString: stack.workerUrl, max: 4 }),
    feedUrl: feedUrl.href,
    jwtSecret: cluster.jwtSecret,
    audience,
    restUrl: stack.restUrl,
    restAdminUrl: stack.restAdminUrl,
    publicRestUrl: undefined,
    publicFunctionsUrl: undefined,
    restPort: Number(new URL(stack.restUrl).port),
    // Nothing listens there: Ollama is down (an optional part; memory search falls back to full text).
    ollamaHost: 'http://127.0.0.1:9',
    gatewayHttpUrl: undefined,
    s3: loadConfig({}).s3,
    webDist,
    log: () => {},
    ...overrides,
  };
}

export async function startDashboardServer(stack: TestStack, overrides: Partial<DashboardDeps> = {}, live: { heartbeatMs?: number } = {}): Promise<DashboardServer> {
  const webDist = fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-web-'));
  const deps = testDashboardDeps(stack, webDist, overrides);
  const hub = new FeedHub(deps.feedUrl, () => {});
  const get = () => deps;
  const server: RunningHttpServer = await startFunctionsServer({
    host: '127.0.0.1',
    port: 0,
    functions: [loginFunction(get), refreshFunction(get), logoutFunction(get), liveFunction(get, () => hub, live), healthFunction(get), metricsFunction(get)],
    log: () => {},
    fallback: webApp(get),
  });
  return {
    url: server.url,
    deps,
    webDist,
    hub,
    async stop() {
      await server.stop(1000);
      await hub.close();
      await deps.db.end();
      fs.rmSync(webDist, { recursive: true, force: true });
    },
  };
}

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** Opens an event stream and collects its events until closed. */
export async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  const done = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: SseEvent = { event: 'message', data: '' };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) (e.event = line.slice(7)), (isEvent = true);
            else if (line.startsWith('id: ')) e.id = line.slice(4);
            else if (line.startsWith('data: ')) (e.data += line.slice(6)), (isEvent = true);
          }
          if (isEvent) events.push(e);
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted
    }
    ended = true;
    waiters.splice(0).forEach((w) => w());
  })();
  return {
    res,
    events,
    comments,
    /** Resolves when `predicate` holds over the events so far, or rejects after `ms`. */
    async until(predicate: (events: SseEvent[]) => boolean, ms = 5000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!predicate(events)) {
        if (ended) throw new Error(`the stream ended; events: ${JSON.stringify(events).slice(0, 500)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; events: ${JSON.stringify(events).slice(0, 500)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => (clearTimeout(t), resolve()));
        });
      }
    },
    async close() {
      controller.abort();
      await done;
    },
  };
}

/** Writes messages the way the collectors do: one transaction, then NOTIFY clawbase_activity. */
export async function writeMessages(workerUrl: string, agentId: string, sessionId: string, rows: Array<Partial<Record<string, unknown>> & { id: string }>): Promise<void> {
  const client = new pg.Client({ connectionString: workerUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`insert into api.sessions (agent_id, id, source, channel) values ($1, $2, 'jsonl', 'webchat') on conflict do nothing`, [agentId, sessionId]);
    await client.query(
      `insert into api.messages (agent_id, session_id, id, role, content, channel, input_tokens, output_tokens, total_tokens, cost_usd, error_message, is_heartbeat, source, created_at)
       select $1, $2, r.id, coalesce(r.role, 'assistant'), r.content, 'webchat', r.input_tokens, r.output_tokens, r.total_tokens, r.cost_usd,
              r.error_message, coalesce(r.is_heartbeat, false), 'jsonl', coalesce(r.created_at, now())
       from json_to_recordset($3::json) as r(id text, role text, content text, input_tokens int, output_tokens int, total_tokens int,
                                             cost_usd numeric, error_message text, is_heartbeat boolean, created_at timestamptz)`,
      [agentId, sessionId, JSON.stringify(rows)],
    );
    await client.query(`select pg_notify('clawbase_activity', $1)`, [JSON.stringify({ source: 'jsonl', agent_id: agentId, messages: rows.length })]);
    await client.query('commit');
  } finally {
    await client.end();
  }
}
