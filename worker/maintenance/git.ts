// Sweep step "git": commit the workspace's changes (docs, diagrams, scripts, configs, memory/*.md)
// with a message listing them, and push to origin when there is one. .gitignore is respected (git
// decides what is untracked-and-not-ignored); files that look like secrets are never staged: the
// step leaves them out and opens a git_secret alert instead. A failed push fails the step (it is
// retried) and the commit stays in the local repository.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PoolClient } from 'pg';
import type { WorkerContext } from '../context.ts';
import type { Queryable } from '../db.ts';
import { applyAlerts } from '../health/alerts.ts';

const run = promisify(execFile);

async function git(cwd: string, args: string[], input?: string): Promise<string> {
  const child = run('git', args, { cwd, timeout: 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes' } });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return (await child).stdout;
}

const SECRET_NAMES = [
  /(^|\/)\.env(\.(?!example$|sample$|template$)[^/]*)?$/,
  /\.(pem|key|p12|pfx|jks|keystore)$/i,
  /(^|\/)id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$/,
  /(^|\/)\.(netrc|pgpass|npmrc)$/,
  /(^|\/)(credentials|secrets?)(\.[a-z]+)?$/i,
];
const SECRET_CONTENT = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bAKIA[0-9A-Z]{16}\b/,
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/,
  /\bsk-[A-Za-z0-9_-]{20,}\b/,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/,
];

/** Why a file looks like a secret, or undefined. Content is checked for files up to 1 MiB. */
export function secretReason(repo: string, rel: string): string | undefined {
  if (SECRET_NAMES.some((re) => re.test(rel))) return 'file name of a secret';
  const p = path.join(repo, rel);
  try {
    const st = fs.statSync(p);
    if (!st.isFile() || st.size > 1024 * 1024) return undefined;
    const text = fs.readFileSync(p, 'latin1');
    const hit = SECRET_CONTENT.find((re) => re.test(text));
    return hit ? `content matches ${hit.source.slice(0, 30)}` : undefined;
  } catch {
    return undefined;
  }
}

interface Change {
  code: string;
  path: string;
}

/** Changed, new and deleted paths that git does not ignore (porcelain v1, NUL-separated). */
async function changes(repo: string): Promise<Change[]> {
  const out = await git(repo, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  const parts = out.split('\0');
  const list: Change[] = [];
  for (let i = 0; i < parts.length; i++) {
    const entry = parts[i]!;
    if (entry.length < 4) continue;
    const code = entry.slice(0, 2);
    list.push({ code, path: entry.slice(3) });
    if (code[0] === 'R' || code[0] === 'C') i++; // the rename's source follows
  }
  return list;
}

function describe(c: Change): string {
  const k = c.code.includes('D') ? 'deleted' : c.code === '??' || c.code.includes('A') ? 'added' : 'changed';
  return `${k} ${c.path}`;
}

export async function commitWorkspace(db: Queryable, repo: string, log: (line: string) => void = () => {}): Promise<Record<string, number | string>> {
  if (!fs.existsSync(path.join(repo, '.git'))) return { skipped: `${repo} is not a git repository: run git init there to have the sweep commit it` };
  const all = await changes(repo);
  const secrets: Array<{ path: string; reason: string }> = [];
  const clean: Change[] = [];
  for (const c of all) {
    const reason = c.code.includes('D') ? undefined : secretReason(repo, c.path);
    if (reason) secrets.push({ path: c.path, reason });
    else clean.push(c);
  }
  // A secret someone staged by hand is unstaged too.
  if (secrets.length) await git(repo, ['reset', '-q', '--pathspec-from-file=-', '--pathspec-file-nul'], secrets.map((s) => s.path).join('\0')).catch(() => '');
  await applyAlerts(
    db,
    ['git_secret'],
    secrets.map((s) => ({
      rule: 'git_secret',
      subject: s.path,
      severity: 'critical' as const,
      message: `${s.path} in the workspace looks like a secret (${s.reason}) and was not committed: move it out or add it to .gitignore`,
    })),
  );
  let committed = 0;
  if (clean.length) {
    await git(repo, ['add', '-A', '--pathspec-from-file=-', '--pathspec-file-nul'], clean.map((c) => c.path).join('\0'));
    const staged = (await git(repo, ['diff', '--cached', '--name-only', '-z'])).split('\0').filter(Boolean);
    if (staged.length) {
      const lines = clean.filter((c) => staged.includes(c.path)).map(describe);
      const shown = lines.slice(0, 50);
      if (lines.length > 50) shown.push(`… and ${lines.length - 50} more`);
      const message = `Maintenance sweep: ${staged.length} file(s) changed in the workspace\n\n${shown.join('\n')}\n`;
      const identity = (await git(repo, ['config', 'user.email']).catch(() => '')).trim() ? [] : ['-c', 'user.name=Clawbase maintenance sweep', '-c', 'user.email=clawbase@localhost'];
      await git(repo, [...identity, 'commit', '-q', '--no-verify', '-F', '-'], message);
      committed = staged.length;
      log(`committed ${staged.length} file(s)`);
    }
  }
  const remotes = (await git(repo, ['remote'])).split('\n').filter(Boolean);
  let pushed = 'no remote';
  if (remotes.includes('origin')) {
    try {
      await git(repo, ['push', '-q', 'origin', 'HEAD']);
      pushed = 'ok';
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`git push to origin failed (the commit is kept locally and the push is retried): ${(e.stderr || e.message).trim().split('\n').slice(-2).join(' ')}`);
    }
  }
  return { committed_files: committed, refused_secrets: secrets.length, pushed };
}

export function gitStep(client: PoolClient, ctx: WorkerContext, log: (line: string) => void): Promise<Record<string, number | string>> {
  if (!fs.existsSync(ctx.workspace)) return Promise.resolve({ skipped: `no workspace at ${ctx.workspace} (OPENCLAW_WORKSPACE)` });
  return commitWorkspace(client, ctx.workspace, log);
}
