import pg from 'pg';
import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import { workerContext } from '../worker/context.ts';
import { runProbes } from '../worker/health/probes.ts';
import type { Command } from './main.ts';

export const healthCommand: Command = {
  name: 'health',
  summary: 'Probe every service now and print the results (nothing is stored).',
  usage: `Usage: clawbase health [--json]

Runs the health probes the worker runs every 5 minutes: PostgreSQL (connections, archiver),
PostgREST (/ready on its admin port), the worker queue, Ollama, the OpenClaw Gateway (/readyz),
n8n and Redis when configured, the host (CPU, memory, disk, network) and the last hour's error
rate and token spend. Prints one line per service (--json: the full results).
Exit code 0 when nothing is down, 1 otherwise.`,
  async run(args) {
    const json = args.includes('--json');
    const unknown = args.filter((a) => a !== '--json');
    if (unknown.length) throw new Error(`unknown option ${unknown[0]}: see clawbase health --help`);
    const config = loadConfig();
    const urls = databaseUrls(config, loadSecrets(config));
    const pool = new pg.Pool({ connectionString: urls.worker, max: 1 });
    const client = await pool.connect().catch((err: Error) => {
      throw new Error(`cannot reach PostgreSQL as the worker login (${err.message}): is Clawbase running? Try: clawbase status`);
    });
    try {
      const probes = await runProbes(client, workerContext(config));
      if (json) console.log(JSON.stringify(probes, null, 2));
      else {
        const width = Math.max(...probes.map((p) => p.service.length));
        for (const p of probes) {
          const figures = Object.entries(p.metrics)
            .filter(([, v]) => typeof v === 'number')
            .slice(0, 6)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ');
          const latency = p.latencyMs === null ? '' : ` ${p.latencyMs} ms`;
          console.log(`${p.service.padEnd(width)}  ${p.status.padEnd(14)}${latency}${p.detail ? `  ${p.detail}` : ''}${figures ? `  ${figures}` : ''}`);
        }
      }
      return probes.some((p) => p.status === 'down') ? 1 : 0;
    } finally {
      client.release();
      await pool.end();
    }
  },
};
