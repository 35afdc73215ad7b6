// One table of 1,000+ request targets against nginx's files vhost and the embedded file server:
// every public file is served under every spelling that means it, nothing private is ever served
// under any spelling, and the two servers give the same answer to every case.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFileServer } from '../functions/file-server.ts';
import type { RunningHttpServer } from '../functions/http-server.ts';
import { fileCases, makeWorkspace, secretMarker, type FileCase } from './support/file-cases.ts';
import { openDir, startEdge, testDomain, type Edge } from './support/nginx.ts';
import { inParallel, rawRequest, type RawResponse, type RawTarget } from './support/raw-http.ts';

const asRoot = process.getuid?.() === 0;
let edge: Edge;
let embedded: RunningHttpServer;
let cases: FileCase[];
const results: { c: FileCase; nginx: RawResponse; node: RawResponse }[] = [];
const embeddedLog: string[] = [];

beforeAll(async () => {
  const root = openDir(path.join(inject('cluster').tmpRoot, `files-${process.pid}`));
  const ws = makeWorkspace(path.join(root, 'workspace'));
  cases = fileCases(ws);
  edge = await startEdge(path.join(root, 'edge'), { CLAWBASE_FILES_ROOT: ws.root, CLAWBASE_EDGE_RATE: '100000r/s', CLAWBASE_EDGE_BURST: '100000', CLAWBASE_EDGE_CONN_LIMIT: '1000' });
  embedded = await startFileServer({ root: ws.root, host: '127.0.0.1', port: 0, log: (l) => embeddedLog.push(l) });
  const nginxTarget: RawTarget = { port: edge.httpsPort, host: `files.${testDomain}`, tls: { servername: `files.${testDomain}`, ca: edge.certificate.pem } };
  const nodeTarget: RawTarget = { port: embedded.port, host: '127.0.0.1' };
  const out = await inParallel(cases, 16, async (c) => ({
    c,
    nginx: await rawRequest(nginxTarget, c.method, c.target),
    node: await rawRequest(nodeTarget, c.method, c.target),
  }));
  results.push(...out);
}, 300_000);

afterAll(async () => {
  await embedded?.stop();
  await edge?.stop();
});

const show = (c: FileCase) => `${c.name} [${JSON.stringify(c.target.toString('latin1').slice(0, 100))}]`;

