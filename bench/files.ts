// Workspace file serving: the embedded file server and nginx's files vhost against the physical
// limit of the same machine, a bare node:http server doing fs.readFile per request.
//   node --import tsx bench/files.ts [--quick]
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startFileServer } from '../functions/file-server.ts';
import { openDir, startEdge, testDomain } from '../test/support/nginx.ts';
import { closedLoop, isMain, machine, runStandalone, type BenchOptions, type BenchReport } from './lib.ts';

const fileSize = 16 * 1024;
const concurrency = 16;

function get(agent: http.Agent, url: string, extra: https.RequestOptions = {}): Promise<void> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { agent, ...extra }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => (res.statusCode === 200 && n === fileSize ? resolve() : reject(new Error(`status ${res.statusCode}, ${n} bytes`))));
    });
    req.on('error', reject);
  });
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const seconds = opts.quick ? 2 : 5;
  const root = openDir(fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-bench-files-')));
  const workspace = path.join(root, 'workspace');
  fs.mkdirSync(path.join(workspace, 'docs'), { recursive: true, mode: 0o755 });
  fs.chmodSync(workspace, 0o755);
  const file = path.join(workspace, 'docs', 'bench.md');
  fs.writeFileSync(file, Buffer.alloc(fileSize, 'x'), { mode: 0o644 });

  const raw = http.createServer((_req, res) => fs.readFile(file, (err, data) => (err ? res.writeHead(500).end() : res.writeHead(200, { 'Content-Type': 'text/markdown' }).end(data))));
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const rawUrl = `http://127.0.0.1:${(raw.address() as import('node:net').AddressInfo).port}/docs/bench.md`;
  const embedded = await startFileServer({ root: workspace, host: '127.0.0.1', port: 0, log: () => {} });
  const edge = await startEdge(path.join(root, 'edge'), { CLAWBASE_FILES_ROOT: workspace, CLAWBASE_EDGE_RATE: '1000000r/s', CLAWBASE_EDGE_BURST: '1000000', CLAWBASE_EDGE_CONN_LIMIT: '10000' });
  try {
    const agent = () => new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca: edge.certificate.pem, servername: `files.${testDomain}` });
    opts.log(`raw node:http fs.readFile (${seconds} s)…`);
    const rawAgent = agent();
    const limit = await closedLoop(() => get(rawAgent, rawUrl), concurrency, seconds);
    opts.log(`embedded file server (${seconds} s)…`);
    const embeddedAgent = agent();
    const node = await closedLoop(() => get(embeddedAgent, `${embedded.url}/docs/bench.md`), concurrency, seconds);
    opts.log(`nginx files vhost over TLS (${seconds} s)…`);
    const nginx = await closedLoop(() => get(tlsAgent, `https://127.0.0.1:${edge.httpsPort}/docs/bench.md`, { headers: { Host: `files.${testDomain}` } }), concurrency, seconds);
    const limitFigure = { name: 'bare node:http + fs.readFile', value: Math.round(limit.perSecond) };
    const pct = (r: typeof limit) => ({ p50: r.p50, p99: r.p99, errors: r.errors });
    return {
      bench: 'files',
      setup: { ...machine(), fileBytes: fileSize, concurrency, seconds },
      figures: [
        { name: 'bare node:http + fs.readFile (the limit)', value: Math.round(limit.perSecond), unit: 'req/s', extra: pct(limit) },
        { name: 'embedded file server (policy walk + @fastify/send)', value: Math.round(node.perSecond), unit: 'req/s', limit: limitFigure, ratio: node.perSecond / limit.perSecond, extra: pct(node) },
        { name: 'nginx files vhost, HTTPS keep-alive', value: Math.round(nginx.perSecond), unit: 'req/s', limit: limitFigure, ratio: nginx.perSecond / limit.perSecond, extra: pct(nginx) },
      ],
      notes: ['The embedded server lstat-walks every path component and checks the opened descriptor before sending; nginx adds TLS but runs two workers in C.'],
    };
  } finally {
    await embedded.stop();
    await edge.stop();
    await new Promise<void>((resolve) => raw.close(() => resolve()));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runStandalone(run);
