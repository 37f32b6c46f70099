// STARTTLS (RFC 3207) and implicit TLS with a self-signed certificate made by openssl, and
// AUTH PLAIN / LOGIN / CRAM-MD5 (RFC 4954, 4616, 2195) against inbox/<user>/apop.dat.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHmac } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { hashPassword } from '../../../services/config/accounts.js';
import { Client, freePort, messageText, queued, runReceiver, selfSigned, session, type Running } from './helpers.js';

let certs: { dir: string; cert: string; key: string };
let r: Running;
let tlsPort = 0;

beforeAll(async () => {
  certs = await selfSigned();
  tlsPort = await freePort();
  r = await runReceiver({
    // Relative to the work folder, as the admin writes them.
    files: { 'tls/cert.pem': await readFile(certs.cert), 'tls/key.pem': await readFile(certs.key) },
    accounts: { alice: 'secret', carol: await hashPassword('hashed-pw') },
    settings: (s) => {
      s.tls = { cert: 'tls/cert.pem', key: 'tls/key.pem' };
      s.receiver.implicitTlsPorts = [tlsPort];
    },
  });
}, 60_000);

afterAll(async () => {
  await r?.stop();
  if (certs) await rm(certs.dir, { recursive: true, force: true });
});

const plainToken = (user: string, pw: string) => Buffer.from(`\0${user}\0${pw}`).toString('base64');

async function tlsSession(): Promise<Client> {
  const c = await session(r.port);
  expect(await c.cmd('STARTTLS')).toMatchObject({ code: 220 });
  await c.startTls();
  const ehlo = await c.cmd('EHLO client.ext.jp');
  expect(ehlo.code).toBe(250);
  return c;
}

describe('STARTTLS', () => {
  it('is offered on the plain port; AUTH is neither offered nor accepted before it', async () => {
    const c = await Client.connect(r.port);
    await c.read();
    const ehlo = await c.cmd('EHLO client.ext.jp');
    expect(ehlo.lines).toContain('250-STARTTLS');
    expect(ehlo.lines.some((l) => l.includes('AUTH'))).toBe(false);
    expect(await c.cmd(`AUTH PLAIN ${plainToken('alice', 'secret')}`)).toMatchObject({
      code: 538,
      text: '5.7.11 Encryption required for requested authentication mechanism',
    });
    c.close();
  });

  it('after the handshake AUTH is offered and STARTTLS is not', async () => {
    const c = await session(r.port);
    await c.cmd('STARTTLS');
    await c.startTls();
    const ehlo = await c.cmd('EHLO client.ext.jp');
    expect(ehlo.lines).toContain('250-AUTH PLAIN LOGIN CRAM-MD5');
    expect(ehlo.lines.some((l) => l.includes('STARTTLS'))).toBe(false);
    c.close();
  });
});

