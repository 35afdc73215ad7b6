// The functions server over real HTTP: routing under /functions/v1/<name>, JSON errors, body
// limits, handler failures, and a stop that neither drops work in flight nor hangs on streams.
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineFunction, type FunctionDefinition } from '../functions/define.ts';
import { HttpError, jsonResponse } from '../functions/http-errors.ts';
import type { RunningHttpServer } from '../functions/http-server.ts';
import { checkRegistry, functions } from '../functions/registry.ts';
import { startFunctionsServer } from '../functions/server.ts';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
const logs: string[] = [];

// Test-only functions: they exercise what the registry gives a handler.
const echo = defineFunction({
  name: 'echo',
  summary: 'echoes the request',
  methods: ['GET', 'POST'],
  maxBodyBytes: 1024,
  async handle(request, ctx) {
    return jsonResponse(200, { method: request.method, subpath: ctx.subpath, body: await request.text(), header: request.headers.get('x-test'), query: new URL(request.url).searchParams.get('q') });
  },
});
const broken = defineFunction({
  name: 'broken',
  summary: 'always fails',
  methods: ['GET'],
  handle() {
    throw new Error('database password is hunter2');
  },
});
const refusing = defineFunction({
  name: 'refusing',
  summary: 'fails on purpose with an HttpError',
  methods: ['GET'],
  handle() {
    throw new HttpError(409, 'conflict', 'That already exists.', 'Pick another name.');
  },
});
let slowRelease: (() => void) | undefined;
const slow = defineFunction({
  name: 'slow',
  summary: 'answers when released',
  methods: ['GET'],
  async handle() {
    await new Promise<void>((resolve) => (slowRelease = resolve));
    return jsonResponse(200, { done: true });
  },
});
let streamAborted = false;
const stream = defineFunction({
  name: 'stream',
  summary: 'an endless event stream',
  methods: ['GET'],
  handle(_request, ctx) {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: hello\n\n'));
        ctx.signal.addEventListener('abort', () => {
          streamAborted = true;
          controller.close();
        });
      },
    });
    return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
  },
});

let server: RunningHttpServer;
const all: FunctionDefinition[] = [...functions, echo, broken, refusing, slow, stream];

beforeAll(async () => {
  server = await startFunctionsServer({ host: '127.0.0.1', port: 0, functions: all, log: (l) => logs.push(l) });
});
afterAll(async () => {
  await server?.stop();
});

/** A raw request, so the test controls framing (chunked bodies, HEAD). */
function request(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('functions server', () => {
  it('GET /functions/v1/version names this Clawbase and its uptime', async () => {
    const res = await fetch(`${server.url}/functions/v1/version`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as { name: string; version: string; uptimeSeconds: number };
    expect(body).toMatchObject({ name: pkg.name, version: pkg.version });
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('hands a function its method, body, headers, query and the path below its name', async () => {
    const res = await fetch(`${server.url}/functions/v1/echo/a/b?q=1`, { method: 'POST', body: 'hi', headers: { 'x-test': 'yes' } });
    expect(await res.json()).toEqual({ method: 'POST', subpath: '/a/b', body: 'hi', header: 'yes', query: '1' });
    const bare = await fetch(`${server.url}/functions/v1/echo`);
    expect(await bare.json()).toMatchObject({ method: 'GET', subpath: '', body: '' });
  });

  it('answers an unknown function or a path outside /functions/v1 with a JSON 404 that lists what exists', async () => {
    for (const path of ['/functions/v1/nope', '/', '/functions/v2/version', '/functions/v1/']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { code: string; hint: string };
      expect(body.code).toBe('not_found');
      expect(body.hint).toMatch(/version/);
    }
  });

  it('refuses a method the function does not answer with 405 and an Allow header; HEAD works wherever GET does', async () => {
    const res = await fetch(`${server.url}/functions/v1/version`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(((await res.json()) as { code: string }).code).toBe('method_not_allowed');
    const head = await request('HEAD', '/functions/v1/version');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('rejects a body over the function limit with 413, whether declared up front or streamed', async () => {
    const declared = await request('POST', '/functions/v1/echo', Buffer.alloc(2048, 'x'));
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text)).toMatchObject({ code: 'payload_too_large' });
    const chunked = await request('POST', '/functions/v1/echo', Buffer.alloc(4096, 'y'), { 'Transfer-Encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    const fits = await request('POST', '/functions/v1/echo', Buffer.alloc(1024, 'z'));
    expect(fits.status).toBe(200);
  });

  it('turns a crash into a JSON 500 that points at the log, never the error text, and logs the cause', async () => {
    const res = await fetch(`${server.url}/functions/v1/broken`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ code: 'internal_error', hint: expect.stringMatching(/functions\.log/) });
    expect(text).not.toMatch(/hunter2/);
    expect(logs.join('\n')).toMatch(/\[broken\] failed: Error: database password is hunter2/);
  });

  it('passes an HttpError a function throws on as its status and message', async () => {
    const res = await fetch(`${server.url}/functions/v1/refusing`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ code: 'conflict', message: 'That already exists.', hint: 'Pick another name.' });
  });

  it('rejects a registry with two functions of one name, and a name that is not a URL segment', () => {
    expect(() => checkRegistry([echo, echo])).toThrow(/two functions are named "echo"/);
    expect(() => defineFunction({ ...echo, name: 'Bad/Name' })).toThrow(/lower-case letters/);
  });
});

describe('functions server stop', () => {
  it('finishes a request in flight, ends open event streams, and refuses new connections', async () => {
    const own = await startFunctionsServer({ host: '127.0.0.1', port: 0, functions: all, log: () => {} });
    const inFlight = fetch(`${own.url}/functions/v1/slow`);
    const events = await fetch(`${own.url}/functions/v1/stream`);
    const reader = events.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: hello\n\n');
    // Wait until the slow handler is running, then stop with it still pending.
    while (!slowRelease) await new Promise((r) => setTimeout(r, 10));
    const stopped = own.stop(10_000);
    slowRelease();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await stopped;
    expect(streamAborted).toBe(true);
    expect((await reader.read()).done).toBe(true);
    await expect(fetch(`${own.url}/functions/v1/version`)).rejects.toThrow();
  });
});
