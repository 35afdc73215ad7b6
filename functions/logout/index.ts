// POST /functions/v1/logout {refresh_token}: revokes the session (the token's whole family); 204.
import { defineFunction, type FunctionDefinition } from '../define.ts';
import { dashboardDeps, type DashboardDeps } from '../dashboard/deps.ts';
import { jsonBody, problem } from '../dashboard/session.ts';

export function logoutFunction(deps: () => DashboardDeps = dashboardDeps): FunctionDefinition {
  return defineFunction({
    name: 'logout',
    summary: 'POST {refresh_token}: end the session (its refresh tokens stop working); 204',
    methods: ['POST'],
    maxBodyBytes: 16 * 1024,
    async handle(request) {
      const body = await jsonBody(request, '{"refresh_token": "…"}');
      if (body instanceof Response) return body;
      const token = body.refresh_token;
      if (typeof token !== 'string' || !token || token.length > 200) return problem(400, 'refresh_token is required', 'send {"refresh_token": "…"}');
      await deps().db.query('select private.dashboard_logout($1)', [token]);
      // Unknown or already revoked: the session is over either way.
      return new Response(null, { status: 204, headers: { 'Cache-Control': 'no-store' } });
    },
  });
}

export default logoutFunction();
