#!/usr/bin/env node
// `npm start` runs this first: builds the Conductor dashboard (web/ → web/dist) when there is no
// build yet or a source file is newer than it, so the two README commands give a working dashboard.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'web', 'dist', 'index.html');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'dist' && entry.name !== 'node_modules') newest = Math.max(newest, newestMtime(p));
    } else newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

const stale = !fs.existsSync(built) || newestMtime(path.join(root, 'web')) > fs.statSync(built).mtimeMs;
if (stale) {
  console.log('Building the Conductor dashboard (web/ → web/dist)…');
  const r = spawnSync('npm', ['run', '-s', 'build:web'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('The dashboard build failed (see above); fix it or run `npm run build:web` to retry.');
    process.exit(r.status ?? 1);
  }
}
