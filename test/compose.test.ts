// docker-compose.yml, checked the way CI can (no Docker daemon here): Debian's docker-compose
// validates it, and the resolved configuration keeps the deployment's promises.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { edgeVariables } from '../nginx/variables.ts';
import { postgrestConfig } from '../rest/postgrest.ts';

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
    expect(Object.keys(services).sort()).toEqual(['functions', 'migrate', 'n8n', 'nginx', 'ollama', 'ollama-pull', 'openclaw-gateway', 'postgres', 'postgrest', 'worker']);
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
    for (const name of ['postgrest', 'worker', 'functions']) expect(services[name]!.depends_on, name).toEqual({ migrate: { condition: 'service_completed_successfully' } });
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
    for (const name of ['worker', 'functions']) {
      expect(JSON.stringify(services[name]!.environment), name).not.toContain(secrets.POSTGRES_PASSWORD);
    }
    expect(services.migrate!.environment!.DATABASE_URL).toContain(secrets.POSTGRES_PASSWORD);
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
    expect(services.worker!.build?.target).toBe('app');
    expect(services.nginx!.build?.target).toBe('edge');
  });
});
