import { describe, it, expect, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import { HopConnection, HopError, type ClientOptions } from '../../../services/delivery/smtp-client.js';
import { HopPool } from '../../../services/delivery/pool.js';
import { startSink, startSilent, deadPort, startSmtpSink, type Sink } from './helpers/servers.js';
import { startScripted } from './helpers/scripted.js';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../bench/lib/ports.js';

const opts: ClientOptions = { helo: 'gw.test.jp', connectTimeoutMs: 2000, replyTimeoutMs: 2000 };
const msg = () => Readable.from([Buffer.from('Subject: hi\r\n\r\nhello\r\n.dot line\r\n')]);
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});
async function sink(o: Parameters<typeof startSink>[0] = {}): Promise<Sink> {
  const s = await startSink(o);
  closers.push(() => s.close());
  return s;
}

describe('HopConnection', () => {
  it('delivers to every accepted recipient and reports each RCPT reply on its own', async () => {
    const s = await sink({ rcpt: (a) => (a.startsWith('bad') ? { code: 550, message: '5.1.1 <bad@x.jp> User unknown' } : a.startsWith('later') ? { code: 451, message: '4.3.0 try later' } : null) });
    const conn = await HopConnection.open({ address: '127.0.0.1', port: s.port, hostname: 'sink.test' }, opts);
    const res = await conn.send('a@test.jp', ['ok@x.jp', 'bad@x.jp', 'later@x.jp'], 30, msg);
    conn.quit();
    expect(res.recipients.map((r) => r.kind)).toEqual(['ok', 'perm', 'temp']);
    expect(res.recipients[1].reply).toMatch(/^550 5\.1\.1 .*User unknown/);
    expect(res.recipients[2].reply).toMatch(/^451 /);
    expect(res.hostLabel).toBe('sink.test[127.0.0.1]:' + s.port);
    expect(s.received).toHaveLength(1);
    expect(s.received[0].to).toEqual(['ok@x.jp']);
    // Dot-stuffing is undone by the server: the line arrives as written.
    expect(s.received[0].data.toString()).toContain('\r\n.dot line\r\n');
  });

  it('sends the null sender as MAIL FROM:<>', async () => {
    const s = await sink();
    const conn = await HopConnection.open({ address: '127.0.0.1', port: s.port, hostname: '127.0.0.1' }, opts);
    await conn.send('', ['x@y.jp'], 10, msg);
    conn.quit();
    expect(s.received[0].from).toBe('');
  });

  it('applies the reply to DATA to every accepted recipient', async () => {
    const s = await sink({ data: () => ({ code: 554, message: '5.6.0 content rejected' }) });
    const conn = await HopConnection.open({ address: '127.0.0.1', port: s.port, hostname: '127.0.0.1' }, opts);
    const res = await conn.send('a@test.jp', ['a@x.jp', 'b@x.jp'], 10, msg);
    conn.close();
    expect(res.recipients.map((r) => [r.kind, r.reply.slice(0, 3)])).toEqual([
      ['perm', '554'],
      ['perm', '554'],
    ]);
  });

  it('uses STARTTLS when offered and AUTH when configured; the trace never shows the password', async () => {
    const s = await sink({ starttls: true, auth: { user: 'relay', pass: 's3cret' } });
    const trace: string[] = [];
    const conn = await HopConnection.open({ address: '127.0.0.1', port: s.port, hostname: 'localhost' }, { ...opts, auth: { user: 'relay', pass: 's3cret' }, trace: (l) => trace.push(l) });
    expect(conn.secure).toBe(true);
    await conn.send('a@test.jp', ['x@y.jp'], 10, msg);
    conn.quit();
    expect(s.received[0].secure).toBe(true);
    expect(s.received[0].user).toBe('relay');
    const label = `localhost[127.0.0.1]:${s.port}`;
    expect(trace).toContain(`${label} > STARTTLS`);
    expect(trace).toContain(`${label} > MAIL FROM:<a@test.jp> BODY=8BITMIME`);
    expect(trace.some((l) => l.startsWith(`${label} < 250`))).toBe(true);
    expect(trace.some((l) => l.startsWith(`${label} > AUTH`))).toBe(true);
    const secret = Buffer.from('\0relay\0s3cret').toString('base64');
    expect(trace.join('\n')).not.toContain('s3cret');
    expect(trace.join('\n')).not.toContain(secret);
  });

  it('reports a refused AUTH as the server reply', async () => {
    const s = await sink({ auth: { user: 'relay', pass: 's3cret' } });
    const err = await HopConnection.open({ address: '127.0.0.1', port: s.port, hostname: '127.0.0.1' }, { ...opts, auth: { user: 'relay', pass: 'wrong' } }).catch((e) => e);
    expect(err).toBeInstanceOf(HopError);
    expect(err.kind).toBe('perm');
    expect(err.reply).toMatch(/^535/);
  });

  it('classifies a closed port and a silent server as no answer', async () => {
    const port = await deadPort();
    const e1 = await HopConnection.open({ address: '127.0.0.1', port, hostname: '127.0.0.1' }, opts).catch((e) => e);
    expect(e1).toBeInstanceOf(HopError);
    expect(e1.kind).toBe('noanswer');
    const silent = await startSilent();
    closers.push(() => silent.close());
    const started = Date.now();
    const e2 = await HopConnection.open({ address: '127.0.0.1', port: silent.port, hostname: '127.0.0.1' }, { ...opts, replyTimeoutMs: 500 }).catch((e) => e);
    expect(e2.kind).toBe('noanswer');
    expect(Date.now() - started).toBeLessThan(10_000); // bounded, not a performance assertion
  });
});

