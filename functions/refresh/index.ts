// POST /functions/v1/refresh {refresh_token}: the next session of the same family. Each refresh
// token works once; presenting a used one again revokes its whole family (private.dashboard_refresh).
import { defineFunction, type FunctionDefinition } from '../define.ts';
import { dashboardDeps, type DashboardDeps } from '../dashboard/deps.ts';
import { jsonBody, problem, sessionResponse } from '../dashboard/session.ts';

interface RefreshRow {
  outcome: 'ok' | 'invalid' | 'expired' | 'revoked' | 'reused' | 'disabled';
  user_id: string | null;
  email: string | null;
  role: 'viewer' | 'operator' | null;
  refresh_token: string | null;
}

const refusals: Record<Exclude<RefreshRow['outcome'], 'ok'>, string> = {
  invalid: 'the refresh token is not known',
  expired: 'the refresh token has expired',
  revoked: 'the refresh token was revoked (logout, or a reused token revoked its session)',
  reused: 'the refresh token was already used: every token of this session is now revoked',
  disabled: 'the user is disabled',
};

export function refreshFunction(deps: () => DashboardDeps = dashboardDeps): FunctionDefinition {
  return defineFunction({
    name: 'refresh',
    summary: 'POST {refresh_token}: a new access token and a new refresh token (single use; reuse revokes the session)',
    methods: ['POST'],
    maxBodyBytes: 16 * 1024,
    async handle(request, ctx) {
      const body = await jsonBody(request, '{"refresh_token": "…"}');
      if (body instanceof Response) return body;
      const token = body.refresh_token;
      if (typeof token !== 'string' || !token || token.length > 200) return problem(400, 'refresh_token is required', 'send {"refresh_token": "…"}');
      const d = deps();
      const { rows } = await d.db.query<RefreshRow>('select * from private.dashboard_refresh($1, $2)', [token, ctx.clientAddress]);
      const r = rows[0]!;
      if (r.outcome !== 'ok') {
        if (r.outcome === 'reused') ctx.log(`refresh token reuse for user ${r.user_id} from ${ctx.clientAddress}: its session was revoked`);
        return problem(401, refusals[r.outcome], 'log in again', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      }
      return sessionResponse(d, { user_id: r.user_id!, email: r.email!, role: r.role! }, r.refresh_token!);
    },
  });
}

export default refreshFunction();
