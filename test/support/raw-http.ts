// A byte-exact HTTP/1.1 client: the request target goes on the wire as given (no normalisation,
// no encoding), over TLS (nginx) or plain TCP (the embedded server); one request per connection.
import net from 'node:net';
import tls from 'node:tls';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawTarget {
  port: number;
  /** Set for TLS: the SNI name and the certificate to trust. */
  tls?: { servername: string; ca: string };
  host: string;
}

export function rawRequest(target: RawTarget, method: string, requestTarget: Buffer | string, headers: Record<string, string> = {}, body?: Buffer): Promise<RawResponse> {
  const pathBytes = typeof requestTarget === 'string' ? Buffer.from(requestTarget, 'latin1') : requestTarget;
  const head = [`Host: ${target.host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), ...(body ? [`Content-Length: ${body.length}`] : [])];
  const wire = Buffer.concat([Buffer.from(`${method} `), pathBytes, Buffer.from(` HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`), body ?? Buffer.alloc(0)]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = target.tls
      ? tls.connect({ host: '127.0.0.1', port: target.port, servername: target.tls.servername, ca: target.tls.ca, ALPNProtocols: ['http/1.1'] }, () => socket.write(wire))
      : net.connect({ host: '127.0.0.1', port: target.port }, () => socket.write(wire));
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no answer to ${method} ${pathBytes.toString('latin1').slice(0, 80)}`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks), method === 'HEAD'));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function parseResponse(raw: Buffer, head: boolean): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`not an HTTP response: ${JSON.stringify(raw.subarray(0, 80).toString('latin1'))}`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    headers[name] = headers[name] ? `${headers[name]}, ${line.slice(i + 1).trim()}` : line.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (head) body = Buffer.alloc(0);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, body };
}

/** Runs `jobs` with at most `width` at a time. */
export async function inParallel<T, R>(items: readonly T[], width: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await job(items[i]!);
      }
    }),
  );
  return results;
}
