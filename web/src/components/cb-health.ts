// Health: every part's status now, 24 h / 7 d charts from usage_hourly and health_checks, and the
// open alerts (operators acknowledge them).
import { css, html, LitElement, nothing } from 'lit';
import { callFunction, query, queryAll, queryWithCount } from '../api.ts';
import { auth } from '../auth.ts';
import { ago, fullTime, int, ms, usd } from '../format.ts';
import { router } from '../router.ts';
import { empty, errorBox, shared } from '../styles.ts';
import { colorFor, type ChartSpec } from '../chart-spec.ts';

interface Part {
  name: string;
  status: 'up' | 'down' | 'not_configured' | 'degraded';
  required: boolean;
  latency_ms: number | null;
  detail: string | null;
}

interface Usage {
  hour: string;
  agent_id: string;
  messages: number;
  assistant_messages: number;
  errors: number;
  tool_calls: number;
  tool_errors: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number | string;
  heartbeat_cost_usd: number | string;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
}

interface Check {
  checked_at: string;
  service: string;
  status: string;
  connections: number | null;
}

interface Alert {
  id: number;
  rule: string;
  subject: string;
  severity: string;
  status: string;
  message: string;
  opened_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
}

const windows = { '24h': { hours: 24, label: '24 hours' }, '7d': { hours: 168, label: '7 days' } } as const;
type WindowKey = keyof typeof windows;

export class CbHealth extends LitElement {
  static override properties = {
    win: { state: true },
    parts: { state: true },
    overall: { state: true },
    usage: { state: true },
    checks: { state: true },
    alerts: { state: true },
    errors: { state: true },
    busy: { state: true },
    uptime: { state: true },
    probes: { state: true },
  };
  declare win: WindowKey;
  declare parts: Part[] | undefined;
  declare overall: string | undefined;
  declare usage: Usage[];
  declare checks: Check[];
  declare alerts: Alert[];
  declare errors: Record<string, unknown>;
  declare busy: Set<number>;
  declare uptime: { service: string; all: number; up: number; status: string; checkedAt: string }[];
  /** Every probe of the 24 h window (a few thousand rows); 7 d has the per-part totals only. */
  declare probes: { checked_at: string; service: string; status: string }[];

  static override styles = [
    shared,
    css`
      .head { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.75rem; }
      .head h2 { margin: 0; }
      .parts { display: grid; gap: 0.5rem; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); }
      .part { padding: 0.5rem 0.75rem; }
      .part .name { font-weight: 600; }
      .part .detail { font-size: 0.8rem; color: var(--muted); overflow-wrap: anywhere; }
      .card h3 { margin: 0 0 0.4rem; font-size: 0.95rem; }
      .alert { display: flex; gap: 0.75rem; align-items: flex-start; justify-content: space-between; flex-wrap: wrap; }
      .seg button[aria-pressed='true'] { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
    `,
  ];

  constructor() {
    super();
    this.win = router.route.query.get('window') === '7d' ? '7d' : '24h';
    this.parts = undefined;
    this.overall = undefined;
    this.usage = [];
    this.checks = [];
    this.alerts = [];
    this.errors = {};
    this.busy = new Set();
    this.uptime = [];
    this.probes = [];
  }

  #timer: ReturnType<typeof setInterval> | undefined;

