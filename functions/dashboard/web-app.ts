// The Conductor dashboard as the functions server serves it: GET /config.json tells the browser
// where PostgREST and the functions are; every other path outside /functions/ is a file of the
// built app (web/dist, `npm run build:web`) or, for an app route, its index.html.
import fs from 'node:fs';
import path from 'node:path';
import { jsonResponse } from '../http-errors.ts';
import { loadContentTypes, type ContentTypes } from '../mime-types.ts';
import type { DashboardDeps } from './deps.ts';

/** Vite's hashed asset names (index-BXk3f9aQ.js): safe to cache for a year. */
const hashedAsset = /[-.][A-Za-z0-9_-]{8,}\.(js|mjs|css|woff2?|png|svg|jpg|webp|map)$/;

let types: ContentTypes | undefined;

const securityHeaders = (d: DashboardDeps, request: Request): Record<string, string> => {
  const { restUrl, functionsUrl } = browserUrls(d, request);
  const connect = [...new Set(["'self'", new URL(restUrl).origin, new URL(functionsUrl).origin])].join(' ');
  return {
    'Content-Security-Policy': `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; connect-src ${connect}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
  };
};

/** What the browser uses: the configured public URLs, else derived from how this request arrived. */
export function browserUrls(d: DashboardDeps, request: Request): { restUrl: string; functionsUrl: string } {
  const url = new URL(request.url);
  const forwardedHost = request.headers.get('x-forwarded-host');
  const proto = request.headers.get('x-forwarded-proto') === 'https' ? 'https' : 'http';
  const host = forwardedHost ?? request.headers.get('host') ?? url.host;
  const origin = `${forwardedHost ? proto : 'http'}://${host}`;
  // Behind nginx (X-Forwarded-Host) PostgREST is /rest/ on the same origin; directly, it is its own port on this host.
  const hostname = new URL(`http://${host}`).hostname;
  const derivedRest = forwardedHost ? `${origin}/rest` : `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${d.restPort}`;
  return { restUrl: d.publicRestUrl ?? derivedRest, functionsUrl: d.publicFunctionsUrl ?? origin };
}

function notBuilt(dist: string): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>Conductor is not built</title>
<h1>The Conductor dashboard is not built yet</h1>
<p>Nothing is in <code>${dist.replace(/[<>&]/g, '')}</code>. Build it with <code>npm run build:web</code>, then reload this page.</p>
<p>The API works meanwhile: <a href="/functions/v1/health">/functions/v1/health</a>.</p>\n`;
  return new Response(body, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '30' } });
}

/** Resolves a URL path inside dist, or undefined when it would leave it or names a dotfile. */
function inside(dist: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.split('/').some((s) => s.startsWith('.'))) return undefined;
  const full = path.resolve(dist, '.' + path.posix.normalize('/' + decoded));
  return full === dist || full.startsWith(dist + path.sep) ? full : undefined;
}

export function webApp(deps: () => DashboardDeps): (request: Request) => Promise<Response> {
  return async (request) => {
    const d = deps();
    const url = new URL(request.url);
    if (url.pathname === '/config.json') return jsonResponse(200, browserUrls(d, request));
    const dist = path.resolve(d.webDist);
    const index = path.join(dist, 'index.html');
    if (!fs.existsSync(index)) return notBuilt(dist);
    types ??= loadContentTypes();
    let file = inside(dist, url.pathname === '/' ? '/index.html' : url.pathname);
    let stat = file ? fs.statSync(file, { throwIfNoEntry: false }) : undefined;
    if (!file || !stat?.isFile()) {
      // An app route (no extension) gets the app; a missing file is a 404.
      if (path.posix.extname(url.pathname) && !url.pathname.endsWith('.html')) {
        return jsonResponse(404, { message: `no file ${url.pathname} in the dashboard build` });
      }
      file = index;
      stat = fs.statSync(index);
    }
    const isIndex = file === index;
    const headers: Record<string, string> = {
      'Content-Type': types.forFile(path.basename(file)),
      'Content-Length': String(stat.size),
      'Cache-Control': isIndex ? 'no-cache' : hashedAsset.test(file) ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
      ...securityHeaders(d, request),
    };
    const body = fs.readFileSync(file);
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
  };
}
