// The shell: sign-in gate, navigation between the six panels, theme toggle, sign out. The panels
// themselves load on demand (early.ts), so a page load evaluates only the one it shows.
import { css, html, LitElement, nothing } from 'lit';
import { auth } from '../auth.ts';
import { loadPanel } from '../early.ts';
import { panels, router } from '../router.ts';
import { shared } from '../styles.ts';
import './cb-login.ts';

type Theme = 'dark' | 'light';

export class CbApp extends LitElement {
  static override properties = { theme: { state: true } };
  declare theme: Theme;

  static override styles = [
    shared,
    css`
      :host { min-height: 100vh; }
      header {
        display: flex; align-items: center; gap: 0.75rem; padding: 0.5rem 1rem; background: var(--panel);
        border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5; flex-wrap: wrap;
      }
      .brand { font-weight: 700; letter-spacing: 0.02em; margin-right: 0.5rem; }
      nav { display: flex; gap: 0.25rem; overflow-x: auto; flex: 1 1 auto; scrollbar-width: thin; }
      nav a { color: var(--muted); text-decoration: none; padding: 0.3rem 0.6rem; border-radius: 6px; white-space: nowrap; }
      nav a[aria-current='page'] { color: var(--text); background: var(--panel-2); }
      nav a:hover { color: var(--text); }
      .user { display: flex; gap: 0.5rem; align-items: center; font-size: 0.85rem; }
      main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
      @media (max-width: 700px) {
        header { padding: 0.5rem; gap: 0.4rem; }
        nav { order: 3; flex-basis: 100%; gap: 0; }
        nav a { padding: 0.3rem 0.4rem; }
        .email { display: none; }
        main { padding: 0.6rem; }
      }
    `,
  ];

  constructor() {
    super();
    this.theme = document.documentElement.dataset.theme === 'light' ? 'light' : 'dark';
  }

  #rerender = () => this.requestUpdate();

  override connectedCallback() {
    super.connectedCallback();
    auth.addEventListener('change', this.#rerender);
    router.addEventListener('change', this.#rerender);
  }

  override disconnectedCallback() {
    auth.removeEventListener('change', this.#rerender);
    router.removeEventListener('change', this.#rerender);
    super.disconnectedCallback();
  }

  #toggleTheme() {
    this.theme = this.theme === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = this.theme;
    try {
      localStorage.setItem('conductor.theme', this.theme);
    } catch {
      /* not kept: fine */
    }
    this.dispatchEvent(new CustomEvent('theme-change', { bubbles: true, composed: true }));
  }

  async #logout() {
    await auth.logout();
    router.go('/login');
  }

  override render() {
    const route = router.route;
    const session = auth.session;
    if (!session) {
      if (route.name !== 'login') {
        // Come back here after signing in.
        const back = location.pathname + location.search;
        queueMicrotask(() => router.go(`/login${back !== '/' ? `?next=${encodeURIComponent(back)}` : ''}`, true));
        return nothing;
      }
      return html`<cb-login></cb-login>`;
    }
    if (route.name === 'login') {
      queueMicrotask(() => router.go(safeNext(route.query.get('next')), true));
      return nothing;
    }
    const current = route.name === 'sessions' ? 'activity' : route.name;
    document.title = `${panels.find((p) => p.name === current)?.label ?? 'Conductor'} · Conductor`;
    return html`
      <header>
        <span class="brand">Conductor</span>
        <nav aria-label="Panels">
          ${panels.map((p) => html`<a href="/${p.name}" aria-current=${current === p.name ? 'page' : 'false'}>${p.label}</a>`)}
        </nav>
        <div class="user">
          <span class="email">${session.email}</span>
          <span class="badge" title="Your role">${session.role}</span>
          <button class="small" @click=${this.#toggleTheme} aria-label="Switch to ${this.theme === 'dark' ? 'light' : 'dark'} theme">${this.theme === 'dark' ? 'Light' : 'Dark'}</button>
          <button class="small" @click=${this.#logout}>Sign out</button>
        </div>
      </header>
      <main>${this.#panel(route.name)}</main>
    `;
  }

  #panel(name: string) {
    // Each panel's code is its own chunk, loaded on first visit; its element upgrades when it arrives.
    loadPanel(name);
    switch (name) {
      case 'activity':
        return html`<cb-activity></cb-activity>`;
      case 'sessions':
        return html`<cb-session .agentId=${router.route.params[0] ?? ''} .sessionId=${router.route.params[1] ?? ''}></cb-session>`;
      case 'health':
        return html`<cb-health></cb-health>`;
      case 'tasks':
        return html`<cb-tasks></cb-tasks>`;
      case 'memory':
        return html`<cb-memory></cb-memory>`;
      case 'cron':
        return html`<cb-cron></cb-cron>`;
      case 'backups':
        return html`<cb-backups></cb-backups>`;
      default:
        return html`<div class="empty">There is no page at ${location.pathname}. <a href="/activity">Open the activity feed</a>.</div>`;
    }
  }
}

/** Only local paths: a crafted ?next= must not send the user elsewhere. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/activity';
}

customElements.define('cb-app', CbApp);
