// One table of request targets for the read-only file server, run against nginx's files vhost and
// the embedded file server alike (test/files.test.ts). The workspace it builds has public files,
// private ones (0600, 0640, in a 0700 folder), dotfiles, non-public folders and symlinks leaving
// the tree; every private byte carries a marker that no response may ever contain.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const secretMarker = `SECRET-${randomUUID()}`;

export interface PublicFile {
  /** Path segments below the workspace root. */
  segments: string[];
  content: Buffer;
  contentType: string;
}

export interface FileCase {
  /** What the case probes, for failure messages. */
  name: string;
  method: string;
  /** Bytes of the request target as they go on the wire. */
  target: Buffer;
  /** 200 (with `file`) or the refusal status. */
  status: number;
  file?: PublicFile;
  /** The refusal relies on nginx's workers not owning the file (true when the tests run as root). */
  needsOtherUser?: boolean;
  /**
   * Where the embedded server knowingly answers differently. Only one case: node's HTTP parser
   * refuses raw bytes >= 0x80 in the request line (400) that nginx accepts. Browsers always
   * percent-encode them, and the embedded server errs on the refusing side.
   */
  embeddedStatus?: number;
}

export interface Workspace {
  root: string;
  publicFiles: PublicFile[];
  /** Paths (as segment lists) that exist in some form but must never be served. */
  refused: { segments: string[]; why: string; needsOtherUser?: boolean }[];
}

const text = (s: string) => Buffer.from(s, 'utf8');

