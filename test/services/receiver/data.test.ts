// DATA: only <CRLF>.<CRLF> ends it; smuggling attempts are refused with nothing queued; a
// client gone mid-DATA leaves nothing behind; a queue that cannot be written answers 451,
// never 250; a shutdown lets a message in DATA finish.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, eventually, message, messageText, queueFiles, queued, runReceiver, session, type Running } from './helpers.js';

describe('end of data and smuggling', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver();
  });
  afterAll(async () => {
    await r?.stop();
  });

  async function transaction(c: Client): Promise<void> {
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
  }

  const SMUGGLED = 'MAIL FROM:<boss@test.jp>\r\nRCPT TO:<bob@test.jp>\r\nDATA\r\nSubject: smuggled\r\n\r\nwire the money\r\n';

  it.each([
    ['<LF>.<LF>', '\n.\n'],
    ['<LF>.<CRLF>', '\n.\r\n'],
    ['<CR>.<CR>', '\r.\r'],
    ['<CRLF>.<LF>', '\r\n.\n'],
    ['<CR>.<CRLF>', '\r.\r\n'],
  ])('%s is refused with 554 5.6.0 and no message of either envelope is queued', async (_n, fake) => {
    const before = await queued(r.workdir);
    const c = await session(r.port);
    await transaction(c);
    c.write(`Subject: first\r\n\r\nfirst${fake}${SMUGGLED}.\r\n`);
    expect(await c.read()).toMatchObject({ code: 554, text: '5.6.0 Bare LF/CR line ending not allowed (SMTP smuggling)' });
    // The session goes on: the next reply is NOOP's, not a smuggled command's.
    expect((await c.cmd('NOOP')).code).toBe(250);
    c.close();
    expect((await queued(r.workdir)).length).toBe(before.length);
    expect((await queueFiles(r.workdir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a dot-stuffed "." line and bare LFs elsewhere are content', async () => {
    const c = await session(r.port);
    await transaction(c);
    c.write('Subject: dots\r\n\r\nline\r\n..\r\n...twice\r\nbare\nlf\r\n.\r\n');
    const end = await c.read();
    expect(end.code).toBe(250);
    c.close();
    const id = /queued as (B\d+)/.exec(end.text)![1];
    expect(await messageText(r.workdir, id)).toMatch(/\r\nline\r\n\.\r\n\.\.twice\r\nbare\nlf\r\n$/);
  });

  it('the final dot split over several TCP segments still ends the message exactly once', async () => {
    const c = await session(r.port);
    await transaction(c);
    for (const piece of ['Subject: split\r\n\r\nbody\r', '\n', '.', '\r', '\nNOOP\r\n']) {
      c.write(piece);
      await new Promise((res) => setTimeout(res, 30));
    }
    expect((await c.read()).code).toBe(250);
    expect((await c.read()).code).toBe(250);
    c.close();
  });

  it('a client that disconnects mid-DATA leaves nothing in the queue', async () => {
    const before = await queued(r.workdir);
    const c = await session(r.port);
    await transaction(c);
    c.write('Subject: cut\r\n\r\n' + 'partial line\r\n'.repeat(5000));
    await new Promise((res) => setTimeout(res, 200));
    c.close();
    await eventually(async () => (await queueFiles(r.workdir)).every((f) => !f.endsWith('.tmp')), 5000, 'temp file removed');
    expect((await queued(r.workdir)).length).toBe(before.length);
    expect(r.trace.join('\n')).toMatch(/not queued: connection lost during DATA/);
  });
});

describe('queue write failure', () => {
  let r: Running;
  beforeAll(async () => {
    r = await runReceiver();
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('answers 451 4.3.0 (never 250) while incoming/tmp is broken, 250 once repaired', async () => {
    const send = async () => {
      const c = await session(r.port);
      expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
      expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
      expect((await c.cmd('DATA')).code).toBe(354);
      c.write(message());
      const end = await c.cmd('.');
      c.close();
      return end;
    };
    expect((await send()).code).toBe(250);
    const tmp = join(r.workdir, 'incoming', 'tmp');
    await rm(tmp, { recursive: true, force: true });
    await writeFile(tmp, 'not a folder');
    expect(await send()).toMatchObject({ code: 451, text: '4.3.0 Requested action aborted: local error in processing' });
    expect((await queued(r.workdir)).length).toBe(1);
    await rm(tmp);
    await mkdir(tmp);
    expect((await send()).code).toBe(250);
    expect((await queued(r.workdir)).length).toBe(2);
  });
});

describe('shutdown', () => {
  it('idle sessions get 421 4.3.2 at once; a message in DATA is finished and answered 250', async () => {
    const r = await runReceiver();
    try {
      const idle = await session(r.port);
      const busy = await session(r.port);
      expect((await busy.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
      expect((await busy.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
      expect((await busy.cmd('DATA')).code).toBe(354);
      busy.write('Subject: late\r\n\r\nfirst half\r\n');
      const closing = r.rx.close();
      expect(await idle.read()).toMatchObject({ code: 421, text: '4.3.2 Service shutting down, try again later' });
      // A new client is not served any more.
      await expect(Client.connect(r.port).then((c) => c.read(2000))).rejects.toThrow();
      busy.write('second half\r\n.\r\n');
      expect((await busy.read()).code).toBe(250);
      expect((await busy.read()).code).toBe(421);
      await closing;
      expect((await queued(r.workdir)).length).toBe(1);
    } finally {
      await r.stop();
    }
  });
});
