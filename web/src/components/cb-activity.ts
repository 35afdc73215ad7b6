// Activity feed: the newest messages of every agent, live over SSE, with full-text search,
// filters kept in the URL, keyset "load more" on seq, and rows that expand into their tool calls.
import { css, html, LitElement, nothing } from 'lit';
import { query } from '../api.ts';
import { fullTime, int, ms, quoted, truncate, usd, when } from '../format.ts';
import { LiveFeed, type ActivityRow, type LiveState } from '../live.ts';
import { router, sessionHref } from '../router.ts';
import { feedFilters, feedPageSize as pageSize, feedQuery, feedRanges as ranges, feedRoles as roles, type FeedFilters } from '../queries.ts';
import { empty, errorBox, shared } from '../styles.ts';

type Filters = FeedFilters;

interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
  result: string | null;
  is_error: boolean | null;
  started_at: string | null;
  duration_ms: number | null;
}

const filtersFromUrl = (): Filters => feedFilters(router.route.query);

/** Does a live row belong on the page under these filters? (The server applied the role's scope.) */
function matches(row: ActivityRow, f: Filters): boolean {
  if (f.agent && row.agent_id !== f.agent) return false;
  if (f.channel && row.channel !== f.channel) return false;
  if (f.role && row.role !== f.role) return false;
  if (f.errors && !row.error_message && !row.tool_error) return false;
  if (f.q) {
    const text = `${row.content ?? ''} ${row.sender ?? ''}`.toLowerCase();
    const words = f.q.toLowerCase().split(/\s+/).filter((w) => w && !w.startsWith('-') && w !== 'or');
    if (!words.every((w) => text.includes(w.replace(/"/g, '')))) return false;
  }
  return true;
}

export class CbActivity extends LitElement {
  static override properties = {
    rows: { state: true },
    filters: { state: true },
    loading: { state: true },
    more: { state: true },
    error: { state: true },
    live: { state: true },
    agents: { state: true },
    channels: { state: true },
    expanded: { state: true },
    fresh: { state: true },
  };
  declare rows: ActivityRow[];
  declare filters: Filters;
  declare loading: boolean;
  declare more: boolean;
  declare error: unknown;
  declare live: LiveState;
  declare agents: string[];
  declare channels: string[];
  declare expanded: Map<number, ToolCall[] | 'loading' | { error: unknown }>;
  declare fresh: Set<number>;

  #feed: LiveFeed | undefined;
  #generation = 0;

  static override styles = [
    shared,
    css`
      .head { display: flex; align-items: center; gap: 0.75rem; flex-wrap: wrap; margin-bottom: 0.5rem; }
      .head h2 { margin: 0; }
      .live { font-size: 0.8rem; }
      form.toolbar input[type='search'] { flex: 1 1 16rem; }
      .check { flex-direction: row; align-items: center; gap: 0.35rem; padding-bottom: 0.4rem; }
      ol { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.35rem; }
      li.row { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; }
      li.row.fresh { animation: flash 1.5s ease-out; }
      @keyframes flash { from { border-color: var(--accent); box-shadow: 0 0 0 2px var(--accent); } }
      li.row.has-error { border-left: 3px solid var(--bad); }
      .summary {
        all: unset; box-sizing: border-box; display: grid; width: 100%; cursor: pointer; padding: 0.45rem 0.7rem; gap: 0.15rem 0.75rem;
        grid-template-columns: 7.5rem 8rem 1fr auto; align-items: baseline;
      }
      .summary:focus-visible { outline: 2px solid var(--focus); border-radius: 8px; }
      .meta { display: flex; gap: 0.35rem; flex-wrap: wrap; align-items: baseline; min-width: 0; }
      .who { color: var(--muted); font-size: 0.85rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .content { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .figures { color: var(--muted); font-size: 0.8rem; white-space: nowrap; text-align: right; }
      .detail { padding: 0 0.7rem 0.7rem; border-top: 1px solid var(--border); }
      .tool { margin-top: 0.6rem; }
      .footer { display: flex; justify-content: center; padding: 0.75rem; }
      @media (max-width: 700px) {
        .summary { grid-template-columns: 1fr auto; }
        .content { grid-column: 1 / -1; white-space: normal; }
        .who { order: -1; }
      }
    `,
  ];

  constructor() {
    super();
    this.rows = [];
    this.filters = filtersFromUrl();
    this.loading = false;
    this.more = false;
    this.error = undefined;
    this.live = 'connecting';
    this.agents = [];
    this.channels = [];
    this.expanded = new Map();
    this.fresh = new Set();
  }

  override connectedCallback() {
    super.connectedCallback();
    // The filter choices wait for the first page: they must not delay the first data.
    void this.#load(false).then(() => this.#loadChoices());
  }

  override disconnectedCallback() {
    this.#feed?.stop();
    this.#feed = undefined;
    super.disconnectedCallback();
  }

  #startLive(after: number | undefined) {
    this.#feed?.stop();
    this.#feed = new LiveFeed((row) => this.#onLive(row), (state) => (this.live = state), after);
  }

  #onLive(row: ActivityRow) {
    if (this.rows.some((r) => r.seq === row.seq) || !matches(row, this.filters)) return;
    const next = [row, ...this.rows].sort((a, b) => b.seq - a.seq);
    this.rows = next;
    this.fresh = new Set([...this.fresh, row.seq]);
    setTimeout(() => {
      this.fresh.delete(row.seq);
      this.requestUpdate();
    }, 1600);
  }

  async #loadChoices() {
    try {
      const [agents, sessions] = await Promise.all([
        query<{ id: string }[]>((c) => c.from('agents').select('id').order('id').limit(500)),
        query<{ channel: string | null }[]>((c) => c.from('sessions').select('channel').not('channel', 'is', null).order('last_message_at', { ascending: false, nullsFirst: false }).limit(1000)),
      ]);
      this.agents = agents.map((a) => a.id);
      this.channels = [...new Set(sessions.map((s) => s.channel).filter((c): c is string => !!c))].sort();
    } catch {
      // The filters still work as free text; the feed shows its own errors.
    }
  }

  async #load(append: boolean) {
    const generation = ++this.#generation;
    const f = this.filters;
    const cursor = append ? this.rows[this.rows.length - 1]?.seq : undefined;
    this.loading = true;
    this.error = undefined;
    try {
      const rows = await query<ActivityRow[]>((c) => feedQuery(c, f, cursor));
      if (generation !== this.#generation) return;
      this.rows = append ? [...this.rows, ...rows] : rows;
      this.more = rows.length === pageSize;
      if (!append) this.#startLive(rows[0]?.seq);
    } catch (err) {
      if (generation !== this.#generation) return;
      this.error = err;
      if (!append && !this.#feed) this.#startLive(undefined);
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  #apply(e: Event) {
    e.preventDefault();
    const form = (e.currentTarget as HTMLElement).closest('form')!;
    const d = new FormData(form);
    const s = (k: string) => String(d.get(k) ?? '').trim();
    this.filters = { q: s('q'), agent: s('agent'), channel: s('channel'), role: s('role'), range: s('range') || 'all', errors: d.get('errors') === 'on' };
    router.setQuery({
      q: this.filters.q,
      agent: this.filters.agent,
      channel: this.filters.channel,
      role: this.filters.role,
      range: this.filters.range === 'all' ? undefined : this.filters.range,
      errors: this.filters.errors ? '1' : undefined,
    });
    this.expanded = new Map();
    void this.#load(false);
  }

  async #toggle(row: ActivityRow) {
    const next = new Map(this.expanded);
    if (next.has(row.seq)) {
      next.delete(row.seq);
      this.expanded = next;
      return;
    }
    next.set(row.seq, 'loading');
    this.expanded = next;
    let value: ToolCall[] | { error: unknown };
    try {
      value = await query<ToolCall[]>((c) =>
        c.from('tool_calls')
          .select('id,name,arguments,result,is_error,started_at,duration_ms')
          .eq('agent_id', row.agent_id)
          .eq('session_id', row.session_id)
          .or(`message_id.eq.${quoted(row.id)},result_message_id.eq.${quoted(row.id)}`)
          .order('started_at', { ascending: true, nullsFirst: false })
          .limit(100),
      );
    } catch (err) {
      value = { error: err };
    }
    if (!this.expanded.has(row.seq)) return;
    this.expanded = new Map(this.expanded).set(row.seq, value);
  }

  override render() {
    const f = this.filters;
    const filtered = f.q || f.agent || f.channel || f.role || f.range !== 'all' || f.errors;
    return html`
      <div class="head">
        <h2>Activity</h2>
        <span class="badge live ${this.live === 'live' ? 'ok' : this.live === 'retrying' ? 'warn' : ''}" data-live=${this.live}
          title="New messages appear here as the collectors store them">${this.live === 'live' ? '● Live' : this.live === 'retrying' ? 'Reconnecting…' : 'Connecting…'}</span>
      </div>
      <form class="toolbar" role="search" @submit=${this.#apply} @change=${this.#apply}>
        <input type="search" name="q" .value=${f.q} placeholder='Search messages: deploy "disk full" -test' aria-label="Search messages" />
        <label>Agent
          <select name="agent">
            <option value="">All agents</option>
            ${[...new Set([...this.agents, ...(f.agent ? [f.agent] : [])])].map((a) => html`<option ?selected=${a === f.agent}>${a}</option>`)}
          </select>
        </label>
        <label>Channel
          <input name="channel" list="channels" .value=${f.channel} placeholder="any" size="10" />
          <datalist id="channels">${this.channels.map((c) => html`<option value=${c}></option>`)}</datalist>
        </label>
        <label>Type
          <select name="role">
            <option value="">All types</option>
            ${roles.map((r) => html`<option value=${r} ?selected=${r === f.role}>${r.replace('_', ' ')}</option>`)}
          </select>
        </label>
        <label>Time
          <select name="range">${Object.entries(ranges).map(([k, v]) => html`<option value=${k} ?selected=${k === f.range}>${v.label}</option>`)}</select>
        </label>
        <label class="check"><input type="checkbox" name="errors" .checked=${f.errors} /> Errors only</label>
        <button type="submit">Search</button>
      </form>
      ${errorBox(this.error)}
      ${this.rows.length === 0 && !this.loading && !this.error
        ? empty(filtered
            ? html`No messages match these filters. <a href="/activity">Clear the filters</a>.`
            : html`No activity yet. Messages appear here as soon as the collectors ingest OpenClaw's transcripts: run <code>npm start</code> with <code>OPENCLAW_STATE_DIR</code> set, or <code>npx clawbase ingest</code>.`)
        : nothing}
      <ol aria-label="Messages, newest first" aria-live="polite" aria-busy=${this.loading ? 'true' : 'false'}>
        ${this.rows.map((r) => this.#row(r))}
      </ol>
      <div class="footer">
        ${this.loading ? html`<span class="muted">Loading…</span>` : this.more ? html`<button @click=${() => this.#load(true)}>Load older messages</button>` : this.rows.length ? html`<span class="muted">That is all.</span>` : nothing}
      </div>
    `;
  }

  #row(r: ActivityRow) {
    const open = this.expanded.get(r.seq);
    const hasError = !!r.error_message || !!r.tool_error;
    return html`
      <li class="row ${this.fresh.has(r.seq) ? 'fresh' : ''} ${hasError ? 'has-error' : ''}" data-seq=${r.seq} data-id=${r.id}>
        <button class="summary" aria-expanded=${open ? 'true' : 'false'} @click=${() => this.#toggle(r)}>
          <span class="muted" title=${fullTime(r.created_at)}>${when(r.created_at)}</span>
          <span class="who">${r.agent_id}${r.channel ? ` · ${r.channel}` : ''}${r.sender ? ` · ${r.sender}` : ''}</span>
          <span class="content">
            <span class="meta">
              <span class="badge">${r.role.replace('_', ' ')}</span>
              ${r.is_heartbeat ? html`<span class="badge" title="OpenClaw heartbeat turn">heartbeat</span>` : nothing}
              ${r.has_tool_calls ? html`<span class="badge" title="Made or answered tool calls">tools</span>` : nothing}
              ${hasError ? html`<span class="badge error">error</span>` : nothing}
              <span>${truncate(r.content ?? r.error_message ?? '', 240)}</span>
            </span>
          </span>
          <span class="figures">${r.total_tokens ? `${int(r.total_tokens)} tok` : ''}${r.cost_usd !== null && Number(r.cost_usd) > 0 ? ` · ${usd(r.cost_usd)}` : ''}</span>
        </button>
        ${open ? this.#detail(r, open) : nothing}
      </li>
    `;
  }

  #detail(r: ActivityRow, open: ToolCall[] | 'loading' | { error: unknown }) {
    return html`
      <div class="detail">
        <p class="muted">${fullTime(r.created_at)} · ${r.model ?? 'no model'} · entry <span class="mono">${r.id}</span> ·
          <a href=${sessionHref(r.agent_id, r.session_id)}>Open the whole session</a></p>
        ${r.error_message ? html`<div class="notice">${r.error_message}</div>` : nothing}
        ${r.content ? html`<pre>${r.content}</pre>` : nothing}
        ${open === 'loading'
          ? html`<p class="muted">Loading tool calls…</p>`
          : 'error' in open
            ? errorBox(open.error)
            : open.length === 0
              ? r.has_tool_calls ? html`<p class="muted">The tool calls are not stored yet.</p>` : nothing
              : open.map((t) => html`
                  <div class="tool">
                    <strong>${t.name}</strong>
                    ${t.is_error ? html`<span class="badge error">error</span>` : t.is_error === null ? html`<span class="badge running">no result yet</span>` : html`<span class="badge ok">ok</span>`}
                    <span class="muted">${t.duration_ms !== null ? ` ${ms(t.duration_ms)}` : ''}</span>
                    <div class="muted">Arguments</div>
                    <pre>${JSON.stringify(t.arguments, null, 2)}</pre>
                    ${t.result !== null ? html`<div class="muted">Result</div><pre>${t.result}</pre>` : nothing}
                  </div>`)}
      </div>
    `;
  }
}

customElements.define('cb-activity', CbActivity);
