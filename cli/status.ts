import fs from 'node:fs';
import { loadConfig } from '../lib/config.ts';
import { stateFile, type StackState } from '../lib/stack.ts';
import type { Command } from './main.ts';

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const statusCommand: Command = {
  name: 'status',
  summary: 'Show what is running, where, and whether it answers.',
  usage: `Usage: clawbase status

Reads CLAWBASE_HOME/run/stack.json (written by clawbase start) and probes each part.
Exit code 0 when everything answers, 1 otherwise.`,
  async run() {
    const config = loadConfig();
    const file = stateFile(config);
    if (!fs.existsSync(file)) {
      console.log(`Clawbase is not running (no ${file}). Start it with: npm start`);
      return 1;
    }
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as StackState;
    let ready = false;
    try {
      ready = (await fetch(`${state.rest.adminUrl}/ready`)).ok;
    } catch {
      ready = false;
    }
    let functionsUp = false;
    try {
      functionsUp = state.functions !== undefined && (await fetch(`${state.functions.url}/functions/v1/version`)).ok;
    } catch {
      functionsUp = false;
    }
    const rows = [
      ['clawbase', alive(state.pid) ? `running (pid ${state.pid}) since ${state.startedAt}` : `not running (stale pid ${state.pid})`],
      ['postgres', `${state.postgres.embedded ? 'embedded' : 'external'} ${state.postgres.url}${state.postgres.pid ? (alive(state.postgres.pid) ? ` (pid ${state.postgres.pid})` : ' (process gone)') : ''}`],
      ['postgrest', `${state.rest.url} ${ready ? 'ready' : 'NOT READY'}${state.rest.pid ? ` (pid ${state.rest.pid})` : ''}`],
      ['worker', alive(state.worker.pid) ? `running (pid ${state.worker.pid})` : 'NOT RUNNING'],
      ['ingest', alive(state.ingest?.pid) ? `running (pid ${state.ingest?.pid}), log in ${config.home}/logs/ingest.log` : 'NOT RUNNING'],
      ['functions', `${state.functions?.url ?? '?'}/functions/v1/ ${functionsUp ? 'answering' : 'NOT ANSWERING'}${state.functions?.pid ? ` (pid ${state.functions.pid})` : ''}`],
      ['files', state.functions?.filesUrl ? `${state.functions.filesUrl}/ (read-only workspace, same process)` : 'off (CLAWBASE_FILES_PORT=off)'],
    ];
    for (const [k, v] of rows) console.log(`${k!.padEnd(10)} ${v}`);
    return alive(state.pid) && ready && alive(state.worker.pid) && alive(state.ingest?.pid) && functionsUp ? 0 : 1;
  },
};
