// The functions process: the functions server and, unless turned off, the read-only file server.
import fs from 'node:fs';
import type { Config } from '../lib/config.ts';
import { dashboardDeps } from './dashboard/deps.ts';
import { webApp } from './dashboard/web-app.ts';
import { startFileServer } from './file-server.ts';
import type { RunningHttpServer } from './http-server.ts';
import { functions } from './registry.ts';
import { startFunctionsServer } from './server.ts';

export interface FunctionsProcess {
  functions: RunningHttpServer;
  files: RunningHttpServer | undefined;
  stop(): Promise<void>;
}

export async function startFunctionsProcess(config: Config, log: (line: string) => void): Promise<FunctionsProcess> {
  // Everything outside /functions/ is the dashboard (web/dist) and its /config.json.
  const fnServer = await startFunctionsServer({ host: config.functionsHost, port: config.functionsPort, functions, log, fallback: webApp(dashboardDeps) });
  let files: RunningHttpServer | undefined;
  if (config.filesPort !== undefined) {
    try {
      files = await startFileServer({ root: config.workspace, host: config.functionsHost, port: config.filesPort, log: (l) => log(`[files] ${l}`) });
    } catch (err) {
      await fnServer.stop();
      throw err;
    }
    if (!fs.existsSync(config.workspace)) {
      log(`[files] the workspace ${config.workspace} does not exist yet: every file is 404 until OpenClaw creates it (or set OPENCLAW_WORKSPACE).`);
    }
  }
  return {
    functions: fnServer,
    files,
    async stop() {
      await Promise.all([fnServer.stop(), files?.stop()]);
    },
  };
}
