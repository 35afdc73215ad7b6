// The embedded read-only file server (default 127.0.0.1:8081): the workspace's public folders with
// the rules of functions/file-policy.ts, the path handling of nginx (functions/request-path.ts),
// nginx's MIME table, and the files vhost's headers. @fastify/send does the HTTP file work
// (ranges, conditional requests, HEAD, streaming).
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import send from '@fastify/send';
import { checkFile, checkShape } from './file-policy.ts';
import { listen, type RunningHttpServer } from './http-server.ts';
import { loadContentTypes } from './mime-types.ts';
import { parseRequestPath } from './request-path.ts';

export interface FileServerOptions {
  /** The agent workspace (OPENCLAW_WORKSPACE). It may not exist yet: then everything is 404. */
  root: string;
  host: string;
  port: number;
  log: (line: string) => void;
}

/** nginx answers 414 once the request line outgrows its 8 KiB header buffer. */
export const maxTargetLength = 8000;

// The same values as the files vhost; HSTS is left out because this server speaks plain HTTP.
const baseHeaders = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' };
const htmlCsp =
  "sandbox allow-scripts; default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; connect-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";
const svgCsp = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'";
const xmlCsp = "sandbox; default-src 'none'; frame-ancestors 'none'";

/** The sandboxing CSP for content a browser could run (HTML, SVG, XML), none for the rest. */
export function cspFor(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  if (/^text\/html/.test(contentType)) return htmlCsp;
  if (/^image\/svg\+xml/.test(contentType)) return svgCsp;
  if (/^(text|application)\/xml/.test(contentType)) return xmlCsp;
  return undefined;
}

const reasons: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Not Allowed', 414: 'Request-URI Too Large', 416: 'Requested Range Not Satisfiable', 431: 'Request Header Fields Too Large' };

function errorPage(status: number): { headers: Record<string, string>; body: string } {
  const title = `${status} ${reasons[status] ?? 'Error'}`;
  const body = `<!doctype html>\n<title>${title}</title>\n<h1>${title}</h1>\n`;
  const type = 'text/html; charset=utf-8';
  return { headers: { ...baseHeaders, 'Content-Type': type, 'Content-Security-Policy': cspFor(type)!, 'Content-Length': String(Buffer.byteLength(body)) }, body };
}

function sendError(res: http.ServerResponse, status: number, head: boolean, extra: Record<string, string> = {}): void {
  const page = errorPage(status);
  res.writeHead(status, { ...page.headers, ...extra });
  res.end(head ? undefined : page.body);
}

/** Waits until a file stream has its descriptor and checks it is the file the policy approved. */
async function openedSameFile(stream: NodeJS.ReadableStream, expected: fsSync.Stats): Promise<boolean> {
  if (!(stream instanceof fsSync.ReadStream)) return true;
  const opened = (stream as fsSync.ReadStream & { fd: number | null }).fd;
  const fd = typeof opened === 'number' ? opened : await new Promise<number | undefined>((resolve) => {
    stream.once('open', (fd: number) => resolve(fd));
    stream.once('error', () => resolve(undefined));
  });
  if (fd === undefined) return false;
  const st = await new Promise<fsSync.Stats | undefined>((resolve) => fsSync.fstat(fd, (err, s) => resolve(err ? undefined : s)));
  return st !== undefined && st.ino === expected.ino && st.dev === expected.dev;
}

export function createFileHandler(opts: Pick<FileServerOptions, 'root' | 'log'>) {
  const types = loadContentTypes();
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const target = req.url ?? '/';
    const head = req.method === 'HEAD';
    const refuse = (status: number, why: string, extra?: Record<string, string>) => {
      if (status !== 404) opts.log(`${req.method} ${target.slice(0, 200)} -> ${status}: ${why}`);
      sendError(res, status, head, extra);
    };
    if (req.method !== 'GET' && !head) return refuse(405, 'read-only: only GET and HEAD', { Allow: 'GET, HEAD' });
    if (target.length > maxTargetLength) return refuse(414, `request target of ${target.length} bytes`);
    const parsed = parseRequestPath(target);
    if (!parsed.ok) return refuse(parsed.status, parsed.reason);
    const shape = checkShape(parsed.segments, parsed.directory);
    if (shape) return refuse(404, shape);

    let root: string;
    try {
      root = await fs.realpath(opts.root);
    } catch {
      return refuse(404, `the workspace ${opts.root} does not exist`);
    }
    const verdict = await checkFile(root, parsed.segments);
    if (!verdict.ok) return refuse(404, verdict.reason);

    const approved = verdict.stat;
    let result: Awaited<ReturnType<typeof send>>;
    try {
      result = await send(req, '/' + parsed.segments.map(encodeURIComponent).join('/'), {
        root,
        dotfiles: 'allow',
        index: false,
        contentType: false,
        cacheControl: false,
        acceptRanges: true,
        etag: true,
        lastModified: true,
        onFile(_path, stat) {
          if (stat.ino !== approved.ino || stat.dev !== approved.dev) throw new Error('the file changed between the check and the send');
        },
      });
    } catch (err) {
      return refuse(404, (err as Error).message);
    }
    if (result.type === 'error') {
      result.stream.resume();
      // 416 (a range past the end) keeps its Content-Range; anything else looks like a missing file.
      if (result.statusCode === 416) return refuse(416, 'unsatisfiable range', { 'Content-Range': String(result.headers['Content-Range'] ?? '') });
      return refuse(404, `send answered ${result.statusCode}`);
    }
    if (!(await openedSameFile(result.stream, approved))) {
      result.stream.destroy();
      return refuse(404, 'the file changed between the check and the open');
    }
    const type = result.statusCode === 304 ? undefined : types.forFile(parsed.segments.at(-1)!);
    const csp = cspFor(type);
    res.writeHead(result.statusCode, {
      ...result.headers,
      ...baseHeaders,
      ...(type ? { 'Content-Type': type } : {}),
      ...(csp ? { 'Content-Security-Policy': csp } : {}),
    });
    try {
      await pipeline(result.stream, res);
    } catch {
      // The client went away mid-file; nothing to answer.
      res.destroy();
    }
  };
}

export async function startFileServer(opts: FileServerOptions): Promise<RunningHttpServer> {
  // Room for long request targets, so they reach the handler and get nginx's 414.
  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 15_000, maxHeaderSize: 64 * 1024 }, createFileHandler(opts));
  // A request node cannot parse (raw NUL, spaces, bad framing) still gets the vhost's headers.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    opts.log(`unparseable request -> ${status}: ${err.code ?? err.message}`);
    const page = errorPage(status);
    const lines = Object.entries({ ...page.headers, Connection: 'close' }).map(([k, v]) => `${k}: ${v}`);
    socket.end(`HTTP/1.1 ${status} ${reasons[status]}\r\n${lines.join('\r\n')}\r\n\r\n${page.body}`);
  });
  return listen(server, opts.host, opts.port, 'file server');
}
