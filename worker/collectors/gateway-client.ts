// A small client for the OpenClaw Gateway's WebSocket protocol v4 (see shared/openclaw/FORMAT.md):
// the server opens with a connect.challenge event, the client answers with a connect request,
// the server replies hello-ok; then requests and responses pair by id and events stream in.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export const protocolVersion = 4;

export interface GatewayEvent {
  event: string;
  payload: Record<string, unknown>;
  seq?: number;
}

export interface Hello {
  serverVersion: string;
  methods: string[];
  events: string[];
  /** Tick interval the server announced, in milliseconds (30 s when it says nothing). */
  tickIntervalMs: number;
}

export interface GatewayConnection {
  hello: Hello;
  request<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  close(): void;
  /** Resolves when the socket closes, with the code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(message: string, readonly code?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface ConnectOptions {
  url: string;
  token: string;
  scopes?: string[];
  onEvent(e: GatewayEvent): void;
  /** Every frame in and out, for tests and debugging. */
  onFrame?(dir: 'in' | 'out', frame: unknown): void;
  timeoutMs?: number;
  clientVersion?: string;
}

type Pending = { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout };

export function connectGateway(opts: ConnectOptions): Promise<GatewayConnection> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const ws = new WebSocket(opts.url, { handshakeTimeout: timeoutMs, maxPayload: 256 << 20 });
  const pending = new Map<string, Pending>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new GatewayError(`Gateway connection closed (${code}${reason.length ? `: ${reason}` : ''}) before the answer came`));
      }
      pending.clear();
      resolve({ code, reason: reason.toString() });
    }),
  );
  const send = (frame: Record<string, unknown>) => {
    opts.onFrame?.('out', frame);
    ws.send(JSON.stringify(frame));
  };
  const request = <T>(method: string, params: Record<string, unknown> = {}, ms = timeoutMs): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (ws.readyState !== WebSocket.OPEN) return reject(new GatewayError(`Gateway is not connected (cannot call ${method})`));
      const id = randomUUID();
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new GatewayError(`Gateway did not answer ${method} within ${ms} ms`));
      }, ms);
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      send({ type: 'req', id, method, params });
    });

  return new Promise<GatewayConnection>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    const timer = setTimeout(() => fail(new GatewayError(`no hello from the Gateway at ${opts.url} within ${timeoutMs} ms`)), timeoutMs);
    ws.on('error', (err) => fail(new GatewayError(`cannot reach the Gateway at ${opts.url}: ${err.message}. Is it running (openclaw gateway run)?`, undefined, { cause: err })));
    void closed.then(({ code, reason }) =>
      fail(new GatewayError(code === 1002 ? `the Gateway at ${opts.url} refused protocol ${protocolVersion} (close 1002: ${reason})` : `the Gateway closed the connection during the handshake (${code} ${reason})`)),
    );
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        return;
      }
      opts.onFrame?.('in', frame);
      if (frame.type === 'res' && typeof frame.id === 'string') {
        const p = pending.get(frame.id);
        if (!p) return;
        pending.delete(frame.id);
        clearTimeout(p.timer);
        if (frame.ok === true) p.resolve(frame.payload ?? {});
        else {
          const e = (frame.error ?? {}) as { message?: string; code?: string };
          p.reject(new GatewayError(`Gateway refused: ${e.message ?? JSON.stringify(frame.error)}`, e.code));
        }
        return;
      }
      if (frame.type !== 'event' || typeof frame.event !== 'string') return;
      const payload = (typeof frame.payload === 'object' && frame.payload !== null ? frame.payload : {}) as Record<string, unknown>;
      if (frame.event === 'connect.challenge' && !settled) {
        request<Record<string, unknown>>('connect', {
          minProtocol: protocolVersion,
          maxProtocol: protocolVersion,
          client: { id: 'gateway-client', version: opts.clientVersion ?? '0.1.0', platform: process.platform, mode: 'backend' },
          role: 'operator',
          scopes: opts.scopes ?? ['operator.read'],
          caps: [],
          auth: { token: opts.token },
          userAgent: 'clawbase-collector',
        })
          .then((hello) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const features = (hello.features ?? {}) as { methods?: string[]; events?: string[] };
            const policy = (hello.policy ?? {}) as { tickIntervalMs?: number };
            const server = (hello.server ?? {}) as { version?: string };
            resolve({
              hello: {
                serverVersion: server.version ?? 'unknown',
                methods: features.methods ?? [],
                events: features.events ?? [],
                tickIntervalMs: typeof policy.tickIntervalMs === 'number' ? policy.tickIntervalMs : 30_000,
              },
              request,
              close: () => ws.close(1000, 'clawbase collector stopping'),
              closed,
            });
          })
          .catch((err: Error) => fail(new GatewayError(`the Gateway refused the connection: ${err.message} (check OPENCLAW_GATEWAY_TOKEN)`, undefined, { cause: err })));
        return;
      }
      opts.onEvent({ event: frame.event, payload, seq: typeof frame.seq === 'number' ? frame.seq : undefined });
    });
  });
}
