// The production edge with the real nginx: each vhost routes where it should (PostgREST and the
// functions server behind Conductor, WebSocket through the gateway and n8n vhosts), every answer
// carries the security headers, TLS is 1.2/1.3 only, HTTP goes to HTTPS, logs are JSON.
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningHttpServer } from '../functions/http-server.ts';
import { functions } from '../functions/registry.ts';
import { startFunctionsServer } from '../functions/server.ts';
import { startEchoUpstream, type EchoUpstream } from './support/echo-upstream.ts';
import { edgeRequest, missingSecurityHeaders, type Vhost } from './support/edge-client.ts';
import { openDir, startEdge, testDomain, type Edge } from './support/nginx.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

let stack: TestStack;
let fnServer: RunningHttpServer;
let gateway: EchoUpstream;
let n8n: EchoUpstream;
let edge: Edge;
const indexHtml = '<!doctype html><title>Conductor</title><script type="module" src="/assets/app.js"></script>\n';

beforeAll(async () => {
  const root = openDir(path.join(inject('cluster').tmpRoot, `edge-${process.pid}`));
  const dashboard = openDir(path.join(root, 'dashboard'));
  fs.writeFileSync(path.join(dashboard, 'index.html'), indexHtml, { mode: 0o644 });
  fs.mkdirSync(path.join(dashboard, 'assets'), { mode: 0o755 });
  fs.writeFileSync(path.join(dashboard, 'assets', 'app.js'), 'console.log("conductor")\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dashboard, '.env'), 'SECRET=1\n', { mode: 0o644 });
  const workspace = openDir(path.join(root, 'workspace'));
  fs.mkdirSync(path.join(workspace, 'docs'), { mode: 0o755 });
  fs.writeFileSync(path.join(workspace, 'docs', 'readme.md'), '# readme\n', { mode: 0o644 });
  const acme = openDir(path.join(root, 'acme'));
  fs.mkdirSync(path.join(acme, '.well-known', 'acme-challenge'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(acme, '.well-known', 'acme-challenge', 'token-123'), 'token-123.key\n', { mode: 0o644 });

  [stack, fnServer, gateway, n8n] = await Promise.all([
    startTestStack('edge'),
    startFunctionsServer({ host: '127.0.0.1', port: 0, functions, log: () => {} }),
    startEchoUpstream('gateway'),
    startEchoUpstream('n8n'),
  ]);
  edge = await startEdge(path.join(root, 'edge'), {
    CLAWBASE_REST_UPSTREAM: new URL(stack.restUrl).host,
    CLAWBASE_FUNCTIONS_UPSTREAM: `127.0.0.1:${fnServer.port}`,
    CLAWBASE_GATEWAY_UPSTREAM: gateway.address,
    CLAWBASE_N8N_UPSTREAM: n8n.address,
    CLAWBASE_DASHBOARD_ROOT: dashboard,
    CLAWBASE_FILES_ROOT: workspace,
    CLAWBASE_ACME_ROOT: acme,
    CLAWBASE_EDGE_BODY_LIMIT: '4k',
    CLAWBASE_EDGE_RATE: '1000r/s',
    CLAWBASE_EDGE_BURST: '1000',
    CLAWBASE_EDGE_WRITE_RATE: '1000r/s',
    CLAWBASE_EDGE_WRITE_BURST: '1000',
  });
});

afterAll(async () => {
  await edge?.stop();
  await Promise.all([fnServer?.stop(), gateway?.stop(), n8n?.stop(), stack?.stop()]);
});

describe('Conductor vhost', () => {
  it('serves the dashboard under a strict CSP and sends app routes to index.html', async () => {
    const home = await edgeRequest(edge, 'conductor', '/');
    expect(home.status).toBe(200);
    expect(home.text).toBe(indexHtml);
    expect(home.headers['content-security-policy']).toMatch(/script-src 'self'; style-src 'self';/);
    expect(home.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    const route = await edgeRequest(edge, 'conductor', '/sessions/42');
    expect(route.text).toBe(indexHtml);
    const asset = await edgeRequest(edge, 'conductor', '/assets/app.js');
    expect(asset.headers['content-type']).toBe('text/javascript');
    expect((await edgeRequest(edge, 'conductor', '/.env')).status).toBe(404);
  });

  it('passes /rest/ to PostgREST: an agent writes and reads its own memory through nginx', async () => {
    const token = await stack.token('agent', 'edge-agent');
    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const write = await edgeRequest(edge, 'conductor', '/rest/memory_kv', { method: 'POST', headers: { ...auth, Prefer: 'return=representation' }, body: JSON.stringify({ key: 'via-edge', value: { ok: true } }) });
    expect(write.status).toBe(201);
    expect(JSON.parse(write.text)).toMatchObject([{ agent_id: 'edge-agent', key: 'via-edge' }]);
    const read = await edgeRequest(edge, 'conductor', '/rest/memory_kv?key=eq.via-edge&select=key,value', { headers: auth });
    expect(JSON.parse(read.text)).toEqual([{ key: 'via-edge', value: { ok: true } }]);
    const { rows } = await stack.sql.query(`select agent_id from api.memory_kv where key = 'via-edge'`);
    expect(rows).toEqual([{ agent_id: 'edge-agent' }]);
    const anon = await edgeRequest(edge, 'conductor', '/rest/memory_kv');
    expect(anon.status).toBe(401);
    expect(missingSecurityHeaders(anon, 'conductor')).toEqual([]);
  });

  it('passes /functions/ to the functions server', async () => {
    const version = await edgeRequest(edge, 'conductor', '/functions/v1/version');
    expect(version.status).toBe(200);
    expect(JSON.parse(version.text)).toMatchObject({ name: 'clawbase' });
    const missing = await edgeRequest(edge, 'conductor', '/functions/v1/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toMatchObject({ code: 'not_found' });
  });

  it('refuses a body over the limit with 413, headers included, before it reaches PostgREST', async () => {
    const res = await edgeRequest(edge, 'conductor', '/rest/memory_kv', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: Buffer.alloc(8 * 1024, 'x') });
    expect(res.status).toBe(413);
    expect(missingSecurityHeaders(res, 'conductor')).toEqual([]);
  });
});

describe('security headers', () => {
  const cases: [Vhost, string, number][] = [
    ['conductor', '/', 200],
    ['conductor', '/rest/no_such_table', 404],
    ['conductor', '/.git/config', 404],
    ['files', '/docs/readme.md', 200],
    ['files', '/docs/missing.md', 404],
    ['gateway', '/healthz', 200],
    ['gateway', '/missing', 404],
    ['n8n', '/', 200],
    ['n8n', '/missing', 404],
  ];
  it.each(cases)('%s %s (%i) carries every security header once', async (vhost, p, status) => {
    const res = await edgeRequest(edge, vhost, p);
    expect(res.status).toBe(status);
    expect(missingSecurityHeaders(res, vhost)).toEqual([]);
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('gateway and n8n vhosts', () => {
  function openSocket(vhost: Vhost, p: string, headers: Record<string, string> = {}): Promise<WebSocket> {
    const host = `${vhost}.${testDomain}`;
    // ws hands these options on to tls.connect: SNI names the vhost, the CA trusts the test cert.
    const options: WebSocket.ClientOptions & tls.ConnectionOptions = { servername: host, ca: edge.certificate.pem, headers: { Host: host, ...headers } };
    const ws = new WebSocket(`wss://127.0.0.1:${edge.httpsPort}${p}`, options);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }
  const roundTrip = (ws: WebSocket, message: string) =>
    new Promise<string>((resolve) => {
      ws.once('message', (data) => resolve(data.toString()));
      ws.send(message);
    });

  it('upgrades the gateway to WebSocket and relays frames both ways, with trustworthy forwarding headers', async () => {
    const ws = await openSocket('gateway', '/', { 'X-Forwarded-For': '6.6.6.6' });
    expect(await roundTrip(ws, '{"type":"req","id":"1","method":"health"}')).toBe('gateway echo: {"type":"req","id":"1","method":"health"}');
    expect(await roundTrip(ws, 'second frame')).toBe('gateway echo: second frame');
    ws.close();
    expect(gateway.lastUpgrade).toMatchObject({ 'x-forwarded-proto': 'https', 'x-real-ip': '127.0.0.1', 'x-forwarded-for': '127.0.0.1', host: `gateway.${testDomain}` });
  });

  it('upgrades n8n\'s push channel to WebSocket', async () => {
    const ws = await openSocket('n8n', '/rest/push?pushRef=abc');
    expect(await roundTrip(ws, 'ping')).toBe('n8n echo: ping');
    ws.close();
    expect(n8n.lastUpgrade?.upgrade).toBe('websocket');
  });

  it('proxies plain HTTP to the gateway with the client address it can trust', async () => {
    const res = await edgeRequest(edge, 'gateway', '/readyz?x=1', { headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Real-IP': '6.6.6.6' } });
    const seen = JSON.parse(res.text) as { upstream: string; url: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ upstream: 'gateway', url: '/readyz?x=1' });
    expect(seen.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', 'x-forwarded-proto': 'https' });
  });
});

describe('HTTP and TLS', () => {
  function plainHttp(host: string, p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string } | 'closed'> {
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: edge.httpPort, path: p, headers: { Host: host }, agent: false }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      });
      req.on('error', () => resolve('closed'));
      req.end();
    });
  }

  it('redirects HTTP to HTTPS, answers ACME challenges on HTTP, and says nothing to unknown hosts', async () => {
    const redirect = await plainHttp(`conductor.${testDomain}`, '/sessions?x=1');
    expect(redirect).toMatchObject({ status: 301, headers: { location: `https://conductor.${testDomain}/sessions?x=1` } });
    const challenge = await plainHttp(`files.${testDomain}`, '/.well-known/acme-challenge/token-123');
    expect(challenge).toMatchObject({ status: 200, text: 'token-123.key\n' });
    expect(await plainHttp('evil.example', '/')).toBe('closed');
  });

  function handshake(opts: tls.ConnectionOptions & { port: number }): Promise<{ protocol: string | null; cipher: string } | Error> {
    return new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', servername: `conductor.${testDomain}`, rejectUnauthorized: false, ...opts }, () => {
        const result = { protocol: s.getProtocol(), cipher: s.getCipher().name };
        s.end();
        resolve(result);
      });
      s.on('error', (err) => resolve(err));
    });
  }

  it('speaks TLS 1.2 and 1.3 with forward-secret AEAD ciphers only', async () => {
    expect(await handshake({ port: edge.httpsPort, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).toMatchObject({ protocol: 'TLSv1.3' });
    const v12 = await handshake({ port: edge.httpsPort, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    expect(v12).toMatchObject({ protocol: 'TLSv1.2', cipher: expect.stringMatching(/^ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/) });
    const weak = await handshake({ port: edge.httpsPort, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:AES128-SHA:AES256-SHA256' });
    expect(weak).toBeInstanceOf(Error);
  });

  it('refuses TLS 1.0 and 1.1 (a client that can speak them is proven against a server that allows them)', async () => {
    const legacy = { ciphers: 'DEFAULT:@SECLEVEL=0' };
    // Control: the same client completes a TLS 1.0/1.1 handshake where the server allows it.
    const control = tls.createServer({ cert: fs.readFileSync(edge.settings.CLAWBASE_TLS_CERT), key: fs.readFileSync(edge.settings.CLAWBASE_TLS_KEY), minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }, (s) => s.end());
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    const controlPort = (control.address() as import('node:net').AddressInfo).port;
    try {
      for (const version of ['TLSv1', 'TLSv1.1'] as const) {
        expect(await handshake({ port: controlPort, minVersion: version, maxVersion: version, ...legacy }), `control ${version}`).toMatchObject({ protocol: version });
        expect(await handshake({ port: edge.httpsPort, minVersion: version, maxVersion: version, ...legacy }), `nginx ${version}`).toBeInstanceOf(Error);
      }
    } finally {
      control.close();
    }
  });

  it('refuses the handshake for a name it does not serve', async () => {
    expect(await handshake({ port: edge.httpsPort, servername: 'other.example' })).toBeInstanceOf(Error);
    expect(await handshake({ port: edge.httpsPort, servername: `files.${testDomain}` })).toMatchObject({ protocol: 'TLSv1.3' });
  });
});

describe('logs', () => {
  it('writes one JSON object per request, and the 4xx/5xx ones to the errors log too', async () => {
    await edgeRequest(edge, 'files', '/docs/readme.md?log-probe=ok');
    await edgeRequest(edge, 'files', '/docs/log-probe-missing.md');
    // nginx writes the access log after the response: give it a moment.
    const deadline = Date.now() + 5000;
    const read = (f: string) => fs.readFileSync(path.join(edge.logDir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    while (!read('errors.json.log').some((e) => e.uri === '/docs/log-probe-missing.md') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const access = read('access.json.log');
    expect(access.find((e) => e.uri === '/docs/readme.md?log-probe=ok')).toMatchObject({ status: 200, method: 'GET', host: `files.${testDomain}`, tls: 'TLSv1.3' });
    const errors = read('errors.json.log');
    expect(errors.find((e) => e.uri === '/docs/log-probe-missing.md')).toMatchObject({ status: 404 });
    expect(errors.every((e) => (e.status as number) >= 400)).toBe(true);
  });
});
