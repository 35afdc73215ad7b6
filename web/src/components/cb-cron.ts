// Cron jobs: every scheduled job with its last and next run, the run history (with each sweep
// step), and "Run now" for operators.
import { css, html, LitElement, nothing } from 'lit';
import { query } from '../api.ts';
import { auth } from '../auth.ts';
import { ago, fullTime, ms, when } from '../format.ts';
import { router } from '../router.ts';
import { empty, errorBox, shared } from '../styles.ts';

interface Job { name: string; cron: string; every: string; description: string; next_run_at: string; last_started_at: string | null; last_finished_at: string | null; last_status: string | null; last_error: string | null }
interface Run { id: number; name: string; parent_id: number | null; scheduled_for: string | null; started_at: string; finished_at: string | null; status: string; error: string | null; counts: Record<string, unknown>; duration_ms: number | null }

export class CbCron extends LitElement {
  static override properties = {
    jobs: { state: true },
    runs: { state: true },
    job: { state: true },
    steps: { state: true },
    error: { state: true },
    notice: { state: true },
    busy: { state: true },
  };
  declare jobs: Job[];
  declare runs: Run[];
  declare job: string;
  declare steps: Map<number, Run[] | { error: unknown }>;
  declare error: unknown;
  declare notice: string;
  declare busy: Set<string>;

  static override styles = [
    shared,
    css`
      .head { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.75rem; }
      .head h2 { margin: 0; flex: 1; }
      .desc { color: var(--muted); font-size: 0.85rem; }
      .ok-notice { color: var(--ok); margin: 0.5rem 0; }
      td .err { color: var(--bad); font-size: 0.85rem; overflow-wrap: anywhere; }
      .counts { font-family: var(--mono); font-size: 0.8rem; color: var(--muted); overflow-wrap: anywhere; }
    `,
  ];

  constructor() {
    super();
    this.jobs = [];
    this.runs = [];
    this.job = router.route.query.get('job') ?? '';
    this.steps = new Map();
    this.error = undefined;
    this.notice = '';
    this.busy = new Set();
  }

  override connectedCallback() {
    super.connectedCallback();
    void this.#load();
  }

