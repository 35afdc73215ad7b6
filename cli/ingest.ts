import { loadConfig } from '../lib/config.ts';
import { databaseUrls } from '../lib/database-urls.ts';
import { loadSecrets } from '../lib/secrets.ts';
import { runIngest, type Progress, type SourceTotals } from '../worker/collectors/ingest.ts';
import type { Source } from '../worker/collectors/records.ts';
import type { Command } from './main.ts';

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'Collect OpenClaw transcripts (JSONL, SQLite) and live Gateway events into PostgreSQL.',
  usage: `Usage: clawbase ingest [--state-dir DIR] [--once]

Reads every OpenClaw transcript under the state folder (OPENCLAW_STATE_DIR, default ~/.openclaw):
  agents/<agent>/sessions/*.jsonl               (OpenClaw up to 2026.7)
  agents/<agent>/agent/openclaw-agent.sqlite    (OpenClaw 2026.8 and later, opened read-only)
and, unless --once, follows them and the Gateway's live events (OPENCLAW_GATEWAY_URL, needs
OPENCLAW_GATEWAY_TOKEN; without it the observer is off). Each entry is stored once in sessions,
messages and tool_calls, whichever source saw it; bad input goes to api.ingest_errors. Positions
are kept in PostgreSQL with the rows, so a restart resumes where it stopped.

Options:
  --state-dir DIR   read this OpenClaw state folder instead of OPENCLAW_STATE_DIR
  --once            backfill what is there now (progress bar, counts by source and type), then exit

\`clawbase start\` runs \`clawbase ingest\` next to the worker. Stops cleanly on SIGINT/SIGTERM.`,
  async run(args) {
    let stateDir: string | undefined;
    let once = false;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--once') once = true;
      else if (a === '--state-dir') {
        stateDir = args[++i];
        if (!stateDir) throw new Error('--state-dir needs a folder, e.g. --state-dir ~/.openclaw');
      } else if (a.startsWith('--state-dir=')) stateDir = a.slice('--state-dir='.length);
      else throw new Error(`unknown option ${a}; see clawbase ingest --help`);
    }
    const config = loadConfig(stateDir ? { ...process.env, OPENCLAW_STATE_DIR: stateDir } : process.env);
    const urls = databaseUrls(config, loadSecrets(config));
    const abort = new AbortController();
    const onSignal = (sig: string) => {
      console.log(`ingest: ${sig}, finishing the batches in hand and stopping`);
      abort.abort();
    };
    process.once('SIGINT', () => onSignal('SIGINT')).once('SIGTERM', () => onSignal('SIGTERM'));
    const gateway = config.gatewayToken ? { url: config.gatewayUrl, token: config.gatewayToken } : undefined;
    const tty = once && process.stderr.isTTY;
    let lastLine = 0;
    const summary = await runIngest({
      connectionString: urls.worker,
      stateDir: config.openclawStateDir,
      settings: config.ingest,
      once,
      gateway,
      signal: abort.signal,
      log: (line) => {
        if (tty) process.stderr.write('\r\x1b[K');
        console.log(line);
      },
      onReady: () => {
        console.log(`ingest: reading ${config.openclawStateDir}${once ? ' (backfill)' : ''}`);
        if (!once) console.log(gateway ? `ingest: following the Gateway at ${config.gatewayUrl}` : 'ingest: OPENCLAW_GATEWAY_TOKEN is not set: the Gateway observer is off (transcripts on disk are still collected)');
        console.log('ingest ready');
      },
      onProgress: once
        ? (p) => {
            const line = progressLine(p);
            if (tty) process.stderr.write(`\r\x1b[K${line}`);
            else if (Date.now() - lastLine > 5000) {
              lastLine = Date.now();
              console.error(line);
            }
          }
        : undefined,
    });
    if (tty) process.stderr.write('\n');
    if (once) console.log(formatSummary(summary.totals, summary.seconds));
    return 0;
  },
};

const sum = (t: SourceTotals) => Object.entries(t.entries).reduce((n, [k, v]) => (k === 'error' ? n : n + v), 0);

function bar(fraction: number, width = 24): string {
  const full = Math.round(fraction * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
}

export function progressLine(p: Progress): string {
  const entries = (['jsonl', 'sqlite', 'gateway'] as Source[]).reduce((n, s) => n + sum(p.totals[s]), 0);
  const parts: string[] = [];
  if (p.jsonlFraction !== undefined) parts.push(`jsonl ${bar(p.jsonlFraction)}`);
  if (p.sqliteFraction !== undefined) parts.push(`sqlite ${bar(p.sqliteFraction)}`);
  const rate = p.elapsedSeconds > 0 ? Math.round(entries / p.elapsedSeconds) : 0;
  parts.push(`${entries.toLocaleString('en')} entries stored, ${rate.toLocaleString('en')}/s`);
  return parts.join('  ');
}

export function formatSummary(totals: Record<Source, SourceTotals>, seconds: number): string {
  const lines = [`Backfill finished in ${seconds.toFixed(1)} s.`, '', 'source   entry type                 entries'];
  for (const source of ['jsonl', 'sqlite', 'gateway'] as Source[]) {
    const t = totals[source];
    const kinds = Object.entries(t.entries).sort(([a], [b]) => a.localeCompare(b));
    if (!kinds.length) continue;
    for (const [kind, n] of kinds) lines.push(`${source.padEnd(8)} ${kind.padEnd(26)} ${String(n).padStart(7)}`);
    lines.push(`${source.padEnd(8)} ${'→ new rows'.padEnd(26)} ${String(t.messages).padStart(7)} messages, ${t.toolCalls} tool calls, ${t.errors} ingest errors`);
  }
  if (lines.length === 3) lines.push('(nothing new: every transcript is already stored, or none was found)');
  return lines.join('\n');
}
