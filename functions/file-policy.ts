// What the read-only file server publishes from the agent workspace; nginx's files vhost
// (nginx/templates/40-files.conf.template) enforces the same rules:
// - only below the public folders, and only files (no directory is ever listed or indexed);
// - never a dotfile or anything below a dot-folder (.git, .env, .openclaw);
// - only what any local user could read: every folder on the way searchable by others (o+x),
//   the file itself readable by others (o+r); mode 0600 is private;
// - no symlink anywhere below the workspace root (a link can point anywhere).
// Every refusal looks like a missing file (404), so nothing tells private from absent.
import fs from 'node:fs/promises';
import path from 'node:path';

export const publicFolders = ['diagrams', 'research', 'slides', 'images', 'docs', 'video'] as const;

export type Verdict = { ok: true; file: string; stat: import('node:fs').Stats } | { ok: false; reason: string };

/** Checks the path's shape: public folder first, no dot segment, a file name last. */
export function checkShape(segments: string[], directory: boolean): string | undefined {
  if (segments.length < 2 || !(publicFolders as readonly string[]).includes(segments[0]!)) return 'not under a public folder';
  if (directory) return 'a directory';
  if (segments.some((s) => s.startsWith('.'))) return 'a dotfile or dot-folder';
  return undefined;
}

/**
 * Walks the path below `root` (already resolved, symlinks and all) with lstat, so no symlink is
 * followed, and applies the permission rules. The Stats it returns identify the file that passed:
 * the server compares them with the file it actually opens.
 */
export async function checkFile(root: string, segments: string[]): Promise<Verdict> {
  let current = root;
  for (let i = 0; i < segments.length; i++) {
    current = path.join(current, segments[i]!);
    let st: import('node:fs').Stats;
    try {
      st = await fs.lstat(current);
    } catch (err) {
      return { ok: false, reason: `cannot stat (${(err as NodeJS.ErrnoException).code})` };
    }
    if (st.isSymbolicLink()) return { ok: false, reason: 'a symlink' };
    const last = i === segments.length - 1;
    if (!last) {
      if (!st.isDirectory()) return { ok: false, reason: 'a path through a non-directory' };
      if (!(st.mode & 0o001)) return { ok: false, reason: 'a folder others may not enter' };
      continue;
    }
    if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
    if (!(st.mode & 0o004)) return { ok: false, reason: 'a file others may not read (private)' };
    return { ok: true, file: current, stat: st };
  }
  return { ok: false, reason: 'no file named' };
}
