// Sign-in form: e-mail and password against /functions/v1/login; the server's message on failure.
import { css, html, LitElement } from 'lit';
import { auth } from '../auth.ts';
import { errorBox, shared } from '../styles.ts';

export class CbLogin extends LitElement {
  static override properties = { busy: { state: true }, error: { state: true } };
  declare busy: boolean;
  declare error: unknown;

  static override styles = [
    shared,
    css`
      :host { display: grid; place-items: center; min-height: 100vh; padding: 1rem; }
      form { width: min(100%, 360px); display: flex; flex-direction: column; gap: 0.8rem; }
      h1 { margin: 0; font-size: 1.4rem; }
      p { margin: 0; }
    `,
  ];

  constructor() {
    super();
    this.busy = false;
    this.error = undefined;
  }

  async #submit(e: SubmitEvent) {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    this.busy = true;
    this.error = undefined;
    try {
      await auth.login(String(data.get('email') ?? '').trim(), String(data.get('password') ?? ''));
    } catch (err) {
      this.error = err;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    return html`
      <form class="card" @submit=${this.#submit}>
        <h1>Conductor</h1>
        <p class="muted">Sign in to the Clawbase dashboard.</p>
        <label>E-mail <input name="email" type="email" autocomplete="username" required autofocus /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
        ${errorBox(this.error)}
        <button class="primary" type="submit" ?disabled=${this.busy}>${this.busy ? 'Signing in…' : 'Sign in'}</button>
        <p class="muted">No account? An administrator creates one with <code>npx clawbase user add EMAIL</code>.</p>
      </form>
    `;
  }
}

customElements.define('cb-login', CbLogin);
