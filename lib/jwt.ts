// Signed, expiring tokens for PostgREST (HS256). The only way agents and dashboard users reach the data.
import { SignJWT } from 'jose';

export const tokenRoles = ['agent', 'viewer', 'operator'] as const;
export type TokenRole = (typeof tokenRoles)[number];

export const maxTokenTtlSeconds = 24 * 3600;
const agentIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses 90s, 15m, 1h, 24h (or bare seconds) into seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`--ttl "${text}" is not a duration: use e.g. 900s, 15m, 1h or 24h.`);
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (seconds < 1) throw new Error('--ttl must be at least one second.');
  if (seconds > maxTokenTtlSeconds) throw new Error(`--ttl ${text} is longer than the 24 h cap; mint a new token instead of a long-lived one.`);
  return seconds;
}

export interface TokenRequest {
  secret: string;
  audience: string;
  role: TokenRole;
  agentId?: string;
  ttlSeconds: number;
  /** Extra claims (e.g. sub, email for dashboard users). */
  claims?: Record<string, string>;
}

export async function mintToken(req: TokenRequest): Promise<string> {
  if (!tokenRoles.includes(req.role)) throw new Error(`role must be one of ${tokenRoles.join(', ')}, not "${req.role}".`);
  if (req.role === 'agent' && !agentIdPattern.test(req.agentId ?? '')) {
    throw new Error('an agent token needs --agent <id>: letters, digits, dot, dash or underscore, up to 64 characters.');
  }
  if (req.ttlSeconds > maxTokenTtlSeconds || req.ttlSeconds < 1) throw new Error('token lifetime must be between 1 s and 24 h.');
  const claims: Record<string, string> = { ...req.claims, role: req.role };
  if (req.role === 'agent') claims.agent_id = req.agentId as string;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(req.audience)
    .setIssuedAt()
    .setExpirationTime(`${req.ttlSeconds}s`)
    .sign(new TextEncoder().encode(req.secret));
}
