// The browser half of bench/dashboard.ts: the Conductor as a user gets it. Load to first data of
// every panel in headless Chromium with a cold cache (a fresh browser context each time, already
// signed in), next to the floor of a page load in the same browser from the same server (a
// navigation to /config.json: no app, no query); and the gzipped size of the app's JavaScript.
// Targets: first data ≤ 1 s, JS ≤ 150 KB gzip.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type BrowserContext } from 'playwright-core';
import type { DashboardBenchContext } from './dashboard.ts';
import { percentile, type Figure } from './lib.ts';

const firstDataTargetMs = 1000;
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const jsTargetBytes = 150 * 1024;

/** What marks "data on screen" in each panel (a row, a card, or the panel's empty state). */
// `ready` is the panel's first data; `complete` (when given) is everything it loads on open.
const panels: { name: string; path: string; ready: string; complete?: string }[] = [
  { name: 'activity', path: '/activity', ready: 'cb-activity li.row, cb-activity .empty' },
  // The status of every part comes first; usage charts and uptime counts follow (data-loaded).
  { name: 'health', path: '/health', ready: 'cb-health .part', complete: 'cb-health[data-loaded]' },
  { name: 'tasks', path: '/tasks', ready: 'cb-tasks li.card, cb-tasks .empty' },
  { name: 'memory', path: '/memory', ready: 'cb-memory tbody tr, cb-memory .empty' },
  { name: 'cron', path: '/cron', ready: 'cb-cron tr[data-job], cb-cron .empty' },
  { name: 'backups', path: '/backups', ready: 'cb-backups .fact' },
];

/** Gzipped bytes (level 9, as a server would precompress) of every JS file of the build. */
export function gzippedJs(dist: string): { bytes: number; raw: number; files: number } {
  const assets = path.join(dist, 'assets');
  const files = fs.existsSync(assets) ? fs.readdirSync(assets).filter((f) => f.endsWith('.js')) : [];
  let bytes = 0;
  let raw = 0;
  for (const f of files) {
    const data = fs.readFileSync(path.join(assets, f));
    raw += data.length;
    bytes += zlib.gzipSync(data, { level: 9 }).length;
  }
  return { bytes, raw, files: files.length };
}

