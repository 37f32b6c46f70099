// The control HTTP server over real loopback sockets, in front of the real handlers on a
// fresh work folder and a real Supervisor (a throwaway child as "delivery").
import { request } from 'node:http';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createControlApi } from '../../../services/control/handlers.js';
import { startControlServer, type ControlServer, type ControlServerOptions } from '../../../services/control/http.js';
import { ControlEventBus } from '../../../services/control/events.js';
import type { ControlEvent } from '../../../services/control/api.js';
import { Supervisor } from '../../../services/supervisor/index.js';
import { standInCommand, writeStandIn } from '../supervisor/helpers.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => { ok: boolean; result?: unknown; error?: string };
}

function call(port: number, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.end(opts.body);
  });
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const api = (port: number, method: string, args: unknown[] = [], headers: Record<string, string> = {}) =>
  call(port, 'POST', `/api/${method}`, { body: JSON.stringify({ args }), headers: { ...JSON_HEADERS, ...headers } });

let workdir: string;
let supervisor: Supervisor;
let bus: ControlEventBus;
const servers: ControlServer[] = [];

async function serve(opts: Partial<ControlServerOptions> = {}): Promise<ControlServer> {
  const controlApi = createControlApi({ workdir, supervisor });
  const s = await startControlServer(controlApi, { bind: '127.0.0.1', port: 0, password: '', events: bus, ...opts });
  servers.push(s);
  return s;
}

beforeEach(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'sekisho-http-'));
  await writeFile(join(workdir, 'settings.json'), '{}\n');
  // Stops on the supervisor's `stop` line (the real protocol), so no stop waits out the grace.
  const script = await writeStandIn(workdir, 'child', `console.log('ready'); setInterval(() => {}, 1000);`);
  supervisor = new Supervisor({
    workdir,
    services: ['delivery'],
    commandFor: () => standInCommand(script),
    stopGraceMs: 2000,
  });
  bus = new ControlEventBus();
  bus.pipeFrom(supervisor);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await supervisor.close();
});

