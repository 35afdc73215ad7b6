// The two ways the dashboard reads and writes: PostgREST directly (postgrest-js, the user's
// token) and the functions server. Both retry once after a token refresh on 401, and both throw
// ApiError with the server's message and hint.
import type { PostgrestClient } from '@supabase/postgrest-js';
import { auth } from './auth.ts';
import { loadConfig } from './config.ts';
import { builderKey, requestKey, restClient, takeEarly } from './early.ts';
import { ApiError, fromBody, networkError } from './errors.ts';

interface PgAnswer {
  data: unknown;
  error: { message: string; details?: string | null; hint?: string | null; code?: string | null } | null;
  status: number;
  count?: number | null;
}

type Query = (client: PostgrestClient) => PromiseLike<PgAnswer>;

async function client(): Promise<PostgrestClient> {
  const { restUrl } = await loadConfig();
  return restClient(restUrl, auth.session?.accessToken);
}

/** Runs a postgrest-js query and returns its rows (typed by the caller), or throws a readable error. */
export async function query<T>(build: Query): Promise<T> {
  return (await queryWithCount<T>(build)).data;
}

export async function queryWithCount<T>(build: Query): Promise<{ data: T; count: number | null }> {
  const first = build(await client());
  // The same request sent early in this page load (early.ts) has its answer on the way already.
  let answer = await (takeEarly<PgAnswer>(builderKey(first)) ?? first);
  if (answer.status === 401 && (await auth.refresh())) answer = await build(await client());
  if (answer.error) {
    const { restUrl } = await loadConfig();
    // postgrest-js reports a failed fetch as status 0 with the TypeError's text.
    if (answer.status === 0) throw networkError(restUrl, new Error(answer.error.message));
    throw fromBody(answer.status, answer.error, 'The query');
  }
  return { data: answer.data as T, count: answer.count ?? null };
}

/**
 * Every row of a query, page by page: PostgREST caps one answer at db-max-rows (1000 by default).
 * `build` must apply .range(from, to) after its order. Stops after `maxPages` pages.
 */
export async function queryAll<T>(build: (client: PostgrestClient, from: number, to: number) => PromiseLike<PgAnswer>, pageSize = 1000, maxPages = 20): Promise<T[]> {
  const all: T[] = [];
  for (let page = 0; page < maxPages; page++) {
    const from = page * pageSize;
    const rows = await query<T[]>((c) => build(c, from, from + pageSize - 1));
    all.push(...rows);
    if (rows.length < pageSize) break;
  }
  return all;
}

/** Calls /functions/v1/<path> with the user's token; the JSON body of the answer. */
export async function callFunction<T>(path: string, init: { method?: string; body?: unknown; okStatuses?: number[] } = {}): Promise<T> {
  const { functionsUrl } = await loadConfig();
  const url = `${functionsUrl}/functions/v1/${path}`;
  const send = () =>
    fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(auth.session ? { Authorization: `Bearer ${auth.session.accessToken}` } : {}),
        ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  let res: Response;
  try {
    const early = init.method === undefined && init.body === undefined ? takeEarly<Response>(requestKey('GET', url)) : undefined;
    res = await (early ?? send());
    if (res.status === 401 && (await auth.refresh())) res = await send();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw networkError(url, err);
  }
  const body = (await res.json().catch(() => null)) as unknown;
  if (!res.ok && !(init.okStatuses ?? []).includes(res.status)) throw fromBody(res.status, body, path);
  return body as T;
}
