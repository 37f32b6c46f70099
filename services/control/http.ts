// The control API over HTTP for `sekisho serve` (SPEC 11): a thin adapter over ControlApi,
// the same functions the Electron preload calls. Protocol (docs/control-api.md):
//   POST /api/<method>  {"args": [...]}  ->  {"ok": true, "result": ...} | {"ok": false, "error": "..."}
//   GET  /api/events    server-sent events, one `data: <ControlEvent JSON>` each
//   GET  /api/session   {"passwordRequired": bool, "loggedIn": bool, "secretAccepted": bool}
//   POST /api/login     {"password": "..."} -> session cookie;  POST /api/logout
// Authentication: `Authorization: Bearer <control secret>` (services/control/secret.ts) on any
// /api call, or control.password (login cookie or Bearer); the login also takes the secret.
// `shutdown` always needs one of the two, even when control.password is empty (401 without,
// 401 for a wrong one). With `requireAuth` (serve --require-auth, the installed service) every
// /api call but session/login/logout needs one of them, password or not.
//   GET  /*             the built renderer (index.html fallback)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CONTROL_METHODS, type ControlApi, type ControlEvent } from './api.js';
import { ControlError } from './errors.js';
import type { ControlEventSource } from './events.js';
import {
  bearerToken,
  hostAllowed,
  isLoopback,
  LoginThrottle,
  originAllowed,
  parseCookies,
  safeEqual,
  SessionStore,
} from './http-security.js';
import { serveStatic } from './static.js';

export interface ControlServerOptions {
  /** control.bind; loopback by default. */
  bind: string;
  /** control.port; 0 picks a free port (tests). */
  port: number;
  /** control.password ('' = none). A function is read on every request, so a saved password applies at once. */
  password: string | (() => string);
  /** The built renderer (dist/renderer); absent or missing: a placeholder page. */
  staticDir?: string | null;
  /**
   * The control secret of the work folder (<workdir>/control.secret). Accepted as a Bearer token
   * for every call; the only way to call `shutdown` when control.password is empty.
   */
  secret?: string | null;
  /**
   * Every /api call needs the secret or the password (Bearer or a login session), even when
   * control.password is empty. Off: an empty password leaves loopback open (development).
   * On for the installed Windows service: the work folder's ACL keeps other local users (RDP)
   * from reading the secret, and this keeps them from the API too.
   */
  requireAuth?: boolean;
  /** Pushed to every /api/events client. */
  events?: ControlEventSource;
  /** Largest accepted JSON body. Default 5 MB (a big aliases.dat import fits). */
  maxBodyBytes?: number;
}

