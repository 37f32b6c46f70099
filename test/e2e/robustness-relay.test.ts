// The classic open-relay battery (SPEC 6 "secure by default"), from an untrusted client
// against a real `sekisho receiver`. The work folder is the worst realistic one: test.jp is
// local with the wildcard "mode A" alias `*@test.jp -> *@test.jp`, so every trick that
// smuggles a foreign destination inside a test.jp address would be accepted by a naive
// alias match. Nothing may be accepted for a non-local recipient, and after the session the
// queue must hold no message for one.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  makeWorkdir,
  startReceiver,
  removeWorkdir,
  queuedRecords,
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

// Each one names a foreign destination that a relay somewhere down the line could honour.
const ABUSE_RECIPIENTS = [
  'user%ext.jp@test.jp', // percent hack (sendmail's % routing)
  'USER%EXT.JP@TEST.JP',
  '"user@ext.jp"@test.jp', // quoted local part hiding an @
  '"user%ext.jp"@test.jp',
  'user@ext.jp@test.jp', // double @
  '@test.jp:user@ext.jp', // RFC 5321 4.1.2 source route (A-d-l), obsolete and never honoured
  '@test.jp,@ext.jp:user@ext.jp',
  'ext.jp!user@test.jp', // UUCP bang path
  'user@[192.0.2.1]', // IP literal (RFC 5321 4.1.3)
  'user@[127.0.0.1]',
  'user@[IPv6:::1]',
  'user@ext.jp.', // trailing dot: a different spelling of a foreign domain
  'user@test.jp.ext.jp', // test.jp as a label of a foreign domain
  'user@ext.jp', // plain relay
  'USER@EXT.JP', // case variant
  'user@sub.test.jp', // a subdomain is not the local domain (exact match, SPEC 4)
];

async function session(): Promise<SmtpConn> {
  const { conn, banner } = await SmtpConn.open(port);
  expect(banner.code).toBe(220);
  expect((await conn.cmd('EHLO relay-test.ext.jp')).code).toBe(250);
  return conn;
}

describe('open-relay battery from an untrusted client', () => {
  it('a local recipient is accepted (the battery is not passing by refusing everything)', async () => {
    const conn = await session();
    expect((await conn.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await conn.cmd('RCPT TO:<user@test.jp>')).code).toBe(250);
    await conn.quit();
  });

  it.each(ABUSE_RECIPIENTS)('RCPT TO:<%s> is refused with 5xx', async (rcpt) => {
    const conn = await session();
    expect((await conn.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    const r = await conn.cmd(`RCPT TO:<${rcpt}>`);
    expect(r.code, r.lines.join(' / ')).toBeGreaterThanOrEqual(500);
    expect(r.code).toBeLessThan(600);
    // Nothing to send: DATA without a valid recipient is refused (RFC 5321 3.3: 503/554).
    const d = await conn.cmd('DATA');
    expect(d.code).not.toBe(354);
    await conn.quit();
  });

  it('a spoofed local sender does not grant relay (MAIL FROM a local address, RCPT foreign)', async () => {
    const conn = await session();
    const m = await conn.cmd('MAIL FROM:<user@test.jp>');
    // Accepting the sender is fine (no account protects it); the relay must not follow.
    if (m.code === 250) {
      const r = await conn.cmd('RCPT TO:<victim@ext.jp>');
      expect(r.code, r.lines.join(' / ')).toBeGreaterThanOrEqual(500);
      const r2 = await conn.cmd('RCPT TO:<victim%ext.jp@test.jp>');
      expect(r2.code, r2.lines.join(' / ')).toBeGreaterThanOrEqual(500);
    } else {
      expect(m.code).toBeGreaterThanOrEqual(500);
    }
    await conn.quit();
  });

  it('the null sender does not grant relay either', async () => {
    const conn = await session();
    expect((await conn.cmd('MAIL FROM:<>')).code).toBe(250);
    const r = await conn.cmd('RCPT TO:<victim@ext.jp>');
    expect(r.code, r.lines.join(' / ')).toBeGreaterThanOrEqual(500);
    await conn.quit();
  });

  it('mixed in one transaction with a local recipient: only the local one is queued', async () => {
    const conn = await session();
    expect((await conn.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    const codes: Record<string, number> = {};
    for (const rcpt of ABUSE_RECIPIENTS) codes[rcpt] = (await conn.cmd(`RCPT TO:<${rcpt}>`)).code;
    expect((await conn.cmd('RCPT TO:<user@test.jp>')).code).toBe(250);
    for (const [rcpt, code] of Object.entries(codes)) expect(code, rcpt).toBeGreaterThanOrEqual(500);
    expect((await conn.cmd('DATA')).code).toBe(354);
    await conn.write(makeMessage(2000));
    const end = await conn.cmd('.');
    expect(end.code, end.lines.join(' / ')).toBe(250);
    await conn.quit();

    // The queue after all the sessions above: every recipient of every message is a plain
    // address of test.jp, nothing foreign, no routing characters.
    const records = await queuedRecords(workdir);
    expect(records.length).toBe(1);
    for (const rec of records) {
      for (const r of rec.recipients) {
        expect(r.address.toLowerCase()).toMatch(/^[a-z0-9._+-]+@test\.jp$/);
        expect(r.original.toLowerCase()).toMatch(/^[a-z0-9._+-]+@test\.jp$/);
      }
    }
    expect(rx.alive()).toBe(true);
  });
});
