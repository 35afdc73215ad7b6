// Readable errors: what went wrong and, when the API says it, what to do next.
export class ApiError extends Error {
  readonly status: number;
  readonly hint: string | undefined;
  readonly code: string | undefined;
  constructor(message: string, opts: { status?: number; hint?: string | null; code?: string | null; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ApiError';
    this.status = opts.status ?? 0;
    this.hint = opts.hint ?? undefined;
    this.code = opts.code ?? undefined;
  }
}

interface ErrorBody {
  message?: unknown;
  hint?: unknown;
  details?: unknown;
  code?: unknown;
  error?: unknown;
}

/** An ApiError from an HTTP error answer of PostgREST or a function ({message, hint?, details?, code?}). */
export function fromBody(status: number, body: unknown, what: string): ApiError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
  const message = str(b.message) ?? str(b.error) ?? `${what} failed with HTTP ${status}`;
  const details = str(b.details);
  return new ApiError(details && !message.includes(details) ? `${message} (${details})` : message, {
    status,
    hint: str(b.hint) ?? defaultHint(status),
    code: str(b.code) ?? null,
  });
}

function defaultHint(status: number): string | undefined {
  if (status === 401) return 'Your session has ended: sign in again.';
  if (status === 403) return 'Your role may not do this; an operator can.';
  if (status === 429) return 'Too many attempts: wait a minute and try again.';
  if (status >= 500) return 'The server failed; its log has the cause. Try again in a moment.';
  return undefined;
}

export function networkError(url: string, err: unknown): ApiError {
  return new ApiError(`Cannot reach ${new URL(url).host} (${(err as Error).message ?? String(err)})`, {
    hint: 'Check that Clawbase is running and that this page may reach it (CORS, network).',
    cause: err,
  });
}

/** One line for the page: message, then the hint. */
export function describe(err: unknown): { message: string; hint?: string } {
  if (err instanceof ApiError) return { message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  if (err instanceof Error) return { message: err.message };
  return { message: String(err) };
}
