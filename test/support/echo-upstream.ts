// A stand-in for the Gateway and n8n upstreams: HTTP requests are answered with what arrived
// (method, URL, headers) as JSON, WebSocket messages are echoed back. It also sends headers the
// edge must replace (X-Frame-Options, X-Powered-By), and /slow holds a request for a second.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface EchoUpstream {
  port: number;
  address: string;
  /** Request headers of the last WebSocket upgrade. */
  lastUpgrade: http.IncomingHttpHeaders | undefined;
  stop(): Promise<void>;
}

export async function startEchoUpstream(name: string): Promise<EchoUpstream> {
  const server = http.createServer((req, res) => {
    const status = req.url?.startsWith('/missing') ? 404 : 200;
    const send = () => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'X-Frame-Options': 'ALLOWALL', 'X-Powered-By': name });
      res.end(JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers }));
    };
    req.resume();
    if (req.url?.startsWith('/slow')) setTimeout(send, 1000);
    else req.on('end', send);
  });
  const wss = new WebSocketServer({ server });
  const state: EchoUpstream = { port: 0, address: '', lastUpgrade: undefined, stop: async () => {} };
  wss.on('connection', (socket, req) => {
    state.lastUpgrade = req.headers;
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `${name} echo: ${data.toString()}`, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.address = `127.0.0.1:${state.port}`;
  state.stop = async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
