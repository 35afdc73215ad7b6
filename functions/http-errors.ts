// Errors a function (or the server) answers with: a status, a stable code and a message that says
// what to do, serialised as JSON in the shape PostgREST uses ({code, message, hint}).

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body) + '\n', {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
  });
}

export function errorResponse(err: HttpError): Response {
  return jsonResponse(err.status, { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) }, err.headers);
}