export interface ControlServer {
  /** `http://127.0.0.1:8025/` — the address to print and to open. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const METHODS = new Set<string>(CONTROL_METHODS);
const SSE_KEEPALIVE_MS = 20_000;
const SSE_MAX_BUFFER = 8 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startControlServer(api: ControlApi, opts: ControlServerOptions): Promise<ControlServer> {
  const currentPassword = typeof opts.password === 'function' ? opts.password : () => opts.password as string;
  if (!isLoopback(opts.bind) && !currentPassword()) {
    // Secure by default (SPEC intro): the API edits relay rules; never expose it unprotected.
    throw new Error(
      `control.bind ${opts.bind} is not a loopback address and control.password is empty: set a password before exposing the control API`,
    );
  }
  if (opts.requireAuth && !opts.secret && !currentPassword()) {
    // Nothing could ever log in: a configuration mistake, not a locked-down server.
    throw new Error('the control API requires authentication but has neither a control secret nor control.password');
  }
  const maxBody = opts.maxBodyBytes ?? 5 * 1024 * 1024;
  const sessions = new SessionStore();
  const throttle = new LoginThrottle();
  const sseClients = new Set<ServerResponse>();
  let cookieName = 'sekisho_session';

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof HttpError) {
        // The rest of an oversized body is not worth reading.
        if (err.status === 413) res.setHeader('Connection', 'close');
        return sendJson(res, err.status, { ok: false, error: err.message });
      }
      sendJson(res, 500, { ok: false, error: (err as Error).message });
    });
  });
  // A slow or idle client must not hold a socket forever (SSE sets its own keep-alive).
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setCommonHeaders(res);
    const password = currentPassword();
    if (!hostAllowed(req.headers.host, opts.bind, !!password)) {
      return sendJson(res, 403, { ok: false, error: 'this host name is not allowed; use http://127.0.0.1 or http://localhost' });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api' && !url.pathname.startsWith('/api/')) return serveStatic(req, res, opts.staticDir);

    res.setHeader('Cache-Control', 'no-store');
    if (!originAllowed(req)) return sendJson(res, 403, { ok: false, error: 'cross-origin request refused' });
    const route = url.pathname.slice('/api/'.length);
    const who = req.socket.remoteAddress ?? '';
    const secret = opts.secret || '';
    // Without a password or a secret a Bearer header means nothing here (as before the secret).
    const bearer = password || secret ? bearerToken(req) : null;
    // The right secret passes even while the throttle blocks: on a shared server every local
    // user is 127.0.0.1, and one flooding wrong guesses must not lock the administrators' app
    // and the service's stop command (both send the secret) out. Guessing 256 random bits is
    // hopeless anyway; the throttle is for passwords people choose.
    if (bearer !== null && !(secret && safeEqual(bearer, secret))) {
      // A wrong Bearer password is a guess like a wrong login: same throttle.
      if (throttle.blocked(who)) return sendJson(res, 429, { ok: false, error: 'too many failed logins; wait a minute' });
      if (!(password && safeEqual(bearer, password))) {
        throttle.fail(who);
        return sendJson(res, 401, { ok: false, error: password ? 'wrong password' : 'wrong control secret' });
      }
    }
    /** Proved the secret or the password (not merely "no password is set"). */
    const authenticated = bearer !== null || hasSession(req, [password, secret]);
    const authRequired = !!password || !!opts.requireAuth;
    const loggedIn = !authRequired || authenticated;

