// Content types for the embedded file server, read from the same files nginx uses
// (nginx/mime.types and nginx/snippets/files-charset.conf), so both servers label a file alike.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const nginxDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'nginx');

const withoutComments = (text: string) => text.replace(/#[^\n]*/g, '');

export function parseMimeTypes(text: string): Map<string, string> {
  const body = /types\s*\{([\s\S]*)\}/.exec(withoutComments(text));
  if (!body) throw new Error('nginx/mime.types has no `types { ... }` block.');
  const byExtension = new Map<string, string>();
  for (const statement of body[1]!.split(';')) {
    const [type, ...extensions] = statement.trim().split(/\s+/);
    if (!type) continue;
    for (const ext of extensions) byExtension.set(ext.toLowerCase(), type);
  }
  return byExtension;
}

export function parseCharsetTypes(text: string): Set<string> {
  const m = /charset_types\s+([^;]+);/.exec(withoutComments(text));
  // nginx always treats text/html as text, whatever the list says.
  return new Set(['text/html', ...(m ? m[1]!.trim().split(/\s+/) : [])]);
}

export interface ContentTypes {
  /** Content-Type for a file name, with `; charset=utf-8` for text types (as nginx's charset module adds it). */
  forFile(name: string): string;
}

export function loadContentTypes(dir = nginxDir): ContentTypes {
  const types = parseMimeTypes(fs.readFileSync(path.join(dir, 'mime.types'), 'utf8'));
  const charset = parseCharsetTypes(fs.readFileSync(path.join(dir, 'snippets', 'files-charset.conf'), 'utf8'));
  return {
    forFile(name) {
      const dot = name.lastIndexOf('.');
      const type = (dot > 0 ? types.get(name.slice(dot + 1).toLowerCase()) : undefined) ?? 'application/octet-stream';
      return charset.has(type) ? `${type}; charset=utf-8` : type;
    },
  };
}
