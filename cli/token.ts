import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import { mintToken, parseTtl, tokenRoles, type TokenRole } from '../lib/jwt.ts';
import { loadSecrets } from '../lib/secrets.ts';
import type { Command } from './main.ts';

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Print a signed JWT for an agent, viewer or operator.',
  usage: `Usage: clawbase token --role agent|viewer|operator [--agent ID] [--ttl 1h]

Prints a signed HS256 JWT for PostgREST (claims role, agent_id for agents, aud=clawbase, iat, exp).
  --role    agent (needs --agent), viewer (read-only) or operator (read-write)
  --agent   the OpenClaw agent id the token is scoped to (row-level security uses it)
  --ttl     lifetime: 900s, 15m, 1h (default), at most 24h
Uses JWT_SECRET, or the secret generated in CLAWBASE_HOME on first start.

Example:
  curl http://127.0.0.1:3000/memory_kv -H "Authorization: Bearer $(clawbase token --role agent --agent main)"`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { role: { type: 'string' }, agent: { type: 'string' }, ttl: { type: 'string', default: '1h' } },
      strict: true,
    });
    if (!values.role || !tokenRoles.includes(values.role as TokenRole)) {
      throw new Error(`--role must be one of ${tokenRoles.join(', ')}.`);
    }
    if (values.agent && values.role !== 'agent') throw new Error('--agent only goes with --role agent.');
    const config = loadConfig();
    const token = await mintToken({
      secret: loadSecrets(config).jwtSecret,
      audience: config.jwtAudience,
      role: values.role as TokenRole,
      agentId: values.agent,
      ttlSeconds: parseTtl(values.ttl ?? '1h'),
    });
    console.log(token);
    return 0;
  },
};
