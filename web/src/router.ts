// History-API routes with shareable URLs: /activity?agent=main&q=deploy, /tasks, /sessions/main/<id>.
// The functions server answers every unknown path with index.html, so a pasted URL opens its panel.
export interface Route {
  /** First path segment: activity, health, tasks, memory, cron, backups, sessions, login. */
  name: string;
  /** Path segments after the first, decoded. */
  params: string[];
  query: URLSearchParams;
}

export const panels = [
  { name: 'activity', label: 'Activity' },
  { name: 'health', label: 'Health' },
  { name: 'tasks', label: 'Tasks' },
  { name: 'memory', label: 'Memory' },
  { name: 'cron', label: 'Cron' },
  { name: 'backups', label: 'Backups' },
] as const;

const known = new Set<string>([...panels.map((p) => p.name), 'sessions', 'login']);

function parse(): Route {
  const segments = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const first = segments[0] ?? 'activity';
  return { name: known.has(first) ? first : 'notfound', params: segments.slice(1), query: new URLSearchParams(location.search) };
}

class Router extends EventTarget {
  #route: Route = parse();

  constructor() {
    super();
    window.addEventListener('popstate', () => this.#update());
    // Same-origin links anywhere (shadow roots included) navigate without a reload.
    document.addEventListener('click', (e) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const a = e.composedPath().find((n): n is HTMLAnchorElement => n instanceof HTMLAnchorElement);
      if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
      e.preventDefault();
      this.go(a.pathname + a.search);
    });
  }

  get route(): Route {
    return this.#route;
  }

  go(url: string, replace = false) {
    if (url === location.pathname + location.search) return;
    history[replace ? 'replaceState' : 'pushState'](null, '', url);
    this.#update();
  }

  /** Rewrites the query string of the current route (filters), without a new history entry. */
  setQuery(values: Record<string, string | undefined>) {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined || v === '') q.delete(k);
      else q.set(k, v);
    }
    const s = q.toString();
    history.replaceState(null, '', location.pathname + (s ? `?${s}` : ''));
    this.#route = parse();
  }

  #update() {
    this.#route = parse();
    this.dispatchEvent(new Event('change'));
  }
}

export const router = new Router();

export const sessionHref = (agentId: string, sessionId: string) =>
  `/sessions/${encodeURIComponent(agentId)}/${encodeURIComponent(sessionId)}`;
