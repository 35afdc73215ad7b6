// Hostile tokens: every one is refused with 401/403 and nothing is written.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { mintToken, parseTtl } from '../lib/jwt.ts';
import { audience, startTestStack, type TestStack } from './support/stack.ts';

let stack: TestStack;
const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  stack = await startTestStack('jwt');
});
afterAll(async () => stack?.stop());

async function sign(claims: Record<string, unknown>, secret = inject('cluster').jwtSecret) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(enc(secret));
}

const attacks: Array<[string, () => Promise<string>]> = [
  ['expired', () => sign({ role: 'agent', agent_id: 'mallory', aud: audience, iat: now() - 7200, exp: now() - 3600 })],
  ['signed with another secret', () => sign({ role: 'agent', agent_id: 'mallory', aud: audience, exp: now() + 600 }, 'another-secret-that-is-also-32-chars-long!')],
  ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ role: 'operator', aud: audience, exp: now() + 600 })}.`],
  ['wrong audience', () => sign({ role: 'operator', aud: 'someone-else', exp: now() + 600 })],
  ['unknown role', () => sign({ role: 'postgres', aud: audience, exp: now() + 600 })],
  ['role the authenticator cannot switch to', () => sign({ role: 'worker', aud: audience, exp: now() + 600 })],
  ['agent without agent_id', () => sign({ role: 'agent', aud: audience, exp: now() + 600 })],
  ['agent with a malformed agent_id', () => sign({ role: 'agent', agent_id: "x' or 1=1 --", aud: audience, exp: now() + 600 })],
  ['no role claim (anon)', () => sign({ agent_id: 'mallory', aud: audience, exp: now() + 600 })],
  ['tampered payload', async () => {
    const good = await sign({ role: 'agent', agent_id: 'alice', aud: audience, exp: now() + 600 });
    const [h, , s] = good.split('.');
    return `${h}.${b64({ role: 'operator', aud: audience, exp: now() + 600 })}.${s}`;
  }],
  ['garbage', async () => 'not.a.jwt'],
];

describe('hostile tokens', () => {
  it.each(attacks)('%s → 401/403 and nothing written', async (_name, make) => {
    const token = await make();
    const before = await stack.sql.query('select count(*)::int as n from api.memory_kv');
    const res = await fetch(`${stack.restUrl}/memory_kv`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Prefer: 'resolution=merge-duplicates' },
      body: JSON.stringify({ agent_id: 'mallory', key: 'pwned', value: true }),
    });
    expect([401, 403]).toContain(res.status);
    const read = await fetch(`${stack.restUrl}/memory_kv`, { headers: { Authorization: `Bearer ${token}` } });
    expect([401, 403]).toContain(read.status);
    const after = await stack.sql.query('select count(*)::int as n from api.memory_kv');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('an agent token without agent_id gets a hint on how to mint one', async () => {
    const token = await sign({ role: 'agent', aud: audience, exp: now() + 600 });
    const res = await fetch(`${stack.restUrl}/memory_kv`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { hint?: string };
    expect(body.hint).toMatch(/clawbase token --role agent --agent/);
  });

  it('a valid token works (the attacks above fail for their flaw, not for a broken setup)', async () => {
    const token = await stack.token('agent', 'alice');
    const res = await fetch(`${stack.restUrl}/memory_kv`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: 'fine', value: 1 }),
    });
    expect(res.status).toBe(201);
  });
});

describe('minting', () => {
  it('caps the lifetime at 24 h and parses durations', () => {
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('24h')).toBe(86400);
    expect(() => parseTtl('25h')).toThrow(/24 h cap/);
    expect(() => parseTtl('soon')).toThrow(/not a duration/);
  });

  it('refuses an agent token without a valid agent id', async () => {
    await expect(mintToken({ secret: 'x'.repeat(32), audience, role: 'agent', ttlSeconds: 60 })).rejects.toThrow(/--agent/);
    await expect(mintToken({ secret: 'x'.repeat(32), audience, role: 'agent', agentId: 'bad id', ttlSeconds: 60 })).rejects.toThrow(/--agent/);
  });

  it('puts role, agent_id, aud, iat and exp in the token', async () => {
    const token = await mintToken({ secret: 'x'.repeat(32), audience, role: 'agent', agentId: 'main', ttlSeconds: 3600 });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ role: 'agent', agent_id: 'main', aud: audience });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });
});
