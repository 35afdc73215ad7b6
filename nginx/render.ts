// Renders nginx/ into a ready-to-run nginx prefix: the same substitution the official image's
// entrypoint applies to /etc/nginx/templates (with NGINX_ENVSUBST_FILTER=CLAWBASE_): `$NAME` and
// `${NAME}` for defined CLAWBASE_* names, everything else untouched. Unlike the entrypoint it
// refuses a template that names an undefined variable, instead of leaving it for nginx to trip on.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const nginxSourceDir = path.dirname(fileURLToPath(import.meta.url));

const reference = /\$\{(CLAWBASE_\w*)\}|\$(CLAWBASE_\w*)/g;

export function renderTemplate(text: string, env: Record<string, string | undefined>, name = 'template'): string {
  const missing = new Set<string>();
  const out = text.replace(reference, (whole, braced: string | undefined, bare: string | undefined) => {
    const key = (braced ?? bare)!;
    const value = env[key];
    if (value === undefined) {
      missing.add(key);
      return whole;
    }
    return value;
  });
  if (missing.size) throw new Error(`${name} uses ${[...missing].join(', ')}, which ${missing.size > 1 ? 'are' : 'is'} not set: add ${missing.size > 1 ? 'them' : 'it'} to the environment (nginx/variables.ts lists every variable).`);
  return out;
}

/**
 * Lays out `prefix` as the container's /etc/nginx: nginx.conf, mime.types, snippets/ and
 * conf.d/*.conf rendered from templates/. Run it with `nginx -p <prefix> -c <prefix>/nginx.conf`.
 */
export function renderNginxPrefix(prefix: string, env: Record<string, string | undefined>): string[] {
  fs.mkdirSync(path.join(prefix, 'conf.d'), { recursive: true });
  for (const file of ['nginx.conf', 'mime.types']) fs.copyFileSync(path.join(nginxSourceDir, file), path.join(prefix, file));
  fs.cpSync(path.join(nginxSourceDir, 'snippets'), path.join(prefix, 'snippets'), { recursive: true });
  const rendered: string[] = [];
  for (const file of fs.readdirSync(path.join(nginxSourceDir, 'templates')).sort()) {
    if (!file.endsWith('.template')) continue;
    const text = fs.readFileSync(path.join(nginxSourceDir, 'templates', file), 'utf8');
    const out = path.join(prefix, 'conf.d', file.slice(0, -'.template'.length));
    fs.writeFileSync(out, renderTemplate(text, env, `nginx/templates/${file}`));
    rendered.push(out);
  }
  return rendered;
}