describe('AUTH', () => {
  it('PLAIN through nodemailer (requireTLS): relay allowed, Received says ESMTPSA, authUser kept', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: r.port,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass: 'secret' },
      authMethod: 'PLAIN',
      name: 'client.ext.jp',
    });
    const info = await t.sendMail({ from: 'alice@test.jp', to: 'someone@ext.jp', subject: 's', text: 'x' });
    t.close();
    const id = /queued as (B\d{10})/.exec(info.response)![1];
    const rec = (await queued(r.workdir)).find((x) => x.id === id)!;
    expect(rec.client.authUser).toBe('alice');
    expect(rec.recipients.map((x) => x.address)).toEqual(['someone@ext.jp']);
    expect(await messageText(r.workdir, id)).toMatch(/^Received: .* with ESMTPSA id /);
  });

  it('LOGIN with user@localdomain names the account', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: r.port,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'Alice@test.jp', pass: 'secret' },
      authMethod: 'LOGIN',
    });
    expect(await t.verify()).toBe(true);
    t.close();
  });

  it.each(['PLAIN', 'LOGIN'])('a wrong password with %s is 535 5.7.8; so is an unknown user', async (authMethod) => {
    for (const [user, pass] of [['alice', 'wrong'], ['nobody', 'secret']]) {
      const t = nodemailer.createTransport({
        host: '127.0.0.1',
        port: r.port,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user, pass },
        authMethod,
      });
      await expect(t.verify()).rejects.toMatchObject({ responseCode: 535, response: '535 5.7.8 Authentication credentials invalid' });
      t.close();
    }
  });

  it('CRAM-MD5 with a plain apop.dat password, good and bad', async () => {
    for (const [pw, code] of [['secret', 235], ['nope', 535]] as const) {
      const c = await tlsSession();
      const challenge = await c.cmd('AUTH CRAM-MD5');
      expect(challenge.code).toBe(334);
      const text = Buffer.from(challenge.text, 'base64').toString();
      const digest = createHmac('md5', pw).update(text).digest('hex');
      const res = await c.cmd(Buffer.from(`alice ${digest}`).toString('base64'));
      expect(res.code).toBe(code);
      if (code === 235) expect(res.text).toBe('2.7.0 Authentication successful');
      c.close();
    }
  });

  it('a hashed (scrypt) password works with PLAIN but never with CRAM-MD5', async () => {
    const c = await tlsSession();
    expect((await c.cmd(`AUTH PLAIN ${plainToken('carol', 'hashed-pw')}`)).code).toBe(235);
    expect(await c.cmd('AUTH PLAIN')).toMatchObject({ code: 503, text: '5.5.1 Error: already authenticated' });
    c.close();
    const d = await tlsSession();
    const challenge = await d.cmd('AUTH CRAM-MD5');
    const digest = createHmac('md5', 'hashed-pw').update(Buffer.from(challenge.text, 'base64').toString()).digest('hex');
    expect((await d.cmd(Buffer.from(`carol ${digest}`).toString('base64'))).code).toBe(535);
    d.close();
  });

  it('three failures close the connection with 421 4.7.0', async () => {
    const c = await tlsSession();
    for (let i = 0; i < 2; i++) expect((await c.cmd(`AUTH PLAIN ${plainToken('alice', `bad${i}`)}`)).code).toBe(535);
    expect(await c.cmd(`AUTH PLAIN ${plainToken('alice', 'bad2')}`)).toMatchObject({ code: 421, text: '4.7.0 Too many authentication failures' });
    expect(await c.waitClosed()).toBe(true);
  });

  it('AUTH inside a mail transaction is refused (RFC 4954 4)', async () => {
    const c = await tlsSession();
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect(await c.cmd(`AUTH PLAIN ${plainToken('alice', 'secret')}`)).toMatchObject({ code: 503, text: '5.5.1 Error: MAIL transaction in progress' });
    c.close();
  });

  it('no password ever reaches the logs', async () => {
    await new Promise((res) => setTimeout(res, 500));
    let all = '';
    for (const kind of ['accept', 'receive', 'sender']) {
      const dir = join(r.workdir, 'log', kind);
      for (const f of await readdir(dir)) all += await readFile(join(dir, f), 'utf8');
    }
    expect(all).toMatch(/AUTH PLAIN/);
    for (const secret of ['secret', 'hashed-pw', plainToken('alice', 'secret'), plainToken('carol', 'hashed-pw')]) {
      expect(all).not.toContain(secret);
    }
    expect(r.trace.join('\n')).not.toContain(plainToken('alice', 'secret'));
  });
});

describe('implicit TLS', () => {
  it('serves SMTP inside TLS from the first byte (secure: true); Received says ESMTPS', async () => {
    expect(r.rx.ports).toEqual([r.port, tlsPort]);
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: tlsPort, secure: true, tls: { rejectUnauthorized: false } });
    const info = await t.sendMail({ from: 'a@ext.jp', to: 'alice@test.jp', subject: 's', text: 'x' });
    t.close();
    const id = /queued as (B\d{10})/.exec(info.response)![1];
    expect(await messageText(r.workdir, id)).toMatch(/^Received: .* with ESMTPS id /);
    const c = await Client.connect(tlsPort, { tls: true });
    await c.read();
    const ehlo = await c.cmd('EHLO client.ext.jp');
    expect(ehlo.lines).toContain('250-AUTH PLAIN LOGIN CRAM-MD5');
    expect(ehlo.lines.some((l) => l.includes('STARTTLS'))).toBe(false);
    c.close();
  });
});

describe('requireTlsForAuth off, no certificate', () => {
  let p: Running;
  beforeAll(async () => {
    p = await runReceiver({ settings: (s) => void (s.receiver.requireTlsForAuth = false) });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('offers AUTH on the plain connection; Received says ESMTPA', async () => {
    const c = await session(p.port);
    expect((await c.cmd(`AUTH PLAIN ${plainToken('alice', 'secret')}`)).code).toBe(235);
    expect((await c.cmd('MAIL FROM:<alice@test.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<x@ext.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    c.write('Subject: a\r\n\r\nb\r\n');
    const end = await c.cmd('.');
    c.close();
    const id = /queued as (B\d{10})/.exec(end.text)![1];
    expect(await messageText(p.workdir, id)).toMatch(/^Received: .* with ESMTPA id /);
  });
});
