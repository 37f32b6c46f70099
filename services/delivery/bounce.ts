// Bounce messages (SPEC 8). `rfc3464`: multipart/report; report-type=delivery-status
// (RFC 6522) with a human-readable text part, a message/delivery-status part (RFC 3464 2.2,
// 2.3) and the original as message/rfc822. `classic`: multipart/mixed with the text part and
// the original. The original is streamed from the .MSG file; one larger than
// ORIGINAL_LIMIT_BYTES is returned as its header section only (a valid message/rfc822 with an
// empty body, as RFC 3462's text/rfc822-headers intends), and the text part says so.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { ControlRecord, RecipientState } from '../queue/types.js';

/** Originals up to this size are returned whole (1 MiB). */
export const ORIGINAL_LIMIT_BYTES = 1024 * 1024;
/** How far into a large original we look for the end of its header section. */
const HEADER_SCAN_BYTES = 256 * 1024;

export interface FailedRecipient {
  state: RecipientState;
  /** Why: "permanently refused", "no answer for longer than …". */
  note: string;
}

export interface BounceInput {
  format: 'rfc3464' | 'classic';
  /** Our host name (settings.hostname), the Reporting-MTA. */
  reportingMta: string;
  /** delivery.postmaster: the From of the bounce. */
  postmaster: string;
  /** Who gets the bounce: the original envelope sender (or the postmaster for a double bounce). */
  to: string;
  original: ControlRecord;
  failed: FailedRecipient[];
  now: Date;
  /** Double bounce: a bounce that itself could not be delivered, reported to the postmaster. */
  double?: boolean;
}

/** RFC 5322 3.3 date-time in local time with numeric zone: `Mon, 23 Nov 2026 18:00:00 +0900`. */
export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const zone = `${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${days[d.getDay()]}, ${d.getDate()} ${months[d.getMonth()]} ${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zone}`;
}

/** The enhanced status (RFC 3463) for a failed recipient: the one in the reply, a transient
 * class turned permanent (the message did fail), or one derived from the basic code. */
