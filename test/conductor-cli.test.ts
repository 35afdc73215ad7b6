// `clawbase user add|list` as an operator types it, against a test database; the user then logs in.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from './support/dashboard.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

const root = path.resolve(import.meta.dirname, '..');
let stack: TestStack;
let server: DashboardServer;
let home: string;

beforeAll(async () => {
  stack = await startTestStack('conductor_cli');
  server = await startDashboardServer(stack);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'clawbase-cli-'));
});
afterAll(async () => {
  await server?.stop();
  await stack?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['bin/clawbase.mjs', ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: stack.ownerUrl, CLAWBASE_HOME: home },
    encoding: 'utf8',
    input,
    timeout: 60_000,
  });

const login = async (email: string, password: string) =>
  fetch(`${server.url}/functions/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });

describe('clawbase user', () => {
  it('--help explains add and list', () => {
    const r = cli(['user', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('clawbase user add --role operator|viewer EMAIL');
    expect(r.stdout).toContain('--password-stdin');
    expect(cli(['user', 'add', '--help']).stdout).toContain('clawbase user list');
    expect(cli(['--help']).stdout).toMatch(/user\s+Add or list Conductor dashboard users/);
  });

  it('add prints a generated password once, stores only its bcrypt hash, and the user can log in', async () => {
    const r = cli(['user', 'add', '--role', 'operator', 'Ops@Example.com']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const password = /Password \(shown once, store it now\): (\S+)/.exec(r.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const { rows } = await stack.sql.query(`select role, password_hash from private.dashboard_users where email = 'ops@example.com'`);
    expect(rows[0].role).toBe('operator');
    expect(rows[0].password_hash).toMatch(/^\$2a\$10\$/);
    expect(rows[0].password_hash).not.toContain(password);
    // The admin action is audited by key, never with the hash.
    const audit = await stack.sql.query(`select row_key, new_values from api.audit_log where table_name = 'private.dashboard_users' and row_key ->> 'email' = 'ops@example.com'`);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].new_values).toBeNull();
    const res = await login('ops@example.com', password!);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { role: string }).role).toBe('operator');
  });

  it('add --password-stdin takes the password from a pipe and never prints it', async () => {
    const pw = 'a pass phrase from stdin';
    const r = cli(['user', 'add', '--role', 'viewer', 'reader@example.com', '--password-stdin'], `${pw}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(pw);
    expect((await login('reader@example.com', pw)).status).toBe(200);
  });

  it('refuses a duplicate, a bad role, a bad email and a short password, and lists the users', () => {
    const dup = cli(['user', 'add', '--role', 'viewer', 'reader@example.com']);
    expect(dup.status).toBe(1);
    expect(dup.stderr).toContain('already exists');
    expect(cli(['user', 'add', '--role', 'admin', 'x@example.com']).stderr).toContain('--role must be operator or viewer');
    expect(cli(['user', 'add', '--role', 'viewer', 'not-an-email']).stderr).toContain('is not an email address');
    expect(cli(['user', 'add', '--role', 'viewer', 'short@example.com', '--password-stdin'], 'short\n').stderr).toContain('at least 12 characters');
    const list = cli(['user', 'list']);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/ops@example\.com\s+operator\s+false/);
    expect(list.stdout).toMatch(/reader@example\.com\s+viewer\s+false/);
    expect(list.stdout).not.toMatch(/\$2a\$/);
  });
});
