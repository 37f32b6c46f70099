// delivery.tlsVerify / tlsRequire / tlsCaFile end to end: the runner with real config, queue
// and log files against real smtp-server sinks offering STARTTLS with certificates made by
// openssl at test time (helpers/tls.ts); and the client and pool underneath.
import { describe, it, expect, beforeAll } from 'vitest';
import { copyFile } from 'node:fs/promises';
import { writeControl } from '../../../services/queue/store.js';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HopConnection, HopError, type ClientOptions } from '../../../services/delivery/smtp-client.js';
import { HopPool } from '../../../services/delivery/pool.js';
import { deliveryFixtures } from './helpers/fixtures.js';
import { makeWorkdir, queueMessage, until, queuedIds, readRecord, senderLog, type WorkdirOptions } from './helpers/workdir.js';
import { makePki, type TestPki } from './helpers/tls.js';

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

const { cleanups, sink, runner } = deliveryFixtures();

/** A retry far away and a long 4xx clock: a deferred message stays queued for the assertions. */
function setup(o: WorkdirOptions) {
  return makeWorkdir({ ...o, delivery: { retryIntervalSec: 600, abnormalHours: 1, noResponseHours: 1, ...o.delivery } });
}

const emptyQueue = (workdir: string) => async () => (await queuedIds(workdir)).length === 0;

/** Wait for the first attempt to be written back, and return the record. */
async function firstAttempt(workdir: string, id: string) {
  await until(async () => (await readRecord(workdir, id))?.retries === 1, 8000, 'first attempt recorded');
  return (await readRecord(workdir, id))!;
}

async function logged(workdir: string, text: string) {
  await until(async () => (await senderLog(workdir)).includes(text), 3000, `sender log: ${text}`);
}

describe('delivery TLS settings', () => {
  it('default settings: STARTTLS with a self-signed certificate still delivers (opportunistic TLS, SPEC 8)', async () => {
    const s = await sink({ starttls: true, tls: pki.selfSigned });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`] });
    await runner(workdir);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await s.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(s.received[0].secure).toBe(true);
  });

  it('tlsVerify all: a self-signed certificate is a temporary failure with the reason; the message waits for its retry', async () => {
    const s = await sink({ starttls: true, tls: pki.selfSigned });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`], delivery: { tlsVerify: 'all' } });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    const rec = await firstAttempt(workdir, id);
    const reason = 'TLS certificate of 127.0.0.1 not trusted: self-signed certificate';
    expect(rec.recipients[0]).toMatchObject({ status: 'pending', attempts: 1, refusals: 0, lastReply: reason, lastHost: `127.0.0.1:${s.port}` });
    expect(Date.parse(rec.nextAttemptAt)).toBeGreaterThan(Date.now() + 60_000);
    expect(s.connections).toBeGreaterThanOrEqual(1); // it was tried, and refused by us
    expect(s.received).toHaveLength(0);
    await logged(workdir, `[${id}] <a@example.jp> deferred (temp) host=127.0.0.1:${s.port}: ${reason}`);
    await logged(workdir, `[${id}] 1 pending, next attempt ${id}-R0001 at`);
    expect(await queuedIds(workdir)).toEqual([id]);
  });

  it('tlsVerify all + tlsCaFile (relative to the work folder) holding that certificate: delivered over TLS', async () => {
    const s = await sink({ starttls: true, tls: pki.selfSigned });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`], delivery: { tlsVerify: 'all', tlsCaFile: 'office-ca.pem' } });
    await copyFile(pki.selfSigned.certPath, join(workdir, 'office-ca.pem'));
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await s.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(s.received[0].secure).toBe(true);
    await logged(workdir, `[${id}] <a@example.jp> delivered host=127.0.0.1:${s.port}: 250`);
  });

  it('verifies the host name too: a certificate of the trusted CA for another name is not trusted', async () => {
    const other = pki.issue('mx-other', ['DNS:mx.other.example.jp']);
    const s = await sink({ starttls: true, tls: other });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`], delivery: { tlsVerify: 'all', tlsCaFile: pki.caPath } });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    const rec = await firstAttempt(workdir, id);
    expect(rec.recipients[0].status).toBe('pending');
    expect(rec.recipients[0].lastReply).toMatch(/^TLS certificate of 127\.0\.0\.1 not trusted: Hostname\/IP does not match certificate's altnames/);
    expect(s.received).toHaveLength(0);
  });

  it('tlsVerify smarthost: the smarthost is verified against its host name (private CA); other hops are not checked', async () => {
    const smartCert = pki.issue('smart', ['DNS:localhost']); // no IP entry: only the name can match
    const smart = await sink({ starttls: true, tls: smartCert });
    const lan = await sink({ starttls: true, tls: pki.selfSigned });
    const workdir = await setup({
      gateway: [`lan.test.jp, 127.0.0.1, ${lan.port}`],
      delivery: { smarthost: `localhost:${smart.port}`, tlsVerify: 'smarthost', tlsCaFile: pki.caPath },
    });
    await runner(workdir);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@anywhere.example', 'b@lan.test.jp'] });
    await smart.waitFor(1);
    await lan.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(smart.received[0]).toMatchObject({ secure: true, to: ['a@anywhere.example'] });
    expect(lan.received[0]).toMatchObject({ secure: true, to: ['b@lan.test.jp'] });
  });

  it('tlsVerify smarthost: a smarthost whose certificate is not trusted is deferred', async () => {
    const smart = await sink({ starttls: true, tls: pki.selfSigned });
    const workdir = await setup({ delivery: { smarthost: `localhost:${smart.port}`, tlsVerify: 'smarthost' } });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@anywhere.example'] });
    const rec = await firstAttempt(workdir, id);
    expect(rec.recipients[0]).toMatchObject({ status: 'pending', lastReply: 'TLS certificate of localhost not trusted: self-signed certificate' });
    expect(smart.received).toHaveLength(0);
  });

  it('tlsRequire all: a hop without STARTTLS is a temporary failure and gets nothing in plaintext', async () => {
    const plain = await sink(); // no STARTTLS
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${plain.port}`], delivery: { tlsRequire: 'all' } });
    const lines: string[] = [];
    await runner(workdir, lines);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp', 'b@example.jp'] });
    const rec = await firstAttempt(workdir, id);
    for (const r of rec.recipients) {
      expect(r.status).toBe('pending');
      expect(r.refusals).toBe(0); // the server's 5xx to STARTTLS is not a refusal of the message
      expect(r.lastReply).toMatch(/^TLS required but not offered by 127\.0\.0\.1 \(STARTTLS answered: 5\d\d /);
    }
    expect(plain.connections).toBeGreaterThanOrEqual(1);
    expect(plain.received).toHaveLength(0);
    // STARTTLS was asked for (and refused); not a single envelope command went out in the clear.
    expect(lines.some((l) => l.endsWith(`127.0.0.1:${plain.port} > STARTTLS`))).toBe(true);
    expect(lines.some((l) => / > (MAIL FROM|RCPT TO|DATA)/.test(l))).toBe(false);
    await logged(workdir, `[${id}] <a@example.jp> deferred (temp) host=127.0.0.1:${plain.port}: TLS required but not offered by 127.0.0.1`);
  });

  it('tlsRequire all without tlsVerify: any certificate will do, but encrypted', async () => {
    const s = await sink({ starttls: true, tls: pki.selfSigned });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`], delivery: { tlsRequire: 'all' } });
    await runner(workdir);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await s.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(s.received[0].secure).toBe(true);
  });

  it('tlsRequire smarthost: a gateway.dat hop without STARTTLS still gets its mail in plaintext', async () => {
    const plain = await sink();
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${plain.port}`], delivery: { tlsRequire: 'smarthost' } });
    await runner(workdir);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await plain.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(plain.received[0].secure).toBe(false);
  });

  it('an unreadable tlsCaFile defers the hops that verify, without connecting, and says why', async () => {
    const s = await sink({ starttls: true, tls: pki.selfSigned });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`], delivery: { tlsVerify: 'all', tlsCaFile: 'missing-ca.pem' } });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    const rec = await firstAttempt(workdir, id);
    const reason = `delivery.tlsCaFile ${join(workdir, 'missing-ca.pem')} cannot be read: no such file`;
    expect(rec.recipients[0]).toMatchObject({ status: 'pending', lastReply: reason });
    expect(s.connections).toBe(0);
    await logged(workdir, `[${id}] <a@example.jp> deferred (temp) host=127.0.0.1:${s.port}: ${reason}`);
    // Putting a good file in place is enough for the next attempt (no restart, no reload).
    await copyFile(pki.selfSigned.certPath, join(workdir, 'missing-ca.pem'));
    const record = (await readRecord(workdir, id))!;
    await writeControl(workdir, { ...record, nextAttemptAt: new Date().toISOString() });
    await s.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
  });
});

