// One whole session: its header, then every message in order with the tool calls it made.
import { css, html, LitElement, nothing } from 'lit';
import { query } from '../api.ts';
import { fullTime, int, usd, when } from '../format.ts';
import { empty, errorBox, shared } from '../styles.ts';

interface SessionRow {
  agent_id: string;
  id: string;
  session_key: string | null;
  channel: string | null;
  model: string | null;
  source: string;
  started_at: string;
  last_message_at: string | null;
}

interface MessageRow {
  id: string;
  created_at: string;
  role: string;
  sender: string | null;
  content: string | null;
  model: string | null;
  total_tokens: number | null;
  cost_usd: number | string | null;
  error_message: string | null;
  is_heartbeat: boolean;
}

interface ToolRow {
  id: string;
  message_id: string | null;
  name: string;
  arguments: unknown;
  result: string | null;
  is_error: boolean | null;
}

const pageSize = 200;

export class CbSession extends LitElement {
  static override properties = {
    agentId: { attribute: false },
    sessionId: { attribute: false },
    session: { state: true },
    messages: { state: true },
    tools: { state: true },
    error: { state: true },
    loading: { state: true },
    more: { state: true },
  };
  declare agentId: string;
  declare sessionId: string;
  declare session: SessionRow | null | undefined;
  declare messages: MessageRow[];
  declare tools: Map<string, ToolRow[]>;
  declare error: unknown;
  declare loading: boolean;
  declare more: boolean;

  static override styles = [
    shared,
    css`
      ol { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.5rem; }
      li { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.5rem 0.75rem; }
      li.user { border-left: 3px solid var(--accent); }
      li.assistant { border-left: 3px solid var(--ok); }
      .line { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: baseline; font-size: 0.85rem; }
      .footer { display: flex; justify-content: center; padding: 0.75rem; }
      .text { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: 0.3rem; }
    `,
  ];

  constructor() {
    super();
    this.agentId = '';
    this.sessionId = '';
    this.session = undefined;
    this.messages = [];
    this.tools = new Map();
    this.error = undefined;
    this.loading = false;
    this.more = false;
  }

  override willUpdate(changed: Map<string, unknown>) {
    if (changed.has('agentId') || changed.has('sessionId')) void this.#load(false);
  }

  async #load(append: boolean) {
    if (!this.agentId || !this.sessionId) return;
    this.loading = true;
    this.error = undefined;
    const offset = append ? this.messages.length : 0;
    try {
      const [sessions, messages, tools] = await Promise.all([
        append ? Promise.resolve(this.session ? [this.session] : []) : query<SessionRow[]>((c) => c.from('sessions').select('agent_id,id,session_key,channel,model,source,started_at,last_message_at').eq('agent_id', this.agentId).eq('id', this.sessionId)),
        query<MessageRow[]>((c) =>
          c.from('messages').select('id,created_at,role,sender,content,model,total_tokens,cost_usd,error_message,is_heartbeat')
            .eq('agent_id', this.agentId).eq('session_id', this.sessionId)
            .order('created_at').order('id').range(offset, offset + pageSize - 1)),
        append ? Promise.resolve(null) : query<ToolRow[]>((c) => c.from('tool_calls').select('id,message_id,name,arguments,result,is_error').eq('agent_id', this.agentId).eq('session_id', this.sessionId).limit(5000)),
      ]);
      this.session = sessions[0] ?? null;
      this.messages = append ? [...this.messages, ...messages] : messages;
      this.more = messages.length === pageSize;
      if (tools) {
        const byMessage = new Map<string, ToolRow[]>();
        for (const t of tools) if (t.message_id) byMessage.set(t.message_id, [...(byMessage.get(t.message_id) ?? []), t]);
        this.tools = byMessage;
      }
    } catch (err) {
      this.error = err;
    } finally {
      this.loading = false;
    }
  }

  override render() {
    const s = this.session;
    return html`
      <p><a href="/activity?agent=${encodeURIComponent(this.agentId)}">← Activity of ${this.agentId}</a></p>
      <h2>Session <span class="mono">${this.sessionId}</span></h2>
      ${errorBox(this.error)}
      ${s === null ? empty(html`No session ${this.sessionId} of agent ${this.agentId}: the maintenance sweep may have archived it (an operator brings it back with <code>POST /rpc/restore_session</code>).`) : nothing}
      ${s
        ? html`<p class="muted">${s.session_key ?? ''} · ${s.channel ?? 'no channel'} · ${s.model ?? 'no model'} · from ${s.source} ·
            started ${fullTime(s.started_at)} · last message ${fullTime(s.last_message_at)}</p>`
        : nothing}
      <ol>
        ${this.messages.map((m) => html`
          <li class=${m.role}>
            <div class="line">
              <span class="badge">${m.role.replace('_', ' ')}</span>
              <span class="muted" title=${fullTime(m.created_at)}>${when(m.created_at)}</span>
              <span class="muted">${m.sender ?? ''}</span>
              ${m.is_heartbeat ? html`<span class="badge">heartbeat</span>` : nothing}
              <span class="muted">${m.model ?? ''}${m.total_tokens ? ` · ${int(m.total_tokens)} tok` : ''}${m.cost_usd !== null && Number(m.cost_usd) > 0 ? ` · ${usd(m.cost_usd)}` : ''}</span>
            </div>
            ${m.error_message ? html`<div class="notice">${m.error_message}</div>` : nothing}
            ${m.content ? html`<div class="text">${m.content}</div>` : nothing}
            ${(this.tools.get(m.id) ?? []).map((t) => html`
              <details>
                <summary>${t.name} ${t.is_error ? html`<span class="badge error">error</span>` : nothing}</summary>
                <pre>${JSON.stringify(t.arguments, null, 2)}</pre>
                ${t.result !== null ? html`<pre>${t.result}</pre>` : nothing}
              </details>`)}
          </li>`)}
      </ol>
      <div class="footer">
        ${this.loading ? html`<span class="muted">Loading…</span>` : this.more ? html`<button @click=${() => this.#load(true)}>Load more</button>` : nothing}
      </div>
    `;
  }
}

customElements.define('cb-session', CbSession);
