// Dashboard sessions: a 24-hour access token (the JWT PostgREST checks) plus a single-use refresh
// token whose rotation and reuse detection live in SQL (private.dashboard_refresh).
import { jwtVerify } from 'jose';
import { mintToken } from '../../lib/jwt.ts';
import { jsonResponse } from '../http-errors.ts';
import type { DashboardDeps } from './deps.ts';

export const accessTokenSeconds = 86_400;

export interface SessionUser {
  user_id: string;
  email: string;
  role: 'viewer' | 'operator';
}

/** The 200 answer of login and refresh: a fresh access token and the refresh token to use next. */
export async function sessionResponse(deps: DashboardDeps, user: SessionUser, refreshToken: string): Promise<Response> {
  const access = await mintToken({
    secret: deps.jwtSecret,
    audience: deps.audience,
    role: user.role,
    ttlSeconds: accessTokenSeconds,
    claims: { sub: String(user.user_id), email: user.email },
  });
  return jsonResponse(200, {
    access_token: access,
    token_type: 'bearer',
    expires_in: accessTokenSeconds,
    refresh_token: refreshToken,
    role: user.role,
    email: user.email,
  });
}

/** Reads a JSON object body, or answers 400 saying what to send. */
export async function jsonBody(request: Request, example: string): Promise<Record<string, unknown> | Response> {
  try {
    const body = (await request.json()) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  return jsonResponse(400, { message: 'the body is not a JSON object', hint: `send ${example} with Content-Type: application/json` });
}

export const problem = (status: number, message: string, hint?: string, headers: Record<string, string> = {}) =>
  jsonResponse(status, { message, ...(hint ? { hint } : {}) }, headers);

export type CallerRole = 'agent' | 'viewer' | 'operator';

export interface Caller {
  role: CallerRole;
  claims: Record<string, unknown>;
  /** Seconds since the epoch when the token expires. */
  exp: number;
}

const agentIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Verifies a bearer token the way PostgREST does (HS256, our audience, not expired) and accepts the
 * roles that may read the feed. Returns a 401 response when it is not acceptable.
 */
export async function verifyCaller(deps: DashboardDeps, token: string | null): Promise<Caller | Response> {
  const challenge = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
  if (!token) return problem(401, 'a token is required', 'send Authorization: Bearer <access_token> (or ?access_token= for EventSource)', { 'WWW-Authenticate': 'Bearer' });
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(deps.jwtSecret), { audience: deps.audience, algorithms: ['HS256'] });
    const role = payload.role;
    if (role !== 'agent' && role !== 'viewer' && role !== 'operator') return problem(403, `the role "${String(role)}" may not read the feed`, undefined);
    if (role === 'agent' && !agentIdPattern.test(String(payload.agent_id ?? ''))) return problem(401, 'agent token has no valid agent_id claim', undefined, challenge);
    if (typeof payload.exp !== 'number') return problem(401, 'the token has no expiry', 'log in again', challenge);
    return { role, claims: payload as Record<string, unknown>, exp: payload.exp };
  } catch (err) {
    return problem(401, `the token was refused: ${(err as Error).message}`, 'log in again or refresh the access token', challenge);
  }
}

/** True when the request came through a proxy (nginx sets X-Real-IP): from outside, not a local scrape. */
export const isProxied = (request: Request) => request.headers.has('x-real-ip') || request.headers.has('x-forwarded-for');

/** The bearer token of a request, if any. */
export const bearer = (request: Request) => request.headers.get('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? null;

/**
 * Staff-only figures (/metrics, health details): open to a direct request on the functions port
 * (Prometheus, the container health check), a viewer or operator token when it came through the edge.
 */
export async function staffOrLocal(deps: DashboardDeps, request: Request): Promise<Response | undefined> {
  if (!isProxied(request)) return undefined;
  const caller = await verifyCaller(deps, bearer(request));
  if (caller instanceof Response) return caller;
  if (caller.role === 'agent') return problem(403, 'only dashboard users (viewer, operator) may read this', undefined);
  return undefined;
}
