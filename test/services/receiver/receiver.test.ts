// The receiver in-process against real sockets and a real work folder: the happy path with
// nodemailer, the Received header and control record, two ports, the policy's replies sent
// verbatim, pipelining, VRFY/EXPN, logs and the debug trace.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { Client, message, messageText, queued, runReceiver, session, type Running } from './helpers.js';

describe('receiving', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({
      ports: 2,
      effect: ["' test rules", '#<> default', '#blank false', '*@spam.ext.jp false'],
    });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('nodemailer sends a message; it is queued with our Received header and the recipients', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: r.port, secure: false, ignoreTLS: true, name: 'client.ext.jp' });
    const info = await transport.sendMail({
      from: 'a@ext.jp',
      to: ['alice@test.jp', 'Sales@test.jp'],
      subject: 'テスト',
      text: 'こんにちは\n',
    });
    transport.close();
    const m = /^250 2\.0\.0 Ok: queued as (B\d{10})$/.exec(info.response);
    expect(m, info.response).not.toBeNull();
    const id = m![1];
    const rec = (await queued(r.workdir)).find((x) => x.id === id)!;
    expect(rec.from).toBe('a@ext.jp');
    expect(rec.client).toEqual({ ip: '127.0.0.1', helo: 'client.ext.jp', authUser: '' });
    expect(rec.origin).toBe('message');
    // sales expands to alice and bob; alice given twice (directly and through sales) is queued once.
    expect(rec.recipients.map((x) => [x.address, x.original, x.kind, x.user])).toEqual([
      ['alice@test.jp', 'alice@test.jp', 'remote', undefined],
      ['bob@test.jp', 'Sales@test.jp', 'remote', undefined],
    ]);
    for (const x of rec.recipients) expect([x.status, x.attempts, x.refusals]).toEqual(['pending', 0, 0]);
    const text = await messageText(r.workdir, id);
    expect(text).toMatch(
      new RegExp(`^Received: from client\\.ext\\.jp \\(unknown \\[127\\.0\\.0\\.1\\]\\) by gw\\.test\\.jp \\(Sekisho\\) with ESMTP id ${id}; \\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\r\\n`),
    );
    expect(text).toContain('Subject: =?UTF-8?');
    expect(rec.size).toBe(Buffer.byteLength(text, 'latin1'));
  });

  it('listens on both ports at once', async () => {
    expect(r.rx.ports.length).toBe(2);
    for (const port of r.rx.ports) {
      const c = await session(port);
      expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
      expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
      expect((await c.cmd('DATA')).code).toBe(354);
      c.write(message(`port ${port}`));
      const end = await c.cmd('.');
      expect(end.code).toBe(250);
      c.close();
    }
  });

  it('advertises the SPEC 7 extensions, no STARTTLS/AUTH without a certificate', async () => {
    const c = await Client.connect(r.port);
    expect((await c.read()).text).toBe('gw.test.jp ESMTP Sekisho');
    const ehlo = await c.cmd('EHLO client.ext.jp');
    c.close();
    expect(ehlo.lines.map((l) => l.slice(4))).toEqual([
      'gw.test.jp Hello [127.0.0.1]',
      'PIPELINING',
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      'SIZE',
    ]);
  });

  it('sends the policy replies verbatim: User unknown, relay denied, refused sender, bad syntax', async () => {
    const c = await session(r.port);
    expect(await c.cmd('MAIL FROM:<x@spam.ext.jp>')).toMatchObject({ code: 550, text: '5.7.1 Please, mail from a valid IP or Domain address.' });
    expect(await c.cmd('MAIL FROM:<a@ext.jp>')).toMatchObject({ code: 250, text: '2.1.0 Accepted' });
    expect(await c.cmd('RCPT TO:<nobody@test.jp>')).toMatchObject({ code: 550, text: '5.1.1 <nobody@test.jp>... User unknown' });
    expect(await c.cmd('RCPT TO:<victim@ext.jp>')).toMatchObject({ code: 554, text: '5.7.1 <victim@ext.jp>: Relay access denied' });
    expect(await c.cmd('RCPT TO:<@test.jp:victim@ext.jp>')).toMatchObject({ code: 554, text: '5.7.1 <@test.jp:victim@ext.jp>: Relay access denied' });
    expect(await c.cmd('RCPT TO:<alice@test.jp>')).toMatchObject({ code: 250, text: '2.1.5 Accepted' });
    expect((await c.cmd('DATA')).code).toBe(354);
    c.close();
  });

  it('tells MAIL FROM: (blank, #blank false) from MAIL FROM:<> (#<> default)', async () => {
    const c = await session(r.port);
    expect(await c.cmd('MAIL FROM:')).toMatchObject({ code: 550, text: '5.7.1 Please, mail from a valid IP or Domain address.' });
    expect(await c.cmd('MAIL FROM:<>')).toMatchObject({ code: 250 });
    expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    c.write(message('bounce'));
    const end = await c.cmd('.');
    expect(end.code).toBe(250);
    c.close();
    const id = /queued as (B\d+)/.exec(end.text)![1];
    expect((await queued(r.workdir)).find((x) => x.id === id)!.from).toBe('');
  });

  it('answers a pipelined transaction (RFC 2920) in order', async () => {
    const c = await Client.connect(r.port);
    await c.read();
    c.write(
      'EHLO pipe.ext.jp\r\nMAIL FROM:<a@ext.jp>\r\nRCPT TO:<nobody@test.jp>\r\nRCPT TO:<alice@test.jp>\r\nDATA\r\n' +
        message('pipelined') +
        '.\r\nRSET\r\nNOOP\r\nQUIT\r\n',
    );
    const codes: number[] = [];
    for (let i = 0; i < 9; i++) codes.push((await c.read()).code);
    expect(codes).toEqual([250, 250, 550, 250, 354, 250, 250, 250, 221]);
    expect(await c.waitClosed()).toBe(true);
  });

  it('VRFY and EXPN are refused when vrfyExpn is off', async () => {
    const c = await session(r.port);
    expect(await c.cmd('VRFY alice@test.jp')).toMatchObject({ code: 502, text: '5.5.1 VRFY command is disabled' });
    expect(await c.cmd('EXPN sales@test.jp')).toMatchObject({ code: 502, text: '5.5.1 EXPN command is disabled' });
    c.close();
  });

  it('writes the accept, receive and sender logs', async () => {
    // The logs are buffered (flush period 200 ms).
    await new Promise((res) => setTimeout(res, 600));
    const day = async (kind: string) => {
      const dir = join(r.workdir, 'log', kind);
      const files = await readdir(dir);
      return (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('');
    };
    const accept = await day('accept');
    expect(accept).toMatch(new RegExp(`\\] 127\\.0\\.0\\.1:\\d+ -> :${r.rx.ports[0]} accepted`));
    expect(accept).toMatch(new RegExp(`-> :${r.rx.ports[1]} accepted`));
    const receive = await day('receive');
    expect(receive).toMatch(/\], \w+, < MAIL FROM:<x@spam\.ext\.jp>/);
    expect(receive).toMatch(/\], \w+, > 550 5\.7\.1 Please, mail from a valid IP or Domain address\./);
    expect(receive).toMatch(/\], \w+, > 250 2\.0\.0 Ok: queued as B\d{10}/);
    const sender = await day('sender');
    expect(sender).toMatch(/\[B\d{10}\] received from 127\.0\.0\.1 \(client\.ext\.jp\) from=<a@ext\.jp> to=<alice@test\.jp>,<bob@test\.jp> size=\d+/);
  });

  it('traces connections, commands, replies, the rule that decided and the queue id', () => {
    const t = r.trace.join('\n');
    expect(t).toMatch(/^version\s+Sekisho /m);
    expect(t).toMatch(/^ports\s+\d+,\d+$/m);
    expect(t).toMatch(/\[\w+\] connection from 127\.0\.0\.1:\d+ to port \d+/);
    expect(t).toMatch(/\[\w+\] < MAIL FROM:<x@spam\.ext\.jp>/);
    expect(t).toMatch(/\[\w+\] {3}effect\.dat:4 \*@spam\.ext\.jp false: matches/);
    expect(t).toMatch(/MAIL FROM: refuse 550 5\.7\.1 .* \[effect\.dat:4\]/);
    expect(t).toMatch(/RCPT <Sales@test\.jp>: accept - alias .*aliases\.dat:1/);
    expect(t).toMatch(/queued as B\d{10} \(\d+ bytes, 2 recipients\)/);
    expect(t).toMatch(/\[\w+\] > 250 2\.0\.0 Ok: queued as B\d{10}/);
  });
});

