// The live activity stream: an EventSource on /functions/v1/live with the access token in the URL
// (EventSource cannot send headers). It reconnects with last_event_id after a token refresh or a
// refused connection, so nothing between the two connections is lost.
import { auth } from './auth.ts';
import { loadConfig } from './config.ts';

export interface ActivityRow {
  seq: number;
  agent_id: string;
  session_id: string;
  id: string;
  created_at: string;
  role: string;
  channel: string | null;
  sender: string | null;
  content: string | null;
  model: string | null;
  total_tokens: number | null;
  cost_usd: number | string | null;
  is_heartbeat: boolean;
  error_message: string | null;
  has_tool_calls: boolean;
  tool_error: boolean | null;
}

export type LiveState = 'connecting' | 'live' | 'retrying' | 'off';

export class LiveFeed {
  #source: EventSource | undefined;
  #lastId: string | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #token: string | undefined;
  readonly #onRow: (row: ActivityRow) => void;
  readonly #onState: (state: LiveState) => void;
  readonly #onAuth = () => {
    // A refreshed token: reconnect with it (the old one would be refused after it expires).
    if (!this.#stopped && auth.session?.accessToken !== this.#token) this.#connect();
  };

  constructor(onRow: (row: ActivityRow) => void, onState: (state: LiveState) => void, lastId?: number) {
    this.#onRow = onRow;
    this.#onState = onState;
    this.#lastId = lastId === undefined ? undefined : String(lastId);
    auth.addEventListener('change', this.#onAuth);
    void this.#connect();
  }

  /** The newest seq the page already has: the stream resumes after it. */
  set lastId(seq: number) {
    if (this.#lastId === undefined || seq > Number(this.#lastId)) this.#lastId = String(seq);
  }

  async #connect() {
    this.#source?.close();
    clearTimeout(this.#retry);
    const token = auth.session?.accessToken;
    if (this.#stopped || !token) return;
    this.#token = token;
    const { functionsUrl } = await loadConfig();
    if (this.#stopped) return;
    const url = new URL(`${functionsUrl}/functions/v1/live`);
    url.searchParams.set('access_token', token);
    if (this.#lastId !== undefined) url.searchParams.set('last_event_id', this.#lastId);
    this.#onState('connecting');
    const source = new EventSource(url);
    this.#source = source;
    source.addEventListener('open', () => this.#onState('live'));
    source.addEventListener('activity', (e) => {
      const m = e as MessageEvent<string>;
      if (m.lastEventId) this.#lastId = m.lastEventId;
      try {
        this.#onRow(JSON.parse(m.data) as ActivityRow);
      } catch {
        // A row we cannot read is skipped; the next page load shows it.
      }
    });
    // The server ends the stream when the token expires (or a read fails): reconnect with a fresh one.
    const reconnect = () => {
      source.close();
      this.#onState('retrying');
      this.#retry = setTimeout(async () => {
        if (auth.session && auth.session.expiresAt - Date.now() < 120_000) await auth.refresh().catch(() => undefined);
        void this.#connect();
      }, 2000);
    };
    source.addEventListener('token_expired', reconnect);
    source.addEventListener('error', (e) => {
      if (source !== this.#source) return;
      // An `event: error` the server sent, or a refused connection (e.g. an expired token).
      if (e instanceof MessageEvent || source.readyState === EventSource.CLOSED) {
        reconnect();
      } else {
        this.#onState('retrying'); // the browser reconnects by itself, sending Last-Event-ID
      }
    });
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#source?.close();
    auth.removeEventListener('change', this.#onAuth);
    this.#onState('off');
  }
}
