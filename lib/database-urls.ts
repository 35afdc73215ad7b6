// Connection strings for each role, derived from DATABASE_URL or the embedded cluster.
import type { Config } from './config.ts';
import type { Secrets } from './secrets.ts';

export interface DatabaseUrls {
  /** Owner/superuser: migrations, bootstrap, psql. */
  owner: string;
  /** The PostgREST login; it switches to the JWT's role per request. */
  authenticator: string;
  /** The worker's login: maintenance and collectors. */
  worker: string;
}

export function databaseUrls(config: Config, secrets: Secrets): DatabaseUrls {
  const owner = config.databaseUrl
    ? new URL(config.databaseUrl)
    : new URL(`postgres://postgres:${encodeURIComponent(secrets.superuserPassword)}@127.0.0.1:${config.pgPort}/${config.database}`);
  const as = (user: string, password: string) => {
    const url = new URL(owner.href);
    url.username = user;
    url.password = encodeURIComponent(password);
    return url.href;
  };
  return {
    owner: owner.href,
    authenticator: as('authenticator', secrets.authenticatorPassword),
    worker: as('worker', secrets.workerPassword),
  };
}

/** The same URL pointing at another database of the cluster. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.href;
}

/** A URL safe to print: the password replaced. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '****';
  return u.href;
}
