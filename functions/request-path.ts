// Turns a request target into path segments exactly the way nginx does before it maps a URI to a
// file (ngx_http_parse_complex_uri), so the embedded file server and nginx agree on every path:
// absolute-form targets are reduced to their path, the query and fragment are cut, %XX is decoded
// once (an encoded "/" separates, an encoded NUL or a malformed escape is a bad request), empty
// and "." segments vanish, ".." removes the previous segment and is a bad request above the root.

export type RequestPath =
  | { ok: true; segments: string[]; /** the path names a directory (ends in /, /. or /..) */ directory: boolean }
  | { ok: false; status: 400 | 404; reason: string };

const hex = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseRequestPath(target: string): RequestPath {
  // node hands over the request line's bytes as latin1 characters: get the bytes back.
  let raw = Buffer.from(target, 'latin1');
  const absolute = /^https?:\/\/[^/?#]*/i.exec(target);
  if (absolute) raw = raw.subarray(absolute[0].length);
  if (raw.length === 0 && absolute) raw = Buffer.from('/');
  if (raw[0] !== 0x2f) return { ok: false, status: 400, reason: 'the request target is not an absolute path' };
  const end = raw.findIndex((b) => b === 0x3f || b === 0x23);
  if (end !== -1) raw = raw.subarray(0, end);

  const decoded = Buffer.alloc(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0) return { ok: false, status: 400, reason: 'the path contains a NUL byte' };
    if (b !== 0x25) {
      decoded[n++] = b;
      continue;
    }
    const hi = hex(raw[i + 1] ?? -1);
    const lo = hex(raw[i + 2] ?? -1);
    if (hi < 0 || lo < 0) return { ok: false, status: 400, reason: 'the path has a malformed %-escape' };
    const value = hi * 16 + lo;
    if (value === 0) return { ok: false, status: 400, reason: 'the path contains an encoded NUL byte' };
    decoded[n++] = value;
    i += 2;
  }

  const segments: Buffer[] = [];
  let directory = false;
  let start = 0;
  const bytes = decoded.subarray(0, n);
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x2f) continue;
    const seg = bytes.subarray(start, i);
    start = i + 1;
    const last = i === bytes.length;
    if (seg.length === 0 || (seg.length === 1 && seg[0] === 0x2e)) {
      directory = last;
      continue;
    }
    if (seg.length === 2 && seg[0] === 0x2e && seg[1] === 0x2e) {
      if (!segments.length) return { ok: false, status: 400, reason: 'the path climbs above the root' };
      segments.pop();
      directory = last;
      continue;
    }
    segments.push(seg);
    directory = false;
  }
  try {
    return { ok: true, segments: segments.map((s) => utf8.decode(s)), directory };
  } catch {
    // nginx would look for a file with that byte name; Clawbase publishes UTF-8 names only.
    return { ok: false, status: 404, reason: 'the path is not valid UTF-8' };
  }
}
