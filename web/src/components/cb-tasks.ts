// Placeholder until the panel lands.
import { html, LitElement } from 'lit';
import { shared } from '../styles.ts';

export class CbTasks extends LitElement {
  static override styles = [shared];
  override render() {
    return html`<h2>Tasks</h2><div class="empty">Coming next.</div>`;
  }
}

customElements.define('cb-tasks', CbTasks);