describe('connect policy', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({ effect: ['127.0.0.1 false'] });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('refuses a client an IP rule refuses: 554 5.7.1 instead of the banner, then closes', async () => {
    const c = await Client.connect(r.port);
    expect(await c.read()).toMatchObject({ code: 554, text: '5.7.1 Please, mail from a valid IP or Domain address.' });
    expect(await c.waitClosed()).toBe(true);
    await new Promise((res) => setTimeout(res, 500));
    const dir = join(r.workdir, 'log', 'accept');
    const log = (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')))).join('');
    expect(log).toMatch(/127\.0\.0\.1:\d+ -> :\d+ refused 554 5\.7\.1 .*effect\.dat:1/);
  });
});

describe('VRFY and EXPN when vrfyExpn is on', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({ settings: (s) => void (s.receiver.vrfyExpn = true) });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('answers from the alias and account look-up', async () => {
    const c = await session(r.port);
    expect(await c.cmd('VRFY alice@test.jp')).toMatchObject({ code: 250, text: '2.1.5 <alice@test.jp>' });
    const expn = await c.cmd('EXPN sales@test.jp');
    expect(expn.code).toBe(250);
    expect(expn.lines).toEqual(['250-2.1.5 <alice@test.jp>', '250 2.1.5 <bob@test.jp>']);
    expect(await c.cmd('VRFY nobody@test.jp')).toMatchObject({ code: 550, text: '5.1.1 <nobody@test.jp>... User unknown' });
    expect(await c.cmd('VRFY')).toMatchObject({ code: 501, text: '5.5.4 Syntax: VRFY address' });
    c.close();
  });
});

describe('IPv6', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({ effect: ['::1 default'], settings: (s) => void (s.receiver.bind = '::1') });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('listens on ::1; the client address is matched and written as an IPv6 literal', async () => {
    const c = await Client.connect(r.port, { host: '::1' });
    expect((await c.read()).code).toBe(220);
    expect((await c.cmd('EHLO v6.ext.jp')).code).toBe(250);
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    c.write(message('v6'));
    const end = await c.cmd('.');
    c.close();
    const id = /queued as (B\d{10})/.exec(end.text)![1];
    expect(await messageText(r.workdir, id)).toMatch(/^Received: from v6\.ext\.jp \(unknown \[IPv6:::1\]\) by gw\.test\.jp/);
    expect((await queued(r.workdir))[0].client.ip).toBe('::1');
    expect(r.trace.join('\n')).toMatch(/effect\.dat:1 ::1 default: matches client ::1/);
  });
});
