// The RCPT-probing client against scripted servers on loopback: what it sends, how it reads
// (multi-line replies, RFC 5321 4.2.1), and how it fails (timeouts, closed connections).
import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server, type Socket, type AddressInfo } from 'node:net';
import { ProbeConnection, ProbeError, replyLine } from '../../../../services/receiver/recipient-check/probe.js';

type Script = (line: string, write: (s: string) => void, sock: Socket) => void;

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server that sends `greeting`, then answers each line with `script`; records the lines. */
async function scripted(greeting: string | null, script: Script): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    let buf = '';
    if (greeting !== null) sock.write(greeting);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        seen.push(line);
        script(line, (s) => sock.write(s), sock);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** Knows taro; answers like a plain MTA with multi-line EHLO. */
const mta: Script = (line, w) => {
  const u = line.toUpperCase();
  if (u.startsWith('EHLO')) w('250-mx.corp.jp\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
  else if (u.startsWith('MAIL')) w('250 2.1.0 Ok\r\n');
  else if (u === 'RCPT TO:<TARO@CORP.JP>') w('250 2.1.5 Ok\r\n');
  else if (u === 'RCPT TO:<BUSY@CORP.JP>') w('451 4.3.0 try later\r\n');
  else if (u.startsWith('RCPT')) w('550-5.1.1 no such user\r\n550 5.1.1 <x>: User unknown\r\n');
  else if (u === 'RSET') w('250 2.0.0 Ok\r\n');
  else if (u === 'QUIT') w('221 bye\r\n');
  else w('502 5.5.2 what\r\n');
};

const opts = { heloName: 'gw.test.jp', timeoutMs: 3000 };

describe('ProbeConnection', () => {
  it('asks MAIL FROM:<>, RCPT TO, RSET and reads 2xx / 5xx (multi-line) / 4xx on one connection', async () => {
    const s = await scripted('220-mx.corp.jp ESMTP\r\n220 welcome\r\n', mta);
    const c = await ProbeConnection.open('127.0.0.1', s.port, opts);
    const known = await c.ask('taro@corp.jp', 3000);
    expect(known.kind).toBe('exists');
    const unknown = await c.ask('ghost@corp.jp', 3000);
    expect(unknown.kind).toBe('unknown');
    expect(unknown.reply.lines).toEqual(['550-5.1.1 no such user', '550 5.1.1 <x>: User unknown']);
    expect(replyLine(unknown.reply)).toBe('550 5.1.1 <x>: User unknown');
    expect((await c.ask('busy@corp.jp', 3000)).kind).toBe('tempfail');
    expect(c.usable).toBe(true);
    expect(s.seen).toEqual([
      'EHLO gw.test.jp',
      'MAIL FROM:<>',
      'RCPT TO:<taro@corp.jp>',
      'RSET',
      'MAIL FROM:<>',
      'RCPT TO:<ghost@corp.jp>',
      'RSET',
      'MAIL FROM:<>',
      'RCPT TO:<busy@corp.jp>',
      'RSET',
    ]);
    c.close();
  });

  it('falls back to HELO when EHLO is refused', async () => {
    const s = await scripted('220 old\r\n', (line, w) => {
      if (line.startsWith('EHLO')) w('500 unrecognized\r\n');
      else if (line.startsWith('HELO')) w('250 old\r\n');
      else mta(line, w, null as unknown as Socket);
    });
    const c = await ProbeConnection.open('127.0.0.1', s.port, opts);
    expect((await c.ask('taro@corp.jp', 3000)).kind).toBe('exists');
    expect(s.seen.slice(0, 2)).toEqual(['EHLO gw.test.jp', 'HELO gw.test.jp']);
    c.destroy();
  });

  it('reports a refused null sender as sender-refused, not as an unknown user', async () => {
    const s = await scripted('220 x\r\n', (line, w) => {
      if (line.startsWith('MAIL')) w('553 5.1.8 null sender not accepted\r\n');
      else mta(line, w, null as unknown as Socket);
    });
    const c = await ProbeConnection.open('127.0.0.1', s.port, opts);
    const r = await c.ask('taro@corp.jp', 3000);
    expect(r.kind).toBe('sender-refused');
    expect(s.seen).not.toContain('RCPT TO:<taro@corp.jp>');
    c.destroy();
  });

  it('fails on a 554 greeting, a silent server (timeout) and a server that hangs up mid-question', async () => {
    const refusing = await scripted('554 no service\r\n', () => {});
    await expect(ProbeConnection.open('127.0.0.1', refusing.port, opts)).rejects.toThrow(/greeting 554 no service/);

    const silent = await scripted(null, () => {});
    await expect(ProbeConnection.open('127.0.0.1', silent.port, { ...opts, timeoutMs: 300 })).rejects.toThrow(/no answer within 0\.3 s/);

    const hangup = await scripted('220 x\r\n', (line, w, sock) => {
      if (line.startsWith('RCPT')) sock.destroy();
      else mta(line, w, sock);
    });
    const c = await ProbeConnection.open('127.0.0.1', hangup.port, opts);
    const err = await c.ask('taro@corp.jp', 3000).catch((e) => e);
    expect(err).toBeInstanceOf(ProbeError);
    expect(err.broken).toBe(true);
    expect(c.usable).toBe(false);
  });

  it('fails to connect to a closed port and never writes an address with line breaks', async () => {
    const s = await scripted('220 x\r\n', mta);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(ProbeConnection.open('127.0.0.1', port, opts)).rejects.toThrow(/ECONNREFUSED/);
    const c = await ProbeConnection.open('127.0.0.1', s.port, opts);
    await expect(c.ask('a@b.jp\r\nDATA', 3000)).rejects.toThrow(/holds a line break/);
    expect(s.seen).toEqual(['EHLO gw.test.jp']);
    c.destroy();
  });
});
