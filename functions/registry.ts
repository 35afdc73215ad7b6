// The function registry: the server mounts each listed function at /functions/v1/<name> (and
// /functions/v1/<name>/<anything below>).
import type { FunctionDefinition } from './define.ts';
import healthFunction from './health/index.ts';
import liveFunction from './live/index.ts';
import loginFunction from './login/index.ts';
import logoutFunction from './logout/index.ts';
import memoryFunction from './memory/index.ts';
import metricsFunction from './metrics/index.ts';
import refreshFunction from './refresh/index.ts';
import versionFunction from './version/index.ts';

/** Every function the server mounts. Add a new one here after creating functions/<name>/index.ts. */
export const functions: readonly FunctionDefinition[] = [
  versionFunction,
  memoryFunction,
  loginFunction,
  refreshFunction,
  logoutFunction,
  liveFunction,
  healthFunction,
  metricsFunction,
];

export function checkRegistry(list: readonly FunctionDefinition[]): Map<string, FunctionDefinition> {
  const byName = new Map<string, FunctionDefinition>();
  for (const f of list) {
    if (byName.has(f.name)) throw new Error(`two functions are named "${f.name}": names must be unique.`);
    byName.set(f.name, f);
  }
  return byName;
}
