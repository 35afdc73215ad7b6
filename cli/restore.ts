import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../lib/config.ts';
import { secretsPath } from '../lib/secrets.ts';
import { listBaseBackups, prepareRestore, startRestored } from '../worker/backups/restore.ts';
import { restoreWorkspace } from '../worker/backups/restic.ts';
import { openBackupStore } from '../worker/backups/store.ts';
import { postgresOwner, prepareWalArchiveDir, walArchiveSettings } from '../worker/backups/wal.ts';
import { resticRepo } from '../worker/tasks/backup-workspace.ts';
import { workerContext } from '../worker/context.ts';
import type { Command } from './main.ts';

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'Restore PostgreSQL (and the workspace) from the backups, to any moment (point in time).',
  usage: `Usage: clawbase restore [--at TIMESTAMP | --backup ID] [--workspace] [--target DIR] [--force]
       clawbase restore --list

Restores the database from S3_BUCKET_BACKUPS: the newest base backup finished before the target
(an older one when it is damaged), then WAL replayed up to --at (every commit before it, none
after), then promoted. Stop Clawbase first (Ctrl-C on \`clawbase start\`); start it again after.
In docker compose: \`docker compose stop\`, then \`docker compose run --rm restore [options]\`
(the \`restore\` service runs this command on the postgres-data volume; README).

  --at TIMESTAMP  e.g. "2026-03-01 14:05:00+00" (ISO 8601; without a zone, UTC). Default: the
                  latest WAL shipped (plus what is still in the local WAL archive).
  --backup ID     restore this base backup (api.backups id, see --list), replayed to its end
                  or to --at.
  --workspace     also restore the workspace from its restic snapshot taken at or before --at.
  --target DIR    restore into DIR instead of the live data folder (CLAWBASE_PG_DATA_DIR).
  --force         replace existing data: the current folder is renamed <folder>.replaced-<time>
                  and kept until you remove it. Without --force, existing data is never touched.
  --list          list the base backups in the bucket.

Needs S3_BUCKET_BACKUPS, BACKUP_ENCRYPTION_KEY (the key the backups were made with) and the S3
settings; --workspace needs RESTIC_REPOSITORY and RESTIC_PASSWORD.`,
  async run(args) {
    const opt = parseArgs(args);
    const config = loadConfig();
    const store = openBackupStore(config.backups, config.s3);
    if (!store) throw new Error('no backup bucket: set S3_BUCKET_BACKUPS and BACKUP_ENCRYPTION_KEY (the key the backups were made with).');
    if (opt.list) {
      for (const m of await listBaseBackups(store, (key, err) => console.log(`  (unreadable: ${key}: ${err.message})`))) {
        console.log(`${String(m.id).padStart(8)}  ${m.stoppedAt}  ${(m.data.size / 1048576).toFixed(1).padStart(8)} MiB  WAL ${m.walStart} … ${m.walEnd}`);
      }
      return 0;
    }
    const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
    const target = path.resolve(opt.target ?? config.backups.pgDataDir);
    if (config.databaseUrl && !opt.target) throw new Error('DATABASE_URL is set (an external PostgreSQL): restore into a folder with --target DIR and put it in place yourself (docker compose has a restore service for this: README, "Backups in docker compose").');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const aside = moveAside(target, opt.force, stamp);
    if (aside) say(`existing data moved to ${aside} (remove it once the restore is good)`);
    const t0 = performance.now();
    const restoring = async () => {
      const prepared = await prepareRestore({
        store,
        targetDir: target,
        at: opt.at,
        backupId: opt.backup,
        localArchiveDir: fs.existsSync(config.backups.walArchiveDir) ? config.backups.walArchiveDir : undefined,
        // After a crash (not a lost disk) the replaced folder holds the last, never archived WAL.
        oldWalDir: aside ? path.join(aside, 'pg_wal') : undefined,
        tmpDir: path.join(config.home, 'tmp', 'restore'),
        progress: say,
      });
      say(`replaying WAL (${prepared.walFiles} files fetched) ${opt.at ? `to ${opt.at.toISOString()}` : 'to the latest shipped'} …`);
      await replayAndPromote(config, target, prepared.walDir, say);
      say(`database restored in ${((performance.now() - t0) / 1000).toFixed(1)} s from base backup ${prepared.manifest.id} (${prepared.manifest.stoppedAt})`);
      restoreSecrets(prepared.manifest.config?.['secrets.json'], opt.target ? `${target.replace(/\/+$/, '')}.secrets.json` : secretsPath(config), stamp, say);
    };
    try {
      await restoring();
    } catch (err) {
      if (aside) (err as Error).message += ` (your previous data is untouched in ${aside}: move it back to ${target} to undo)`;
      throw err;
    }
    if (opt.workspace) {
      const repo = resticRepo(workerContext(config));
      if (!repo) throw new Error('--workspace needs RESTIC_REPOSITORY and RESTIC_PASSWORD.');
      const wsAside = moveAside(config.workspace, opt.force, stamp);
      if (wsAside) say(`existing workspace moved to ${wsAside}`);
      const snap = await restoreWorkspace(repo, config.workspace, opt.at);
      say(`workspace restored from snapshot ${snap.short_id} (${snap.time}) into ${config.workspace}`);
    }
    say(opt.target ? `done: data in ${target}` : 'done: start Clawbase again (`clawbase start`, or `docker compose up -d`).');
    return 0;
  },
};

