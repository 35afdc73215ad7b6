// Shared pieces of the benchmarks: every bench/*.ts exports `run(opts)` returning a report whose
// figures sit next to the physical limit measured in the same run, and runs itself when executed
// directly (`node --import tsx bench/rest.ts [--quick]`). `npm run bench` runs them all.
import os from 'node:os';
import { pathToFileURL } from 'node:url';

export interface Figure {
  /** What was measured, e.g. "GET memory_kv by key via PostgREST". */
  name: string;
  value: number;
  unit: string;
  /** The physical-limit figure it is compared with, measured in the same run. */
  limit?: { name: string; value: number };
  /** value / limit.value (or limit / value when lower is better), printed as a ratio. */
  ratio?: number;
  /** The issue's target for this figure, and whether it was met. */
  target?: { text: string; met: boolean };
  /** Extra figures (p50, p99, …) printed beside it. */
  extra?: Record<string, number | string>;
}

export interface BenchReport {
  bench: string;
  /** Data sizes and settings the figures depend on. */
  setup: Record<string, number | string>;
  figures: Figure[];
  notes?: string[];
}

export interface BenchOptions {
  quick: boolean;
  log: (line: string) => void;
}

export function percentile(sortedMs: number[], p: number): number {
  if (!sortedMs.length) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

/**
 * Runs `op` from `concurrency` loops for `seconds` (after a warm-up) and reports throughput and
 * latency percentiles in milliseconds. A failing op counts as an error and does not stop the run.
 */
export async function closedLoop(op: (i: number) => Promise<void>, concurrency: number, seconds: number, warmupSeconds = 1): Promise<LoadResult> {
  let stopAt = Date.now() + warmupSeconds * 1000;
  let recording = false;
  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  const loop = async () => {
    while (Date.now() < stopAt) {
      const t0 = performance.now();
      try {
        await op(counter++);
        if (recording) latencies.push(performance.now() - t0);
      } catch {
        if (recording) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  recording = true;
  const start = performance.now();
  stopAt = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

export function machine(): Record<string, string | number> {
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n >= 100 ? n.toFixed(0) : n.toFixed(2));

export function formatReport(r: BenchReport): string {
  const lines = [`## ${r.bench}`, '', `setup: ${Object.entries(r.setup).map(([k, v]) => `${k}=${v}`).join(', ')}`, ''];
  for (const f of r.figures) {
    let line = `- ${f.name}: ${fmt(f.value)} ${f.unit}`;
    if (f.extra) line += ` (${Object.entries(f.extra).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`).join(', ')})`;
    if (f.limit) line += `; limit ${f.limit.name}: ${fmt(f.limit.value)} ${f.unit}`;
    if (f.ratio !== undefined) line += `; ratio ${(f.ratio * 100).toFixed(0)}%`;
    if (f.target) line += `; target ${f.target.text}: ${f.target.met ? 'PASS' : 'SHORT'}`;
    lines.push(line);
  }
  for (const n of r.notes ?? []) lines.push(`- note: ${n}`);
  return lines.join('\n');
}

/** `if (isMain(import.meta.url)) await runStandalone(run)` at the end of each bench file. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl;
}

export async function runStandalone(run: (opts: BenchOptions) => Promise<BenchReport>): Promise<void> {
  const report = await run({ quick: process.argv.includes('--quick'), log: (l) => console.error(l) });
  console.log(formatReport(report));
}
