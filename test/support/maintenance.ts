// Shared arrangements of the maintenance tests: a worker context pointing at test doubles and temp folders.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type MaintenanceConfig, type S3Settings } from '../../lib/config.ts';
import { workerContext, type WorkerContext } from '../../worker/context.ts';

export interface Folders {
  root: string;
  workspace: string;
  transcripts: string;
  logs: string;
  temp: string;
}

export function makeFolders(label: string): Folders {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `maintenance-${label}-`));
  const f = {
    root,
    workspace: path.join(root, 'workspace'),
    transcripts: path.join(root, 'state', 'agents'),
    logs: path.join(root, 'home', 'logs'),
    temp: path.join(root, 'home', 'tmp'),
  };
  for (const d of [f.workspace, f.transcripts, f.logs, f.temp]) fs.mkdirSync(d, { recursive: true });
  return f;
}

export function testContext(o: {
  folders: Folders;
  ollamaUrl: string;
  s3?: S3Settings;
  restAdminUrl?: string;
  maintenance?: Partial<MaintenanceConfig>;
}): WorkerContext {
  const defaults = loadConfig({});
  return workerContext({
    ollama: { host: o.ollamaUrl, embedModel: 'fake-embed', chatModel: 'fake-chat', timeoutMs: 2000 },
    workspace: o.folders.workspace,
    workspaceAgent: 'main',
    restAdminPort: o.restAdminUrl ? Number(new URL(o.restAdminUrl).port) : undefined,
    s3: o.s3 ?? defaults.s3,
    maintenance: {
      ...defaults.maintenance,
      logDirs: [o.folders.transcripts, o.folders.logs],
      logsDir: o.folders.logs,
      tempDir: o.folders.temp,
      logFlushAfterDays: 1,
      gatewayConfigured: false,
      ...o.maintenance,
    },
  });
}

/** Writes a file and sets its modification time `daysAgo` days back. */
export function writeOld(file: string, content: string | Buffer, daysAgo: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  const t = new Date(Date.now() - daysAgo * 86_400_000);
  fs.utimesSync(file, t, t);
}

export function gitInit(dir: string): void {
  const g = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  g('init', '-q', '-b', 'main');
  g('config', 'user.email', 'test@example.com');
  g('config', 'user.name', 'Test');
  fs.writeFileSync(path.join(dir, 'README.md'), '# workspace\n');
  g('add', '-A');
  g('commit', '-q', '-m', 'initial');
}

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, stdio: 'pipe' }).toString();
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, ms = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
