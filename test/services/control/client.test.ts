// The HTTP ControlApi client against small real HTTP servers on loopback: what it sends, how it
// reads answers and errors, and that the event stream comes back after a drop (a service
// restart). Against a real `serve`: test/e2e/attach.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callControl, connectControl, connectHost, probeControl } from '../../../services/control/client.js';
import { ControlError } from '../../../services/control/errors.js';
import { freePort } from '../../../bench/lib/ports.js';
import type { ControlEvent } from '../../../services/control/api.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<number> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => handler(req, res, body));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

async function until<T>(check: () => T, ms: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1000; i++) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not reached: ${what}`);
}

describe('callControl', () => {
  it('POSTs {"args"} as JSON with the Bearer token and returns the result', async () => {
    let seen: { url?: string; auth?: string; type?: string; body?: string } = {};
    const port = await serve((req, res, body) => {
      seen = { url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, result: { n: 1 } }));
    });
    expect(await callControl({ host: '127.0.0.1', port, token: 'abc' }, 'readTable', ['gateway'])).toEqual({ n: 1 });
    expect(seen).toEqual({ url: '/api/readTable', auth: 'Bearer abc', type: 'application/json', body: '{"args":["gateway"]}' });
  });

  it('rejects with the server status and message; without JSON, with the status', async () => {
    const port = await serve((req, res) => {
      if (req.url === '/api/version') res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"ok":false,"error":"wrong control secret"}');
      else res.writeHead(502).end('<html>proxy</html>');
    });
    const e1 = (await callControl({ host: '127.0.0.1', port, token: 'x' }, 'version', []).catch((e) => e)) as ControlError;
    expect(e1).toBeInstanceOf(ControlError);
    expect([e1.status, e1.message]).toEqual([401, 'wrong control secret']);
    const e2 = (await callControl({ host: '127.0.0.1', port, token: null }, 'listQueue', []).catch((e) => e)) as ControlError;
    expect(e2.status).toBe(502);
  });
});

describe('probeControl', () => {
  it('tells nothing listening, a Sekisho that refuses us, and something else apart', async () => {
    expect((await probeControl({ host: '127.0.0.1', port: await freePort(), token: null })).kind).toBe('none');
    const refusing = await serve((_req, res) => res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"ok":false,"error":"wrong control secret"}'));
    expect(await probeControl({ host: '127.0.0.1', port: refusing, token: 'x' })).toEqual({ kind: 'sekisho', authorized: false, detail: 'wrong control secret' });
    const other = await serve((_req, res) => res.writeHead(404).end('not found'));
    expect((await probeControl({ host: '127.0.0.1', port: other, token: null })).kind).toBe('other');
  });

  it('a wildcard bind is reached on loopback', () => {
    expect(connectHost('0.0.0.0')).toBe('127.0.0.1');
    expect(connectHost('::')).toBe('::1');
    expect(connectHost('192.0.2.1')).toBe('192.0.2.1');
  });
});

describe('connectControl events', () => {
  it('reads server-sent events and opens the stream again after it drops', async () => {
    let opened = 0;
    let auth: string | undefined;
    const port = await serve((req, res) => {
      if (req.url !== '/api/events') return res.writeHead(404).end();
      opened++;
      auth = req.headers.authorization;
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('retry: 2000\n\n: keepalive\n\n');
      // Split across writes, as TCP may deliver it.
      res.write(`data: {"type":"debug","service":"receiver",`);
      res.write(`"line":"n${opened}"}\n\n`);
      // The first stream drops (serve restarted); the second stays open.
      if (opened === 1) setTimeout(() => res.end(), 50);
    });
    const client = connectControl({ host: '127.0.0.1', port, token: 'tok', reconnectMs: 50 });
    const events: ControlEvent[] = [];
    const states: string[] = [];
    client.on('event', (e: ControlEvent) => events.push(e));
    client.on('connection', (s: 'up' | 'down') => states.push(s));
    try {
      await until(() => events.length >= 2, 5000, 'two events over two streams');
      expect(events).toEqual([
        { type: 'debug', service: 'receiver', line: 'n1' },
        { type: 'debug', service: 'receiver', line: 'n2' },
      ]);
      expect(states).toEqual(['up', 'down', 'up']);
      expect(client.connected).toBe(true);
      expect(auth).toBe('Bearer tok');
    } finally {
      client.close();
    }
    expect(client.connected).toBe(false);
    const before = opened;
    await new Promise((r) => setTimeout(r, 200));
    expect(opened).toBe(before); // closed: no more reconnects
  });
});