  override connectedCallback() {
    super.connectedCallback();
    void this.#load();
    // Parts and alerts change on their own: look again every 30 s while the panel is open.
    this.#timer = setInterval(() => {
      if (document.hidden) return;
      void callFunction<{ status: string; parts: Part[] }>('health', { okStatuses: [503] })
        .then((h) => ((this.parts = h.parts), (this.overall = h.status)))
        .catch((e) => (this.errors = { ...this.errors, parts: e }));
      void this.#loadAlerts().catch((e) => (this.errors = { ...this.errors, alerts: e }));
    }, 30_000);
  }

  override disconnectedCallback() {
    clearInterval(this.#timer);
    super.disconnectedCallback();
  }

  #setWindow(w: WindowKey) {
    this.win = w;
    router.setQuery({ window: w === '24h' ? undefined : w });
    void this.#load();
  }

  async #load() {
    const since = new Date(Date.now() - windows[this.win].hours * 3_600_000);
    since.setUTCMinutes(0, 0, 0);
    const errors: Record<string, unknown> = {};
    await Promise.all([
      callFunction<{ status: string; parts: Part[] }>('health', { okStatuses: [503] })
        .then((h) => {
          this.parts = h.parts;
          this.overall = h.status;
        })
        .catch((e) => (errors.parts = e))
        .finally(() => this.#loadCharts()),
      queryAll<Usage>((c, from, to) =>
        c.from('usage_hourly')
          .select('hour,agent_id,messages,assistant_messages,errors,tool_calls,tool_errors,input_tokens,output_tokens,total_tokens,cost_usd,heartbeat_cost_usd,latency_p50_ms,latency_p95_ms')
          .gte('hour', since.toISOString()).order('hour').order('agent_id').range(from, to))
        .then((u) => (this.usage = u))
        .catch((e) => (errors.usage = e)),
      queryAll<Check>((c, from, to) =>
        c.from('health_checks').select('checked_at,service,status,connections:metrics->connections')
          .eq('service', 'postgres').gte('checked_at', since.toISOString()).order('checked_at').range(from, to))
        .then((rows) => (this.checks = rows))
        .catch((e) => (errors.checks = e)),
      this.#loadUptime(since).catch((e) => (errors.checks = e)),
      (this.win === '24h'
        ? queryAll<{ checked_at: string; service: string; status: string }>((c, from, to) =>
            c.from('health_checks').select('checked_at,service,status').gte('checked_at', since.toISOString()).order('checked_at').range(from, to), 1000, 5)
        : Promise.resolve([]))
        .then((rows) => (this.probes = rows))
        .catch((e) => (errors.checks = e)),
      this.#loadAlerts().catch((e) => (errors.alerts = e)),
    ]);
    this.errors = errors;
    this.toggleAttribute('data-loaded', true); // first data on screen (tests and bench/dashboard-browser.ts wait for it)
  }

  /**
   * chart.js is most of the panel's weight (and only this panel needs it). Evaluating it while the
   * status of the parts is on its way would hold that first answer back: it loads once the parts
   * are on screen, while the usage queries still run.
   */
  #loadCharts() {
    if (customElements.get('cb-chart')) return;
    void this.updateComplete.then(() => requestAnimationFrame(() => setTimeout(() => void import('./cb-chart.ts'))));
  }

  /** Share of probes per part that were not down in the window, counted by PostgREST (HEAD). */
  async #loadUptime(since: Date) {
    const latest = await query<{ service: string; status: string; checked_at: string }[]>((c) =>
      c.from('health_checks').select('service,status,checked_at').order('checked_at', { ascending: false }).limit(200));
    const last = new Map<string, { status: string; checked_at: string }>();
    for (const r of latest) if (!last.has(r.service)) last.set(r.service, r);
    const count = async (service: string, upOnly: boolean) => {
      const { count: n } = await queryWithCount<null>((c) => {
        let q = c.from('health_checks').select('id', { count: 'exact', head: true }).eq('service', service).gte('checked_at', since.toISOString());
        if (upOnly) q = q.neq('status', 'down');
        return q;
      });
      return n ?? 0;
    };
    const rows = await Promise.all([...last.entries()].map(async ([service, l]) => {
      const [all, up] = await Promise.all([count(service, false), count(service, true)]);
      return { service, all, up, status: l.status, checkedAt: l.checked_at };
    }));
    this.uptime = rows.filter((r) => r.all > 0).sort((a, b) => a.service.localeCompare(b.service));
  }

  async #loadAlerts() {
    this.alerts = await query<Alert[]>((c) =>
      c.from('alerts').select('id,rule,subject,severity,status,message,opened_at,acknowledged_at,acknowledged_by')
        .in('status', ['open', 'acknowledged']).order('opened_at', { ascending: false }).limit(200));
  }

  async #acknowledge(a: Alert) {
    this.busy = new Set([...this.busy, a.id]);
    try {
      await query((c) =>
        c.from('alerts')
          .update({ status: 'acknowledged', acknowledged_at: new Date().toISOString(), acknowledged_by: auth.session?.email ?? 'operator' })
          .eq('id', a.id).eq('status', 'open'));
      await this.#loadAlerts();
      this.errors = { ...this.errors, ack: undefined };
    } catch (err) {
      this.errors = { ...this.errors, ack: err };
    } finally {
      const b = new Set(this.busy);
      b.delete(a.id);
      this.busy = b;
    }
  }

  /** One label per hour of the window, and a row index for each hour. */
  #hours(): { labels: string[]; index: Map<number, number> } {
    const n = windows[this.win].hours;
    const end = new Date();
    end.setUTCMinutes(0, 0, 0);
    const labels: string[] = [];
    const index = new Map<number, number>();
    const fmt = new Intl.DateTimeFormat(undefined, n > 24 ? { weekday: 'short', hour: '2-digit' } : { hour: '2-digit', minute: '2-digit' });
    for (let i = n - 1; i >= 0; i--) {
      const t = end.getTime() - i * 3_600_000;
      index.set(t, labels.length);
      labels.push(fmt.format(new Date(t)));
    }
    return { labels, index };
  }

  protected computeCharts() {
    const { labels, index } = this.#hours();
    const agents = [...new Set(this.usage.map((u) => u.agent_id))].sort();
    const zeros = () => labels.map(() => 0);
    const tokens = new Map(agents.map((a) => [a, zeros()]));
    const work = new Map(agents.map((a) => [a, zeros()]));
    const beat = new Map(agents.map((a) => [a, zeros()]));
    const turns = zeros(), errs = zeros(), calls = zeros(), callErrs = zeros();
    const p50: (number | null)[] = labels.map(() => null);
    const p95: (number | null)[] = labels.map(() => null);
    const totals = new Map<string, { cost: number; heartbeat: number; tokens: number; messages: number }>();
    for (const u of this.usage) {
      const i = index.get(new Date(u.hour).getTime());
      const t = totals.get(u.agent_id) ?? { cost: 0, heartbeat: 0, tokens: 0, messages: 0 };
      t.cost += Number(u.cost_usd);
      t.heartbeat += Number(u.heartbeat_cost_usd);
      t.tokens += Number(u.total_tokens);
      t.messages += Number(u.messages);
      totals.set(u.agent_id, t);
      if (i === undefined) continue;
      tokens.get(u.agent_id)![i]! += Number(u.total_tokens);
      work.get(u.agent_id)![i]! += Number(u.cost_usd) - Number(u.heartbeat_cost_usd);
      beat.get(u.agent_id)![i]! += Number(u.heartbeat_cost_usd);
      turns[i]! += Number(u.assistant_messages);
      errs[i]! += Number(u.errors);
      calls[i]! += Number(u.tool_calls);
      callErrs[i]! += Number(u.tool_errors);
      if (u.latency_p50_ms !== null) p50[i] = Math.max(p50[i] ?? 0, u.latency_p50_ms);
      if (u.latency_p95_ms !== null) p95[i] = Math.max(p95[i] ?? 0, u.latency_p95_ms);
    }
    const rate = (a: number[], b: number[]) => a.map((x, i) => (b[i] ? (100 * x) / b[i]! : null));
    const pct = (v: number) => `${Math.round(v * 10) / 10}%`;
    const tokenSpec: ChartSpec = {
      type: 'bar', labels, stacked: true, unit: (v) => compact(v),
      datasets: agents.map((a, i) => ({ label: a, data: tokens.get(a)!, color: colorFor(i) })),
    };
    const errorSpec: ChartSpec = {
      type: 'line', labels, unit: pct,
      datasets: [
        { label: 'Failed model turns', data: rate(errs, turns), color: '#f85149' },
        { label: 'Failed tool calls', data: rate(callErrs, calls), color: '#d29922', dashed: true },
      ],
    };
    const latencySpec: ChartSpec = {
      type: 'line', labels, unit: (v) => ms(v),
      datasets: [
        { label: 'p50', data: p50, color: '#5aa9ff' },
        { label: 'p95', data: p95, color: '#a371f7', dashed: true },
      ],
    };
    const costSpec: ChartSpec = {
      type: 'bar', labels, stacked: true, unit: (v) => usd(v),
      datasets: agents.flatMap((a, i) => [
        { label: a, data: work.get(a)!, color: colorFor(i), stack: 'cost' },
        { label: `${a} · heartbeat`, data: beat.get(a)!, color: `${colorFor(i)}77`, stack: 'cost' },
      ]),
    };
    const pgChecks = this.checks.filter((c) => c.connections !== null);
    const connFmt = new Intl.DateTimeFormat(undefined, this.win === '7d' ? { weekday: 'short', hour: '2-digit', minute: '2-digit' } : { hour: '2-digit', minute: '2-digit' });
    const connSpec: ChartSpec = {
      type: 'line', labels: pgChecks.map((c) => connFmt.format(new Date(c.checked_at))),
      datasets: [{ label: 'Connections in use', data: pgChecks.map((c) => Number(c.connections)), color: '#56d4dd' }],
    };
    // Uptime per hour and part: the share of its probes in that hour that were not down.
    const services = [...new Set(this.probes.map((p) => p.service))].sort();
    const probeHour = (iso: string) => {
      const d = new Date(iso);
      d.setUTCMinutes(0, 0, 0);
      return index.get(d.getTime());
    };
    const upCounts = new Map(services.map((sv) => [sv, { up: zeros(), all: zeros() }]));
    for (const p of this.probes) {
      const i = probeHour(p.checked_at);
      if (i === undefined) continue;
      const u = upCounts.get(p.service)!;
      u.all[i]!++;
      if (p.status !== 'down') u.up[i]!++;
    }
    const uptimeSpec: ChartSpec = {
      type: 'line', labels, unit: pct, yMax: 100,
      datasets: services.map((sv, i) => {
        const u = upCounts.get(sv)!;
        return { label: sv, data: u.all.map((n, h) => (n ? (100 * u.up[h]!) / n : null)), color: colorFor(i) };
      }),
    };
    return { agents, totals, tokenSpec, errorSpec, latencySpec, costSpec, connSpec, uptimeSpec, hasConnections: pgChecks.length > 0, hasProbes: services.length > 0 };
  }

  #chartCache: { key: unknown[]; value: ReturnType<CbHealth['computeCharts']> } | undefined;

  /** The chart specs, recomputed only when their data changes (a new spec redraws every chart). */
  #charts() {
    const key = [this.usage, this.checks, this.probes, this.win];
    if (!this.#chartCache || this.#chartCache.key.some((k, i) => k !== key[i])) this.#chartCache = { key, value: this.computeCharts() };
    return this.#chartCache.value;
  }

  override render() {
    const c = this.#charts();
    const noUsage = this.usage.length === 0;
    const operator = auth.isOperator;
    const uptime = this.uptime;
    return html`
      <div class="head">
        <h2>Health</h2>
        ${this.overall ? html`<span class="badge ${this.overall === 'ok' || this.overall === 'up' ? 'ok' : 'bad'}">${this.overall}</span>` : nothing}
        <span class="seg" role="group" aria-label="Chart window">
          ${(Object.keys(windows) as WindowKey[]).map((w) => html`<button class="small" aria-pressed=${this.win === w ? 'true' : 'false'} @click=${() => this.#setWindow(w)}>${windows[w].label}</button>`)}
        </span>
        <button class="small" @click=${() => this.#load()}>Refresh</button>
      </div>

      ${errorBox(this.errors.parts)}
      <section class="parts" aria-label="Parts">
        ${(this.parts ?? []).map((p) => html`
          <div class="card part" data-part=${p.name}>
            <div class="name">${p.name} <span class="badge ${p.status}">${p.status.replace('_', ' ')}</span></div>
            <div class="detail">${p.required ? 'required' : 'optional'}${p.latency_ms !== null ? ` · ${ms(p.latency_ms)}` : ''}</div>
            ${p.detail ? html`<div class="detail">${p.detail}</div>` : nothing}
          </div>`)}
      </section>

      <h3>Open alerts</h3>
      ${errorBox(this.errors.alerts)} ${errorBox(this.errors.ack)}
      ${this.alerts.length === 0 && !this.errors.alerts ? empty('No open alerts. The health checks raise one when a part goes down, a disk fills or a backup is late.') : nothing}
      <div class="grid">
        ${this.alerts.map((a) => html`
          <div class="card alert" data-alert=${a.id}>
            <div>
              <div><span class="badge ${a.severity}">${a.severity}</span> <strong>${a.rule}</strong>${a.subject ? html` · ${a.subject}` : nothing}</div>
              <div>${a.message}</div>
              <div class="muted" title=${fullTime(a.opened_at)}>opened ${ago(a.opened_at)}${a.status === 'acknowledged' ? ` · acknowledged by ${a.acknowledged_by ?? '?'} ${ago(a.acknowledged_at)}` : ''}</div>
            </div>
            ${operator && a.status === 'open'
              ? html`<button @click=${() => this.#acknowledge(a)} ?disabled=${this.busy.has(a.id)}>Acknowledge</button>`
              : html`<span class="badge ${a.status}">${a.status}</span>`}
          </div>`)}
      </div>

      <h3>Usage, last ${windows[this.win].label}</h3>
      ${errorBox(this.errors.usage)}
      ${noUsage && !this.errors.usage ? empty('No agent traffic in this window yet: charts fill in as the collectors ingest messages.') : nothing}
      <div class="grid">
        <div class="card"><h3>Tokens per hour</h3><cb-chart label="Tokens per hour by agent" .spec=${c.tokenSpec}></cb-chart></div>
        <div class="card"><h3>Error rate</h3><cb-chart label="Failed model turns and tool calls, percent" .spec=${c.errorSpec}></cb-chart></div>
        <div class="card"><h3>Tool-call latency (slowest agent)</h3><cb-chart label="Tool-call latency p50 and p95" .spec=${c.latencySpec}></cb-chart></div>
        <div class="card"><h3>Cost per agent, heartbeat apart</h3><cb-chart label="Cost per hour by agent, heartbeat share lighter" .spec=${c.costSpec}></cb-chart></div>
        <div class="card"><h3>PostgreSQL connections</h3>
          ${errorBox(this.errors.checks)}
          ${c.hasConnections ? html`<cb-chart label="PostgreSQL connections in use" .spec=${c.connSpec}></cb-chart>` : empty('No PostgreSQL probes yet: the worker runs the health check every 5 minutes.')}
        </div>
        <div class="card"><h3>Uptime by hour</h3>
          ${this.win !== '24h'
            ? empty('The hourly uptime chart covers the last 24 hours; the table beside it covers the 7 days.')
            : c.hasProbes ? html`<cb-chart label="Share of probes not down per hour, by part" .spec=${c.uptimeSpec}></cb-chart>` : empty('No probes yet: the worker runs the health check every 5 minutes.')}
        </div>
        <div class="card"><h3>Uptime by part</h3>
          ${uptime.length === 0 ? empty('No probes in this window.') : html`
            <table><thead><tr><th>Part</th><th class="num">Up</th><th class="num">Probes</th><th>Last</th></tr></thead><tbody>
              ${uptime.map((u) => html`<tr><td>${u.service}</td><td class="num">${((100 * u.up) / u.all).toFixed(1)}%</td><td class="num">${int(u.all)}</td><td><span class="badge ${u.status}">${u.status.replace('_', ' ')}</span> <span class="muted">${ago(u.checkedAt)}</span></td></tr>`)}
            </tbody></table>`}
        </div>
      </div>

      ${c.agents.length ? html`
        <h3>Per agent, last ${windows[this.win].label}</h3>
        <div class="scroll card"><table>
          <thead><tr><th>Agent</th><th class="num">Messages</th><th class="num">Tokens</th><th class="num">Cost</th><th class="num">Heartbeat</th><th class="num">Heartbeat share</th></tr></thead>
          <tbody>${c.agents.map((a) => {
            const t = c.totals.get(a)!;
            return html`<tr><td>${a}</td><td class="num">${int(t.messages)}</td><td class="num">${int(t.tokens)}</td><td class="num">${usd(t.cost)}</td><td class="num">${usd(t.heartbeat)}</td><td class="num">${t.cost ? `${Math.round((100 * t.heartbeat) / t.cost)}%` : '—'}</td></tr>`;
          })}</tbody>
        </table></div>` : nothing}
    `;
  }
}

function compact(v: number): string {
  return Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(v);
}

customElements.define('cb-health', CbHealth);
