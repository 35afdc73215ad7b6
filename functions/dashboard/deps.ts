// What the dashboard's functions (login, refresh, logout, live, health, metrics, the web app)
// need: two database logins and the stack's URLs. Built once from the configuration in the
// functions process; tests build their own against a test database.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig, type S3Settings } from '../../lib/config.ts';
import { databaseUrls } from '../../lib/database-urls.ts';
import { loadSecrets } from '../../lib/secrets.ts';

export interface DashboardDeps {
  /**
   * The worker login: calls the private login/refresh functions (security definer, granted to it
   * alone) and reads the rollups, the queue and the alerts for /metrics and /health.
   */
  db: pg.Pool;
  /**
   * The authenticator login (PostgREST's): the live feed switches to the caller's role per query
   * and sets request.jwt.claims, exactly as PostgREST does, so row-level security applies.
   */
  feedUrl: string;
  jwtSecret: string;
  audience: string;
  /** PostgREST as this process reaches it, and its admin server (GET /ready). */
  restUrl: string;
  restAdminUrl: string | undefined;
  /** What the browser is told (GET /config.json); undefined: derived from the request. */
  publicRestUrl: string | undefined;
  publicFunctionsUrl: string | undefined;
  /** PostgREST's port, for the derived browser URL (same host as the dashboard, this port). */
  restPort: number;
  ollamaHost: string;
  /** The Gateway's HTTP base when one is configured (probed at /readyz). */
  gatewayHttpUrl: string | undefined;
  s3: S3Settings;
  /** The built dashboard (npm run build:web). */
  webDist: string;
  log(line: string): void;
}

export const defaultWebDist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

let deps: DashboardDeps | undefined;

/** The process-wide dependencies, from the environment (created on first use). */
export function dashboardDeps(): DashboardDeps {
  if (deps) return deps;
  const config = loadConfig();
  const secrets = loadSecrets(config);
  const urls = databaseUrls(config, secrets);
  const db = new pg.Pool({ connectionString: urls.worker, max: 4, application_name: 'clawbase functions' });
  // A dropped idle connection is replaced on the next query; never crash the process for it.
  db.on('error', (err) => console.error(`functions: database connection lost (${err.message}); reconnecting on the next request`));
  const restHost = new URL(config.restUrl).hostname;
  deps = {
    db,
    feedUrl: urls.authenticator,
    jwtSecret: secrets.jwtSecret,
    audience: config.jwtAudience,
    restUrl: config.restUrl,
    restAdminUrl: `http://${restHost.includes(':') ? `[${restHost}]` : restHost}:${config.restAdminPort}`,
    publicRestUrl: config.publicRestUrl,
    publicFunctionsUrl: config.publicFunctionsUrl,
    restPort: config.restPort,
    ollamaHost: config.ollama.host,
    gatewayHttpUrl: config.maintenance.gatewayConfigured ? config.gatewayUrl.replace(/^ws/, 'http').replace(/\/$/, '') : undefined,
    s3: config.s3,
    webDist: config.webDist ?? defaultWebDist,
    log: (line) => console.log(line),
  };
  return deps;
}
