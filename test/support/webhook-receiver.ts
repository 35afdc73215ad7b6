// A local webhook receiver for the outbox tests: records every POST (headers, raw body) and can
// be switched to fail (HTTP 500) or to be dead (connection destroyed).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { id: number; type: string; subject: string; data: Record<string, unknown> };
}

export interface WebhookReceiver {
  url: string;
  mode: 'ok' | 'fail' | 'dead';
  received: ReceivedHook[];
  /** POSTs seen in any mode (failed ones included). */
  attempts: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const state: WebhookReceiver = {
    url: '',
    mode: 'ok',
    received: [],
    attempts: 0,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      state.attempts++;
      if (state.mode === 'dead') return void req.socket.destroy();
      if (state.mode === 'fail') {
        res.writeHead(500);
        return void res.end('failing on purpose');
      }
      state.received.push({ headers: req.headers, body, json: JSON.parse(body) as ReceivedHook['json'] });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
