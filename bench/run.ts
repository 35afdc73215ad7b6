// `npm run bench [-- --quick] [names…]`: every bench/*.ts that exports run(), in one process, one
// after another on this machine; prints each report and writes bench/RESULTS.md and RESULTS.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatReport, machine, type BenchOptions, type BenchReport } from './lib.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
// soak.ts is its own command (`npm run soak`); its latest report is copied in below.
const skip = new Set(['lib.ts', 'run.ts', 'stack.ts', 'soak.ts']);
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !skip.has(f) && (!only.length || only.includes(path.basename(f, '.ts')))).sort();

const reports: BenchReport[] = [];
const failures: string[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { run?: (o: BenchOptions) => Promise<BenchReport> };
  if (!mod.run) continue;
  console.error(`\n=== ${file}${quick ? ' (quick)' : ''}`);
  try {
    const report = await mod.run({ quick, log: (l) => console.error(l) });
    reports.push(report);
    console.log(formatReport(report));
  } catch (err) {
    failures.push(`${file}: ${(err as Error).message}`);
    console.error(`${file} failed: ${(err as Error).stack}`);
  }
}

const header = [
  '# Benchmark results',
  '',
  `Run ${new Date().toISOString()}${quick ? ' (quick mode: smaller data)' : ''} on ${Object.entries(machine()).map(([k, v]) => `${k}=${v}`).join(', ')}.`,
  'Each figure is printed next to the physical limit measured in the same run, with the ratio and the issue target.',
  '',
];
// One table of every target first, so a reader sees at once what passes and what falls short.
const targets = reports.flatMap((r) => r.figures.filter((f) => f.target).map((f) => ({ bench: r.bench, f })));
const summary = targets.length
  ? [
      ['## Targets', '', '| bench | figure | value | ratio to its limit | target | |', '|---|---|---|---|---|---|',
        ...targets.map(({ bench, f }) => `| ${bench.split(':')[0]} | ${f.name} | ${fmtValue(f.value)} ${f.unit} | ${f.ratio === undefined ? '' : `${(f.ratio * 100).toFixed(0)}%`} | ${f.target!.text} | ${f.target!.met ? 'PASS' : 'SHORT'} |`),
      ].join('\n'),
    ]
  : [];
const soakFile = path.join(dir, 'SOAK.md');
const soak = fs.existsSync(soakFile) ? [fs.readFileSync(soakFile, 'utf8').replace(/^# /, '## ').replace(/\n## /g, '\n### ').trim()] : ['## Soak and fault injection', 'Not run yet on this machine: `npm run soak -- --minutes 2 --faults` writes bench/SOAK.md, which this report copies in.'];
fs.writeFileSync(path.join(dir, 'RESULTS.md'), [...header, ...summary, ...reports.map(formatReport), ...soak, ...(failures.length ? ['## Failed', ...failures.map((f) => `- ${f}`)] : []), ''].join('\n\n'));
fs.writeFileSync(path.join(dir, 'RESULTS.json'), JSON.stringify({ machine: machine(), quick, reports, failures }, null, 2) + '\n');
console.error(`\nwrote bench/RESULTS.md (${reports.length} reports${failures.length ? `, ${failures.length} failed` : ''})`);
process.exitCode = failures.length ? 1 : 0;

function fmtValue(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}
