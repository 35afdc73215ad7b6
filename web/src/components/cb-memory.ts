// Memory browser: the hybrid search box, HOT memory_kv rows with TTL and size, conversation
// summaries, sessions (each opens its whole history) and knowledge documents.
import { css, html, LitElement, nothing } from 'lit';
import { callFunction, query } from '../api.ts';
import { ago, bytes, fullTime, truncate, when } from '../format.ts';
import { router, sessionHref } from '../router.ts';
import { empty, errorBox, shared } from '../styles.ts';

interface HotRow { agent_id: string; key: string; size_bytes: number; pinned: boolean; expires_at: string | null; last_accessed_at: string; updated_at: string }
interface Summary { id: number; agent_id: string; session_id: string; version: number; summary: string; method: string; model: string | null; message_count: number | null; created_at: string; expires_at: string }
interface SessionRow { agent_id: string; id: string; session_key: string | null; channel: string | null; model: string | null; started_at: string; last_message_at: string | null }
interface Doc { id: number; agent_id: string; title: string; source: string; source_path: string | null; updated_at: string }
interface Hit { id: number; kind: string; title: string | null; snippet: string | null; memory_key: string | null; summary_id: number | null; chunk_id: number | null; score: number; text_rank: number | null; vector_rank: number | null; similarity: number | null }
interface SearchAnswer { results: Hit[]; vector: boolean; warning?: string }

const tabs = [
  { id: 'hot', label: 'HOT memory' },
  { id: 'summaries', label: 'Summaries' },
  { id: 'sessions', label: 'Sessions' },
  { id: 'docs', label: 'Knowledge' },
] as const;
type Tab = (typeof tabs)[number]['id'];

export class CbMemory extends LitElement {
  static override properties = {
    tab: { state: true },
    rows: { state: true },
    error: { state: true },
    loading: { state: true },
    q: { state: true },
    search: { state: true },
    searchError: { state: true },
    searching: { state: true },
    opened: { state: true },
  };
  declare tab: Tab;
  declare rows: HotRow[] | Summary[] | SessionRow[] | Doc[];
  declare error: unknown;
  declare loading: boolean;
  declare q: string;
  declare search: SearchAnswer | undefined;
  declare searchError: unknown;
  declare searching: boolean;
  /** Expanded values and documents, by a key of their row. */
  declare opened: Map<string, string | { error: unknown }>;

  static override styles = [
    shared,
    css`
      form.toolbar input[type='search'] { flex: 1 1 18rem; }
      .tabs { display: flex; gap: 0.25rem; border-bottom: 1px solid var(--border); margin: 1rem 0 0.75rem; overflow-x: auto; }
      .tabs a { padding: 0.4rem 0.75rem; color: var(--muted); text-decoration: none; border-bottom: 2px solid transparent; white-space: nowrap; }
      .tabs a[aria-current='page'] { color: var(--text); border-bottom-color: var(--accent); }
      .hits { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.4rem; }
      .hits li { padding: 0.5rem 0.75rem; }
      .why { font-size: 0.8rem; color: var(--muted); }
      td.key { font-family: var(--mono); font-size: 0.85rem; overflow-wrap: anywhere; min-width: 10rem; }
      button.link { all: unset; cursor: pointer; color: var(--accent); }
      button.link:focus-visible { outline: 2px solid var(--focus); }
    `,
  ];

  constructor() {
    super();
    const t = router.route.query.get('tab');
    this.tab = tabs.some((x) => x.id === t) ? (t as Tab) : 'hot';
    this.rows = [];
    this.error = undefined;
    this.loading = false;
    this.q = router.route.query.get('q') ?? '';
    this.search = undefined;
    this.searchError = undefined;
    this.searching = false;
    this.opened = new Map();
  }

  override connectedCallback() {
    super.connectedCallback();
    void this.#load();
    if (this.q) void this.#search();
  }

