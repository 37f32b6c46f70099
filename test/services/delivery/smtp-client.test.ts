import { describe, it, expect, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import { HopConnection, HopError, type ClientOptions } from '../../../services/delivery/smtp-client.js';
import { HopPool } from '../../../services/delivery/pool.js';
import { startSink, startSilent, deadPort, type Sink } from './helpers/servers.js';

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
