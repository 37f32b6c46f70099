// A Node HTTP client of a running `sekisho serve` that is itself a ControlApi (ARCHITECTURE:
// "one HTTP client of that contract"): the Electron main process attached to the Windows
// service serves its windows through this exactly as through the in-process handlers.
//   POST /api/<method> {"args":[...]}  with  Authorization: Bearer <control secret>
//   GET  /api/events   server-sent events, one `data: <ControlEvent JSON>` each, re-opened
//                      after a drop (serve restarted, service stopped and started again)
// Errors keep the server's message; a handler's refusal keeps its HTTP status (ControlError),
// so the IPC adapter passes on to the window what the browser UI would have shown.
import { EventEmitter } from 'node:events';
import { request, type IncomingMessage, type ClientRequest } from 'node:http';
import { CONTROL_METHODS, type ControlApi, type ControlEvent, type VersionInfo } from './api.js';
import { ControlError } from './errors.js';
import type { ControlEventSource } from './events.js';

export interface ControlClientOptions {
  /** control.bind of the service (0.0.0.0 / :: are reached on loopback). */
  host: string;
  port: number;
  /** The control secret (<workdir>/control.secret) or control.password; null: none. */
  token: string | null;
  /** Per call; a call that hangs longer fails (the service is busy or gone). Default 60 s. */
  timeoutMs?: number;
  /** Pause before the event stream is re-opened after a drop. Default 2 s. */
  reconnectMs?: number;
}

export type RemoteControlApi = ControlApi &
  ControlEventSource & {
    /** 'up' when the event stream is open, 'down' when it dropped (emitted as 'connection'). */
    readonly connected: boolean;
    on(event: 'connection', listener: (state: 'up' | 'down') => void): unknown;
    /** Stop the event stream and refuse further calls. The service is not touched. */
    close(): void;
  };

/** The host to connect to for a listening address: a wildcard bind is reached on loopback. */
export function connectHost(bind: string): string {
  if (bind === '0.0.0.0' || bind === '') return '127.0.0.1';
  if (bind === '::') return '::1';
  return bind;
}

/** One JSON call: resolves the result, rejects with ControlError (the server's status and message). */
export function callControl(
  opts: Pick<ControlClientOptions, 'host' | 'port' | 'token' | 'timeoutMs'>,
  method: string,
  args: unknown[],
): Promise<unknown> {
  const body = Buffer.from(JSON.stringify({ args }));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: connectHost(opts.host),
        port: opts.port,
        method: 'POST',
        path: `/api/${method}`,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': body.length,
          ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
        },
        timeout: opts.timeoutMs ?? 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let parsed: { ok?: boolean; result?: unknown; error?: string };
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(new ControlError(res.statusCode ?? 502, `the control API answered HTTP ${res.statusCode} without JSON`));
          }
          if (res.statusCode === 200 && parsed.ok) return resolve(parsed.result ?? undefined);
          reject(new ControlError(res.statusCode ?? 500, parsed.error ?? `HTTP ${res.statusCode}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`the control API did not answer ${method} within ${(opts.timeoutMs ?? 60_000) / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') reject(Object.assign(new Error(`the Sekisho service is not reachable at ${connectHost(opts.host)}:${opts.port} (not running?)`), { code: err.code }));
      else reject(err);
    });
    req.end(body);
  });
}

/** What answers on a control port: nothing, a Sekisho serve (and whether our token opens it), or something else. */
export type ControlProbe =
  | { kind: 'none'; detail: string }
  | { kind: 'sekisho'; authorized: true; version: VersionInfo }
  | { kind: 'sekisho'; authorized: false; detail: string }
  | { kind: 'other'; detail: string };

/** Ask the port once (`version`, which any authorized caller may read). Bounded by timeoutMs. */
export async function probeControl(opts: Pick<ControlClientOptions, 'host' | 'port' | 'token' | 'timeoutMs'>): Promise<ControlProbe> {
  try {
    const version = (await callControl({ ...opts, timeoutMs: opts.timeoutMs ?? 3000 }, 'version', [])) as VersionInfo;
    if (version && typeof version.version === 'string' && typeof version.workdir === 'string') return { kind: 'sekisho', authorized: true, version };
    return { kind: 'other', detail: 'the answer to version is not a Sekisho version' };
  } catch (err) {
    if (err instanceof ControlError && (err.status === 401 || err.status === 403 || err.status === 429)) {
      return { kind: 'sekisho', authorized: false, detail: err.message };
    }
    if (err instanceof ControlError) return { kind: 'other', detail: err.message };
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'EADDRNOTAVAIL' || code === 'ENETUNREACH') return { kind: 'none', detail: (err as Error).message };
    return { kind: 'other', detail: (err as Error).message };
  }
}

/** The ControlApi of a running serve, plus its events. Calls need no open event stream. */
export function connectControl(opts: ControlClientOptions): RemoteControlApi {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let closed = false;
  let connected = false;
  let current: ClientRequest | null = null;
  let retry: NodeJS.Timeout | null = null;

  const setConnected = (up: boolean) => {
    if (connected === up) return;
    connected = up;
    emitter.emit('connection', up ? 'up' : 'down');
  };

  const scheduleReconnect = () => {
    current = null;
    setConnected(false);
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      openEvents();
    }, opts.reconnectMs ?? 2000);
  };

  function openEvents(): void {
    if (closed) return;
    const req = request({
      host: connectHost(opts.host),
      port: opts.port,
      method: 'GET',
      path: '/api/events',
      headers: { Accept: 'text/event-stream', ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}) },
    });
    current = req;
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', scheduleReconnect);
        return;
      }
      setConnected(true);
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        // SSE (HTML Living Standard 9.2.6): events end at a blank line; `data:` lines joined by \n.
        buf = (buf + chunk).replace(/\r\n/g, '\n');
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
          if (!data) continue; // keep-alive comment or retry: line
          try {
            emitter.emit('event', JSON.parse(data) as ControlEvent);
          } catch {
            // Not JSON: not ours to show.
          }
        }
      });
      res.on('end', scheduleReconnect);
      res.on('error', scheduleReconnect);
    });
    req.on('error', scheduleReconnect);
    req.end();
  }

  const api: Record<string, unknown> = {};
  for (const method of CONTROL_METHODS) {
    api[method] = (...args: unknown[]) => {
      if (closed) return Promise.reject(new Error('the control client is closed'));
      return callControl(opts, method, args);
    };
  }
  // defineProperty, not Object.assign: assign would copy the getter's value once.
  Object.defineProperty(api, 'connected', { get: () => connected, enumerable: true });
  const remote = Object.assign(api, {
    on(event: string, listener: (...a: never[]) => void) {
      emitter.on(event, listener as (...a: unknown[]) => void);
      return remote;
    },
    off(event: string, listener: (...a: never[]) => void) {
      emitter.off(event, listener as (...a: unknown[]) => void);
      return remote;
    },
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = null;
      current?.destroy();
      current = null;
      setConnected(false);
      emitter.removeAllListeners();
    },
  }) as unknown as RemoteControlApi;
  openEvents();
  return remote;
}