describe('JSON API', () => {
  it('calls a method with args and answers { ok, result }', async () => {
    const s = await serve();
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
    const r = await api(s.port, 'serviceStatus');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.json()).toMatchObject({ ok: true, result: [{ name: 'delivery', state: 'stopped' }] });

    await writeFile(join(workdir, 'domains.dat'), 'test.jp\r\n');
    const t = await api(s.port, 'readTable', ['domains']);
    expect(t.json()).toMatchObject({ ok: true, result: { table: 'domains', lines: [{ raw: 'test.jp', kind: 'rule', fields: ['test.jp'] }] } });
  });

  it('maps handler errors and bad requests to 4xx with { ok: false, error }', async () => {
    const s = await serve({ maxBodyBytes: 1000 });
    const bad = await api(s.port, 'deleteMessage', ['nope']);
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual({ ok: false, error: '"nope" is not a queue ID (B followed by ten digits)' });
    expect((await api(s.port, 'deleteMessage', ['B0000000001'])).status).toBe(404);
    expect((await api(s.port, 'constructor')).status).toBe(404);
    expect((await api(s.port, '__proto__')).status).toBe(404);
    expect((await call(s.port, 'GET', '/api/version')).status).toBe(405);
    expect((await call(s.port, 'POST', '/api/version', { body: '{}', headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
    expect((await call(s.port, 'POST', '/api/version', { body: '{', headers: JSON_HEADERS })).status).toBe(400);
    expect((await call(s.port, 'POST', '/api/version', { body: '{"args":{}}', headers: JSON_HEADERS })).status).toBe(400);
    const big = await call(s.port, 'POST', '/api/version', { body: JSON.stringify({ args: ['x'.repeat(2000)] }), headers: JSON_HEADERS });
    expect(big.status).toBe(413);
  });

  it('never sends CORS headers and refuses foreign origins (CSRF)', async () => {
    const s = await serve();
    const own = `http://127.0.0.1:${s.port}`;
    const ok = await api(s.port, 'version', [], { Origin: own });
    expect(ok.status).toBe(200);
    const evil = await api(s.port, 'version', [], { Origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.json().error).toMatch(/cross-origin/);
    expect((await api(s.port, 'version', [], { Origin: 'null' })).status).toBe(403);
    expect((await api(s.port, 'version', [], { Origin: `http://127.0.0.1:${s.port + 1}` })).status).toBe(403);
    expect((await api(s.port, 'version', [], { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    const preflight = await call(s.port, 'OPTIONS', '/api/version', { headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    for (const r of [ok, evil, preflight]) {
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
    expect(preflight.status).toBeGreaterThanOrEqual(400);
  });

  it('without a password answers only loopback host names (DNS rebinding)', async () => {
    const s = await serve();
    expect((await api(s.port, 'version', [], { Host: `localhost:${s.port}` })).status).toBe(200);
    const rebound = await api(s.port, 'version', [], { Host: `attacker.example:${s.port}`, Origin: `http://attacker.example:${s.port}` });
    expect(rebound.status).toBe(403);
    expect((await call(s.port, 'GET', '/', { headers: { Host: 'attacker.example' } })).status).toBe(403);
  });

  it('refuses to expose the API on a non-loopback address without a password', async () => {
    await expect(serve({ bind: '0.0.0.0' })).rejects.toThrow(/set a password/);
  });

  it('reports a control port in use clearly', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(serve({ port })).rejects.toThrow(`control port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });
});

describe('password', () => {
  it('requires login; wrong password 401; cookie session and Bearer work; logout ends it', async () => {
    const s = await serve({ password: 'kanri-2026' });
    const session = await call(s.port, 'GET', '/api/session');
    const state = { passwordRequired: true, loggedIn: false, secretAccepted: false };
    expect(session.json()).toEqual({ ok: true, result: state, ...state });
    expect((await api(s.port, 'version')).status).toBe(401);
    expect((await call(s.port, 'GET', '/api/events')).status).toBe(401);

    const wrong = await call(s.port, 'POST', '/api/login', { body: JSON.stringify({ password: 'kanri-2025' }), headers: JSON_HEADERS });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const login = await call(s.port, 'POST', '/api/login', { body: JSON.stringify({ password: 'kanri-2026' }), headers: JSON_HEADERS });
    expect(login.status).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain('kanri-2026');
    const cookie = setCookie.split(';')[0];
    expect((await api(s.port, 'version', [], { Cookie: cookie })).status).toBe(200);
    expect((await call(s.port, 'GET', '/api/session', { headers: { Cookie: cookie } })).json().result).toEqual({ passwordRequired: true, loggedIn: true, secretAccepted: false });
    expect((await api(s.port, 'version', [], { Cookie: `${cookie.split('=')[0]}=forged` })).status).toBe(401);

    expect((await api(s.port, 'version', [], { Authorization: 'Bearer kanri-2026' })).status).toBe(200);
    expect((await api(s.port, 'version', [], { Authorization: 'Bearer kanri' })).status).toBe(401);

    // A logged-in cookie does not make a foreign page's request acceptable.
    expect((await api(s.port, 'version', [], { Cookie: cookie, Origin: 'http://evil.example' })).status).toBe(403);

    await call(s.port, 'POST', '/api/logout', { headers: { Cookie: cookie } });
    expect((await api(s.port, 'version', [], { Cookie: cookie })).status).toBe(401);
  });

  it('applies a changed password at once and ends the sessions of the old one', async () => {
    let password = 'first';
    const s = await serve({ password: () => password });
    const login = await call(s.port, 'POST', '/api/login', { body: JSON.stringify({ password: 'first' }), headers: JSON_HEADERS });
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    expect((await api(s.port, 'version', [], { Cookie: cookie })).status).toBe(200);
    password = 'second';
    expect((await api(s.port, 'version', [], { Cookie: cookie })).status).toBe(401);
    expect((await api(s.port, 'version', [], { Authorization: 'Bearer second' })).status).toBe(200);
  });

  it('slows down password guessing', async () => {
    const s = await serve({ password: 'right' });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await call(s.port, 'POST', '/api/login', { body: JSON.stringify({ password: `guess${i}` }), headers: JSON_HEADERS });
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 10).every((x) => x === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    // Even the right password waits out the window, by login or by Bearer.
    const right = await call(s.port, 'POST', '/api/login', { body: JSON.stringify({ password: 'right' }), headers: JSON_HEADERS });
    expect(right.status).toBe(429);
    expect((await api(s.port, 'version', [], { Authorization: 'Bearer right' })).status).toBe(429);
  });

  it('throttles Bearer guesses like logins', async () => {
    const s = await serve({ password: 'right' });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await api(s.port, 'version', [], { Authorization: `Bearer guess${i}` })).status);
    expect(statuses.slice(0, 10).every((x) => x === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('server-sent events', () => {
  it('sends the current status at once, then every event', async () => {
    const s = await serve();
    const events: ControlEvent[] = [];
    let buffer = '';
    const seen = (pred: (e: ControlEvent) => boolean, what: string) =>
      new Promise<ControlEvent>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`no ${what} event`)), 10_000);
        const check = () => {
          const e = events.find(pred);
          if (e) {
            clearTimeout(deadline);
            resolve(e);
          } else setTimeout(check, 20);
        };
        check();
      });
    const req = request({ host: '127.0.0.1', port: s.port, path: '/api/events', method: 'GET' }, (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      res.on('data', (c: Buffer) => {
        buffer += c.toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of block.split('\n')) if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)));
        }
      });
    });
    req.on('error', () => {});
    req.end();
    try {
      const first = await seen((e) => e.type === 'status', 'first status');
      expect(first).toMatchObject({ type: 'status', services: [{ name: 'delivery', state: 'stopped' }] });

      await api(s.port, 'startService', ['delivery']);
      const running = await seen((e) => e.type === 'status' && e.services[0].state === 'running', 'running status');
      expect(running.type === 'status' && running.services[0].pid).toBeGreaterThan(0);
      await seen((e) => e.type === 'debug' && e.line === 'ready', 'debug line');

      bus.publish({ type: 'queue' });
      await seen((e) => e.type === 'queue', 'queue');
    } finally {
      req.destroy();
    }
  });
});

describe('static renderer', () => {
  it('serves the built UI with index.html fallback and no escape from its folder', async () => {
    const dist = join(workdir, 'dist-renderer');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>Mail Control</title>');
    await writeFile(join(dist, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(join(workdir, 'secret.txt'), 'do not serve');
    const s = await serve({ staticDir: dist });

    const index = await call(s.port, 'GET', '/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('Mail Control');
    expect(index.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(index.headers['x-frame-options']).toBe('DENY');
    expect((await call(s.port, 'GET', '/queue/B0000000001')).body).toContain('Mail Control');
    const js = await call(s.port, 'GET', '/assets/app.js');
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toBe('console.log(1)');
    expect((await call(s.port, 'GET', '/assets/missing.js')).status).toBe(404);
    // Relative asset URLs of a page opened at a deep path.
    expect((await call(s.port, 'GET', '/queue/assets/app.js')).body).toBe('console.log(1)');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const r = await call(s.port, 'GET', path);
      expect(r.body).not.toContain('do not serve');
    }
    expect((await call(s.port, 'POST', '/', { body: 'x' })).status).toBe(405);
  });

  it('shows a placeholder when the UI is not built', async () => {
    const s = await serve({ staticDir: join(workdir, 'nothing-here') });
    const r = await call(s.port, 'GET', '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('npm run build:renderer');
  });
});
