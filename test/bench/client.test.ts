// The bench's SMTP client is also the robustness suite's: its reply framing (RFC 5321 4.2.1
// multi-line replies) and its percentile must be right, or both measure nonsense.
import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { SmtpConn, makeMessage, percentile, sendOne } from '../../bench/lib/client.js';

let server: Server | null = null;
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

function track(s: Socket): Socket {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  return s;
}

/** A scripted server: banner, then one canned reply per line received; records the data. */
async function scripted(replies: Record<string, string>, seen: string[]): Promise<number> {
  server = createServer((s: Socket) => {
    track(s);
    s.write('220 test ESMTP\r\n');
    let buf = '';
    let inData = false;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        seen.push(line);
        if (inData) {
          if (line === '.') {
            inData = false;
            s.write('250 2.0.0 queued\r\n');
          }
          continue;
        }
        const verb = line.split(/[ :]/)[0].toUpperCase();
        if (verb === 'DATA') inData = true;
        s.write(replies[verb] ?? '500 what\r\n');
      }
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return (server!.address() as { port: number }).port;
}

describe('SmtpConn', () => {
  it('reads a multi-line reply (RFC 5321 4.2.1) as one', async () => {
    const seen: string[] = [];
    const port = await scripted({ EHLO: '250-test hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n', NOOP: '250 ok\r\n' }, seen);
    const { conn, banner } = await SmtpConn.open(port);
    expect(banner).toEqual({ code: 220, lines: ['220 test ESMTP'] });
    const ehlo = await conn.cmd('EHLO me');
    expect(ehlo.code).toBe(250);
    expect(ehlo.lines).toEqual(['250-test hello', '250-PIPELINING', '250 SIZE 1000']);
    expect((await conn.cmd('NOOP')).lines).toEqual(['250 ok']);
    conn.close();
  });

  it('a closed connection rejects the pending read instead of hanging', async () => {
    server = createServer((s) => void track(s).end('220 bye\r\n'));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const { conn } = await SmtpConn.open((server!.address() as { port: number }).port);
    await expect(conn.cmd('NOOP', 2000)).rejects.toThrow(/closed|no reply|EPIPE|write after end/);
    conn.close();
  });

  it('sendOne sends a whole transaction and a message with no line starting with a dot', async () => {
    const seen: string[] = [];
    const port = await scripted({ EHLO: '250 hi\r\n', MAIL: '250 ok\r\n', RCPT: '250 ok\r\n', DATA: '354 go\r\n', QUIT: '221 bye\r\n' }, seen);
    const t = await sendOne(port, makeMessage(5000));
    expect(t.acceptMs).toBeGreaterThanOrEqual(0);
    expect(t.totalMs).toBeGreaterThanOrEqual(t.acceptMs);
    expect(seen[0]).toBe('EHLO bench.ext.jp');
    expect(seen[1]).toBe('MAIL FROM:<a@ext.jp>');
    const body = seen.slice(seen.indexOf('DATA') + 1, seen.indexOf('.'));
    expect(body.some((l) => l.startsWith('.'))).toBe(false);
    expect(body.join('\r\n').length).toBeGreaterThanOrEqual(4900);
  });

  it('sendOne fails on a refusal, naming the stage', async () => {
    const port = await scripted({ EHLO: '250 hi\r\n', MAIL: '250 ok\r\n', RCPT: '554 5.7.1 Relay access denied\r\n' }, []);
    await expect(sendOne(port, makeMessage(100))).rejects.toThrow(/RCPT: 554 5.7.1/);
  });
});

describe('percentile', () => {
  it('nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
