// POST /functions/v1/memory/search: memory search with the query embedded by Ollama (see
// functions/memory-search/handler.ts). PostgREST is reached on its loopback port, with the caller's token.
import { loadConfig } from '../../lib/config.ts';
import { makeOllama } from '../../worker/memory/ollama.ts';
import { defineFunction } from '../define.ts';
import { jsonResponse } from '../http-errors.ts';
import { memorySearch, type MemorySearchDeps } from '../memory-search/handler.ts';

let deps: MemorySearchDeps | undefined;
const dependencies = (): MemorySearchDeps => {
  if (deps) return deps;
  const config = loadConfig();
  deps = {
    restUrl: config.restUrl,
    ollama: makeOllama(config.ollama),
    ollamaHost: config.ollama.host,
    embedModel: config.ollama.embedModel,
  };
  return deps;
};

export default defineFunction({
  name: 'memory',
  summary: 'POST /memory/search {query, k?, kinds?}: hybrid memory search, the query embedded by Ollama',
  methods: ['POST'],
  maxBodyBytes: 64 * 1024,
  async handle(request, ctx) {
    if (ctx.subpath !== '/search') return jsonResponse(404, { message: `no memory function at ${ctx.subpath || '/'}`, hint: 'POST /functions/v1/memory/search' });
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return jsonResponse(400, { message: 'the body is not JSON', hint: 'send {"query": "…"} with Content-Type: application/json' });
    }
    const res = await memorySearch(dependencies(), { authorization: request.headers.get('authorization') ?? undefined, body });
    return jsonResponse(res.status, res.body);
  },
});
