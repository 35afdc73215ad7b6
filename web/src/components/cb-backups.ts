// Backups: what was taken, its status and size, the last verified restore with its measured time,
// and the exact command that restores to a chosen moment.
import { css, html, LitElement, nothing } from 'lit';
import { query } from '../api.ts';
import { ago, bytes, fullTime, span, when } from '../format.ts';
import { empty, errorBox, shared } from '../styles.ts';

interface Backup {
  id: number; kind: string; status: string; started_at: string; finished_at: string | null; size_bytes: number | null;
  location: string | null; verified_at: string | null; verify_status: string | null; restore_seconds: number | null;
  rpo_seconds: number | null; error: string | null;
}

export class CbBackups extends LitElement {
  static override properties = { rows: { state: true }, error: { state: true }, at: { state: true }, copied: { state: true }, loading: { state: true } };
  declare rows: Backup[];
  declare error: unknown;
  declare at: string;
  declare copied: boolean;
  declare loading: boolean;

  static override styles = [
    shared,
    css`
      .facts { display: grid; gap: 0.75rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 14rem), 1fr)); margin-bottom: 1rem; }
      .fact .value { font-size: 1.2rem; font-weight: 600; }
      .command { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
      .command code { font-family: var(--mono); background: var(--bg); border: 1px solid var(--border); border-radius: 6px; padding: 0.4rem 0.6rem; overflow-wrap: anywhere; flex: 1 1 20rem; }
      td .err { color: var(--bad); font-size: 0.85rem; }
    `,
  ];

  constructor() {
    super();
    this.rows = [];
    this.error = undefined;
    this.at = '';
    this.copied = false;
    this.loading = true;
  }

  override connectedCallback() {
    super.connectedCallback();
    void this.#load();
  }

  async #load() {
    try {
      this.rows = await query<Backup[]>((c) =>
        c.from('backups').select('id,kind,status,started_at,finished_at,size_bytes,location,verified_at,verify_status,restore_seconds,rpo_seconds,error').order('started_at', { ascending: false }).limit(200));
      this.error = undefined;
    } catch (err) {
      this.error = err;
    } finally {
      this.loading = false;
    }
  }

  #command(): string {
    const at = this.at ? new Date(this.at) : new Date(Math.floor(Date.now() / 60_000) * 60_000);
    return `npx clawbase restore --at ${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  }

  async #copy() {
    try {
      await navigator.clipboard.writeText(this.#command());
      this.copied = true;
      setTimeout(() => (this.copied = false), 1500);
    } catch {
      // No clipboard permission: the command stays selectable.
    }
  }

  override render() {
    const base = this.rows.find((b) => b.kind === 'base' && b.status === 'succeeded');
    const verified = this.rows.filter((b) => b.verified_at).sort((a, b) => b.verified_at!.localeCompare(a.verified_at!))[0];
    const failed = this.rows.filter((b) => b.status === 'failed').length;
    const stored = this.rows.filter((b) => b.status === 'succeeded').reduce((s, b) => s + (b.size_bytes ?? 0), 0);
    return html`
      <h2>Backups</h2>
      ${errorBox(this.error)}
      <div class="facts">
        <div class="card fact"><div class="muted">Last base backup</div><div class="value">${base ? ago(base.finished_at ?? base.started_at) : 'none'}</div><div class="muted">${base ? bytes(base.size_bytes) : ''}</div></div>
        <div class="card fact"><div class="muted">Last verified restore</div>
          <div class="value">${verified ? html`<span class="badge ${verified.verify_status === 'ok' ? 'ok' : 'bad'}">${verified.verify_status}</span> ${ago(verified.verified_at)}` : 'never'}</div>
          <div class="muted">${verified?.restore_seconds !== null && verified?.restore_seconds !== undefined ? `restored in ${span(verified.restore_seconds)}` : ''}${verified?.rpo_seconds !== null && verified?.rpo_seconds !== undefined ? ` · data-loss window ${span(verified.rpo_seconds)}` : ''}</div></div>
        <div class="card fact"><div class="muted">Stored (succeeded)</div><div class="value">${bytes(stored)}</div><div class="muted">${failed ? html`<span class="bad">${failed} failed</span>` : 'no failures listed'}</div></div>
      </div>
      <div class="card">
        <h3>Restore to a point in time</h3>
        <div class="toolbar"><label>Restore to <input type="datetime-local" step="1" .value=${this.at} @input=${(e: Event) => (this.at = (e.target as HTMLInputElement).value)} /></label></div>
        <div class="command"><code data-restore-command>${this.#command()}</code><button class="small" @click=${this.#copy}>${this.copied ? 'Copied' : 'Copy'}</button></div>
        <p class="muted">Run it on the Clawbase host: it restores the newest base backup before that moment and replays WAL up to it into a new data directory. Without a time chosen it targets the current minute.</p>
      </div>
      <h3>History</h3>
      ${this.rows.length === 0 && !this.loading && !this.error
        ? empty('No backups yet. Set the S3 variables (see README) and the worker takes a base backup daily and archives WAL continuously.')
        : html`<div class="scroll card"><table>
            <thead><tr><th>Kind</th><th>Started</th><th>Status</th><th class="num">Size</th><th>Verified</th><th class="num">Restore time</th><th>Location</th></tr></thead>
            <tbody>${this.rows.map((b) => html`<tr>
              <td>${b.kind}</td>
              <td title=${fullTime(b.started_at)}>${when(b.started_at)}</td>
              <td><span class="badge ${b.status}">${b.status}</span>${b.error ? html`<div class="err">${b.error}</div>` : nothing}</td>
              <td class="num">${bytes(b.size_bytes)}</td>
              <td title=${fullTime(b.verified_at)}>${b.verified_at ? html`<span class="badge ${b.verify_status === 'ok' ? 'ok' : 'bad'}">${b.verify_status}</span> ${ago(b.verified_at)}` : '—'}</td>
              <td class="num">${b.restore_seconds !== null ? span(b.restore_seconds) : '—'}</td>
              <td class="mono">${b.location ?? ''}</td>
            </tr>`)}</tbody></table></div>`}
    `;
  }
}

customElements.define('cb-backups', CbBackups);
