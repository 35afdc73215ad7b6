// GET /functions/v1/version: which Clawbase answers, and for how long it has been up.
import fs from 'node:fs';
import { jsonResponse } from '../http-errors.ts';
import { defineFunction } from '../define.ts';

const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export default defineFunction({
  name: 'version',
  summary: 'name and version of this Clawbase, and the functions process uptime',
  methods: ['GET'],
  handle() {
    return jsonResponse(200, { name: pkg.name, version: pkg.version, uptimeSeconds: Math.round(process.uptime() * 10) / 10 });
  },
});
