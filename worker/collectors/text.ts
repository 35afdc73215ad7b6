// Text that PostgreSQL will take: no NUL characters, no lone surrogates in JSON, bounded sizes.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8, or returns null when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  // A replacement character is either in the text or the mark of a bad sequence: only then check strictly.
  if (!text.includes('\uFFFD')) return text;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** PostgreSQL text cannot hold NUL: it becomes U+FFFD. */
export function cleanText(s: string): string {
  return s.includes('\0') ? s.replace(/\0/g, '\uFFFD') : s;
}

// JSON escapes jsonb refuses: \u0000, and lone surrogates (JSON.stringify writes those as \udXXX;
// paired ones it writes as characters). An even run of backslashes before them is literal text.
const badJsonEscape = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;

/** JSON text that jsonb accepts. */
export function cleanJson(json: string): string {
  return json.includes('\\u') ? json.replace(badJsonEscape, '$1\\ufffd') : json;
}

export const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** The longest start of `s` that fits in `maxBytes` of UTF-8, cut at a character boundary. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/** A short, printable start of some input for ingest_errors.raw_excerpt. */
export function excerpt(input: string | Uint8Array, chars = 2000): string {
  const text = typeof input === 'string' ? input.slice(0, chars * 2) : Buffer.from(input.subarray(0, chars * 4)).toString('utf8');
  return cleanText(text.slice(0, chars));
}
