// The limits of SPEC 7: SIZE (RFC 1870) advertised and enforced while streaming, recipients
// per message, concurrent connections, idle timeout, Received hop count, greeting pause.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, queueFiles, queued, runReceiver, session, type Running } from './helpers.js';

function body(bytes: number): string {
  const line = 'x'.repeat(76) + '\r\n';
  return 'Subject: size\r\n\r\n' + line.repeat(Math.ceil(bytes / line.length));
}

describe('size, recipients and hops', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({
      settings: (s) => {
        s.receiver.maxMessageBytes = 1000;
        s.receiver.maxRecipients = 2;
        s.receiver.maxReceivedHeaders = 3;
      },
    });
  });
  afterAll(async () => {
    await r?.stop();
  });

  async function data(text: string): Promise<{ code: number; text: string }> {
    const c = await session(r.port);
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    c.write(text);
    const end = await c.cmd('.');
    c.close();
    return end;
  }

  it('advertises SIZE 1000 and refuses MAIL FROM SIZE=5000 with 552 5.3.4', async () => {
    const c = await Client.connect(r.port);
    await c.read();
    expect((await c.cmd('EHLO client.ext.jp')).lines).toContain('250 SIZE 1000');
    expect(await c.cmd('MAIL FROM:<a@ext.jp> SIZE=5000')).toMatchObject({
      code: 552,
      text: '5.3.4 Message size exceeds fixed maximum message size',
    });
    expect((await c.cmd('MAIL FROM:<a@ext.jp> SIZE=500')).code).toBe(250);
    c.close();
  });

  it('a message over the limit gets 552 5.3.4 after the final dot and leaves nothing behind', async () => {
    const before = (await queued(r.workdir)).length;
    expect(await data(body(3000))).toMatchObject({ code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' });
    expect((await queued(r.workdir)).length).toBe(before);
    const files = await queueFiles(r.workdir);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await data(body(800))).code).toBe(250);
  });

  it('the third recipient is 452 4.5.3; a repeated one does not count', async () => {
    const c = await session(r.port);
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<bob@test.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<ALICE@test.jp>')).code).toBe(250);
    expect(await c.cmd('RCPT TO:<sales@test.jp>')).toMatchObject({ code: 452, text: '4.5.3 Too many recipients' });
    c.close();
  });

  it('more Received fields than maxReceivedHeaders is 554 5.4.6 (mail loop)', async () => {
    const hops = (n: number) => Array.from({ length: n }, (_, i) => `Received: from h${i} by h${i + 1}; Mon, 1 Jan 2026 00:00:00 +0000\r\n`).join('');
    expect(await data(`${hops(4)}Subject: loop\r\n\r\nx\r\n`)).toMatchObject({ code: 554, text: '5.4.6 Too many hops (mail loop)' });
    expect((await data(`${hops(3)}Subject: ok\r\n\r\nReceived: in the body\r\nReceived: x\r\n`)).code).toBe(250);
  });
});

describe('connections and idle timeout', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({
      ports: 2,
      settings: (s) => {
        s.receiver.maxConnections = 2;
        s.receiver.idleTimeoutSec = 1;
      },
    });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('a third concurrent connection (on any port) gets 421 4.7.0 and is closed', async () => {
    const a = await Client.connect(r.rx.ports[0]);
    expect((await a.read()).code).toBe(220);
    const b = await Client.connect(r.rx.ports[1]);
    expect((await b.read()).code).toBe(220);
    const c = await Client.connect(r.rx.ports[0]);
    expect(await c.read()).toMatchObject({ code: 421, text: '4.7.0 Too many connections, try again later' });
    expect(await c.waitClosed()).toBe(true);
    a.close();
    b.close();
    // Once the others left, a new client is served again.
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      const d = await Client.connect(r.rx.ports[1]);
      served = (await d.read()).code === 220;
      d.close();
      if (!served) await new Promise((res) => setTimeout(res, 100));
    }
    expect(served).toBe(true);
  });

  it('an idle client is told 421 and disconnected after idleTimeoutSec', async () => {
    const c = await Client.connect(r.port);
    expect((await c.read()).code).toBe(220);
    const bye = await c.read(5000);
    expect(bye.code).toBe(421);
    expect(await c.waitClosed()).toBe(true);
  });
});

describe('greeting pause', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({ settings: (s) => void (s.receiver.greetPauseMs = 300) });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('an early talker gets 554 5.5.0 and the close; it is logged as refused', async () => {
    const c = await Client.connect(r.port);
    c.write('EHLO eager.ext.jp\r\n');
    const reply = await c.read();
    expect(reply.code).toBe(554);
    expect(reply.text).toMatch(/^5\.5\.0 .*You talk too soon$/);
    expect(await c.waitClosed()).toBe(true);
    expect(c.raw).not.toMatch(/^220/m);
    await new Promise((res) => setTimeout(res, 500));
    const dir = join(r.workdir, 'log', 'accept');
    const log = (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')))).join('');
    expect(log).toMatch(/refused 554 5\.5\.0 early talker/);
  });

  it('a patient client gets the banner after the pause', async () => {
    const c = await Client.connect(r.port);
    expect((await c.read()).code).toBe(220);
    expect((await c.cmd('EHLO patient.ext.jp')).code).toBe(250);
    c.close();
  });
});

describe('no greeting pause', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver({ settings: (s) => void (s.receiver.greetPauseMs = 0) });
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('sends the banner at once, without any input from the client', async () => {
    const c = await Client.connect(r.port);
    expect((await c.read(2000)).code).toBe(220);
    c.close();
  });
});
