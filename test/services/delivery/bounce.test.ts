import { describe, it, expect } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { writeBounce, statusOf, ORIGINAL_LIMIT_BYTES, type BounceInput } from '../../../services/delivery/bounce.js';
import type { ControlRecord } from '../../../services/queue/types.js';

const original: ControlRecord = {
  format: 'sekisho-queue/1',
  id: 'B0000000186',
  from: 'taro@test.jp',
  recipients: [],
  receivedAt: '2026-11-23T00:00:00.000Z',
  nextAttemptAt: '2026-11-23T00:00:00.000Z',
  retries: 1,
  size: 0,
  client: { ip: '192.168.0.5', helo: 'pc1', authUser: '' },
  origin: 'message',
};

async function build(format: 'rfc3464' | 'classic', body: string | Buffer) {
  const dir = await mkdtemp(join(tmpdir(), 'sekisho-bounce-'));
  const msgPath = join(dir, 'B0000000186.MSG');
  await writeFile(msgPath, body);
  const size = Buffer.byteLength(body);
  const input: BounceInput = {
    format,
    reportingMta: 'gw.test.jp',
    postmaster: 'postmaster@test.jp',
    to: 'taro@test.jp',
    original: { ...original, size },
    now: new Date('2026-11-23T01:00:00Z'),
    failed: [
      {
        state: { address: 'hanako@example.jp', original: 'sales@example.jp', kind: 'remote', status: 'failed', attempts: 2, refusals: 2, lastReply: '550 5.1.1 <hanako@example.jp>: User unknown', lastHost: 'mx.example.jp[192.0.2.1]:25', lastAttemptAt: '2026-11-23T01:00:00.000Z' },
        note: 'permanently refused',
      },
      {
        state: { address: 'jiro@example.jp', original: 'jiro@example.jp', kind: 'remote', status: 'failed', attempts: 9, refusals: 0, lastReply: '451 4.3.0 try again later', lastHost: 'mx.example.jp[192.0.2.1]:25', lastAttemptAt: '2026-11-23T01:00:00.000Z' },
        note: 'temporary failures for longer than the retry period',
      },
    ],
  };
  const chunks: Buffer[] = [];
  await writeBounce(async (c) => void chunks.push(Buffer.from(c)), input, msgPath);
  return Buffer.concat(chunks);
}

/** The top-level MIME parts (RFC 2046 5.1.1): their Content-Type and body. */
function topParts(raw: Buffer): Array<{ type: string; body: string }> {
  const text = raw.toString('utf8');
  const boundary = /boundary="([^"]+)"/.exec(text)![1];
  const pieces = text.split(`\r\n--${boundary}`);
  return pieces.slice(1, -1).map((p) => {
    const sep = p.indexOf('\r\n\r\n');
    const head = p.slice(0, sep);
    return { type: /Content-Type: ([^;\r\n]+)/i.exec(head)![1], body: p.slice(sep + 4) };
  });
}

const originalText = 'Received: from pc1\r\nFrom: taro@test.jp\r\nTo: hanako@example.jp\r\nSubject: =?UTF-8?B?5pel5pys6Kqe?=\r\n\r\nこんにちは\r\n';

describe('bounces (SPEC 8, RFC 3464, RFC 6522)', () => {
  it('rfc3464: multipart/report with text, message/delivery-status and message/rfc822', async () => {
    const raw = await build('rfc3464', originalText);
    const text = raw.toString('utf8');
    expect(text).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status;/m);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe('Delivery failure');
    expect(mail.from?.value[0].address).toBe('postmaster@test.jp');
    expect(mail.text).toContain('> 550 5.1.1 <hanako@example.jp>: User unknown');
    expect(mail.text).toContain('<jiro@example.jp>');
    const parts = topParts(raw);
    expect(parts.map((p) => p.type)).toEqual(['text/plain', 'message/delivery-status', 'message/rfc822']);
    const dsn = parts[1].body;
    expect(dsn).toContain('Reporting-MTA: dns; gw.test.jp');
    expect(dsn).toMatch(/Arrival-Date: \w{3}, \d+ \w{3} 2026/);
    expect(dsn).toContain('Original-Recipient: rfc822; sales@example.jp');
    expect(dsn).toContain('Final-Recipient: rfc822; hanako@example.jp');
    expect(dsn).toContain('Action: failed');
    expect(dsn).toContain('Status: 5.1.1');
    expect(dsn).toContain('Status: 5.3.0'); // the 4.3.0 that ran out of time, now permanent
    expect(dsn).toContain('Remote-MTA: dns; mx.example.jp');
    expect(dsn).toContain('Diagnostic-Code: smtp; 550 5.1.1 <hanako@example.jp>: User unknown');
    expect(dsn).toContain('Last-Attempt-Date: ');
    // The original comes back byte for byte.
    const rfc822 = mail.attachments.find((a) => a.contentType === 'message/rfc822')!;
    expect(rfc822.content.toString('utf8')).toBe(originalText);
    expect(parts[2].body).toBe(originalText);
    const inner = await simpleParser(rfc822.content);
    expect(inner.subject).toBe('日本語');
  });

  it('classic: multipart/mixed with text and message/rfc822, no delivery-status', async () => {
    const raw = await build('classic', originalText);
    expect(raw.toString()).toMatch(/^Content-Type: multipart\/mixed;/m);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe('Delivery failure');
    expect(mail.text).toContain('> 451 4.3.0 try again later');
    expect(mail.attachments.map((a) => a.contentType)).toEqual(['message/rfc822']);
    expect(topParts(raw).map((p) => p.type)).toEqual(['text/plain', 'message/rfc822']);
  });

  it('returns only the header of an original larger than the limit', async () => {
    const big = Buffer.concat([Buffer.from('From: taro@test.jp\r\nSubject: big\r\n\r\n'), Buffer.alloc(ORIGINAL_LIMIT_BYTES + 10, 'a')]);
    const raw = await build('rfc3464', big);
    expect(raw.length).toBeLessThan(64 * 1024);
    const mail = await simpleParser(raw);
    expect(mail.text).toContain('only its header is returned');
    const inner = mail.attachments.find((a) => a.contentType === 'message/rfc822')!;
    expect(inner.content.toString()).toBe('From: taro@test.jp\r\nSubject: big\r\n\r\n');
  });

  it('derives a permanent status from the last reply', () => {
    expect(statusOf('550 5.7.1 relay denied')).toBe('5.7.1');
    expect(statusOf('452 4.2.2 mailbox full')).toBe('5.2.2');
    expect(statusOf('550 no')).toBe('5.0.0');
    expect(statusOf('ETIMEDOUT Timeout')).toBe('5.4.7');
  });
});