  #open(tab: Tab, e: Event) {
    e.preventDefault();
    this.tab = tab;
    router.setQuery({ tab: tab === 'hot' ? undefined : tab });
    void this.#load();
  }

  async #load() {
    const tab = this.tab;
    this.loading = true;
    this.error = undefined;
    this.rows = [];
    try {
      const rows = await (tab === 'hot'
        ? query<HotRow[]>((c) => c.from('memory_kv_hot').select('agent_id,key,size_bytes,pinned,expires_at,last_accessed_at,updated_at').order('size_bytes', { ascending: false }).limit(200))
        : tab === 'summaries'
          ? query<Summary[]>((c) => c.from('conversation_summaries').select('id,agent_id,session_id,version,summary,method,model,message_count,created_at,expires_at').order('created_at', { ascending: false }).limit(100))
          : tab === 'sessions'
            ? query<SessionRow[]>((c) => c.from('sessions').select('agent_id,id,session_key,channel,model,started_at,last_message_at').order('last_message_at', { ascending: false, nullsFirst: false }).limit(200))
            : query<Doc[]>((c) => c.from('knowledge_docs').select('id,agent_id,title,source,source_path,updated_at').order('updated_at', { ascending: false }).limit(200)));
      if (tab === this.tab) this.rows = rows;
    } catch (err) {
      if (tab === this.tab) this.error = err;
    } finally {
      if (tab === this.tab) this.loading = false;
    }
  }

  async #search(e?: Event) {
    e?.preventDefault();
    if (e) {
      const input = (e.currentTarget as HTMLFormElement).querySelector('input')!;
      this.q = input.value.trim();
      router.setQuery({ q: this.q });
    }
    if (!this.q) {
      this.search = undefined;
      return;
    }
    this.searching = true;
    this.searchError = undefined;
    try {
      this.search = await callFunction<SearchAnswer>('memory/search', { body: { query: this.q, k: 20 } });
    } catch (err) {
      this.search = undefined;
      this.searchError = err;
    } finally {
      this.searching = false;
    }
  }

  async #toggle(id: string, load: () => Promise<string>) {
    const next = new Map(this.opened);
    if (next.has(id)) {
      next.delete(id);
      this.opened = next;
      return;
    }
    try {
      next.set(id, await load());
    } catch (err) {
      next.set(id, { error: err });
    }
    this.opened = next;
  }

  #openedView(id: string) {
    const v = this.opened.get(id);
    if (v === undefined) return nothing;
    return typeof v === 'string' ? html`<pre>${v}</pre>` : errorBox(v.error);
  }

  override render() {
    return html`
      <h2>Memory</h2>
      <form class="toolbar" role="search" @submit=${this.#search}>
        <input type="search" name="q" .value=${this.q} placeholder="Search memory, summaries and knowledge" aria-label="Search memory" />
        <button type="submit" ?disabled=${this.searching}>${this.searching ? 'Searching…' : 'Search'}</button>
      </form>
      ${errorBox(this.searchError)}
      ${this.search ? this.#hits(this.search) : nothing}
      <nav class="tabs" aria-label="Memory sections">
        ${tabs.map((t) => html`<a href="/memory?tab=${t.id}" aria-current=${this.tab === t.id ? 'page' : 'false'} @click=${(e: Event) => this.#open(t.id, e)}>${t.label}</a>`)}
      </nav>
      ${errorBox(this.error)}
      ${this.loading ? html`<p class="muted">Loading…</p>` : this.#table()}
    `;
  }

  #hits(s: SearchAnswer) {
    return html`
      <section aria-label="Search results">
        ${s.warning ? html`<p class="muted">${s.warning}</p>` : nothing}
        ${s.results.length === 0
          ? empty(html`Nothing in memory matches “${this.q}”. Try other words; documents are searched once the worker has chunked them.`)
          : html`<ol class="hits">${s.results.map((h) => html`
              <li class="card" data-kind=${h.kind}>
                <div><span class="badge">${h.kind}</span> <strong>${h.title ?? h.memory_key ?? `#${h.id}`}</strong></div>
                ${h.snippet ? html`<div>${truncate(h.snippet, 400)}</div>` : nothing}
                <div class="why">score ${h.score.toFixed(3)}${h.text_rank !== null ? ` · text #${h.text_rank}` : ''}${h.vector_rank !== null ? ` · vector #${h.vector_rank}` : ''}${h.similarity !== null ? ` · similarity ${h.similarity.toFixed(2)}` : ''}</div>
              </li>`)}</ol>`}
        <p class="muted">${s.vector ? 'Hybrid search: full text and embeddings.' : 'Full-text search only (no embedding for the query).'}</p>
      </section>
    `;
  }

  #table() {
    if (this.error) return nothing;
    if (this.tab === 'hot') {
      const rows = this.rows as HotRow[];
      if (!rows.length) return empty('No HOT memory: rows appear here once a value reaches the memory_hot_threshold_bytes setting.');
      return html`<div class="scroll card"><table>
        <thead><tr><th>Key</th><th>Agent</th><th class="num">Size</th><th>Expires</th><th>Last access</th><th></th></tr></thead>
        <tbody>${rows.map((r) => {
          const id = `kv:${r.agent_id}:${r.key}`;
          return html`<tr>
            <td class="key">${r.key}${r.pinned ? html` <span class="badge">pinned</span>` : nothing}${this.#openedView(id)}</td>
            <td>${r.agent_id}</td>
            <td class="num">${bytes(r.size_bytes)}</td>
            <td title=${fullTime(r.expires_at)}>${r.expires_at ? (new Date(r.expires_at).getTime() < Date.now() ? html`<span class="badge bad">expired</span>` : ago(r.expires_at)) : 'never'}</td>
            <td title=${fullTime(r.last_accessed_at)}>${ago(r.last_accessed_at)}</td>
            <td><button class="small" aria-expanded=${this.opened.has(id) ? 'true' : 'false'} @click=${() => this.#toggle(id, async () => {
              const v = await query<{ value: unknown }[]>((c) => c.from('memory_kv').select('value').eq('agent_id', r.agent_id).eq('key', r.key));
              return v[0] ? JSON.stringify(v[0].value, null, 2) : 'The row is gone (expired and purged, or deleted).';
            })}>${this.opened.has(id) ? 'Hide' : 'Value'}</button></td>
          </tr>`;
        })}</tbody></table></div>`;
    }
    if (this.tab === 'summaries') {
      const rows = this.rows as Summary[];
      if (!rows.length) return empty('No summaries yet: the maintenance sweep summarises long sessions every 30 minutes.');
      return html`<div class="grid">${rows.map((s) => html`
        <div class="card">
          <div><a href=${sessionHref(s.agent_id, s.session_id)}>${s.agent_id} · ${truncate(s.session_id, 24)}</a> <span class="badge">v${s.version}</span> <span class="badge">${s.method}</span></div>
          <p>${s.summary}</p>
          <div class="muted">${s.message_count ?? '?'} messages · ${s.model ?? ''} · written ${when(s.created_at)} · expires ${ago(s.expires_at)}</div>
        </div>`)}</div>`;
    }
    if (this.tab === 'sessions') {
      const rows = this.rows as SessionRow[];
      if (!rows.length) return empty('No sessions yet: they appear once the collectors ingest OpenClaw transcripts.');
      return html`<div class="scroll card"><table>
        <thead><tr><th>Session</th><th>Agent</th><th>Channel</th><th>Model</th><th>Last message</th></tr></thead>
        <tbody>${rows.map((s) => html`<tr>
          <td><a href=${sessionHref(s.agent_id, s.id)}>${s.session_key ?? truncate(s.id, 28)}</a></td>
          <td>${s.agent_id}</td><td>${s.channel ?? '—'}</td><td>${s.model ?? '—'}</td>
          <td title=${fullTime(s.last_message_at)}>${ago(s.last_message_at ?? s.started_at)}</td>
        </tr>`)}</tbody></table></div>`;
    }
    const rows = this.rows as Doc[];
    if (!rows.length) return empty('No knowledge documents: the worker syncs the workspace’s MEMORY.md and memory/*.md every 5 minutes, and agents can POST to /knowledge_docs.');
    return html`<div class="scroll card"><table>
      <thead><tr><th>Title</th><th>Agent</th><th>Source</th><th>Updated</th></tr></thead>
      <tbody>${rows.map((d) => {
        const id = `doc:${d.id}`;
        return html`<tr>
          <td><button class="link" aria-expanded=${this.opened.has(id) ? 'true' : 'false'} @click=${() => this.#toggle(id, async () => {
            const v = await query<{ content: string }[]>((c) => c.from('knowledge_docs').select('content').eq('id', d.id));
            return v[0]?.content ?? 'The document is gone.';
          })}>${d.title}</button>${this.#openedView(id)}</td>
          <td>${d.agent_id}</td><td>${d.source}${d.source_path ? html` <span class="mono">${d.source_path}</span>` : nothing}</td>
          <td title=${fullTime(d.updated_at)}>${ago(d.updated_at)}</td>
        </tr>`;
      })}</tbody></table></div>`;
  }
}

customElements.define('cb-memory', CbMemory);
