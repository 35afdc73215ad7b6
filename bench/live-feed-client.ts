// The dashboard's side of GET /functions/v1/live for the soak: one server-sent-events stream held
// open for the whole run, as a browser's EventSource would hold it. When the stream ends or
// fails (the functions server killed, PostgreSQL gone) it reconnects after the server's `retry:`
// delay with Last-Event-ID set to the last id received, and records every activity event: its
// seq (the event id), the message it carries and when it arrived.
import http from 'node:http';

export interface FeedEvent {
  seq: number;
  agentId: string;
  sessionId: string;
  messageId: string;
  receivedAt: number;
}

export interface LiveFeedClient {
  /** Every activity event received, in arrival order (duplicates included: that is what is checked). */
  readonly events: FeedEvent[];
  /** Streams opened (the first one and each reconnect). */
  readonly connections: number;
  /** Why each earlier stream ended, most recent last. */
  readonly endings: string[];
  readonly lastEventId: string | undefined;
  /** Resolves when the first stream is open (events from then on are delivered). */
  readonly opened: Promise<void>;
  close(): void;
}

export function connectLiveFeed(opts: { baseUrl: string; token: string; onEvent?: (e: FeedEvent) => void; log?: (line: string) => void }): LiveFeedClient {
  const events: FeedEvent[] = [];
  const endings: string[] = [];
  let connections = 0;
  let lastEventId: string | undefined;
  let retryMs = 2000;
  let closed = false;
  let current: http.ClientRequest | undefined;
  let timer: NodeJS.Timeout | undefined;
  let markOpen!: () => void;
  const opened = new Promise<void>((resolve) => (markOpen = resolve));

  const reconnect = (why: string) => {
    if (closed) return;
    endings.push(why);
    opts.log?.(`live feed: stream ended (${why}); reconnecting in ${retryMs} ms with Last-Event-ID ${lastEventId ?? '(none)'}`);
    timer = setTimeout(open, retryMs);
  };

  /** One SSE frame: dispatches an `activity` event; `retry:` sets the reconnect delay. */
  const dispatch = (frame: string) => {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id !== undefined) lastEventId = id;
    if (event !== 'activity' || !data.length) return;
    const row = JSON.parse(data.join('\n')) as { seq: number; agent_id: string; session_id: string; id: string };
    const e: FeedEvent = { seq: Number(row.seq), agentId: row.agent_id, sessionId: row.session_id, messageId: row.id, receivedAt: Date.now() };
    events.push(e);
    opts.onEvent?.(e);
  };

  function open(): void {
    if (closed) return;
    const url = new URL('/functions/v1/live', opts.baseUrl);
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${opts.token}` };
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      reconnect(why);
    };
    const req = http.request(url, { method: 'GET', headers, agent: false });
    current = req;
    req.on('error', (err: Error & { code?: string }) => end(err.code ?? err.message));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(`HTTP ${res.statusCode}`);
        return;
      }
      connections++;
      markOpen();
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk.replace(/\r\n?/g, '\n');
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          dispatch(buffer.slice(0, i));
          buffer = buffer.slice(i + 2);
        }
      });
      res.on('error', (err: Error & { code?: string }) => end(err.code ?? err.message));
      res.on('end', () => end('the server closed the stream'));
      res.on('close', () => end('the connection closed'));
    });
    req.end();
  }

  open();
  return {
    events,
    get connections() {
      return connections;
    },
    endings,
    get lastEventId() {
      return lastEventId;
    },
    opened,
    close() {
      closed = true;
      clearTimeout(timer);
      current?.destroy();
    },
  };
}
