// Hostile and broken clients against a real receiver: garbage and NUL bytes, a 100 KB
// command line, commands out of order, a client trickling one byte a second, and hundreds of
// idle sessions. After each, the server must still serve a normal message.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  makeWorkdir,
  startReceiver,
  removeWorkdir,
  queuedRecords,
  RawSession,
  SmtpConn,
  makeMessage,
  type Receiver,
} from './robustness-harness.js';

let workdir = '';
let rx: Receiver;
let port = 0;

beforeAll(async () => {
  ({ workdir } = await makeWorkdir());
  rx = await startReceiver(workdir);
  port = rx.ports[0];
});

afterAll(async () => {
  await rx?.stop();
  if (workdir) await removeWorkdir(workdir);
});

/** One complete message to a local recipient: the server is still doing its job. */
async function normalMessage(): Promise<number> {
  const { conn, banner } = await SmtpConn.open(port, '127.0.0.1', 10_000);
  expect(banner.code).toBe(220);
  expect((await conn.cmd('EHLO normal.ext.jp')).code).toBe(250);
  expect((await conn.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
  expect((await conn.cmd('RCPT TO:<user@test.jp>')).code).toBe(250);
  expect((await conn.cmd('DATA')).code).toBe(354);
  await conn.write(makeMessage(1500));
  const end = await conn.cmd('.');
  await conn.quit();
  return end.code;
}

describe('garbage', () => {
  it('binary garbage and NUL bytes get error replies; the server stays up', async () => {
    const s = await RawSession.open(port);
    s.write(Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x0d, 0x0a]));
    s.write(Buffer.from('HELO\x00evil\r\n', 'latin1'));
    s.write(Buffer.from('\x00\x00\x00\x00\r\n', 'latin1'));
    s.write('EHLO ok.ext.jp\r\nNOOP\r\n');
    await s.waitFor(/^250 .*\r\n[\s\S]*^250 .*\r\n/m, 5000);
    const replies = s.finalReplies();
    s.close();
    // Never a 2xx to garbage: each garbage line gets a 5xx (500 unrecognized / 501 syntax), or
    // the server closes the connection cleanly; the EHLO and NOOP after it then work.
    if (!s.closed || replies.length >= 3) {
      const garbage = replies.slice(0, replies.length - 2);
      expect(garbage.length, replies.join(' / ')).toBeGreaterThanOrEqual(1);
      for (const r of garbage) expect(r).toMatch(/^5\d\d /);
      expect(replies.slice(-2).every((r) => /^250 /.test(r)), replies.join(' / ')).toBe(true);
    }
    expect(rx.alive()).toBe(true);
    expect(await normalMessage()).toBe(250);
  });

  it('a 100 KB command line is refused with 5xx (line too long), no crash', async () => {
    const s = await RawSession.open(port);
    s.write('EHLO long.ext.jp\r\n');
    expect(await s.waitFor(/^250 .*\r\n/m)).not.toBeNull();
    s.received = '';
    s.write(`MAIL FROM:<${'a'.repeat(100 * 1024)}@ext.jp>\r\n`);
    const r = await s.waitFor(/^\d{3} .*\r\n/m, 10_000);
    s.close();
    expect(r, 'a reply to the long line').not.toBeNull();
    // RFC 5321 4.5.3.1.4: a command line is at most 512 octets; 4.2.2 `500 5.5.x` for it.
    expect(r![0]).toMatch(/^500 5\.5\.\d /);
    expect(rx.alive()).toBe(true);
    expect(await normalMessage()).toBe(250);
  });

  it('MAIL before EHLO/HELO is 503 (RFC 5321 4.1.4)', async () => {
    const s = await RawSession.open(port);
    s.write('MAIL FROM:<a@ext.jp>\r\n');
    const r = await s.waitFor(/^\d{3} .*\r\n/m);
    s.close();
    expect(r?.[0]).toMatch(/^503 /);
  });

  it('RCPT before MAIL and DATA before RCPT are 503', async () => {
    const s = await RawSession.open(port);
    s.write('EHLO order.ext.jp\r\n');
    expect(await s.waitFor(/^250 .*\r\n/m)).not.toBeNull();
    s.received = '';
    s.write('RCPT TO:<user@test.jp>\r\n');
    expect((await s.waitFor(/^\d{3} .*\r\n/m))?.[0]).toMatch(/^503 /);
    s.received = '';
    s.write('MAIL FROM:<a@ext.jp>\r\n');
    expect((await s.waitFor(/^\d{3} .*\r\n/m))?.[0]).toMatch(/^250 /);
    s.received = '';
    s.write('DATA\r\n');
    expect((await s.waitFor(/^\d{3} .*\r\n/m))?.[0]).toMatch(/^5\d\d /);
    s.close();
  });
});

describe('slow and idle clients', () => {
  it('a client trickling one byte a second does not hold up the others', async () => {
    const slow = await RawSession.open(port);
    const line = 'EHLO slow.ext.jp\r\n';
    const TRICKLED = 10; // bytes, one a second: the test is bounded to about 10 s
    let trickling = true;
    const trickle = (async () => {
      for (let i = 0; i < TRICKLED; i++) {
        slow.write(line[i]);
        await new Promise((r) => setTimeout(r, 1000));
      }
      trickling = false;
    })();
    // Meanwhile normal clients are served, one after the other (bounded count).
    const codes: number[] = [];
    while (trickling && codes.length < 20) {
      codes.push(await normalMessage());
      await new Promise((r) => setTimeout(r, 500));
    }
    await trickle;
    expect(codes.length).toBeGreaterThanOrEqual(3);
    expect(codes.every((c) => c === 250), codes.join(',')).toBe(true);
    expect(slow.closed).toBe(false); // still a live session, not dropped for being slow
    expect(slow.received).toBe(''); // and nothing answered to half a command
    slow.write(line.slice(TRICKLED));
    expect(await slow.waitFor(/^250 .*\r\n/m, 5000), slow.received).not.toBeNull();
    slow.close();
  }, 30_000);

  it('200 idle connections, then a normal message still goes through', async () => {
    const before = (await queuedRecords(workdir)).length;
    const idle: RawSession[] = [];
    try {
      for (let i = 0; i < 200; i += 25) {
        idle.push(...(await Promise.all(Array.from({ length: 25 }, () => RawSession.open(port)))));
      }
      expect(idle.length).toBe(200);
      expect(await normalMessage()).toBe(250);
      expect(idle.filter((s) => s.closed).length).toBe(0);
    } finally {
      for (const s of idle) s.close();
    }
    expect((await queuedRecords(workdir)).length).toBe(before + 1);
    expect(rx.alive()).toBe(true);
  }, 30_000);
});