describe('HopConnection / HopPool with TLS options', () => {
  const opts: ClientOptions = { helo: 'gw.test.jp', connectTimeoutMs: 2000, replyTimeoutMs: 2000 };
  const msg = () => Readable.from([Buffer.from('Subject: hi\r\n\r\nhello\r\n')]);

  it('never hands a connection opened without verification to a caller that verifies', async () => {
    const s = await sink({ starttls: true, tls: pki.selfSigned });
    const pool = new HopPool();
    cleanups.push(async () => pool.closeAll());
    const target = { address: '127.0.0.1', port: s.port, hostname: 'localhost' };
    const lease = await pool.acquire(target, opts);
    const res = await lease.conn.send('a@test.jp', ['x@y.jp'], 10, msg);
    expect(res).toMatchObject({ tls: true, reusable: true });
    pool.release(lease, opts, res.reusable);
    // Same hop, same HELO, same (no) AUTH, but verifying: a new session, which fails the check.
    const err = await pool.acquire(target, { ...opts, rejectUnauthorized: true }).catch((e) => e);
    expect(err).toBeInstanceOf(HopError);
    expect(err).toMatchObject({ kind: 'temp', reply: 'TLS certificate of localhost not trusted: self-signed certificate' });
    expect(s.connections).toBe(2);
    // The unverified one is still there for an unverified caller.
    const again = await pool.acquire(target, opts);
    expect(again.reused).toBe(true);
    pool.release(again, opts, true);
  });

  it('requireTLS: a hop without STARTTLS is a temporary HopError, not the 5xx of its answer', async () => {
    const plain = await sink();
    const err = await HopConnection.open({ address: '127.0.0.1', port: plain.port, hostname: 'lan.test.jp' }, { ...opts, requireTLS: true }).catch((e) => e);
    expect(err).toBeInstanceOf(HopError);
    expect(err.kind).toBe('temp');
    expect(err.reply).toMatch(/^TLS required but not offered by lan\.test\.jp \(STARTTLS answered: 5\d\d /);
  });
});