/** Self time per function (top 12) and per script of a V8 CPU profile. */
function summariseProfile(profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples?: number[]; timeDeltas?: number[] }): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fn = new Map<string, number>();
  const script = new Map<string, number>();
  (profile.samples ?? []).forEach((id, i) => {
    const f = byId.get(id)!;
    const dt = (profile.timeDeltas?.[i] ?? 0) / 1000;
    const file = f.url.replace(/^https?:\/\/[^/]+/, '') || f.functionName;
    fn.set(`${f.functionName || '(anonymous)'} ${file}:${f.lineNumber}`, (fn.get(`${f.functionName || '(anonymous)'} ${file}:${f.lineNumber}`) ?? 0) + dt);
    script.set(file, (script.get(file) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `~ ${v.toFixed(1).padStart(6)} ms ${k}`);
  return [...top(script, 8), ...top(fn, 12)];
}

export async function measureBrowser(ctx: DashboardBenchContext): Promise<{ figures: Figure[]; notes: string[] }> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const js = gzippedJs(ctx.webDist);
  figures.push({
    name: 'dashboard JavaScript, gzipped',
    value: Math.round(js.bytes / 102.4) / 10,
    unit: 'KB',
    target: { text: '≤ 150 KB gzip', met: js.bytes <= jsTargetBytes },
    extra: { raw_kb: Math.round(js.raw / 1024), files: js.files },
  });

  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    notes.push(`no Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH): first-data figures skipped.`);
    return { figures, notes };
  }
  const iterations = ctx.opts.quick ? 5 : 15;
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    // Sign in once through the page; every measured load starts from that stored session.
    const first = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await first.newPage();
    await page.goto(`${ctx.functionsUrl}/login`);
    await page.getByLabel('E-mail').fill(ctx.login.email);
    await page.getByLabel('Password').fill(ctx.login.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('cb-app header').waitFor({ timeout: 30_000 });
    const storageState = await first.storageState();
    await first.close();

    const cold = async (url: string, ready: string | undefined, complete?: string): Promise<{ first: number; complete: number }> => {
      const context: BrowserContext = await browser.newContext({ viewport: { width: 1366, height: 768 }, storageState });
      try {
        const p = await context.newPage();
        // BENCH_TRACE=1: every request of the load with its start and end (ms from navigation), to see what first data waits on.
        const trace: string[] = [];
        if (process.env.BENCH_TRACE) {
          p.on('requestfinished', (r) => {
            const t = r.timing();
            trace.push(`${(t.startTime - started0).toFixed(0).padStart(5)} → ${(t.startTime - started0 + t.responseEnd).toFixed(0).padStart(5)} ms ${r.method()} ${r.url().replace(/^https?:\/\/[^/]+/, '')}`);
          });
          p.on('console', (m) => trace.push(`console.${m.type()}: ${m.text()}`));
        }
        // BENCH_PROFILE=1: where the renderer's main thread spends the load (V8 CPU profile, self time).
        const cdp = process.env.BENCH_PROFILE && ready ? await context.newCDPSession(p) : undefined;
        if (cdp) {
          await cdp.send('Profiler.enable');
          await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
          await cdp.send('Profiler.start');
        }
        const started0 = Date.now();
        const started = performance.now();
        await p.goto(url, { waitUntil: ready ? 'commit' : 'load' });
        if (ready) await p.locator(ready).first().waitFor({ timeout: 30_000 });
        const first = performance.now() - started;
        if (cdp) trace.push(...summariseProfile((await cdp.send('Profiler.stop')).profile));
        if (complete) await p.locator(complete).first().waitFor({ timeout: 30_000 });
        if (trace.length) ctx.opts.log(`  ${url}: first data at ${first.toFixed(0)} ms\n    ${trace.sort().join('\n    ')}`);
        return { first, complete: performance.now() - started };
      } finally {
        await context.close();
      }
    };

    const floor: number[] = [];
    for (let i = 0; i < iterations; i++) floor.push((await cold(`${ctx.functionsUrl}/config.json`, undefined)).first);
    const floorP95 = percentile(sorted(floor), 95);
    for (const panel of panels) {
      const times: number[] = [];
      const completeTimes: number[] = [];
      await cold(`${ctx.functionsUrl}${panel.path}`, panel.ready, panel.complete); // warm the server side once
      for (let i = 0; i < iterations; i++) {
        const t = await cold(`${ctx.functionsUrl}${panel.path}`, panel.ready, panel.complete);
        times.push(t.first);
        completeTimes.push(t.complete);
      }
      const p95 = percentile(sorted(times), 95);
      figures.push({
        name: `${panel.name} panel: load to first data in Chromium (cold cache) p95`,
        value: Math.round(p95),
        unit: 'ms',
        limit: { name: 'page load of /config.json in the same browser p95', value: Math.round(floorP95) },
        ratio: floorP95 / p95,
        target: { text: `≤ ${firstDataTargetMs} ms`, met: p95 <= firstDataTargetMs },
        extra: { p50: Math.round(percentile(sorted(times), 50)), iterations, ...(panel.complete ? { everything_p95: Math.round(percentile(sorted(completeTimes), 95)) } : {}) },
      });
      ctx.opts.log(`  ${panel.name}: first data p95 ${p95.toFixed(0)} ms (floor ${floorP95.toFixed(0)} ms)`);
    }
    notes.push('first data: from navigation to the first row (or empty state) of the panel, a fresh browser context per load (cold cache, signed in).');
  } finally {
    await browser.close();
  }
  return { figures, notes };
}
