// Placeholder until the panel lands.
import { html, LitElement } from 'lit';
import { shared } from '../styles.ts';

export class CbMemory extends LitElement {
  static override styles = [shared];
  override render() {
    return html`<h2>Memory</h2><div class="empty">Coming next.</div>`;
  }
}

customElements.define('cb-memory', CbMemory);
