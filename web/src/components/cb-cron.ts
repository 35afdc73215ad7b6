// Placeholder until the panel lands.
import { html, LitElement } from 'lit';
import { shared } from '../styles.ts';

export class CbCron extends LitElement {
  static override styles = [shared];
  override render() {
    return html`<h2>Cron</h2><div class="empty">Coming next.</div>`;
  }
}

customElements.define('cb-cron', CbCron);
