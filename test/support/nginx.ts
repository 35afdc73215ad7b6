// The real nginx (Debian's nginx-light) on loopback ports, configured from the same templates as
// production (nginx/render.ts) with a self-signed certificate from scripts/make-self-signed-cert.sh.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { stopChild } from '../../lib/stop-child.ts';
import { renderNginxPrefix } from '../../nginx/render.ts';
import { edgeDefaults, type EdgeSettings } from '../../nginx/variables.ts';
import { freePort } from './ports.ts';

export const testDomain = 'example.test';
const repo = path.resolve(import.meta.dirname, '..', '..');

export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx']) if (fs.existsSync(candidate)) return candidate;
  throw new Error('nginx is not installed: run scripts/install-test-deps.sh (it installs Debian\'s nginx-light).');
}

/** A folder every user may pass through (nginx workers run as nobody when the tests run as root). */
export function openDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o711);
  return dir;
}

export interface Certificate {
  cert: string;
  key: string;
  /** The PEM text, to trust it in a client. */
  pem: string;
}

export function makeCertificate(dir: string): Certificate {
  execFileSync('bash', [path.join(repo, 'scripts', 'make-self-signed-cert.sh'), testDomain, dir, '2'], { stdio: 'pipe' });
  const cert = path.join(dir, 'fullchain.pem');
  return { cert, key: path.join(dir, 'privkey.pem'), pem: fs.readFileSync(cert, 'utf8') };
}

export interface Edge {
  prefix: string;
  httpsPort: number;
  httpPort: number;
  settings: EdgeSettings;
  certificate: Certificate;
  logDir: string;
  stop(): Promise<void>;
}

/** The settings a test edge uses unless told otherwise: loopback ports, temp folders, upstreams nobody listens on. */
export async function testSettings(root: string, overrides: Partial<EdgeSettings> = {}): Promise<{ settings: EdgeSettings; certificate: Certificate; httpsPort: number; httpPort: number }> {
  const certificate = makeCertificate(path.join(root, 'tls'));
  const httpsPort = await freePort();
  const httpPort = await freePort();
  const nobody = `127.0.0.1:${await freePort()}`;
  const settings: EdgeSettings = {
    ...edgeDefaults(),
    CLAWBASE_DOMAIN: testDomain,
    CLAWBASE_EDGE_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    CLAWBASE_EDGE_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
    CLAWBASE_TLS_CERT: certificate.cert,
    CLAWBASE_TLS_KEY: certificate.key,
    CLAWBASE_TLS_CHAIN: certificate.cert,
    CLAWBASE_ACME_ROOT: openDir(path.join(root, 'acme')),
    CLAWBASE_EDGE_RESOLVER: '127.0.0.1',
    CLAWBASE_EDGE_LOG_DIR: openDir(path.join(root, 'logs')),
    CLAWBASE_REST_UPSTREAM: nobody,
    CLAWBASE_FUNCTIONS_UPSTREAM: nobody,
    CLAWBASE_GATEWAY_UPSTREAM: nobody,
    CLAWBASE_N8N_UPSTREAM: nobody,
    CLAWBASE_DASHBOARD_ROOT: openDir(path.join(root, 'dashboard')),
    CLAWBASE_FILES_ROOT: openDir(path.join(root, 'workspace')),
    ...overrides,
  };
  return { settings, certificate, httpsPort, httpPort };
}

/** `nginx -t` on a rendered prefix: returns nginx's verdict (it prints to stderr). */
export function nginxTest(prefix: string): { ok: boolean; output: string } {
  const res = spawnSync(nginxBinary(), ['-t', '-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'startup.log')], { encoding: 'utf8' });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

async function waitForTls(port: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: `files.${testDomain}`, rejectUnauthorized: false }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not accept TLS on 127.0.0.1:${port} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Renders the templates into `root/nginx`, checks them with `nginx -t` and runs nginx in the foreground. */
export async function startEdge(root: string, overrides: Partial<EdgeSettings> = {}): Promise<Edge> {
  openDir(root);
  const { settings, certificate, httpsPort, httpPort } = await testSettings(root, overrides);
  const prefix = openDir(path.join(root, 'nginx'));
  renderNginxPrefix(prefix, settings);
  const verdict = nginxTest(prefix);
  if (!verdict.ok) throw new Error(`nginx -t rejected the rendered configuration:\n${verdict.output}`);
  const out = fs.openSync(path.join(prefix, 'nginx.out'), 'a');
  const child = spawn(nginxBinary(), ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'startup.log'), '-g', 'daemon off;'], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await Promise.race([
      waitForTls(httpsPort, 15_000),
      exited.then((code) => {
        throw new Error(`nginx exited with ${code}:\n${fs.readFileSync(path.join(prefix, 'nginx.out'), 'utf8')}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    prefix,
    httpsPort,
    httpPort,
    settings,
    certificate,
    logDir: settings.CLAWBASE_EDGE_LOG_DIR,
    stop: () => stopChild(child, exited, 5000),
  };
}
