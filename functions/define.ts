// What a function is: a web-standard handler with a name, its methods and its body limit.
// Each function lives in its own folder (functions/<name>/index.ts, the Supabase layout) and
// default-exports defineFunction({...}); functions/registry.ts lists them.

export interface FunctionContext {
  /** The path below /functions/v1/<name>: '' or starting with '/'. */
  subpath: string;
  /** Aborted when the client goes away or the server stops: long responses (SSE) end on it. */
  signal: AbortSignal;
  /**
   * The client's address: the peer's, or X-Real-IP when the peer is a trusted proxy (loopback or a
   * private network: nginx in front). Login rate limits count by it.
   */
  clientAddress: string;
  log(line: string): void;
}

export interface FunctionDefinition {
  /** URL segment: lower-case letters, digits and dashes. */
  name: string;
  /** One line for humans (`clawbase functions --help` lists it). */
  summary: string;
  /** Methods it answers; HEAD is allowed wherever GET is. */
  methods: readonly ('GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE')[];
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413 before it runs. */
  maxBodyBytes?: number;
  /** A web-standard handler: a Request in, a Response out (a stream body for long answers). */
  handle(request: Request, ctx: FunctionContext): Response | Promise<Response>;
}

export const functionNamePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function defineFunction(definition: FunctionDefinition): FunctionDefinition {
  if (!functionNamePattern.test(definition.name)) {
    throw new Error(`function name "${definition.name}" must be lower-case letters, digits and dashes (it becomes /functions/v1/<name>).`);
  }
  if (!definition.methods.length) throw new Error(`function "${definition.name}" must answer at least one method.`);
  return definition;
}
