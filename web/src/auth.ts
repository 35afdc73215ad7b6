// The signed-in user: login, token refresh before expiry, logout. The session lives in localStorage
// so a reload (or a shared link opened in another tab) stays signed in; refreshes are serialised
// across tabs with a Web Lock, because a refresh token is single use and a reused one revokes them all.
import { loadConfig } from './config.ts';
import { ApiError, fromBody, networkError } from './errors.ts';

export type Role = 'viewer' | 'operator';

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number;
  role: Role;
  email: string;
}

interface TokenAnswer {
  access_token: string;
  token_type?: string;
  expires_in: number;
  refresh_token: string;
  role: Role;
  email: string;
}

const storageKey = 'conductor.session';
const lockName = 'conductor.refresh';

class Auth extends EventTarget {
  #session: Session | undefined = read();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<Session | undefined> | undefined;

  constructor() {
    super();
    // Another tab signed in, refreshed or signed out.
    window.addEventListener('storage', (e) => {
      if (e.key !== storageKey) return;
      this.#session = read();
      this.#schedule();
      this.#emit();
    });
    this.#schedule();
  }

  get session(): Session | undefined {
    return this.#session;
  }

  get isOperator(): boolean {
    return this.#session?.role === 'operator';
  }

  async login(email: string, password: string): Promise<Session> {
    const answer = await post<TokenAnswer>('login', { email, password });
    return this.#set(fromAnswer(answer));
  }

  /** Rotates the refresh token; undefined (and signed out) when the server refuses it. */
  refresh(): Promise<Session | undefined> {
    this.#refreshing ??= this.#refreshNow().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refreshNow(): Promise<Session | undefined> {
    const run = async (): Promise<Session | undefined> => {
      const before = this.#session;
      // Another tab may have rotated it while we waited for the lock: use its result.
      const stored = read();
      if (stored && before && stored.refreshToken !== before.refreshToken && stored.expiresAt > Date.now() + 60_000) {
        return this.#set(stored);
      }
      const current = stored ?? before;
      if (!current) return undefined;
      try {
        return this.#set(fromAnswer(await post<TokenAnswer>('refresh', { refresh_token: current.refreshToken })));
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 400 || err.status === 403)) {
          this.#clear();
          return undefined;
        }
        throw err;
      }
    };
    return navigator.locks ? navigator.locks.request(lockName, run) : run();
  }

  async logout(): Promise<void> {
    const s = this.#session;
    this.#clear();
    if (s) {
      try {
        await post<unknown>('logout', { refresh_token: s.refreshToken });
      } catch {
        // Signed out here either way; the refresh token expires on its own.
      }
    }
  }

  #set(s: Session): Session {
    this.#session = s;
    try {
      localStorage.setItem(storageKey, JSON.stringify(s));
    } catch {
      // Private mode without storage: the session lasts as long as the page.
    }
    this.#schedule();
    this.#emit();
    return s;
  }

  #clear() {
    this.#session = undefined;
    try {
      localStorage.removeItem(storageKey);
    } catch {
      /* nothing stored */
    }
    this.#schedule();
    this.#emit();
  }

  /** Refresh at 80% of the token's life, and at least a minute before it expires. */
  #schedule() {
    clearTimeout(this.#timer);
    const s = this.#session;
    if (!s) return;
    const left = s.expiresAt - Date.now();
    const delay = Math.max(0, Math.min(left - 60_000, left * 0.8));
    this.#timer = setTimeout(() => {
      this.refresh().catch(() => {
        // Network trouble: try again in 30 s while the token still works.
        this.#timer = setTimeout(() => this.#schedule(), 30_000);
      });
    }, Math.min(delay, 2 ** 31 - 1));
  }

  #emit() {
    this.dispatchEvent(new Event('change'));
  }
}

function fromAnswer(a: TokenAnswer): Session {
  return { accessToken: a.access_token, refreshToken: a.refresh_token, expiresAt: Date.now() + a.expires_in * 1000, role: a.role, email: a.email };
}

function read(): Session | undefined {
  try {
    const raw = localStorage.getItem(storageKey);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.accessToken !== 'string' || typeof s.refreshToken !== 'string' || typeof s.expiresAt !== 'number') return undefined;
    if (s.role !== 'viewer' && s.role !== 'operator') return undefined;
    return s as Session;
  } catch {
    return undefined;
  }
}

async function post<T>(name: string, body: unknown): Promise<T> {
  const { functionsUrl } = await loadConfig();
  const url = `${functionsUrl}/functions/v1/${name}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    throw networkError(url, err);
  }
  if (res.status === 204) return undefined as T;
  const answer = (await res.json().catch(() => ({}))) as unknown;
  if (!res.ok) throw fromBody(res.status, answer, name === 'login' ? 'Signing in' : name);
  return answer as T;
}

export const auth = new Auth();