    if (route === 'session' && req.method === 'GET') {
      // secretAccepted: the login form may say that control.secret's content opens it too.
      const state = { passwordRequired: authRequired, loggedIn, secretAccepted: !!secret };
      // The flags also at the top level: the renderer's HttpClient reads them there.
      return sendJson(res, 200, { ok: true, result: state, ...state });
    }
    if (route === 'login' && req.method === 'POST') return login(req, res, password, secret, authRequired);
    if (route === 'logout' && req.method === 'POST') {
      const token = parseCookies(req.headers.cookie).get(cookieName);
      if (token) sessions.close(token);
      res.setHeader('Set-Cookie', `${cookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
      return sendJson(res, 200, { ok: true, result: null });
    }
    if (!loggedIn) {
      return sendJson(res, 401, {
        ok: false,
        error: password ? 'login required' : 'login required: the control secret (Authorization: Bearer, from control.secret in the work folder)',
      });
    }
    if (route === 'events') {
      if (req.method !== 'GET') return sendJson(res, 405, { ok: false, error: 'use GET' });
      return openEvents(req, res);
    }
    if (!METHODS.has(route)) return sendJson(res, 404, { ok: false, error: `unknown API method "${route}"` });
    if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: 'use POST' });
    if (route === 'shutdown' && !authenticated) {
      // Stopping the mail service needs proof even on an open loopback API: a page in the
      // admin's browser cannot send the header (no CORS), another local user cannot read the file.
      return sendJson(res, 401, { ok: false, error: 'shutdown needs the control secret (Authorization: Bearer, from control.secret in the work folder) or the control password' });
    }
    return call(req, res, route as keyof ControlApi);
  }

  /** A session cookie opened with a credential that is still accepted (the password may have changed). */
  function hasSession(req: IncomingMessage, accepted: string[]): boolean {
    const token = parseCookies(req.headers.cookie).get(cookieName);
    return !!token && sessions.valid(token, accepted.filter(Boolean));
  }

  async function login(req: IncomingMessage, res: ServerResponse, password: string, secret: string, authRequired: boolean): Promise<void> {
    const body = (await readJson(req)) as { password?: unknown } | null;
    if (!authRequired) return sendJson(res, 200, { ok: true, result: { passwordRequired: false, loggedIn: true } });
    const who = req.socket.remoteAddress ?? '';
    // The secret's content logs in as well as the password: whoever can read control.secret
    // (an administrator, on the installed server) may already do everything with it as Bearer,
    // and a browser cannot send that header — this is how they get into the browser UI.
    const given = typeof body?.password === 'string' ? body.password : null;
    // The secret trimmed: pasted from `type control.secret` it may bring its line end along.
    // Like a Bearer secret, it passes the throttle (see handle()); a password does not.
    const bySecret = given !== null && !!secret && safeEqual(given.trim(), secret);
    if (!bySecret && throttle.blocked(who)) return sendJson(res, 429, { ok: false, error: 'too many failed logins; wait a minute' });
    const credential = bySecret ? secret : given !== null && password && safeEqual(given, password) ? password : null;
    if (!credential) {
      throttle.fail(who);
      return sendJson(res, 401, { ok: false, error: 'wrong password' });
    }
    // Not on a secret login: the failures counted may be another local user's guesses (same address).
    if (!bySecret) throttle.succeed(who);
    const token = sessions.open(credential);
    res.setHeader('Set-Cookie', `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    return sendJson(res, 200, { ok: true, result: { passwordRequired: true, loggedIn: true } });
  }

  async function call(req: IncomingMessage, res: ServerResponse, method: keyof ControlApi): Promise<void> {
    const body = (await readJson(req)) as { args?: unknown } | null;
    const args = body?.args ?? [];
    if (!Array.isArray(args)) throw new HttpError(400, '"args" must be an array');
    try {
      const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
      const result = await fn.apply(api, args);
      sendJson(res, 200, { ok: true, result: result === undefined ? null : result });
    } catch (err) {
      if (err instanceof ControlError) return sendJson(res, err.status, { ok: false, error: err.message });
      sendJson(res, 500, { ok: false, error: (err as Error).message ?? String(err) });
    }
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    // Requiring JSON keeps HTML forms (which cannot send it) out: a second CSRF fence.
    if (type !== 'application/json') throw new HttpError(415, 'Content-Type must be application/json');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) throw new HttpError(413, `request body larger than ${maxBody} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) throw new HttpError(413, `request body larger than ${maxBody} bytes`);
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text.trim()) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, 'request body is not valid JSON');
    }
  }

  function openEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    sseClients.add(res);
    const send = (e: ControlEvent) => {
      // A client that stopped reading (a suspended laptop) must not make us buffer a debug
      // stream forever: drop it; EventSource reconnects and gets the current status.
      if (res.writableLength > SSE_MAX_BUFFER) return void res.destroy();
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    };
    const events = opts.events;
    let unsubscribe = () => {};
    if (events?.subscribe) unsubscribe = events.subscribe(send);
    else if (events) {
      events.on('event', send);
      unsubscribe = () => events.off('event', send);
    }
    // The current state at once, so a fresh window needs no separate serviceStatus call.
    api.serviceStatus().then(
      (services) => send({ type: 'status', services }),
      () => {},
    );
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
    const done = () => {
      clearInterval(keepalive);
      unsubscribe();
      sseClients.delete(res);
    };
    req.socket.setTimeout(0);
    res.on('close', done);
    // A client that went away between two events (a closed window, an aborted fetch) makes
    // the next write fail: that ends its stream, it must never take serve down.
    res.on('error', done);
  }

  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new Error(`control port ${opts.port} is already in use`));
      else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`control.bind ${opts.bind} is not an address of this machine`));
      else if (err.code === 'EACCES') reject(new Error(`no permission to listen on control port ${opts.port}`));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port, opts.bind);
  });
  const port = (server.address() as AddressInfo).port;
  // Cookies are not isolated by port: two instances on one host must not share a name.
  cookieName = `sekisho_session_${port}`;
  const shownHost = opts.bind === '0.0.0.0' || opts.bind === '::' ? '127.0.0.1' : opts.bind;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/`;

  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of sseClients) c.end();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function setCommonHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': data.length });
  res.end(data);
}
