// GET /functions/v1/metrics: Prometheus text exposition. Everything comes from the rollups the
// triggers feed (api.usage_hourly, private.tool_usage_hourly, private.ingest_lag), never from a
// scan of messages, so a scrape costs the same at a million messages as at ten.
import { defineFunction, type FunctionDefinition } from '../define.ts';
import { dashboardDeps, type DashboardDeps } from '../dashboard/deps.ts';
import { staffOrLocal } from '../dashboard/session.ts';

type Labels = Record<string, string>;
interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  samples: Array<{ labels: Labels; value: number }>;
}

/** Label values escaped as the exposition format requires (backslash, quote, newline). */
const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function exposition(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 0}`);
    }
  }
  return lines.join('\n') + '\n';
}

export async function collectMetrics(d: DashboardDeps): Promise<Family[]> {
  // What the triggers recorded since the last fold (usually nothing: the collectors fold after each batch).
  await d.db.query('select private.fold_usage()');
  const [usage, tools, lag, queue, alerts] = await Promise.all([
    d.db.query<Record<string, string>>(`
      select agent_id, sum(input_tokens) as input, sum(output_tokens) as output, sum(cache_read_tokens) as cache_read,
             sum(cache_write_tokens) as cache_write, sum(cost_usd) as cost, sum(user_messages) as "user",
             sum(assistant_messages) as assistant, sum(tool_result_messages) as tool_result, sum(system_messages) as system
      from api.usage_hourly group by agent_id order by agent_id`),
    d.db.query<{ agent_id: string; tool: string; errors: string }>(
      `select agent_id, tool, sum(errors) as errors from private.tool_usage_hourly group by 1, 2 order by 1, 2`),
    d.db.query<{ source: string; lag_seconds: number }>(`select source, lag_seconds from private.ingest_lag order by source`),
    d.db.query<{ depth: number }>(`select count(*)::int as depth from graphile_worker.jobs where locked_at is null and attempts < max_attempts and run_at <= now()`),
    d.db.query<{ open: number }>(`select count(*)::int as open from api.alerts where status = 'open'`),
  ]);
  const perAgent = (keys: string[], label: string, value: (row: Record<string, string>, key: string) => number) =>
    usage.rows.flatMap((r) => keys.map((k) => ({ labels: { agent: r.agent_id!, [label]: k }, value: value(r, k) })));
  return [
    {
      name: 'clawbase_tokens_total', type: 'counter', help: 'Tokens used by each agent, by kind (input, output, cache_read, cache_write).',
      samples: perAgent(['input', 'output', 'cache_read', 'cache_write'], 'kind', (r, k) => Number(r[k])),
    },
    {
      name: 'clawbase_cost_usd_total', type: 'counter', help: 'Estimated spend of each agent in US dollars.',
      samples: usage.rows.map((r) => ({ labels: { agent: r.agent_id! }, value: Number(r.cost) })),
    },
    {
      name: 'clawbase_messages_total', type: 'counter', help: 'Messages stored for each agent, by role.',
      samples: perAgent(['user', 'assistant', 'tool_result', 'system'], 'role', (r, k) => Number(r[k])),
    },
    {
      name: 'clawbase_tool_errors_total', type: 'counter', help: 'Tool calls whose result was an error, by agent and tool.',
      samples: tools.rows.map((r) => ({ labels: { agent: r.agent_id, tool: r.tool }, value: Number(r.errors) })),
    },
    {
      name: 'clawbase_ingest_lag_seconds', type: 'gauge', help: 'For each transcript source, how long after its own timestamp the newest entry was stored.',
      samples: lag.rows.map((r) => ({ labels: { source: r.source }, value: r.lag_seconds })),
    },
    { name: 'clawbase_queue_depth', type: 'gauge', help: 'Worker jobs due and waiting to run.', samples: [{ labels: {}, value: queue.rows[0]!.depth }] },
    { name: 'clawbase_alerts_open', type: 'gauge', help: 'Alerts open and not yet acknowledged.', samples: [{ labels: {}, value: alerts.rows[0]!.open }] },
  ];
}

export function metricsFunction(deps: () => DashboardDeps = dashboardDeps): FunctionDefinition {
  return defineFunction({
    name: 'metrics',
    summary: 'GET: Prometheus metrics (tokens, cost, messages, tool errors, ingest lag, queue depth, open alerts); through the edge a viewer/operator token',
    methods: ['GET'],
    async handle(request) {
      const refused = await staffOrLocal(deps(), request);
      if (refused) return refused;
      const text = exposition(await collectMetrics(deps()));
      return new Response(text, { status: 200, headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' } });
    },
  });
}

export default metricsFunction();
