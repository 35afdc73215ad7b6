import { loadConfig } from '../lib/config.ts';
import { startFunctionsProcess } from '../functions/main.ts';
import { functions } from '../functions/registry.ts';
import type { Command } from './main.ts';

export const functionsCommand: Command = {
  name: 'functions',
  summary: 'Run the functions server and the read-only file server (started by `clawbase start`).',
  usage: `Usage: clawbase functions

Serves the functions under http://CLAWBASE_FUNCTIONS_HOST:CLAWBASE_FUNCTIONS_PORT/functions/v1/<name>
(default 127.0.0.1:8080) and the public folders of the agent workspace (OPENCLAW_WORKSPACE, default
~/.openclaw/workspace: diagrams/ research/ slides/ images/ docs/ video/, files readable by others
only, never dotfiles or symlinks) read-only on CLAWBASE_FILES_PORT (default 8081; "off" turns it
off when nginx serves the files). \`clawbase start\` runs one; it stops cleanly on SIGINT/SIGTERM.

Functions:
${functions.map((f) => `  ${f.methods.join(',').padEnd(10)} /functions/v1/${f.name}  ${f.summary}`).join('\n')}`,
  async run(args) {
    if (args.length) throw new Error(`functions takes no arguments (got ${args.join(' ')}); settings come from the environment.`);
    const config = loadConfig();
    const running = await startFunctionsProcess(config, (line) => console.log(line));
    console.log(`functions ready: ${running.functions.url}/functions/v1/` + (running.files ? `, files ${running.files.url}/ from ${config.workspace}` : ', file server off'));
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    console.log(`functions: ${signal}, stopping`);
    await running.stop();
    return 0;
  },
};