interface RestoreArgs {
  at?: Date;
  backup?: number;
  workspace: boolean;
  target?: string;
  force: boolean;
  list: boolean;
}

function parseArgs(args: string[]): RestoreArgs {
  const out: RestoreArgs = { workspace: false, force: false, list: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value: see clawbase restore --help`);
      return v;
    };
    if (flag === '--at') {
      const raw = value();
      const at = new Date(/[zZ]|[+-]\d\d(:?\d\d)?$/.test(raw) ? raw : `${raw.replace(' ', 'T')}Z`);
      if (Number.isNaN(at.getTime())) throw new Error(`--at ${raw} is not a timestamp: use e.g. "2026-03-01 14:05:00+00".`);
      out.at = at;
    } else if (flag === '--backup') {
      const id = Number(value());
      if (!Number.isInteger(id) || id < 1) throw new Error('--backup needs a backup id (see clawbase restore --list).');
      out.backup = id;
    } else if (flag === '--target') out.target = value();
    else if (flag === '--workspace') out.workspace = true;
    else if (flag === '--force') out.force = true;
    else if (flag === '--list') out.list = true;
    else throw new Error(`unknown option ${a}: see clawbase restore --help`);
  }
  return out;
}

/**
 * The restored cluster's logins have the passwords of the secrets.json kept with the backup: put it
 * back (a different one is kept aside as secrets.json.replaced-<time>).
 */
function restoreSecrets(base64: string | undefined, file: string, stamp: string, say: (l: string) => void): void {
  if (!base64) return;
  const content = Buffer.from(base64, 'base64');
  if (fs.existsSync(file) && fs.readFileSync(file).equals(content)) return;
  if (fs.existsSync(file)) {
    fs.renameSync(file, `${file}.replaced-${stamp}`);
    say(`${file} differed from the backup's: kept as ${path.basename(file)}.replaced-${stamp}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o711 });
  fs.writeFileSync(file, content, { mode: 0o600 });
  say(`secrets restored into ${file} (the restored database's logins use them)`);
}

/** Refuses to touch existing data without --force; with it, renames the folder and returns the new name. */
function moveAside(dir: string, force: boolean, stamp: string): string | undefined {
  if (!fs.existsSync(dir) || !fs.readdirSync(dir).length) return undefined;
  const pid = path.join(dir, 'postmaster.pid');
  if (fs.existsSync(pid)) {
    const n = Number(fs.readFileSync(pid, 'utf8').split('\n')[0]);
    // Our own pid (or our parent's) is a leftover of a server that died, as PostgreSQL itself
    // reasons: in a container both the server and this command run as pid 1.
    let alive = false;
    try {
      process.kill(n, 0);
      alive = n !== process.pid && n !== process.ppid;
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`PostgreSQL (pid ${n}) is running on ${dir}: stop Clawbase first, then run the restore again.`);
  }
  if (!force) throw new Error(`${dir} holds data: nothing was changed. Add --force to restore over it (it is kept as ${path.basename(dir)}.replaced-<time>), or use --target DIR.`);
  const aside = `${dir.replace(/\/+$/, '')}.replaced-${stamp}`;
  fs.renameSync(dir, aside);
  return aside;
}

/**
 * Starts the restored folder once, on a private socket the restore trusts (no password needed),
 * with archiving on so the new timeline is backed up; returns after promotion and a clean stop.
 */
async function replayAndPromote(config: Config, dataDir: string, walDir: string, say: (l: string) => void): Promise<void> {
  const hba = path.join(dataDir, 'pg_hba.conf');
  const original = fs.readFileSync(hba, 'utf8');
  const socketDir = `${dataDir.replace(/\/+$/, '')}.restore-socket`;
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const owner = postgresOwner();
  if (owner) fs.chownSync(socketDir, owner.uid, owner.gid);
  fs.writeFileSync(hba, `local all all trust\n${original}`);
  const archive = config.backups.bucket ? (prepareWalArchiveDir(config.backups.walArchiveDir), walArchiveSettings(config.backups.walArchiveDir)) : {};
  try {
    const started = await startRestored({
      dataDir,
      walDir,
      port: config.pgPort,
      superuserPassword: 'unused',
      logFile: path.join(config.home, 'logs', 'restore.log'),
      settings: { ...archive, hot_standby: 'off', unix_socket_directories: socketDir },
      connect: { host: socketDir, port: config.pgPort, user: 'postgres', database: 'postgres' },
    });
    say(`promoted; last replayed commit ${started.replayedTo?.toISOString() ?? '(none after the backup)'} at WAL ${started.replayLsn ?? '?'}`);
    await started.server.stop();
  } finally {
    fs.writeFileSync(hba, original);
    fs.rmSync(socketDir, { recursive: true, force: true });
  }
}