/** Builds the workspace under `root` (mode 0755 folders, as OpenClaw's agent would leave them). */
export function makeWorkspace(root: string): Workspace {
  const publicFiles: PublicFile[] = [];
  const refused: Workspace['refused'] = [];
  const write = (segments: string[], content: Buffer, mode: number) => {
    const file = path.join(root, ...segments);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, content);
    fs.chmodSync(file, mode);
  };
  const pub = (segments: string[], contentType: string, content = text(`public ${segments.join('/')}\n`)) => {
    write(segments, content, 0o644);
    publicFiles.push({ segments, content, contentType });
  };
  const secret = (segments: string[], why: string, mode = 0o600, needsOtherUser = true) => {
    write(segments, text(`${secretMarker} ${segments.join('/')}\n`), mode);
    refused.push({ segments, why, needsOtherUser: needsOtherUser || undefined });
  };
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.chmodSync(root, 0o755);

  pub(['docs', 'readme.md'], 'text/markdown; charset=utf-8');
  pub(['docs', 'notes.txt'], 'text/plain; charset=utf-8');
  pub(['docs', 'data.json'], 'application/json; charset=utf-8');
  pub(['docs', 'page.html'], 'text/html; charset=utf-8', text('<!doctype html><script>document.title="x"</script><p>page</p>\n'));
  pub(['docs', 'report.pdf'], 'application/pdf', Buffer.from([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a, 0x00, 0xff, 0xfe]));
  pub(['docs', 'UPPER.MD'], 'text/markdown; charset=utf-8');
  pub(['docs', 'noext'], 'application/octet-stream');
  pub(['docs', 'archive.tar.gz'], 'application/gzip', Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
  pub(['docs', 'sub', 'deep', 'nested.md'], 'text/markdown; charset=utf-8');
  pub(['docs', 'été.md'], 'text/markdown; charset=utf-8');
  pub(['docs', '日本語.txt'], 'text/plain; charset=utf-8');
  pub(['docs', 'space name.md'], 'text/markdown; charset=utf-8');
  pub(['docs', 'plus+sign.md'], 'text/markdown; charset=utf-8');
  pub(['docs', 'semi;colon.txt'], 'text/plain; charset=utf-8');
  pub(['docs', 'percent%41.md'], 'text/markdown; charset=utf-8');
  pub(['docs', '%2e%2e'], 'application/octet-stream');
  pub(['docs', `${'l'.repeat(200)}.md`], 'text/markdown; charset=utf-8');
  pub(['images', 'logo.svg'], 'image/svg+xml; charset=utf-8', text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n'));
  pub(['images', 'photo.png'], 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  pub(['slides', 'deck.html'], 'text/html; charset=utf-8');
  pub(['slides', 'deck', 'index.html'], 'text/html; charset=utf-8');
  pub(['research', 'paper.md'], 'text/markdown; charset=utf-8');
  pub(['research', 'feed.xml'], 'text/xml; charset=utf-8', text('<?xml version="1.0"?><feed/>\n'));
  pub(['diagrams', 'flow.svg'], 'image/svg+xml; charset=utf-8');
  pub(['video', 'clip.mp4'], 'video/mp4', Buffer.alloc(4096, 7));

  // Private by permission: nginx's workers are "others".
  secret(['docs', 'private.md'], 'mode 0600');
  secret(['images', 'secret.png'], 'mode 0600');
  secret(['slides', 'draft.html'], 'mode 0600');
  secret(['docs', 'group-only.md'], 'mode 0640', 0o640);
  secret(['docs', 'locked', 'inside.md'], 'a file readable by others inside a 0700 folder', 0o644);
  fs.chmodSync(path.join(root, 'docs', 'locked'), 0o700);
  // Dotfiles and dot-folders, readable by anyone: refused by name alone.
  for (const segs of [['docs', '.env'], ['docs', '.hidden.md'], ['docs', '.git', 'HEAD'], ['docs', '.well-known', 'x.md'], ['.git', 'config'], ['.env'], ['.openclaw', 'openclaw.json'], ['images', '.thumbs', 'a.png']]) {
    secret(segs, 'a dotfile or dot-folder', 0o644, false);
  }
  // Readable, but not in a public folder.
  for (const segs of [['MEMORY.md'], ['SOUL.md'], ['AGENTS.md'], ['memory', '2026-01-01.md'], ['notes', 'todo.md'], ['Docs', 'readme.md'], ['docsx', 'readme.md'], ['public', 'readme.md']]) {
    secret(segs, 'outside the public folders', 0o644, false);
  }
  // A directory whose name looks like a file.
  fs.mkdirSync(path.join(root, 'docs', 'folder.md'), { mode: 0o755 });
  refused.push({ segments: ['docs', 'folder.md'], why: 'a directory' });
  refused.push({ segments: ['slides', 'deck'], why: 'a directory with an index.html' });
  refused.push({ segments: ['docs', 'missing.md'], why: 'absent' });

  // Symlinks: out of the tree, into private files, and even to a public file (never followed).
  const outside = path.join(path.dirname(root), 'outside-secret.txt');
  fs.writeFileSync(outside, `${secretMarker} outside\n`, { mode: 0o644 });
  const link = (segments: string[], to: string, why: string) => {
    fs.symlinkSync(to, path.join(root, ...segments));
    refused.push({ segments, why });
  };
  link(['docs', 'link-passwd'], '/etc/passwd', 'a symlink to /etc/passwd');
  link(['docs', 'link-outside.txt'], outside, 'a symlink out of the workspace');
  link(['docs', 'link-memory.md'], '../MEMORY.md', 'a relative symlink out of the public tree');
  link(['docs', 'link-private.md'], 'private.md', 'a symlink to a private file');
  link(['docs', 'link-readme.md'], 'readme.md', 'a symlink to a public file');
  link(['images', 'linked-docs'], '../docs', 'a symlinked folder');
  link(['images', 'root'], '/', 'a symlink to /');
  refused.push({ segments: ['images', 'linked-docs', 'readme.md'], why: 'a file through a symlinked folder' });
  refused.push({ segments: ['images', 'root', 'etc', 'passwd'], why: '/etc/passwd through a symlinked folder' });
  return { root, publicFiles, refused };
}

const encodeAll = (s: string, lower = false) =>
  [...Buffer.from(s, 'utf8')].map((b) => (b === 0x2f ? '/' : `%${b.toString(16).padStart(2, '0')}`)).map((e) => (lower ? e : e.toUpperCase())).join('');
/** Percent-encodes what a browser would (non-ASCII, space, %, #, ?, ;) and nothing else. */
const encodeSegment = (s: string) => s.split('').map((c) => (/[A-Za-z0-9._~!$&'()*+,=:@-]/.test(c) ? c : encodeURIComponent(c))).join('');
const b = (s: string) => Buffer.from(s, 'latin1');

/**
 * Path spellings that must lead to the same file as the plain path (nginx decodes once and
 * normalises); `plain` is already percent-encoded where needed.
 */
function sameFileSpellings(plain: string, segments: string[]): [string, string][] {
  const [first, ...rest] = segments;
  const tail = rest.map(encodeSegment).join('/');
  return [
    ['plain', plain],
    ['every byte percent-encoded', encodeAll(`/${segments.join('/')}`)],
    ['lower-case hex escapes', encodeAll(`/${segments.join('/')}`, true)],
    ['encoded slashes', `/${encodeSegment(first!)}%2F${rest.map(encodeSegment).join('%2F')}`],
    ['"." segments', `/./${encodeSegment(first!)}/./${tail}`],
    ['doubled slashes', `//${encodeSegment(first!)}//${tail}`],
    ['".." back into place', `/${encodeSegment(first!)}/sub/../${tail}`],
    ['".." from another public folder', `/video/../${encodeSegment(first!)}/${tail}`],
    ['encoded ".." back into place', `/${encodeSegment(first!)}/x/%2e%2e/${tail}`],
    ['mixed-case encoded ".."', `/docs/%2E%2e/${encodeSegment(first!)}/${tail}`],
    ['a query string', `${plain}?download=1&x=../../etc/passwd`],
    ['a fragment sent raw', `${plain}#top`],
    ['absolute-form request target', `http://files.example.test${plain}`],
  ];
}

/** Spellings that must never reach the file (wrong name, bad request, or above the root). */
function hostileSpellings(plain: string, segments: string[]): [string, string, number][] {
  const [first, ...rest] = segments;
  const tail = rest.map(encodeSegment).join('/');
  const encoded = encodeAll(`/${segments.join('/')}`);
  return [
    ['double-encoded', encoded.replace(/%/g, '%25'), 404],
    ['trailing slash', `${plain}/`, 404],
    ['trailing "/."', `${plain}/.`, 404],
    ['upper-cased folder', `/${first!.toUpperCase()}/${tail}`, 404],
    ['backslashes', `/${first}\\${rest.join('\\')}`.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)), 404],
    ['encoded NUL appended', `${plain}%00`, 400],
    ['encoded NUL then an extension', `${plain}%00.png`, 400],
    ['"..": above the root', `/../${encodeSegment(first!)}/${tail}`, 400],
    ['encoded "..": above the root', `/%2e%2e/${encodeSegment(first!)}/${tail}`, 400],
    ['"../.." from a public folder', `/docs/../../${encodeSegment(first!)}/${tail}`, 400],
    ['malformed escape', `${plain}%zz`, 400],
    ['truncated escape', `${plain}%2`, 400],
    ['overlong UTF-8 dots', `/${encodeSegment(first!)}/%c0%ae%c0%ae/${tail}`, 404],
  ];
}

export function fileCases(ws: Workspace): FileCase[] {
  const cases: FileCase[] = [];
  const add = (c: FileCase) => cases.push(c);
  for (const file of ws.publicFiles) {
    const plain = `/${file.segments.map(encodeSegment).join('/')}`;
    for (const [how, target] of sameFileSpellings(plain, file.segments)) add({ name: `${plain} (${how})`, method: 'GET', target: b(target), status: 200, file });
    const raw = Buffer.from(`/${file.segments.join('/')}`.replace(/%/g, '%25').replace(/ /g, '%20'), 'utf8');
    add({ name: `${plain} raw UTF-8 on the wire`, method: 'GET', target: raw, status: 200, file, embeddedStatus: raw.some((x) => x >= 0x80) ? 400 : undefined });
    add({ name: `HEAD ${plain}`, method: 'HEAD', target: b(plain), status: 200, file });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) add({ name: `${method} ${plain}`, method, target: b(plain), status: 405 });
    for (const [how, target, status] of hostileSpellings(plain, file.segments)) add({ name: `${plain} (${how})`, method: 'GET', target: b(target), status });
  }
  for (const r of ws.refused) {
    const plain = `/${r.segments.map(encodeSegment).join('/')}`;
    for (const [how, target] of sameFileSpellings(plain, r.segments)) add({ name: `${plain}: ${r.why} (${how})`, method: 'GET', target: b(target), status: 404, needsOtherUser: r.needsOtherUser });
    add({ name: `HEAD ${plain}: ${r.why}`, method: 'HEAD', target: b(plain), status: 404, needsOtherUser: r.needsOtherUser });
    for (const [how, target, status] of hostileSpellings(plain, r.segments)) add({ name: `${plain}: ${r.why} (${how})`, method: 'GET', target: b(target), status });
  }
  // Directory paths: never a listing, never an index.html, never a redirect.
  for (const dir of ['/', '/docs', '/docs/', '/docs/sub/', '/docs/sub/deep', '/slides/deck/', '/slides/deck', '/images/linked-docs/', '/.git/', '/docs/.git/', '/docs/locked/', '/docs/./', '/docs/sub/..', '/docs/sub/.']) {
    add({ name: `directory ${dir}`, method: 'GET', target: b(dir), status: 404 });
  }
  // Climbing out by every spelling we know, and NUL bytes on the wire.
  const climbs = ['/../etc/passwd', '/docs/../../etc/passwd', '/docs/%2e%2e/%2e%2e/etc/passwd', '/docs%2f..%2f..%2fetc%2fpasswd', '/docs/..%2f..%2fetc%2fpasswd', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/docs/../../../../../../../../etc/passwd', '/images/%2E%2E/%2E%2E/outside-secret.txt'];
  for (const c of climbs) add({ name: `climb ${c}`, method: 'GET', target: b(c), status: 400 });
  for (const c of ['/docs/..%252f..%252fetc/passwd', '/docs/%252e%252e/%252e%252e/etc/passwd', '/docs/....//....//etc/passwd', '/docs/..;/..;/etc/passwd', '/docs/.%2e/x', '/docs/%u002e%u002e/x', '/docs/..\\..\\etc\\passwd']) {
    add({ name: `encoded climb ${c}`, method: 'GET', target: b(c), status: c.includes('%u') ? 400 : 404 });
  }
  add({ name: 'raw NUL byte in the path', method: 'GET', target: Buffer.from('/docs/readme.md\0.png', 'latin1'), status: 400 });
  add({ name: 'raw NUL byte in a folder', method: 'GET', target: Buffer.from('/docs\0/readme.md', 'latin1'), status: 400 });
  // Very long paths: a long missing name (404) and a target longer than nginx's 8 KiB line (414).
  add({ name: 'a 4,000-byte missing file name', method: 'GET', target: b(`/docs/${'a'.repeat(4000)}`), status: 404 });
  add({ name: 'a 4,000-byte path of folders', method: 'GET', target: b(`/docs/${'ab/'.repeat(1300)}readme.md`), status: 404 });
  add({ name: 'a 4,000-byte path climbing back', method: 'GET', target: b(`/docs/${'x/../'.repeat(800)}readme.md`), status: 200, file: ws.publicFiles[0] });
  add({ name: 'a 12,000-byte request target', method: 'GET', target: b(`/docs/${'x/'.repeat(6000)}`), status: 414 });
  add({ name: 'a 20,000-byte request target', method: 'GET', target: b(`/docs/readme.md?${'q'.repeat(20_000)}`), status: 414 });
  return cases;
}
