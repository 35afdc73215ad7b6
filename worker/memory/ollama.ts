// The Ollama client (the `ollama` package) with a deadline on every call: a hung model server
// must look like a down one, so summaries fall back and embedding jobs retry.
import { Ollama } from 'ollama';

export interface OllamaSettings {
  host: string;
  timeoutMs: number;
}

export function makeOllama(settings: OllamaSettings): Ollama {
  return new Ollama({
    host: settings.host,
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(settings.timeoutMs) }),
  });
}

/** A one-line reason for an Ollama failure, with the hint a user needs. */
export function describeOllamaError(err: unknown, host: string): string {
  const e = err as Error & { cause?: { code?: string }; status_code?: number };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `Ollama at ${host} did not answer in time`;
  if (e.cause?.code === 'ECONNREFUSED') return `Ollama is not reachable at ${host} (connection refused): start it or set OLLAMA_HOST`;
  if (e.status_code === 404 || /not found/i.test(e.message)) return `Ollama at ${host}: ${e.message} (pull the model: ollama pull <model>)`;
  return `Ollama at ${host}: ${e.message}`;
}