describe('HopPool', () => {
  it('reuses one connection for consecutive messages to the same hop', async () => {
    const s = await sink();
    const pool = new HopPool();
    const target = { address: '127.0.0.1', port: s.port, hostname: '127.0.0.1' };
    for (let i = 0; i < 3; i++) {
      const lease = await pool.acquire(target, opts);
      const res = await lease.conn.send('a@test.jp', [`r${i}@x.jp`], 10, msg);
      expect(res.recipients[0].kind).toBe('ok');
      pool.release(lease, opts, res.reusable);
    }
    pool.closeAll();
    expect(s.received).toHaveLength(3);
    expect(s.connections).toBe(1);
  });
});

// RFC 2920: with PIPELINING offered, MAIL, every RCPT and DATA leave in one write and the
// replies are matched to them in order; the message and its terminating dot in one more write.
// Which bytes share a write is only visible at the system call, so the first test runs the
// client in a child process under strace (a read at the server cannot tell two quick writes
// from one).
describe('PIPELINING (RFC 2920)', () => {
  const scripted = async (o: Parameters<typeof startScripted>[0]) => {
    const s = await startScripted(o);
    closers.push(() => s.close());
    return s;
  };
  const target = (port: number) => ({ address: '127.0.0.1', port, hostname: '127.0.0.1' });
  const wholeMsg = () => Buffer.from('Subject: hi\r\n\r\nhello\r\n.dot line\r\n');

  it('is installed: strace (Debian package strace)', () => {
    expect(existsSync('/usr/bin/strace')).toBe(true);
  });

  it.skipIf(!existsSync('/usr/bin/strace') || !existsSync('/usr/sbin/smtp-sink'))(
    'to Debian smtp-sink: MAIL, three RCPT and DATA in one system call; the message and its dot in one more',
    async () => {
      const port = await freePort();
      const dir = await mkdtemp(join(tmpdir(), 'sekisho-wire-'));
      const sinkProc = await startSmtpSink(dir, port);
      closers.push(async () => {
        await sinkProc.close();
        await rm(dir, { recursive: true, force: true });
      });
      const traceFile = join(dir, 'strace.txt');
      const helper = fileURLToPath(new URL('./helpers/send-once.ts', import.meta.url));
      const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
      const out = await new Promise<string>((resolve, reject) => {
        const args = ['-f', '-qq', '-e', 'trace=write,writev,sendto,sendmsg', '-s', '20000', '-o', traceFile, tsx, helper, String(port), '3000', 'a@x.jp', 'b@x.jp', 'c@x.jp'];
        // TMPDIR: tsx's transform cache starts empty every run (see below), the same on a warm machine as in a fresh CI.
        execFile('/usr/bin/strace', args, { timeout: 60_000, env: { ...process.env, TMPDIR: dir } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      });
      const res = JSON.parse(out.trim().split('\n').pop()!) as { recipients: Array<{ kind: string }> };
      expect(res.recipients.map((r) => r.kind)).toEqual(['ok', 'ok', 'ok']);
      // `PID write(FD, ...`: only the SMTP socket's writes count. Other writes carry the same
      // text: with an empty transform cache tsx hands send-once.ts (its source says "Subject: wire")
      // to esbuild and writes the result to its cache, three more writes (a CI run counted 4).
      const calls = (await readFile(traceFile, 'utf8'))
        .split('\n')
        .map((line) => ({ line, call: /^(\d+)\s+(?:write|writev|sendto|sendmsg)\((\d+),/.exec(line)?.slice(1, 3).join(' ') }))
        .filter((c) => c.call);
      const mail = calls.find((c) => c.line.includes('"MAIL FROM:<a@test.jp>'));
      expect(mail).toBeDefined();
      const socketCalls = calls.filter((c) => c.call === mail!.call).map((c) => c.line);
      const envelope = socketCalls.filter((l) => l.includes('MAIL FROM:') || l.includes('RCPT TO:') || /"DATA\\r\\n"/.test(l));
      expect(envelope).toHaveLength(1);
      for (const part of ['MAIL FROM:<a@test.jp>', 'RCPT TO:<a@x.jp>', 'RCPT TO:<b@x.jp>', 'RCPT TO:<c@x.jp>', 'DATA\\r\\n']) expect(envelope[0]).toContain(part);
      const body = socketCalls.filter((l) => l.includes('Subject: wire') || l.includes('\\r\\n.\\r\\n'));
      expect(body).toHaveLength(1);
      expect(body[0]).toContain('Subject: wire');
      expect(body[0]).toContain('\\r\\n.\\r\\n');
    },
    90_000,
  );

  it('delivers a message given whole that is bigger than the socket buffer, twice on one connection (its one write does not wait for a drain)', async () => {
    const s = await sink();
    const conn = await HopConnection.open(target(s.port), opts);
    const line = 'y'.repeat(78) + '\r\n';
    const big = Buffer.from('Subject: big\r\n\r\n' + line.repeat(2000) + '.starts with a dot\r\n');
    for (let i = 0; i < 2; i++) {
      const res = await conn.send('a@test.jp', ['x@y.jp'], big.length, () => big);
      expect(res.recipients.map((r) => r.kind)).toEqual(['ok']);
    }
    conn.quit();
    expect(s.received).toHaveLength(2);
    expect(s.received[1].data.equals(big)).toBe(true);
  });

  it('without PIPELINING offered, waits for each reply before the next command', async () => {
    const s = await scripted({ pipelining: false });
    const conn = await HopConnection.open(target(s.port), opts);
    const res = await conn.send('a@test.jp', ['a@x.jp', 'b@x.jp', 'c@x.jp'], 40, wholeMsg);
    conn.quit();
    expect(res.recipients.map((r) => r.kind)).toEqual(['ok', 'ok', 'ok']);
    // Each command came in a read of its own: the client had to wait for the reply first.
    for (const cmd of ['MAIL FROM:<a@test.jp>', 'RCPT TO:<a@x.jp>', 'RCPT TO:<b@x.jp>', 'RCPT TO:<c@x.jp>', 'DATA']) {
      expect(s.reads.filter((r) => r.includes(cmd))).toEqual([`${cmd}${cmd.startsWith('MAIL') ? ' BODY=8BITMIME' : ''}\r\n`]);
    }
    expect(s.messages).toEqual(['Subject: hi\r\n\r\nhello\r\n.dot line\r\n']);
  });

  it('maps each RCPT reply of the batch to its recipient: 550 for the second of three', async () => {
    const s = await scripted({ pipelining: true, answer: (l) => (l.startsWith('RCPT TO:<b@') ? '550 5.1.1 <b@x.jp>: User unknown' : null) });
    const conn = await HopConnection.open(target(s.port), opts);
    const res = await conn.send('a@test.jp', ['a@x.jp', 'b@x.jp', 'c@x.jp'], 40, wholeMsg);
    expect(res.recipients.map((r) => [r.address, r.kind, r.reply])).toEqual([
      ['a@x.jp', 'ok', '250 2.0.0 queued'],
      ['b@x.jp', 'perm', '550 5.1.1 <b@x.jp>: User unknown'],
      ['c@x.jp', 'ok', '250 2.0.0 queued'],
    ]);
    // The batch went out as one: the server read it whole.
    expect(s.reads.filter((r) => r.includes('MAIL FROM'))[0]).toBe(
      'MAIL FROM:<a@test.jp> BODY=8BITMIME\r\nRCPT TO:<a@x.jp>\r\nRCPT TO:<b@x.jp>\r\nRCPT TO:<c@x.jp>\r\nDATA\r\n',
    );
    expect(s.messages).toHaveLength(1);
    // The session is clean afterwards: a second message on it works.
    expect(res.reusable).toBe(true);
    const again = await conn.send('a@test.jp', ['d@x.jp'], 40, wholeMsg);
    conn.quit();
    expect(again.recipients.map((r) => r.kind)).toEqual(['ok']);
    expect(s.messages).toHaveLength(2);
  });

  it('every RCPT refused but DATA answered 354: the empty message is ended, each refusal kept, the session stays usable', async () => {
    const s = await scripted({ pipelining: true, answer: (l) => (l.startsWith('RCPT') ? (l.includes('<a@') ? '450 4.2.0 mailbox busy' : '550 5.1.1 unknown') : null) });
    const conn = await HopConnection.open(target(s.port), opts);
    const res = await conn.send('a@test.jp', ['a@x.jp', 'b@x.jp'], 40, wholeMsg);
    expect(res.recipients.map((r) => [r.kind, r.reply.slice(0, 3)])).toEqual([
      ['temp', '450'],
      ['perm', '550'],
    ]);
    // Nothing was delivered: the lone dot ended an empty message, no text was sent.
    expect(s.messages).toEqual(['']);
    expect(s.commands.some((c) => c.startsWith('Subject'))).toBe(false);
    conn.quit();
  });

  it('a connection dropped in the middle of the batch: no recipient counts as answered, the connection is not reused', async () => {
    const s = await scripted({ pipelining: true, answer: (l) => (l.startsWith('RCPT TO:<b@') ? 'drop' : null) });
    const conn = await HopConnection.open(target(s.port), opts);
    const res = await conn.send('a@test.jp', ['a@x.jp', 'b@x.jp', 'c@x.jp'], 40, wholeMsg);
    expect(res.recipients.map((r) => r.kind)).toEqual(['noanswer', 'noanswer', 'noanswer']);
    expect(res.reusable).toBe(false);
    expect(s.messages).toHaveLength(0);
  });

  it('421 to a RCPT in the middle of the batch: every recipient is a temporary failure', async () => {
    const s = await scripted({ pipelining: true, answer: (l) => (l.startsWith('RCPT TO:<b@') ? '421 4.3.2 shutting down' : null) });
    const conn = await HopConnection.open(target(s.port), opts);
    const res = await conn.send('a@test.jp', ['a@x.jp', 'b@x.jp', 'c@x.jp'], 40, wholeMsg);
    expect(res.recipients.map((r) => r.kind)).toEqual(['temp', 'temp', 'temp']);
    expect(res.reusable).toBe(false);
    expect(s.messages).toHaveLength(0);
  });
});
