// Workspace snapshots with restic (encrypted, deduplicated, `check`able): every snapshot restores
// on its own, unchanged content is never uploaded twice. Retention runs only after `restic check`
// passed on the repository holding the new snapshot, and always keeps the newest snapshot.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { S3Settings } from '../../lib/config.ts';

export interface ResticRepo {
  /** A local path, or s3:https://host/bucket/prefix. */
  repository: string;
  password: string;
  /** restic's cache (default under $HOME, which the worker may not have). */
  cacheDir: string;
  /** Credentials for an s3: repository. */
  s3?: Pick<S3Settings, 'accessKeyId' | 'secretAccessKey' | 'region'>;
  /** Extra CA certificate for a self-signed https endpoint. */
  cacert?: string;
}

export interface ResticSnapshot {
  id: string;
  short_id: string;
  time: string;
  paths: string[];
  tags?: string[];
}

export class ResticError extends Error {
  override name = 'ResticError';
}

export function restic(repo: ResticRepo, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RESTIC_REPOSITORY: repo.repository,
    RESTIC_PASSWORD: repo.password,
    RESTIC_CACHE_DIR: repo.cacheDir,
    ...(repo.s3?.accessKeyId ? { AWS_ACCESS_KEY_ID: repo.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: repo.s3.secretAccessKey, AWS_DEFAULT_REGION: repo.s3.region } : {}),
  };
  const all = [...(repo.cacert ? ['--cacert', repo.cacert] : []), ...args];
  return new Promise((resolve, reject) => {
    execFile('restic', all, { env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 3600_000 }, (err, stdout, stderr) => {
      if (err) reject(new ResticError(`restic ${args[0]} failed: ${stderr.trim().split('\n').slice(-3).join(' ') || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** Creates the repository when it does not exist yet. */
export async function ensureRepo(repo: ResticRepo): Promise<void> {
  fs.mkdirSync(repo.cacheDir, { recursive: true });
  try {
    await restic(repo, ['cat', 'config']);
  } catch {
    await restic(repo, ['init']);
  }
}

export interface WorkspaceSnapshotResult {
  snapshotId: string;
  /** Bytes this snapshot added to the repository (after dedup and compression). */
  dataAdded: number;
  totalBytes: number;
  filesNew: number;
  filesChanged: number;
  seconds: number;
  verified: boolean;
  removed: string[];
}

export async function snapshotWorkspace(repo: ResticRepo, workspace: string, keepDays: number): Promise<WorkspaceSnapshotResult> {
  if (!fs.existsSync(workspace)) throw new ResticError(`workspace ${workspace} does not exist: set OPENCLAW_WORKSPACE`);
  const t0 = performance.now();
  await ensureRepo(repo);
  const out = await restic(repo, ['backup', '--json', '--host', 'clawbase', '--tag', 'workspace', path.resolve(workspace)]);
  const summary = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((m) => m.message_type === 'summary');
  if (!summary) throw new ResticError('restic backup printed no summary');
  // restic 0.14 prints the short id only: record the full one.
  const short = String(summary.snapshot_id);
  const full = (await listSnapshots(repo)).find((s) => s.short_id === short || s.id.startsWith(short))?.id ?? short;
  await restic(repo, ['check', '--read-data-subset', '1/5']);
  const removed = await applyRetention(repo, keepDays);
  return {
    snapshotId: full,
    dataAdded: Number(summary.data_added ?? 0),
    totalBytes: Number(summary.total_bytes_processed ?? 0),
    filesNew: Number(summary.files_new ?? 0),
    filesChanged: Number(summary.files_changed ?? 0),
    seconds: (performance.now() - t0) / 1000,
    verified: true,
    removed,
  };
}

export async function listSnapshots(repo: ResticRepo): Promise<ResticSnapshot[]> {
  const list = JSON.parse(await restic(repo, ['snapshots', '--json', '--tag', 'workspace'])) as ResticSnapshot[] | null;
  return (list ?? []).sort((a, b) => a.time.localeCompare(b.time));
}

/**
 * `forget --keep-within` counts back from the newest snapshot (not from now), and --keep-last 1
 * keeps it regardless: the newest, just checked, snapshot is never removed.
 */
export async function applyRetention(repo: ResticRepo, keepDays: number): Promise<string[]> {
  const before = new Set((await listSnapshots(repo)).map((s) => s.id));
  await restic(repo, ['forget', '--tag', 'workspace', '--keep-within', `${keepDays}d`, '--keep-last', '1', '--prune']);
  const after = new Set((await listSnapshots(repo)).map((s) => s.id));
  return [...before].filter((id) => !after.has(id));
}

/** Restores the newest snapshot taken at or before `at` (or the newest) into `target`. */
export async function restoreWorkspace(repo: ResticRepo, target: string, at?: Date): Promise<ResticSnapshot> {
  const snaps = (await listSnapshots(repo)).filter((s) => !at || new Date(s.time) <= at);
  const snap = snaps.at(-1);
  if (!snap) throw new ResticError(`no workspace snapshot${at ? ` taken before ${at.toISOString()}` : ''} in ${repo.repository}`);
  if (fs.existsSync(target) && fs.readdirSync(target).length) throw new ResticError(`${target} is not empty: restore into a new folder, or move it aside first.`);
  // restic 0.14 restores under the full original path: unpack beside the target, then move.
  const staging = `${target.replace(/\/+$/, '')}.restic-staging`;
  fs.rmSync(staging, { recursive: true, force: true });
  await restic(repo, ['restore', snap.id, '--target', staging]);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.renameSync(path.join(staging, snap.paths[0]!), target);
  fs.rmSync(staging, { recursive: true, force: true });
  return snap;
}
