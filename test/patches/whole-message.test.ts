// The nodemailer patch "a message given whole in one write" (patches/nodemailer+*.patch): a
// Buffer or string message is no longer piped to the socket chunk by chunk; the data stream's
// output is collected and written once, with its terminating dot. That must not change a byte
// on the wire nor what SMTPConnection reports: each message below goes once whole and once as a
// stream (the unchanged pipe path) to a raw server that records every byte it reads, and the two
// transcripts and send results must be identical. The one-write property itself is only
// visible at the system call (test/services/delivery/smtp-client.test.ts, under strace).
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type SMTPConnectionClass from 'nodemailer/lib/smtp-connection';
import { startScripted } from '../services/delivery/helpers/scripted.js';

const require = createRequire(import.meta.url);
type Connection = typeof SMTPConnectionClass;
const esmPath = require.resolve('nodemailer/lib/smtp-connection').replace(/[\\/]cjs[\\/]/, (m) => m.replace('cjs', 'esm'));
const builds: Array<[string, string, Connection]> = [
  ['esm', esmPath, (await import('nodemailer/lib/smtp-connection')).default as unknown as Connection],
  ['cjs', require.resolve('nodemailer/lib/smtp-connection'), require('nodemailer/lib/smtp-connection') as Connection],
];

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const line = (c: string) => c.repeat(76) + '\r\n';
// What the data stream rewrites (RFC 5321 4.5.2 dot-stuffing; bare CR and LF made CRLF; the
// terminator after a message that does not end in CRLF) and what it leaves alone.
const MESSAGES: Array<[string, Buffer | string]> = [
  ['ordinary CRLF text', Buffer.from('Subject: hi\r\n\r\n' + line('x').repeat(40))],
  ['a dot starting lines, the first included', Buffer.from('.first\r\nSubject: d\r\n\r\n..two\r\n.\r\nend\r\n')],
  ['no line end at the end', Buffer.from('Subject: n\r\n\r\nlast line without CRLF')],
  ['a bare CR at the end', Buffer.from('Subject: r\r\n\r\nends in CR\r')],
  ['a bare LF at the end', Buffer.from('Subject: l\r\n\r\nends in LF\n')],
  ['bare LF and CR lines, "\\r.\\r" (smuggling)', Buffer.from('Subject: b\n\nbare\nlf\rcr\r.\rsmuggle\r\n.\n.\r\n')],
  ['empty', Buffer.alloc(0)],
  ['a string', 'Subject: s\r\n\r\nstring body ä\r\n.dot\r\n'],
  // Above the data stream's high-water mark (16 KiB): its write waits for the reader.
  ['300 KB with dots', Buffer.from('Subject: big\r\n\r\n' + (line('y') + '.dotted\r\n').repeat(3500) + '.\r\n')],
];

interface Sent {
  transcript: string;
  messages: string[];
  info: { accepted: string[]; rejected: string[]; messageSize: number; response: string };
}

/** One connection, two transactions of the same message (so reuse after a whole send is covered), QUIT. */
async function sendTwice(SMTPConnection: Connection, message: () => Buffer | string | Readable): Promise<Sent> {
  const s = await startScripted({ pipelining: true });
  closers.push(() => s.close());
  const conn = new SMTPConnection({ host: '127.0.0.1', port: s.port, name: 'gw.test.jp', socketTimeout: 5000, connectionTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  let info: Sent['info'] | undefined;
  for (let i = 0; i < 2; i++) {
    info = await new Promise<Sent['info']>((resolve, reject) =>
      conn.send({ from: 'a@test.jp', to: ['b@x.jp', 'c@x.jp'] }, message() as Buffer, (err, res) => (err ? reject(err) : resolve(res as unknown as Sent['info']))),
    );
  }
  const closed = new Promise((r) => conn.once('end', r));
  conn.quit();
  await closed;
  return { transcript: s.reads.join(''), messages: s.messages, info: info! };
}

describe.each(builds)('nodemailer "whole message in one write" patch, %s build', (_name, path, SMTPConnection) => {
  it('is applied', () => {
    expect(readFileSync(path, 'utf8')).toContain('sekisho patch: a message given whole');
  });

  it.each(MESSAGES)('%s: the same bytes on the wire and the same result as the streamed message', async (_what, message) => {
    const whole = await sendTwice(SMTPConnection, () => message);
    const streamed = await sendTwice(SMTPConnection, () => Readable.from([Buffer.from(message)]));
    expect(whole.transcript).toBe(streamed.transcript);
    expect(whole.messages).toHaveLength(2);
    expect(whole.messages).toEqual(streamed.messages);
    expect(whole.info.accepted).toEqual(['b@x.jp', 'c@x.jp']);
    expect(whole.info.messageSize).toBe(streamed.info.messageSize);
    expect(whole.info.response).toBe(streamed.info.response);
  });
});
