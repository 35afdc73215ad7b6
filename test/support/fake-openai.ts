// A fake OpenAI-compatible model server (node:http, SSE chunks) for the real OpenClaw Gateway:
// a turn that asks to "use a tool" gets a `read` tool call; anything else, and the turn after a
// tool result, gets text. Usage comes in the last chunk, as OpenAI sends it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeModel {
  baseUrl: string;
  /** Requests answered, with what each answer was. */
  calls: Array<{ kind: 'text' | 'tool'; promptTokens: number; completionTokens: number }>;
  close(): Promise<void>;
}

type ChatMessage = { role: string; content?: unknown };

export async function startFakeModel(): Promise<FakeModel> {
  const calls: FakeModel['calls'] = [];
  let toolCalls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'GET' && req.url?.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model', owned_by: 'test' }] }));
        return;
      }
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const request = JSON.parse(body || '{}') as { messages?: ChatMessage[] };
      const messages = request.messages ?? [];
      // OpenClaw adds its own context messages, so look for the request anywhere after the last tool result.
      let asked = -1;
      let answered = -1;
      messages.forEach((m, i) => {
        if (/use a tool/i.test(typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''))) asked = i;
        if (m.role === 'tool') answered = i;
      });
      const kind: 'text' | 'tool' = asked >= 0 && answered < asked ? 'tool' : 'text';
      const promptTokens = 1000 + calls.length * 10;
      const completionTokens = kind === 'tool' ? 20 : 30;
      calls.push({ kind, promptTokens, completionTokens });
      const id = `chatcmpl-fake-${calls.length}`;
      const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'fake-model', choices, ...extra })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      if (kind === 'tool') {
        toolCalls++;
        res.write(chunk([{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, id: `call_compat_${toolCalls}`, type: 'function', function: { name: 'read', arguments: '' } }] }, finish_reason: null }]));
        res.write(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"path":"AGENTS.md"}' } }] }, finish_reason: null }]));
        res.write(chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]));
      } else {
        res.write(chunk([{ index: 0, delta: { role: 'assistant', content: 'Fake' }, finish_reason: null }]));
        res.write(chunk([{ index: 0, delta: { content: ` reply #${calls.length} (no real model).` }, finish_reason: null }]));
        res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
      }
      res.write(chunk([], { usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } }));
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
