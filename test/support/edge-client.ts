// HTTPS requests to one vhost of a test edge: connect to 127.0.0.1, name the vhost in SNI and Host,
// trust the edge's self-signed certificate.
import https from 'node:https';
import type { Edge } from './nginx.ts';
import { testDomain } from './nginx.ts';

export type Vhost = 'conductor' | 'gateway' | 'n8n' | 'files';

export interface EdgeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function edgeRequest(edge: Edge, vhost: Vhost, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<EdgeResponse> {
  const host = `${vhost}.${testDomain}`;
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: edge.httpsPort, path, method: init.method ?? 'GET', servername: host, ca: edge.certificate.pem, headers: { Host: host, ...init.headers }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The headers every vhost must send on every response, errors included. */
export function missingSecurityHeaders(res: EdgeResponse, vhost: Vhost): string[] {
  const want: Record<string, RegExp> = {
    'strict-transport-security': /^max-age=63072000$/,
    'x-content-type-options': /^nosniff$/,
    'referrer-policy': /^no-referrer$/,
    'x-frame-options': vhost === 'conductor' || vhost === 'files' ? /^DENY$/ : /^SAMEORIGIN$/,
    server: /^nginx$/,
    ...(vhost === 'conductor' ? { 'content-security-policy': /^default-src 'self'; script-src 'self'; style-src 'self';/ } : {}),
  };
  return Object.entries(want)
    .filter(([name, pattern]) => typeof res.headers[name] !== 'string' || !pattern.test(res.headers[name] as string))
    .map(([name]) => `${vhost} ${res.status}: ${name} is ${JSON.stringify(res.headers[name])}`);
}
