// POST /functions/v1/memory/search {query, k?, kinds?}: embeds the query with Ollama, then calls
// api.memory_search through PostgREST with the caller's own token, so row-level security scopes
// the results exactly as for a direct call. Ollama down: a text-only search, said so in the answer.
import type { Ollama } from 'ollama';
import { describeOllamaError } from '../../worker/memory/ollama.ts';

export interface MemorySearchDeps {
  restUrl: string;
  ollama: Ollama;
  ollamaHost: string;
  embedModel: string;
}

export interface HandlerResult {
  status: number;
  body: unknown;
}

const kindsAllowed = new Set(['memory', 'summary', 'chunk']);

function parse(body: unknown): { query: string; k: number; kinds: string[] | null } | string {
  if (typeof body !== 'object' || body === null) return 'send a JSON object: {"query": "…", "k": 10}';
  const b = body as Record<string, unknown>;
  if (typeof b.query !== 'string' || !b.query.trim()) return '"query" must be a non-empty string';
  if (b.query.length > 2000) return '"query" is longer than 2000 characters';
  const k = b.k === undefined ? 10 : b.k;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > 100) return '"k" must be a whole number from 1 to 100';
  let kinds: string[] | null = null;
  if (b.kinds !== undefined) {
    if (!Array.isArray(b.kinds) || !b.kinds.every((x) => typeof x === 'string' && kindsAllowed.has(x))) return '"kinds" must be a list of memory, summary, chunk';
    kinds = b.kinds as string[];
  }
  return { query: b.query, k, kinds };
}

export async function memorySearch(deps: MemorySearchDeps, req: { authorization?: string; body: unknown }): Promise<HandlerResult> {
  if (!req.authorization?.startsWith('Bearer ')) {
    return { status: 401, body: { message: 'missing bearer token', hint: 'send Authorization: Bearer <token from clawbase token or login>' } };
  }
  const input = parse(req.body);
  if (typeof input === 'string') return { status: 400, body: { message: input } };
  let embedding: number[] | null = null;
  let warning: string | undefined;
  try {
    embedding = (await deps.ollama.embed({ model: deps.embedModel, input: input.query })).embeddings[0] ?? null;
  } catch (err) {
    warning = `${describeOllamaError(err, deps.ollamaHost)}: text-only search`;
  }
  const res = await fetch(`${deps.restUrl}/rpc/memory_search`, {
    method: 'POST',
    headers: { Authorization: req.authorization, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: input.query, query_embedding: embedding, k: input.k, kinds: input.kinds }),
  });
  const body = (await res.json()) as unknown;
  if (!res.ok) return { status: res.status, body };
  return { status: 200, body: { results: body, vector: embedding !== null, ...(warning ? { warning } : {}) } };
}
