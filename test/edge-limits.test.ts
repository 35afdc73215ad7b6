// Rate and connection limits with the real nginx: a burst beyond the allowance gets 429 (not
// nginx's default 503) with every security header, the vhost recovers once the client slows
// down, writes and logins have their own tighter zones, and too many open connections get 429.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEchoUpstream, type EchoUpstream } from './support/echo-upstream.ts';
import { edgeRequest, missingSecurityHeaders, type EdgeResponse, type Vhost } from './support/edge-client.ts';
import { openDir, startEdge, type Edge } from './support/nginx.ts';

let upstream: EchoUpstream;
let root: string;
let common: Record<string, string>;
const edges: Edge[] = [];

beforeAll(async () => {
  root = openDir(path.join(inject('cluster').tmpRoot, `edge-limits-${process.pid}`));
  const workspace = openDir(path.join(root, 'workspace'));
  fs.mkdirSync(path.join(workspace, 'docs'), { mode: 0o755 });
  fs.writeFileSync(path.join(workspace, 'docs', 'readme.md'), '# readme\n', { mode: 0o644 });
  const dashboard = openDir(path.join(root, 'dashboard'));
  fs.writeFileSync(path.join(dashboard, 'index.html'), '<!doctype html><title>c</title>\n', { mode: 0o644 });
  upstream = await startEchoUpstream('upstream');
  common = {
    CLAWBASE_GATEWAY_UPSTREAM: upstream.address,
    CLAWBASE_N8N_UPSTREAM: upstream.address,
    CLAWBASE_REST_UPSTREAM: upstream.address,
    CLAWBASE_FUNCTIONS_UPSTREAM: upstream.address,
    CLAWBASE_FILES_ROOT: workspace,
    CLAWBASE_DASHBOARD_ROOT: dashboard,
  };
});

afterAll(async () => {
  await Promise.all(edges.map((e) => e.stop()));
  await upstream?.stop();
});

/** A fresh nginx per test: limit zones start empty, so one test's burst never leaks into the next. */
async function freshEdge(limits: Record<string, string>): Promise<Edge> {
  const edge = await startEdge(path.join(root, `edge-${edges.length}`), { ...common, ...limits });
  edges.push(edge);
  return edge;
}
const small = { CLAWBASE_EDGE_RATE: '2r/s', CLAWBASE_EDGE_BURST: '6', CLAWBASE_EDGE_CONN_LIMIT: '3' };
const tightWrites = { CLAWBASE_EDGE_RATE: '1000r/s', CLAWBASE_EDGE_BURST: '1000', CLAWBASE_EDGE_WRITE_RATE: '2r/s', CLAWBASE_EDGE_WRITE_BURST: '2', CLAWBASE_EDGE_LOGIN_RATE: '60r/m', CLAWBASE_EDGE_LOGIN_BURST: '1' };

async function burst(edge: Edge, vhost: Vhost, p: string, n: number, init: Parameters<typeof edgeRequest>[3] = {}): Promise<EdgeResponse[]> {
  const out: EdgeResponse[] = [];
  for (let i = 0; i < n; i++) out.push(await edgeRequest(edge, vhost, p, init));
  return out;
}

/** Polls until the vhost lets a request through again (no timing assertion: only that it does). */
async function recovers(edge: Edge, vhost: Vhost, p: string, init: Parameters<typeof edgeRequest>[3] = {}): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await edgeRequest(edge, vhost, p, init);
    if (res.status !== 429 || Date.now() > deadline) return res.status;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('general zones', () => {
  const paths: [Vhost, string][] = [
    ['conductor', '/'],
    ['files', '/docs/readme.md'],
    ['gateway', '/healthz'],
    ['n8n', '/'],
  ];
  it.each(paths)('%s answers a burst with 429 carrying every security header, then recovers', async (vhost, p) => {
    const general = await freshEdge(small);
    const answers = await burst(general, vhost, p, 20);
    expect(answers[0]!.status).toBe(200);
    const limited = answers.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    for (const r of limited) expect(missingSecurityHeaders(r, vhost)).toEqual([]);
    expect(await recovers(general, vhost, p)).toBe(200);
  });

  it('keeps the vhosts apart: exhausting one leaves another untouched', async () => {
    const general = await freshEdge(small);
    const conductor = await burst(general, 'conductor', '/', 20);
    expect(conductor.some((r) => r.status === 429)).toBe(true);
    expect((await edgeRequest(general, 'gateway', '/healthz')).status).toBe(200);
  });

  it('answers too many open connections from one client with 429', async () => {
    const general = await freshEdge(small);
    const answers = await Promise.all(Array.from({ length: 6 }, () => edgeRequest(general, 'n8n', '/slow')));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    for (const r of answers.filter((a) => a.status === 429)) expect(missingSecurityHeaders(r, 'n8n')).toEqual([]);
  });
});

describe('write and login zones', () => {
  const post = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' };

  it('limits writes to /rest/ and /functions/ tightly while reads pass', async () => {
    const tight = await freshEdge(tightWrites);
    const writes = await burst(tight, 'conductor', '/rest/memory_kv', 10, post);
    expect(writes[0]!.status).toBe(200);
    expect(writes.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    const reads = await burst(tight, 'conductor', '/rest/memory_kv', 10);
    expect(reads.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await recovers(tight, 'conductor', '/functions/v1/anything', post)).toBe(200);
  });

  it.each([
    ['conductor', '/functions/v1/login'],
    ['n8n', '/rest/login'],
  ] as [Vhost, string][])('limits logins on %s (%s) tighter than anything else, then recovers', async (vhost, p) => {
    const tight = await freshEdge(tightWrites);
    const attempts = await burst(tight, vhost, p, 6, post);
    expect(attempts[0]!.status).toBe(200);
    expect(attempts.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(3);
    expect(await recovers(tight, vhost, p, post)).toBe(200);
  });
});
