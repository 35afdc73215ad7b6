// Runs a sweep in this process, step after step, recorded like a scheduled one (clawbase sweep, bench).
import type { PoolClient } from 'pg';
import { recordRun, type Counts } from '../cron-runs.ts';
import type { WorkerContext } from '../context.ts';
import { settleSweep, stepAlert, steps, sweepName, type StepName } from './sweep.ts';

export interface StepOutcome {
  step: StepName;
  ok: boolean;
  ms: number;
  counts?: Counts;
  error?: string;
}

export async function runSweepNow(
  client: PoolClient,
  ctx: WorkerContext,
  chosen: readonly StepName[],
  progress: (event: { step: StepName; index: number; total: number; outcome?: StepOutcome }) => void = () => {},
): Promise<{ sweepId: number; status: string; outcomes: StepOutcome[] }> {
  const { rows } = await client.query<{ id: string }>(`insert into api.cron_runs (name, counts) values ($1, $2) returning id`, [
    sweepName,
    Object.fromEntries(chosen.map((s) => [s, 'pending'])),
  ]);
  const sweepId = Number(rows[0]!.id);
  const outcomes: StepOutcome[] = [];
  for (const [index, step] of chosen.entries()) {
    progress({ step, index, total: chosen.length });
    const t0 = performance.now();
    let outcome: StepOutcome;
    try {
      const counts = await recordRun(client, { name: `${sweepName}.${step}`, parentId: sweepId }, () => steps[step](client, ctx, () => {}));
      outcome = { step, ok: true, ms: performance.now() - t0, counts };
      await stepAlert(client, step, undefined);
    } catch (err) {
      outcome = { step, ok: false, ms: performance.now() - t0, error: (err as Error).message };
      await stepAlert(client, step, err as Error);
    }
    outcomes.push(outcome);
    progress({ step, index, total: chosen.length, outcome });
  }
  const status = await settleSweep(client, sweepId);
  return { sweepId, status, outcomes };
}
