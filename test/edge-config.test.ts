// The rendered nginx configuration itself: nginx -t accepts it, the renderer substitutes exactly
// like the official image's entrypoint, and the header/limit inheritance traps are ruled out.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { nginxSourceDir, renderNginxPrefix, renderTemplate } from '../nginx/render.ts';
import { edgeVariables } from '../nginx/variables.ts';
import { nginxTest, openDir, testSettings } from './support/nginx.ts';

let root: string;
let settings: Awaited<ReturnType<typeof testSettings>>['settings'];
let prefix: string;

beforeAll(async () => {
  root = openDir(path.join(inject('cluster').tmpRoot, `edge-config-${process.pid}`));
  ({ settings } = await testSettings(root));
  prefix = openDir(path.join(root, 'nginx'));
  renderNginxPrefix(prefix, settings);
});

const templates = () => fs.readdirSync(path.join(nginxSourceDir, 'templates')).filter((f) => f.endsWith('.template'));

/** The rendered conf.d files with comments removed, as one text. */
const renderedText = () =>
  fs
    .readdirSync(path.join(prefix, 'conf.d'))
    .map((f) => fs.readFileSync(path.join(prefix, 'conf.d', f), 'utf8'))
    .join('\n')
    .replace(/#[^\n]*/g, '');

/** Top-level blocks named `kind` (server, location) with their bodies, by brace matching. */
function blocks(text: string, kind: 'server' | 'location'): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  const re = new RegExp(`(^|[\\s;{}])${kind}\\b([^{;]*)\\{`, 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let depth = 1;
    let i = re.lastIndex;
    while (depth && i < text.length) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}') depth--;
      i++;
    }
    out.push({ head: m[2]!.trim(), body: text.slice(re.lastIndex, i - 1) });
  }
  return out;
}

/** A server's own directives, without what its locations say. */
const ownDirectives = (body: string) => blocks(body, 'location').reduce((acc, l) => acc.replace(l.body, ''), body);

describe('rendered nginx configuration', () => {
  it('passes nginx -t, with OCSP stapling off (the default) and on', () => {
    const off = nginxTest(prefix);
    expect(off.output).toMatch(/test is successful/);
    expect(off.ok).toBe(true);
    const onPrefix = openDir(path.join(root, 'nginx-stapling'));
    renderNginxPrefix(onPrefix, { ...settings, CLAWBASE_TLS_STAPLING: 'on' });
    expect(nginxTest(onPrefix).ok).toBe(true);
  });

  it('is rejected by nginx -t when a directive is wrong, so the check above can fail', () => {
    const broken = openDir(path.join(root, 'nginx-broken'));
    renderNginxPrefix(broken, { ...settings, CLAWBASE_EDGE_RATE: 'fast' });
    const verdict = nginxTest(broken);
    expect(verdict.ok).toBe(false);
    expect(verdict.output).toMatch(/invalid rate/);
  });

  it('names every template variable in nginx/variables.ts, and nothing else', () => {
    const used = new Set(templates().flatMap((f) => [...fs.readFileSync(path.join(nginxSourceDir, 'templates', f), 'utf8').matchAll(/\$\{(CLAWBASE_\w+)\}/g)].map((m) => m[1]!)));
    expect([...used].sort()).toEqual(Object.keys(edgeVariables).sort());
  });

  it('substitutes exactly like the nginx image entrypoint (its perl one-liner, NGINX_ENVSUBST_FILTER=CLAWBASE_)', () => {
    const env = { ...process.env, ...settings, NGINX_ENVSUBST_FILTER: 'CLAWBASE_' };
    for (const file of templates()) {
      const source = path.join(nginxSourceDir, 'templates', file);
      // The command the official image runs in /docker-entrypoint.d/20-envsubst-on-templates.sh.
      const perl = spawnSync('perl', ['-pe', 's|\\$(\\{)?($ENV{NGINX_ENVSUBST_FILTER}\\w*)(?(1)\\})|$ENV{$2} // $&|ge'], { input: fs.readFileSync(source), env, encoding: 'utf8' });
      expect(perl.status, perl.stderr).toBe(0);
      expect(renderTemplate(fs.readFileSync(source, 'utf8'), settings, file), file).toBe(perl.stdout);
    }
  });

  it('refuses to render a template whose variable is not set, naming it', () => {
    expect(() => renderTemplate('listen ${CLAWBASE_NOT_SET};', {}, 'x.template')).toThrow(/x\.template uses CLAWBASE_NOT_SET/);
  });

  it('sets headers only at server level, and every answering server includes the security headers', () => {
    const servers = blocks(renderedText(), 'server');
    expect(servers.length).toBe(7);
    for (const server of servers) {
      for (const location of blocks(server.body, 'location')) {
        expect(location.body, `location ${location.head}`).not.toMatch(/\badd_header\b/);
      }
      const own = ownDirectives(server.body);
      const silent = /return 444;|ssl_reject_handshake on;/.test(own);
      if (!silent) expect(own, server.body.slice(0, 200)).toMatch(/include snippets\/security-headers\.conf;/);
    }
  });

  it('repeats the general rate zone in every location that adds a zone of its own, and proxies through the shared snippet', () => {
    for (const server of blocks(renderedText(), 'server')) {
      const general = /limit_req zone=(\w+)/.exec(ownDirectives(server.body))?.[1];
      for (const location of blocks(server.body, 'location')) {
        if (/\blimit_req\b/.test(location.body)) expect(location.body, `location ${location.head}`).toContain(`limit_req zone=${general} `);
        if (/\bproxy_pass\b/.test(location.body)) expect(location.body, `location ${location.head}`).toMatch(/include snippets\/proxy\.conf;/);
      }
    }
  });
});
