// Secrets generated on first start and kept in CLAWBASE_HOME/secrets.json (mode 0600).
// Nothing here is ever written into the repository or printed.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';

export interface Secrets {
  /** HS256 key shared by PostgREST and every token minter. */
  jwtSecret: string;
  /** Password of the embedded cluster's superuser (`postgres`). */
  superuserPassword: string;
  /** Password PostgREST logs in with as `authenticator`. */
  authenticatorPassword: string;
  /** Password of the worker's own login role. */
  workerPassword: string;
}

const random = (bytes: number) => randomBytes(bytes).toString('base64url');

export function secretsPath(config: Config): string {
  return path.join(config.home, 'secrets.json');
}

/** Reads the secrets file, creating it (and CLAWBASE_HOME) on first use. */
export function loadSecrets(config: Config): Secrets {
  const file = secretsPath(config);
  let stored: Partial<Secrets> = {};
  if (fs.existsSync(file)) {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) fs.chmodSync(file, 0o600);
    try {
      stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Secrets>;
    } catch (err) {
      throw new Error(`${file} is not valid JSON; restore it from a backup or move it away to generate new secrets (tokens signed before then stop working).`, { cause: err });
    }
  }
  const secrets: Secrets = {
    jwtSecret: stored.jwtSecret ?? random(48),
    superuserPassword: stored.superuserPassword ?? random(24),
    authenticatorPassword: stored.authenticatorPassword ?? random(24),
    workerPassword: stored.workerPassword ?? random(24),
  };
  if (JSON.stringify(secrets) !== JSON.stringify(stored)) {
    // 0711: others may pass through (the embedded server's OS user must reach pg/) but not list it.
    fs.mkdirSync(config.home, { recursive: true, mode: 0o711 });
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  }
  // Explicit values (JWT_SECRET, and the login passwords docker compose shares between services)
  // win over the generated ones, without being stored.
  return {
    ...secrets,
    jwtSecret: config.jwtSecret ?? secrets.jwtSecret,
    authenticatorPassword: config.authenticatorPassword ?? secrets.authenticatorPassword,
    workerPassword: config.workerPassword ?? secrets.workerPassword,
  };
}
