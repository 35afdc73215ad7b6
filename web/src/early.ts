// What a page load starts before the app's code has been evaluated: the code of the panel the URL
// names, and that panel's first request. main.ts imports this module first, so its body runs
// before Lit and the shell: import() and fetch() dispatch at once, and the panel that sends the
// same request later takes this answer instead of sending it again. The request needs the
// signed-in session and the config the last load stored; a first visit, an expired token or
// another route simply sends nothing early.
import { PostgrestClient } from '@supabase/postgrest-js';
import { auth } from './auth.ts';
import { cachedConfig } from './config.ts';
import { feedFilters, feedQuery, tasksQuery } from './queries.ts';

const sent = new Map<string, Promise<unknown>>();
// An answer nobody took soon is stale (the user went elsewhere): the panel asks again.
const keepMs = 10_000;

export const requestKey = (method: string, url: string) => `${method} ${url}`;

/** The key of a postgrest-js query: its method and URL (filters, order and limit included). */
export function builderKey(b: PromiseLike<unknown>): string | undefined {
  const { method, url } = b as unknown as { method?: unknown; url?: unknown };
  return typeof method === 'string' && url instanceof URL ? requestKey(method, url.href) : undefined;
}

/** The answer of the request sent early under this key, once; undefined when none was sent. */
export function takeEarly<T>(key: string | undefined): Promise<T> | undefined {
  if (key === undefined) return undefined;
  const answer = sent.get(key);
  sent.delete(key);
  return answer as Promise<T> | undefined;
}

function keep(key: string, answer: Promise<unknown>) {
  answer.catch(() => undefined); // taken or not, a failure must not be an unhandled rejection
  sent.set(key, answer);
  setTimeout(() => sent.delete(key), keepMs);
}

export function restClient(restUrl: string, token: string | undefined): PostgrestClient {
  return new PostgrestClient(restUrl, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

const panelCode: Record<string, () => Promise<unknown>> = {
  activity: () => import('./components/cb-activity.ts'),
  sessions: () => import('./components/cb-session.ts'),
  health: () => import('./components/cb-health.ts'),
  tasks: () => import('./components/cb-tasks.ts'),
  memory: () => import('./components/cb-memory.ts'),
  cron: () => import('./components/cb-cron.ts'),
  backups: () => import('./components/cb-backups.ts'),
};
const requested = new Set<string>();

/** Loads a panel's code once (its custom element defines itself); unknown names are ignored. */
export function loadPanel(name: string) {
  const load = panelCode[name];
  if (!load || requested.has(name)) return;
  requested.add(name);
  load().catch((err: unknown) => {
    // A deploy replaced the chunk, or the network dropped: the next visit tries again.
    requested.delete(name);
    console.error(`The ${name} panel could not be loaded (${(err as Error).message}): reload the page.`);
  });
}

function sendEarly(route: string) {
  const config = cachedConfig();
  const session = auth.session;
  // A token about to expire would be refreshed first: leave the request to the panel.
  if (!config || !session || session.expiresAt < Date.now() + 30_000) return;
  const rest = restClient(config.restUrl, session.accessToken);
  const postgrest = (b: PromiseLike<unknown>) => {
    const key = builderKey(b);
    // The executor runs now, and postgrest-js's then() calls fetch() synchronously.
    if (key) keep(key, new Promise((resolve, reject) => b.then(resolve, reject)));
  };
  if (route === 'activity') postgrest(feedQuery(rest, feedFilters(new URLSearchParams(location.search))));
  else if (route === 'tasks') postgrest(tasksQuery(rest));
  else if (route === 'health') {
    const url = `${config.functionsUrl}/functions/v1/health`;
    keep(requestKey('GET', url), fetch(url, { headers: { Authorization: `Bearer ${session.accessToken}` } }));
  }
}

const route = location.pathname.split('/')[1] || 'activity';
if (route !== 'login') loadPanel(route);
sendEarly(route);
