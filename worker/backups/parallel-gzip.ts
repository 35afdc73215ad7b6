// gzip on every core: the stream is cut into 1 MiB blocks compressed in libuv's thread pool and
// written in order as consecutive gzip members (RFC 1952 allows them; gunzip reads them as one).
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzip = promisify(zlib.gzip);
const BLOCK = 1024 * 1024;

export function parallelGzip(opts: { level?: number; parallel?: number } = {}): Transform {
  const level = opts.level ?? 1;
  const parallel = opts.parallel ?? 3;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const queue: Array<Promise<Buffer>> = [];
  const take = (): Buffer => {
    const all = Buffer.concat(pending);
    const block = all.subarray(0, BLOCK);
    const rest = all.subarray(BLOCK);
    pending = rest.length ? [rest] : [];
    pendingBytes = rest.length;
    return block;
  };
  return new Transform({
    async transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        pending.push(chunk);
        pendingBytes += chunk.length;
        while (pendingBytes >= BLOCK) {
          queue.push(gzip(take(), { level }));
          while (queue.length >= parallel) this.push(await queue.shift()!);
        }
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    async flush(cb: TransformCallback) {
      try {
        if (pendingBytes || !queue.length) queue.push(gzip(Buffer.concat(pending), { level }));
        while (queue.length) this.push(await queue.shift()!);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
