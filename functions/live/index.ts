// GET /functions/v1/live: the activity feed as server-sent events. Auth by Authorization: Bearer
// or ?access_token= (EventSource cannot set headers); resume by Last-Event-ID or ?last_event_id=.
// Each event: `event: activity`, `id: <seq>`, `data: <JSON row of api.activity_feed>`; a comment
// every 15 s keeps proxies from closing the stream. The stream ends when the token expires.
import { defineFunction, type FunctionDefinition } from '../define.ts';
import { dashboardDeps, type DashboardDeps } from '../dashboard/deps.ts';
import { problem, verifyCaller } from '../dashboard/session.ts';
import { Cursor, FeedHub } from './feed.ts';

export const heartbeatMs = 15_000;
const batchRows = 500;

let sharedHub: FeedHub | undefined;

export function liveFunction(deps: () => DashboardDeps = dashboardDeps, hub?: () => FeedHub, opts: { heartbeatMs?: number } = {}): FunctionDefinition {
  const every = opts.heartbeatMs ?? heartbeatMs;
  const getHub = hub ?? (() => (sharedHub ??= new FeedHub(deps().feedUrl, deps().log)));
  return defineFunction({
    name: 'live',
    summary: 'GET: the activity feed as server-sent events (Bearer or ?access_token=; resume with Last-Event-ID or ?last_event_id=)',
    methods: ['GET'],
    async handle(request, ctx) {
      const url = new URL(request.url);
      const header = request.headers.get('authorization');
      const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? url.searchParams.get('access_token');
      const caller = await verifyCaller(deps(), token);
      if (caller instanceof Response) return caller;
      const resumeText = request.headers.get('last-event-id') ?? url.searchParams.get('last_event_id');
      if (resumeText !== null && !/^\d{1,18}$/.test(resumeText.trim())) {
        return problem(400, `Last-Event-ID "${resumeText.slice(0, 40)}" is not an event id`, 'use the id of the last event received (a whole number)');
      }
      const feed = getHub();
      const start = resumeText !== null ? Number(resumeText.trim()) : await feed.head(caller);
      const cursor = new Cursor(start);
      const encoder = new TextEncoder();

      let wake: () => void = () => {};
      let pending = true; // read once at the start: a resumed stream catches up at once
      let open = true;
      let unsubscribe: (() => void) | undefined;
      let beat: NodeJS.Timeout | undefined;
      let expiry: NodeJS.Timeout | undefined;
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const send = (text: string) => open && controller.enqueue(encoder.encode(text));
      const finish = () => {
        if (!open) return;
        open = false;
        unsubscribe?.();
        clearInterval(beat);
        clearTimeout(expiry);
        wake();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      // One reader loop per stream: woken by NOTIFY, reads until nothing new is left.
      const run = async () => {
        send(`retry: 2000\n: stream open at seq ${start}\n\n`);
        beat = setInterval(() => send(`: keep-alive ${new Date().toISOString()}\n\n`), every);
        expiry = setTimeout(() => {
          send(`event: token_expired\ndata: {"message":"the access token expired; reconnect with a fresh one"}\n\n`);
          finish();
        }, Math.max(0, caller.exp * 1000 - Date.now()));
        ctx.signal.addEventListener('abort', finish, { once: true });
        unsubscribe = await feed.subscribe(() => {
          pending = true;
          wake();
        });
        while (open) {
          if (!pending) await new Promise<void>((resolve) => (wake = resolve));
          if (!open) break;
          pending = false;
          try {
            let after = cursor.floor();
            for (;;) {
              const rows = await feed.after(caller, after, batchRows);
              for (const r of rows) {
                if (cursor.take(r.seq)) send(`event: activity\nid: ${r.seq}\ndata: ${r.json}\n\n`);
              }
              if (rows.length < batchRows || !open) break;
              after = rows[rows.length - 1]!.seq;
            }
          } catch (err) {
            ctx.log(`live feed read failed: ${(err as Error).message}`);
            send(`event: error\ndata: ${JSON.stringify({ message: 'reading the feed failed; reconnect' })}\n\n`);
            finish();
          }
        }
      };
      const stream = new ReadableStream<Uint8Array>({
        start: (c) => {
          controller = c;
          void run().catch((err: Error) => {
            ctx.log(`live feed stopped: ${err.message}`);
            finish();
          });
        },
        cancel: () => finish(),
      });
      return new Response(stream, {
        status: 200,
        headers: {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-store',
          'X-Accel-Buffering': 'no',
        },
      });
    },
  });
}

export default liveFunction();
