// The function registry: the server mounts each listed function at /functions/v1/<name> (and
// /functions/v1/<name>/<anything below>).
import type { FunctionDefinition } from './define.ts';
import memoryFunction from './memory/index.ts';
import versionFunction from './version/index.ts';

/** Every function the server mounts. Add a new one here after creating functions/<name>/index.ts. */
export const functions: readonly FunctionDefinition[] = [versionFunction, memoryFunction];

export function checkRegistry(list: readonly FunctionDefinition[]): Map<string, FunctionDefinition> {
  const byName = new Map<string, FunctionDefinition>();
  for (const f of list) {
    if (byName.has(f.name)) throw new Error(`two functions are named "${f.name}": names must be unique.`);
    byName.set(f.name, f);
  }
  return byName;
}
