// The functions server: plain node:http mounting each registered function at /functions/v1/<name>.
// Handlers are web-standard (Request in, Response out); this file turns node's request into a
// Request with a bounded body, and the Response back into bytes, with JSON errors throughout.
import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { FunctionDefinition } from './define.ts';
import { errorResponse, HttpError } from './http-errors.ts';
import { listen, type RunningHttpServer } from './http-server.ts';
import { checkRegistry } from './registry.ts';

export const functionsPrefix = '/functions/v1/';
export const defaultMaxBodyBytes = 1024 * 1024;

export interface FunctionsServerOptions {
  host: string;
  port: number;
  functions: readonly FunctionDefinition[];
  log: (line: string) => void;
  /** Answers GET/HEAD requests outside /functions/ (the dashboard and its /config.json); 404 without it. */
  fallback?: (request: Request) => Response | Promise<Response>;
}

/** Hop-by-hop headers describe node's connection, not the request a handler sees. */
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (limit: number) =>
  new HttpError(413, 'payload_too_large', `The request body is larger than this function accepts (${limit} bytes).`, 'Send less data, or split it over several requests.', { Connection: 'close' });

function toRequest(req: http.IncomingMessage, url: URL, body: Buffer | undefined, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || hopByHop.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(url, { method: req.method, headers, body: body?.length ? new Uint8Array(body) : undefined, signal });
}

async function writeResponse(res: http.ServerResponse, response: Response, head: boolean): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
  headers['x-content-type-options'] = 'nosniff';
  res.writeHead(response.status, headers);
  if (head || !response.body) {
    await response.body?.cancel();
    res.end();
    return;
  }
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), res);
}

/** Loopback and private networks: where a proxy in front of us (nginx) connects from. */
const trustedProxy = (address: string) =>
  /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|::ffff:127\.|::ffff:10\.|::ffff:192\.168\.|f[cd][0-9a-f]{2}:)/i.test(address);

export function clientAddress(req: http.IncomingMessage): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  const real = req.headers['x-real-ip'];
  return trustedProxy(peer) && typeof real === 'string' && /^[0-9a-f.:]{2,45}$/i.test(real.trim()) ? real.trim() : peer;
}

export function createFunctionsHandler(opts: Pick<FunctionsServerOptions, 'functions' | 'log' | 'fallback'>, stopping: AbortSignal) {
  const byName = checkRegistry(opts.functions);
  const known = [...byName.keys()].join(', ') || 'none';

  const route = async (req: http.IncomingMessage, url: URL, signal: AbortSignal): Promise<Response> => {
    if (!url.pathname.startsWith(functionsPrefix)) {
      if (opts.fallback && (req.method === 'GET' || req.method === 'HEAD')) return opts.fallback(toRequest(req, url, undefined, signal));
      throw new HttpError(404, 'not_found', `Nothing is served at ${url.pathname}.`, `Functions live under ${functionsPrefix}<name>; known: ${known}.`);
    }
    const rest = url.pathname.slice(functionsPrefix.length);
    const slash = rest.indexOf('/');
    const name = slash === -1 ? rest : rest.slice(0, slash);
    const fn = byName.get(name);
    if (!fn) throw new HttpError(404, 'not_found', `There is no function "${name}".`, `Known functions: ${known}.`);
    const allowed: string[] = [...fn.methods, ...(fn.methods.includes('GET') ? ['HEAD'] : [])];
    const method = req.method ?? 'GET';
    if (!allowed.includes(method)) {
      throw new HttpError(405, 'method_not_allowed', `The function "${name}" does not answer ${method}.`, `Use ${allowed.join(' or ')}.`, { Allow: allowed.join(', ') });
    }
    const hasBody = !['GET', 'HEAD'].includes(method);
    const body = hasBody ? await readBody(req, fn.maxBodyBytes ?? defaultMaxBodyBytes) : undefined;
    const request = toRequest(req, url, body, signal);
    const log = (line: string) => opts.log(`[${name}] ${line}`);
    try {
      return await fn.handle(request, { subpath: slash === -1 ? '' : rest.slice(slash), signal, clientAddress: clientAddress(req), log });
    } catch (err) {
      if (err instanceof HttpError) throw err;
      log(`failed: ${(err as Error).stack ?? String(err)}`);
      throw new HttpError(500, 'internal_error', `The function "${name}" failed.`, 'The functions log (CLAWBASE_HOME/logs/functions.log) has the cause.', {}, { cause: err });
    }
  };

  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    // One signal per request: the client went away, or the server is stopping.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, stopping]);
    let response: Response;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://functions.invalid');
    } catch {
      url = new URL('http://functions.invalid/');
    }
    try {
      response = await route(req, url, signal);
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(400, 'bad_request', `The request could not be read: ${(err as Error).message}.`);
      response = errorResponse(e);
    }
    try {
      await writeResponse(res, response, req.method === 'HEAD');
    } catch (err) {
      // The client left mid-stream, or the body stream failed: nothing more can be sent.
      if (!signal.aborted) opts.log(`response to ${req.method} ${url.pathname} broke off: ${(err as Error).message}`);
      res.destroy();
    }
    if (response.status >= 400) {
      opts.log(`${req.method} ${url.pathname} -> ${response.status} (${Math.round(performance.now() - started)} ms)`);
    }
  };
}

export async function startFunctionsServer(opts: FunctionsServerOptions): Promise<RunningHttpServer> {
  const stopping = new AbortController();
  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 15_000 }, createFunctionsHandler(opts, stopping.signal));
  const running = await listen(server, opts.host, opts.port, 'functions server');
  return {
    ...running,
    async stop(graceMs) {
      // Long responses (event streams) end first, so the server can close without waiting for them.
      stopping.abort();
      await running.stop(graceMs);
    },
  };
}
