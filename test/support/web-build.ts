import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/**
 * The Conductor app built from this checkout's source into a new temporary folder (not web/dist:
 * a test or bench must neither change the checkout's build nor measure a stale one). The caller removes it.
 */
export async function buildWebApp(prefix: string): Promise<string> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  await build({ configFile: fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url)), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  return outDir;
}
