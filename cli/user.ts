import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../lib/config.ts';
import { withRunningDatabase } from '../lib/stack.ts';
import type { Command } from './main.ts';

const usage = `Usage: clawbase user add --role operator|viewer EMAIL [--password-stdin]
       clawbase user list

Manages the people who log in to the Conductor dashboard (POST /functions/v1/login).
  add    adds a user. Without --password-stdin a password is generated and printed once (it is
         stored only as a bcrypt hash); with --password-stdin the password is read from standard
         input (at least 12 characters), e.g.  printf %s "$PW" | clawbase user add --role viewer a@b.c --password-stdin
         --role operator (reads everything, moves tasks, acknowledges alerts, runs jobs) or viewer (read-only)
  list   prints every user: email, role, disabled, created, last login.
Works against the running stack's database, or starts the embedded one for the job.`;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new Error('--password-stdin reads the password from a pipe, not a terminal: printf %s "$PW" | clawbase user add …');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function addUser(email: string, role: string, password: string): Promise<void> {
  const config = loadConfig();
  await withRunningDatabase(config, async (urls) => {
    const client = new pg.Client({ connectionString: urls.owner });
    await client.connect();
    try {
      await client.query('begin');
      // Keep the password out of the server log even when statement logging is on (superusers only).
      await client.query('savepoint quiet');
      await client.query("set local log_statement = 'none'").then(
        () => client.query('release savepoint quiet'),
        () => client.query('rollback to savepoint quiet'),
      );
      await client.query('select private.dashboard_user_add($1, $2, $3)', [email, password, role]);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => {});
      const e = err as Error & { code?: string };
      if (e.code === '23505') throw new Error(`a user ${email.toLowerCase()} already exists (clawbase user list shows them).`, { cause: err });
      if (e.code === '23514') throw new Error(`"${email}" is not an email address.`, { cause: err });
      throw err;
    } finally {
      await client.end();
    }
  });
}

export const userCommand: Command = {
  name: 'user',
  summary: 'Add or list Conductor dashboard users (operator or viewer).',
  usage,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'list') {
      if (rest.length) throw new Error(`user list takes no arguments (got ${rest.join(' ')}).`);
      const config = loadConfig();
      const rows = await withRunningDatabase(config, async (urls) => {
        const client = new pg.Client({ connectionString: urls.owner });
        await client.connect();
        try {
          return (await client.query<{ email: string; role: string; disabled: boolean; created_at: Date; last_login_at: Date | null }>(
            'select email, role, disabled, created_at, last_login_at from private.dashboard_users order by email',
          )).rows;
        } finally {
          await client.end();
        }
      });
      if (!rows.length) {
        console.log('No dashboard users yet. Add one with: clawbase user add --role operator EMAIL');
        return 0;
      }
      const width = Math.max(5, ...rows.map((r) => r.email.length));
      console.log(`${'email'.padEnd(width)}  role      disabled  created               last login`);
      for (const r of rows) {
        console.log(`${r.email.padEnd(width)}  ${r.role.padEnd(8)}  ${String(r.disabled).padEnd(8)}  ${r.created_at.toISOString().slice(0, 19)}Z  ${r.last_login_at ? r.last_login_at.toISOString().slice(0, 19) + 'Z' : '-'}`);
      }
      return 0;
    }
    if (sub !== 'add') throw new Error(`unknown subcommand "${sub ?? ''}": use clawbase user add … or clawbase user list (see --help).`);
    const { values, positionals } = parseArgs({
      args: rest,
      options: { role: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } },
      allowPositionals: true,
      strict: true,
    });
    if (values.role !== 'operator' && values.role !== 'viewer') throw new Error('--role must be operator or viewer.');
    if (positionals.length !== 1) throw new Error('give exactly one EMAIL: clawbase user add --role viewer someone@example.com');
    const email = positionals[0]!;
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error(`"${email}" is not an email address.`);
    const generated = !values['password-stdin'];
    const password = generated ? randomBytes(18).toString('base64url') : await readStdin();
    if (password.length < 12) throw new Error('the password must be at least 12 characters.');
    await addUser(email, values.role, password);
    console.log(`Added ${values.role} ${email.toLowerCase()}.`);
    if (generated) console.log(`Password (shown once, store it now): ${password}`);
    return 0;
  },
};