describe('the file-server case table', () => {
  it('has at least 1,000 cases covering every kind of hostile path', () => {
    expect(cases.length).toBeGreaterThanOrEqual(1000);
    const names = cases.map((c) => c.name).join('\n');
    for (const kind of ['double-encoded', 'encoded NUL', 'raw NUL', 'above the root', 'a dotfile', 'mode 0600', 'a symlink to /etc/passwd', 'outside the public folders', 'directory /docs/', '12,000-byte', 'raw UTF-8', '%C3%A9t%C3%A9']) {
      expect(names, kind).toContain(kind);
    }
  });

  it('never serves a private byte, by any spelling, from either server', () => {
    const leaks = results.flatMap(({ c, nginx, node }) =>
      [
        ['nginx', nginx],
        ['embedded', node],
      ].flatMap(([who, r]) => {
        const body = (r as RawResponse).body.toString('latin1');
        return body.includes(secretMarker) || body.includes('root:x:0:0') ? [`${who} leaked on ${show(c)}`] : [];
      }),
    );
    expect(leaks).toEqual([]);
  });

  it('the embedded server answers each case as the table says', () => {
    const wrong = results.filter(({ c, node }) => node.status !== (c.embeddedStatus ?? c.status)).map(({ c, node }) => `${node.status} instead of ${c.embeddedStatus ?? c.status}: ${show(c)}`);
    expect(wrong).toEqual([]);
  });

  it('nginx answers each case as the table says', () => {
    const wrong = results
      .filter(({ c }) => asRoot || !c.needsOtherUser)
      .filter(({ c, nginx }) => nginx.status !== c.status)
      .map(({ c, nginx }) => `${nginx.status} instead of ${c.status}: ${show(c)}`);
    expect(wrong).toEqual([]);
  });

  it('both serve public files whole, with the same Content-Type, and HEAD without a body', () => {
    const wrong: string[] = [];
    for (const { c, nginx, node } of results) {
      if (c.status !== 200 || !c.file) continue;
      for (const [who, r] of [['nginx', nginx], ['embedded', node]] as const) {
        if (who === 'embedded' && c.embeddedStatus) continue;
        if (r.headers['content-type'] !== c.file.contentType) wrong.push(`${who} Content-Type ${r.headers['content-type']}: ${show(c)}`);
        const expected = c.method === 'HEAD' ? Buffer.alloc(0) : c.file.content;
        if (!r.body.equals(expected)) wrong.push(`${who} body differs: ${show(c)}`);
        if (Number(r.headers['content-length']) !== c.file.content.length) wrong.push(`${who} Content-Length ${r.headers['content-length']}: ${show(c)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('both send nosniff, frame denial, no-referrer and, on HTML/SVG/XML, a sandboxing CSP, on every answer', () => {
    const wrong: string[] = [];
    for (const { c, nginx, node } of results) {
      for (const [who, r] of [['nginx', nginx], ['embedded', node]] as const) {
        if (r.headers['x-content-type-options'] !== 'nosniff') wrong.push(`${who} no nosniff: ${show(c)}`);
        if (r.headers['x-frame-options'] !== 'DENY') wrong.push(`${who} no X-Frame-Options: ${show(c)}`);
        if (r.headers['referrer-policy'] !== 'no-referrer') wrong.push(`${who} no Referrer-Policy: ${show(c)}`);
        const type = r.headers['content-type'] ?? '';
        if (/^(text\/html|image\/svg\+xml|text\/xml)/.test(type) && !/^sandbox/.test(r.headers['content-security-policy'] ?? '')) wrong.push(`${who} ${type} without sandbox CSP: ${show(c)}`);
        if (r.status === 405 && r.headers.allow !== 'GET, HEAD') wrong.push(`${who} 405 without Allow: ${show(c)}`);
      }
      if (nginx.headers['strict-transport-security'] !== 'max-age=63072000') wrong.push(`nginx without HSTS: ${show(c)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('the two servers agree on status, Content-Type, CSP and Allow for every case but the documented one', () => {
    expect(results.filter(({ c }) => c.embeddedStatus).length).toBeLessThanOrEqual(4);
    const differ = results
      .filter(({ c }) => (asRoot || !c.needsOtherUser) && !c.embeddedStatus)
      .flatMap(({ c, nginx, node }) =>
        (['status', 'content-type', 'content-security-policy', 'allow'] as const)
          .filter((k) => (k === 'status' ? nginx.status !== node.status : nginx.headers[k] !== node.headers[k]))
          .filter((k) => k !== 'content-type' || nginx.status === 200)
          .map((k) => `${k}: nginx ${k === 'status' ? nginx.status : nginx.headers[k]} / embedded ${k === 'status' ? node.status : node.headers[k]}: ${show(c)}`),
      );
    expect(differ).toEqual([]);
  });

  it('logs bad requests with their reason and keeps serving', async () => {
    expect(embeddedLog.some((l) => /-> 400: the path climbs above the root/.test(l))).toBe(true);
    expect(embeddedLog.some((l) => /-> 405: read-only/.test(l))).toBe(true);
    const after = await rawRequest({ port: embedded.port, host: '127.0.0.1' }, 'GET', '/docs/readme.md');
    expect(after.status).toBe(200);
  });
});

describe('file serving details both servers share', () => {
  const targets = (): [string, RawTarget][] => [
    ['nginx', { port: edge.httpsPort, host: `files.${testDomain}`, tls: { servername: `files.${testDomain}`, ca: edge.certificate.pem } }],
    ['embedded', { port: embedded.port, host: '127.0.0.1' }],
  ];

  it('answer a byte range with 206 and just those bytes (video seeking)', async () => {
    for (const [who, t] of targets()) {
      const r = await rawRequest(t, 'GET', '/video/clip.mp4', { Range: 'bytes=100-199' });
      expect(r.status, who).toBe(206);
      expect(r.headers['content-range'], who).toBe('bytes 100-199/4096');
      expect(r.body.equals(Buffer.alloc(100, 7)), who).toBe(true);
    }
  });

  it('answer a revalidation with 304 and no body', async () => {
    for (const [who, t] of targets()) {
      const first = await rawRequest(t, 'GET', '/docs/readme.md');
      const again = await rawRequest(t, 'GET', '/docs/readme.md', { 'If-None-Match': first.headers.etag! });
      expect(again.status, who).toBe(304);
      expect(again.body.length, who).toBe(0);
    }
  });

  it('serve a file the agent writes after start-up, and stop serving it once it is made private', async () => {
    const file = path.join(edge.settings.CLAWBASE_FILES_ROOT, 'docs', 'late.md');
    fs.writeFileSync(file, 'late\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    for (const [who, t] of targets()) expect((await rawRequest(t, 'GET', '/docs/late.md')).status, who).toBe(200);
    fs.chmodSync(file, 0o600);
    for (const [who, t] of targets()) {
      if (who === 'nginx' && !asRoot) continue;
      expect((await rawRequest(t, 'GET', '/docs/late.md')).status, who).toBe(404);
    }
  });
});
