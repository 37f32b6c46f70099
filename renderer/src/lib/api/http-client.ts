// ApiClient over the HTTP API of `sekisho serve`:
//   POST /api/<method> {"args":[...]} -> {"ok":true,"result":...} | {"ok":false,"error":"..."}
//   GET  /api/events  server-sent events, `data: <ControlEvent JSON>`
//   GET  /api/session -> {passwordRequired, loggedIn, secretAccepted};  POST /api/login {password}
import { ApiError, type ApiClient } from './client.js';
import type { ControlEvent } from './types.js';

export interface SessionState {
  /** A login is needed: control.password is set, or serve runs with --require-auth. */
  passwordRequired: boolean;
  loggedIn: boolean;
  /** The login also takes the content of control.secret (absent from older servers). */
  secretAccepted?: boolean;
}

export interface HttpClient extends ApiClient {
  session(): Promise<SessionState>;
  login(password: string): Promise<boolean>;
  /** Called when the server answers 401 (session expired): the app shows the login form. */
  onUnauthorized: (() => void) | null;
  /**
   * The admin is saving a new control password from this page. The server applies it when it
   * sees settings.json change, which ends every session, ours too (sessions are bound to the
   * password) — at a moment this page cannot know. The next 401 logs in with this password
   * once and repeats the call, so the admin is not thrown out by their own save.
   */
  expectPassword(password: string): void;
}

export function httpClient(base = ''): HttpClient {
  const listeners = new Set<(ev: ControlEvent) => void>();
  let source: EventSource | null = null;
  let expected: string | null = null;
  /** The one login with `expected` that every call answered 401 meanwhile waits for. */
  let relogin: Promise<boolean> | null = null;

  function openEvents(): void {
    if (source || typeof EventSource === 'undefined') return;
    source = new EventSource(`${base}/api/events`, { withCredentials: true });
    source.onmessage = (m) => {
      let ev: ControlEvent;
      try {
        ev = JSON.parse(m.data) as ControlEvent;
      } catch {
        return; // a keep-alive or a malformed line: nothing to show
      }
      for (const l of listeners) l(ev);
    };
    // EventSource reconnects by itself after an error; nothing else to do here.
  }

  function closeEvents(): void {
    source?.close();
    source = null;
  }

  const client: HttpClient = {
    kind: 'http',
    onUnauthorized: null,
    expectPassword(password) {
      expected = password || null;
    },
    async call(method, ...args) {
      const send = () =>
        fetch(`${base}/api/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify({ args }),
        });
      let res: Response;
      try {
        res = await send();
        if (res.status === 401 && expected !== null) {
          // Several calls can be refused at once (a config event starts a few): one login,
          // and each of them is repeated after it.
          const pw = expected;
          relogin ??= client.login(pw).then((ok) => {
            // Calls sent with the old cookie may still come back 401 for a moment.
            setTimeout(() => {
              if (expected === pw) expected = null;
              relogin = null;
            }, 10_000);
            return ok;
          });
          if (await relogin) res = await send();
        }
      } catch (err) {
        throw new ApiError(`network: ${(err as Error).message}`, method);
      }
      if (res.status === 401) client.onUnauthorized?.();
      let body: { ok: boolean; result?: unknown; error?: string };
      try {
        body = await res.json();
      } catch {
        throw new ApiError(`HTTP ${res.status}`, method, res.status);
      }
      if (!body.ok) throw new ApiError(body.error ?? `HTTP ${res.status}`, method, res.status);
      return body.result as never;
    },
    onEvent(cb) {
      listeners.add(cb);
      openEvents();
      return () => {
        listeners.delete(cb);
        if (listeners.size === 0) closeEvents();
      };
    },
    async session() {
      try {
        const res = await fetch(`${base}/api/session`, { credentials: 'same-origin' });
        if (!res.ok) return { passwordRequired: false, loggedIn: true };
        return (await res.json()) as SessionState;
      } catch {
        // An older server without sessions: behave as open.
        return { passwordRequired: false, loggedIn: true };
      }
    },
    async login(password) {
      const res = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ password }),
      });
      if (!res.ok) return false;
      // The events stream opened before login was refused; reopen it with the cookie.
      closeEvents();
      if (listeners.size) openEvents();
      return true;
    },
  };
  return client;
}
