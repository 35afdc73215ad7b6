// `clawbase`: one command per file under cli/, each with its own --help.
import { ConfigError } from '../lib/config.ts';
import { functionsCommand } from './functions.ts';
import { healthCommand } from './health.ts';
import { ingestCommand } from './ingest.ts';
import { migrateCommand } from './migrate.ts';
import { psqlCommand } from './psql.ts';
import { restoreCommand } from './restore.ts';
import { startCommand } from './start.ts';
import { statusCommand } from './status.ts';
import { sweepCommand } from './sweep.ts';
import { tokenCommand } from './token.ts';
import { userCommand } from './user.ts';
import { workerCommand } from './worker.ts';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const commands: Command[] = [startCommand, tokenCommand, migrateCommand, psqlCommand, statusCommand, workerCommand, ingestCommand, functionsCommand, sweepCommand, healthCommand, userCommand, restoreCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'clawbase: the self-hosted backbone for an OpenClaw agent.',
    '',
    'Usage: clawbase <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `clawbase <command> --help` for the options of one command.',
    'Configuration comes from the environment; see .env.example or the README.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`clawbase: unknown command "${name}".\n\n${help()}`);
    return 2;
  }
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const e = err as Error;
    console.error(`clawbase ${name}: ${e.message}`);
    if (!(e instanceof ConfigError) && process.env.CLAWBASE_DEBUG) console.error(e.stack);
    return 1;
  }
}
