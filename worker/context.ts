// What tasks need beyond their payload, built once per worker process from the configuration.
import type { Ollama } from 'ollama';
import { loadConfig, type BackupConfig, type Config, type MaintenanceConfig, type S3Settings } from '../lib/config.ts';
import { makeOllama } from './memory/ollama.ts';

export interface WorkerContext {
  ollama: Ollama;
  ollamaHost: string;
  embedModel: string;
  chatModel: string;
  workspace: string;
  workspaceAgent: string;
  /** The sweep, health checks and alert rules. */
  maintenance: MaintenanceConfig;
  s3: S3Settings;
  backups: BackupConfig;
  /** CLAWBASE_HOME (the base backup keeps its secrets.json, encrypted). */
  home: string;
  /** The application database's name (the restore drill checks it). */
  database: string;
  /** PostgREST's admin URL (GET /ready), when PostgREST is ours to probe. */
  restAdminUrl: string | undefined;
  /** The Gateway's HTTP base (ws:// → http://), probed at /readyz. */
  gatewayHttpUrl: string;
}

export type WorkerContextConfig = Pick<Config, 'ollama' | 'workspace' | 'workspaceAgent'> &
  Partial<Pick<Config, 'maintenance' | 's3' | 'backups' | 'database' | 'home' | 'restAdminPort' | 'restUrl' | 'gatewayUrl'>>;

/** Builds the context; what is left out of `config` takes the defaults of an empty environment. */
export function workerContext(config: WorkerContextConfig): WorkerContext {
  const defaults = loadConfig({});
  const gatewayUrl = config.gatewayUrl ?? defaults.gatewayUrl;
  return {
    ollama: makeOllama(config.ollama),
    ollamaHost: config.ollama.host,
    embedModel: config.ollama.embedModel,
    chatModel: config.ollama.chatModel,
    workspace: config.workspace,
    workspaceAgent: config.workspaceAgent,
    maintenance: config.maintenance ?? defaults.maintenance,
    s3: config.s3 ?? defaults.s3,
    backups: config.backups ?? defaults.backups,
    database: config.database ?? defaults.database,
    home: config.home ?? defaults.home,
    // The admin port on PostgREST's host (another container in docker compose, loopback otherwise).
    restAdminUrl: config.restAdminPort ? `http://${config.restUrl ? new URL(config.restUrl).hostname : '127.0.0.1'}:${config.restAdminPort}` : undefined,
    gatewayHttpUrl: gatewayUrl.replace(/^ws/, 'http').replace(/\/$/, ''),
  };
}
