// POST /functions/v1/login {email, password}: a dashboard session (access and refresh tokens).
// Rate limits (per account and per client address) and the bcrypt check are SQL
// (private.dashboard_login); every attempt is recorded and audited.
import { defineFunction, type FunctionDefinition } from '../define.ts';
import { dashboardDeps, type DashboardDeps } from '../dashboard/deps.ts';
import { jsonBody, problem, sessionResponse, type SessionUser } from '../dashboard/session.ts';

interface LoginRow {
  outcome: 'ok' | 'invalid' | 'rate_limited';
  user_id: string | null;
  email: string;
  role: 'viewer' | 'operator' | null;
  retry_after: number | null;
}

export function loginFunction(deps: () => DashboardDeps = dashboardDeps): FunctionDefinition {
  return defineFunction({
    name: 'login',
    summary: 'POST {email, password}: a dashboard session (access_token, refresh_token); 401 wrong credentials, 429 rate-limited',
    methods: ['POST'],
    maxBodyBytes: 16 * 1024,
    async handle(request, ctx) {
      const body = await jsonBody(request, '{"email": "…", "password": "…"}');
      if (body instanceof Response) return body;
      const { email, password } = body;
      if (typeof email !== 'string' || typeof password !== 'string' || !email || !password || email.length > 254 || password.length > 1024) {
        return problem(400, 'email and password are required strings', 'send {"email": "…", "password": "…"}');
      }
      const d = deps();
      const { rows } = await d.db.query<LoginRow>('select * from private.dashboard_login($1, $2, $3)', [email, password, ctx.clientAddress]);
      const r = rows[0]!;
      if (r.outcome === 'rate_limited') {
        const wait = String(r.retry_after ?? 60);
        return problem(429, 'too many failed logins; wait before trying again', `retry after ${wait} s`, { 'Retry-After': wait });
      }
      if (r.outcome !== 'ok') return problem(401, 'wrong email or password', 'an operator adds users with: clawbase user add --role viewer EMAIL');
      const user: SessionUser = { user_id: r.user_id!, email: r.email, role: r.role! };
      const { rows: issued } = await d.db.query<{ token: string }>('select private.issue_refresh_token($1) as token', [user.user_id]);
      return sessionResponse(d, user, issued[0]!.token);
    },
  });
}

export default loginFunction();