export function statusOf(reply: string | undefined): string {
  const m = /^\d{3}[ -]([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(reply ?? '');
  if (m) return `5.${m[2]}.${m[3]}`;
  const code = /^(\d)\d\d\b/.exec(reply ?? '');
  if (code?.[1] === '5') return '5.0.0';
  // A 4xx or no answer until the retry period ran out: "delivery time expired" (RFC 3463 3.5).
  return '5.4.7';
}

/** Does the last reply come from a remote SMTP server (vs. our own text)? */
function isSmtpReply(reply: string | undefined): boolean {
  return /^[245]\d\d[ -]/.test(reply ?? '') || /^[245]\d\d$/.test(reply ?? '');
}

function hostOf(lastHost: string | undefined): string {
  if (!lastHost) return '';
  return lastHost.replace(/\[.*$/, '').replace(/:\d+$/, '');
}

function crlf(lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join('');
}

/** Header fields must not carry CR/LF taken from addresses or replies. */
function clean(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

export function humanText(input: BounceInput, headersOnly: boolean): string {
  const lines: string[] = [
    `This is the mail system at host ${input.reportingMta}.`,
    '',
    input.double
      ? 'A delivery failure report could not be delivered to its recipient.'
      : "I'm sorry to have to inform you that your message could not",
    ...(input.double ? [] : ['be delivered to one or more recipients. It is attached below.']),
    '',
    `Queue ID: ${input.original.id}`,
    '',
  ];
  for (const f of input.failed) {
    const s = f.state;
    const via = s.lastHost ? ` (host ${s.lastHost})` : '';
    lines.push(`<${clean(s.address)}>${via}: ${f.note}`);
    for (const l of (s.lastReply ?? 'no reply').split(/\r?\n/)) lines.push(`> ${l}`);
    lines.push('');
  }
  if (headersOnly) {
    lines.push(
      `The original message was ${input.original.size} bytes; only its header is returned.`,
      '',
    );
  }
  return crlf(lines);
}

export function deliveryStatus(input: BounceInput): string {
  const o = input.original;
  const fields: string[] = [`Reporting-MTA: dns; ${input.reportingMta}`, `X-Sekisho-Queue-ID: ${o.id}`];
  if (o.receivedAt) fields.push(`Arrival-Date: ${rfc5322Date(new Date(o.receivedAt))}`);
  fields.push('');
  for (const f of input.failed) {
    const s = f.state;
    if (s.original && s.original.toLowerCase() !== s.address.toLowerCase()) {
      fields.push(`Original-Recipient: rfc822; ${clean(s.original)}`);
    }
    fields.push(`Final-Recipient: rfc822; ${clean(s.address)}`, 'Action: failed', `Status: ${statusOf(s.lastReply)}`);
    const host = hostOf(s.lastHost);
    if (host) fields.push(`Remote-MTA: dns; ${host}`);
    // `smtp;` only for what a remote server said (RFC 3464 2.3.6); our own reasons (loop, DNS,
    // administrator) are marked as ours.
    if (host && isSmtpReply(s.lastReply)) fields.push(`Diagnostic-Code: smtp; ${clean(s.lastReply ?? '')}`);
    else if (s.lastReply) fields.push(`Diagnostic-Code: X-Sekisho; ${clean(s.lastReply)}`);
    if (s.lastAttemptAt) fields.push(`Last-Attempt-Date: ${rfc5322Date(new Date(s.lastAttemptAt))}`);
    fields.push('');
  }
  return crlf(fields);
}

export interface BounceParts {
  /** Everything before the original message's bytes. */
  head: string;
  /** Everything after them. */
  tail: string;
  /** Bytes of the .MSG file to copy (all, or its header section). */
  copyBytes: number;
  headersOnly: boolean;
}

/** Find how many bytes of the original to attach. */
export async function originalExtent(msgPath: string, size: number): Promise<{ bytes: number; headersOnly: boolean }> {
  if (size <= ORIGINAL_LIMIT_BYTES) return { bytes: size, headersOnly: false };
  const fh = await open(msgPath, 'r');
  try {
    const buf = Buffer.alloc(Math.min(HEADER_SCAN_BYTES, size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('latin1');
    const crlfEnd = text.indexOf('\r\n\r\n');
    const lfEnd = text.indexOf('\n\n');
    let end = bytesRead;
    if (crlfEnd >= 0) end = crlfEnd + 4;
    else if (lfEnd >= 0) end = lfEnd + 2;
    return { bytes: end, headersOnly: true };
  } finally {
    await fh.close();
  }
}

export function bounceParts(input: BounceInput, copyBytes: number, headersOnly: boolean, boundary = `=_sekisho_${randomBytes(9).toString('hex')}`): BounceParts {
  const msgId = `<${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${input.reportingMta}>`;
  const contentType =
    input.format === 'rfc3464'
      ? `multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`
      : `multipart/mixed; boundary="${boundary}"`;
  const head: string[] = [
    `From: Mail Delivery System <${clean(input.postmaster)}>`,
    `To: <${clean(input.to)}>`,
    'Subject: Delivery failure',
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: ${msgId}`,
    // RFC 3834 5: an automatic reply; autoresponders must not answer it.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'Content-Description: Notification',
    '',
  ];
  let text = crlf(head) + humanText(input, headersOnly);
  if (input.format === 'rfc3464') {
    text += crlf([
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      'Content-Description: Delivery report',
      '',
    ]);
    text += deliveryStatus(input);
  }
  text += crlf([
    `--${boundary}`,
    'Content-Type: message/rfc822',
    // RFC 2046 5.2.1: message/rfc822 may only be 7bit, 8bit or binary; 8bit covers both.
    'Content-Transfer-Encoding: 8bit',
    `Content-Description: ${headersOnly ? 'Header of the undelivered message' : 'Undelivered message'}`,
    '',
  ]);
  const tail = `\r\n--${boundary}--\r\n`;
  return { head: text, tail, copyBytes, headersOnly };
}

/** Write the whole bounce through `write` (QueueWriter's PendingMessage.write), streaming the
 * original from disk in chunks so a large message is never held in memory. */
export async function writeBounce(
  write: (chunk: Buffer) => Promise<void>,
  input: BounceInput,
  msgPath: string,
): Promise<void> {
  const { bytes, headersOnly } = await originalExtent(msgPath, input.original.size);
  const parts = bounceParts(input, bytes, headersOnly);
  await write(Buffer.from(parts.head, 'utf8'));
  if (bytes > 0) {
    let last = -1;
    for await (const chunk of createReadStream(msgPath, { start: 0, end: bytes - 1, highWaterMark: 64 * 1024 })) {
      const b = chunk as Buffer;
      if (b.length) last = b[b.length - 1];
      await write(b);
    }
    // The boundary must start on a line of its own (RFC 2046 5.1.1).
    if (last !== 0x0a) await write(Buffer.from('\r\n'));
  }
  await write(Buffer.from(parts.tail, 'utf8'));
}