  async #load() {
    try {
      const [jobs, runs] = await Promise.all([
        query<Job[]>((c) => c.from('maintenance_schedule').select('*').order('name')),
        this.#history(),
      ]);
      this.jobs = jobs;
      this.runs = runs;
      this.error = undefined;
    } catch (err) {
      this.error = err;
    }
  }

  #history() {
    return query<Run[]>((c) => {
      let q = c.from('cron_runs').select('id,name,parent_id,scheduled_for,started_at,finished_at,status,error,counts,duration_ms').is('parent_id', null);
      if (this.job) q = q.eq('name', this.job);
      return q.order('started_at', { ascending: false }).limit(100);
    });
  }

  async #filter(name: string) {
    this.job = name;
    router.setQuery({ job: name });
    try {
      this.runs = await this.#history();
    } catch (err) {
      this.error = err;
    }
  }

  async #runNow(job: Job) {
    this.busy = new Set([...this.busy, job.name]);
    this.notice = '';
    try {
      const r = await query<{ job_id: number; task: string }>((c) => c.rpc('run_cron_job', { name: job.name }));
      this.notice = `${job.name} is queued (worker job ${r.job_id}); its run appears below when the worker picks it up.`;
      this.error = undefined;
      setTimeout(() => void this.#load(), 3000);
    } catch (err) {
      this.error = err;
    } finally {
      const b = new Set(this.busy);
      b.delete(job.name);
      this.busy = b;
    }
  }

  async #toggleSteps(run: Run) {
    const next = new Map(this.steps);
    if (next.has(run.id)) {
      next.delete(run.id);
      this.steps = next;
      return;
    }
    try {
      next.set(run.id, await query<Run[]>((c) => c.from('cron_runs').select('id,name,parent_id,scheduled_for,started_at,finished_at,status,error,counts,duration_ms').eq('parent_id', run.id).order('started_at')));
    } catch (err) {
      next.set(run.id, { error: err });
    }
    this.steps = next;
  }

  override render() {
    const operator = auth.isOperator;
    return html`
      <div class="head"><h2>Cron jobs</h2><button class="small" @click=${() => this.#load()}>Refresh</button></div>
      ${errorBox(this.error)}
      ${this.notice ? html`<p class="ok-notice" role="status">${this.notice}</p>` : nothing}
      ${this.jobs.length === 0 && !this.error ? empty('No scheduled jobs are defined (private.schedules mirrors worker/crontab).') : html`
        <div class="scroll card"><table>
          <thead><tr><th>Job</th><th>Schedule (UTC)</th><th>Last run</th><th>Status</th><th class="num">Duration</th><th>Next run</th>${operator ? html`<th></th>` : nothing}</tr></thead>
          <tbody>${this.jobs.map((j) => html`
            <tr data-job=${j.name}>
              <td><button class="small" title="Show this job's history" @click=${() => this.#filter(this.job === j.name ? '' : j.name)}>${j.name}</button><div class="desc">${j.description}</div></td>
              <td class="mono">${j.cron}<div class="desc">every ${j.every}</div></td>
              <td title=${fullTime(j.last_started_at)}>${j.last_started_at ? ago(j.last_started_at) : 'never'}</td>
              <td>${j.last_status ? html`<span class="badge ${j.last_status}">${j.last_status}</span>` : '—'}${j.last_error ? html`<div class="err">${j.last_error}</div>` : nothing}</td>
              <td class="num">${j.last_started_at && j.last_finished_at ? ms(new Date(j.last_finished_at).getTime() - new Date(j.last_started_at).getTime()) : '—'}</td>
              <td title=${fullTime(j.next_run_at)}>${ago(j.next_run_at)}</td>
              ${operator ? html`<td><button @click=${() => this.#runNow(j)} ?disabled=${this.busy.has(j.name)}>Run now</button></td>` : nothing}
            </tr>`)}
          </tbody></table></div>`}
      <h3>History${this.job ? html` of ${this.job} <button class="small" @click=${() => this.#filter('')}>Show all</button>` : nothing}</h3>
      ${this.runs.length === 0 ? empty('No runs recorded yet: the worker records each run here (npm start runs the worker).') : html`
        <div class="scroll card"><table>
          <thead><tr><th>Job</th><th>Started</th><th>Status</th><th class="num">Duration</th><th>Result</th><th></th></tr></thead>
          <tbody>${this.runs.map((r) => this.#run(r, false))}</tbody>
        </table></div>`}
    `;
  }

  #run(r: Run, step: boolean): unknown {
    const steps = this.steps.get(r.id);
    return html`
      <tr>
        <td>${step ? '↳ ' : ''}${r.name}</td>
        <td title=${fullTime(r.started_at)}>${when(r.started_at)}</td>
        <td><span class="badge ${r.status}">${r.status}</span></td>
        <td class="num">${ms(r.duration_ms)}</td>
        <td>${r.error ? html`<div class="err">${r.error}</div>` : nothing}${Object.keys(r.counts ?? {}).length ? html`<div class="counts">${JSON.stringify(r.counts)}</div>` : nothing}</td>
        <td>${step ? nothing : html`<button class="small" aria-expanded=${steps ? 'true' : 'false'} @click=${() => this.#toggleSteps(r)}>Steps</button>`}</td>
      </tr>
      ${steps === undefined ? nothing : 'error' in steps ? html`<tr><td colspan="6">${errorBox(steps.error)}</td></tr>` : steps.length === 0 ? html`<tr><td colspan="6" class="muted">No steps recorded for this run.</td></tr>` : steps.map((s) => this.#run(s, true))}
    `;
  }
}

customElements.define('cb-cron', CbCron);
