// What tasks need beyond their payload, built once per worker process from the configuration.
import type { Ollama } from 'ollama';
import type { Config } from '../lib/config.ts';
import { makeOllama } from './memory/ollama.ts';

export interface WorkerContext {
  ollama: Ollama;
  ollamaHost: string;
  embedModel: string;
  chatModel: string;
  workspace: string;
  workspaceAgent: string;
}

export function workerContext(config: Pick<Config, 'ollama' | 'workspace' | 'workspaceAgent'>): WorkerContext {
  return {
    ollama: makeOllama(config.ollama),
    ollamaHost: config.ollama.host,
    embedModel: config.ollama.embedModel,
    chatModel: config.ollama.chatModel,
    workspace: config.workspace,
    workspaceAgent: config.workspaceAgent,
  };
}
