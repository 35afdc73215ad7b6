// Where the API lives: the functions server that serves this page answers /config.json with
// PostgREST's and its own public URLs. Read once per load, and kept in localStorage so the next
// load can send its first request before /config.json has answered (early.ts).
export interface AppConfig {
  restUrl: string;
  functionsUrl: string;
}

let loaded: Promise<AppConfig> | undefined;
const storageKey = 'conductor.config';

/** The config the previous load read, if any (the server may have changed it since: a hint). */
export function cachedConfig(): AppConfig | undefined {
  try {
    const c = JSON.parse(localStorage.getItem(storageKey) ?? 'null') as Partial<AppConfig> | null;
    return typeof c?.restUrl === 'string' && typeof c.functionsUrl === 'string' ? { restUrl: c.restUrl, functionsUrl: c.functionsUrl } : undefined;
  } catch {
    return undefined;
  }
}

function remember(c: AppConfig): AppConfig {
  try {
    localStorage.setItem(storageKey, JSON.stringify(c));
  } catch {
    // Not kept (private mode): the next load just waits for /config.json.
  }
  return c;
}

export function loadConfig(): Promise<AppConfig> {
  loaded ??= (async () => {
    let res: Response;
    try {
      res = await fetch('/config.json'); // same request as the <link rel=preload> in index.html
    } catch (err) {
      throw new Error(`Cannot load /config.json (${(err as Error).message}): is the Clawbase functions server running?`);
    }
    if (!res.ok) throw new Error(`/config.json answered ${res.status}: the functions server should serve it next to the dashboard.`);
    // Served as static files behind nginx, /config.json may be the app's index.html (its SPA
    // fallback): then the edge's one-origin layout applies, PostgREST at /rest, functions at /.
    if (!(res.headers.get('content-type') ?? '').includes('json')) {
      return remember({ restUrl: `${location.origin}/rest`, functionsUrl: location.origin });
    }
    const body = (await res.json()) as Partial<AppConfig>;
    if (typeof body.restUrl !== 'string' || typeof body.functionsUrl !== 'string') {
      throw new Error('/config.json must give {"restUrl": "…", "functionsUrl": "…"}.');
    }
    const strip = (u: string) => new URL(u.replace(/\/+$/, ''), location.origin).href.replace(/\/+$/, '');
    return remember({ restUrl: strip(body.restUrl), functionsUrl: strip(body.functionsUrl) });
  })();
  loaded.catch(() => (loaded = undefined));
  return loaded;
}
