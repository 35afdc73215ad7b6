import pg from 'pg';
import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import { workerContext } from '../worker/context.ts';
import { runSweepNow } from '../worker/maintenance/run-now.ts';
import { isStepName, stepNames, type StepName } from '../worker/maintenance/sweep.ts';
import type { Command } from './main.ts';

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'Run the maintenance sweep now (all steps, or one with --step NAME), with progress.',
  usage: `Usage: clawbase sweep [--step NAME]...

Runs the maintenance sweep in this process, step after step, as the database login "worker":
  memory     delete expired memory and summaries, prune HOT rows, archive idle sessions
  summaries  summarise sessions with new messages (Ollama, or extractive when it is down)
  log_flush  gzip old logs to S3_BUCKET_LOGS, verified, then delete them locally
  git        commit (and push) workspace changes; secrets are refused and alerted
  health     probe every service, store the results, apply the alert rules
  cleanup    temp files, audit rows past retention, log rotation, VACUUM (ANALYZE), disk report
Each step is recorded in api.cron_runs like a scheduled sweep. A failing step does not stop the
others. Exit code 0 when every step succeeded, 1 otherwise.`,
  async run(args) {
    const chosen: StepName[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const value = a.startsWith('--step=') ? a.slice(7) : a === '--step' ? args[++i] : undefined;
      if (value === undefined) throw new Error(`unknown option ${a}: see clawbase sweep --help`);
      if (!isStepName(value)) throw new Error(`unknown step "${value}": use one of ${stepNames.join(', ')}`);
      chosen.push(value);
    }
    const config = loadConfig();
    const urls = databaseUrls(config, loadSecrets(config));
    const pool = new pg.Pool({ connectionString: urls.worker, max: 1 });
    const client = await pool.connect();
    try {
      const ctx = workerContext(config);
      const started = performance.now();
      const result = await runSweepNow(client, ctx, chosen.length ? chosen : stepNames, ({ step, index, total, outcome }) => {
        if (!outcome) return void process.stdout.write(`[${index + 1}/${total}] ${step} … `);
        const secs = (outcome.ms / 1000).toFixed(1);
        console.log(outcome.ok ? `ok (${secs} s) ${JSON.stringify(outcome.counts)}` : `FAILED (${secs} s): ${outcome.error}`);
      });
      console.log(`maintenance sweep ${result.sweepId}: ${result.status} in ${((performance.now() - started) / 1000).toFixed(1)} s (api.cron_runs id ${result.sweepId})`);
      return result.status === 'succeeded' ? 0 : 1;
    } finally {
      client.release();
      await pool.end();
    }
  },
};
