import { describe, expect, it } from 'vitest';
import { clfTime, formatAccept, formatReceive, formatSender, localIso, oneLine, senderTime } from '../../../services/logs/format.js';

// Local time by construction: the formats are local (the admin's clock).
const t = new Date(2009, 6, 6, 16, 27, 31, 171);

describe('log line formats (SPEC 10)', () => {
  it('times', () => {
    expect(clfTime(t)).toBe('06/Jul/2009:16:27:31');
    expect(senderTime(t)).toBe('16:27:31:171');
    expect(senderTime(new Date(2009, 0, 1, 1, 2, 3, 4))).toBe('01:02:03:004');
  });

  it('accept: accepted and refused with the reason', () => {
    expect(formatAccept(t, { ip: '192.0.2.1', port: 53211, localPort: 25, accepted: true })).toBe(
      '[06/Jul/2009:16:27:31] 192.0.2.1:53211 -> :25 accepted',
    );
    expect(formatAccept(t, { ip: '192.0.2.1', port: 53211, localPort: 25, accepted: false, reason: '554 5.7.1 (effect.dat:3)' })).toBe(
      '[06/Jul/2009:16:27:31] 192.0.2.1:53211 -> :25 refused 554 5.7.1 (effect.dat:3)',
    );
  });

  it('accept: IPv6 in brackets, IPv4-mapped as IPv4', () => {
    expect(formatAccept(t, { ip: '2001:db8::1', port: 1025, localPort: 20025, accepted: true })).toBe(
      '[06/Jul/2009:16:27:31] [2001:db8::1]:1025 -> :20025 accepted',
    );
    expect(formatAccept(t, { ip: '::ffff:192.0.2.7', port: 1, localPort: 25, accepted: true })).toBe(
      '[06/Jul/2009:16:27:31] 192.0.2.7:1 -> :25 accepted',
    );
  });

  it('receive and sender', () => {
    expect(formatReceive(t, 'a1b2', '<', 'MAIL FROM:<a@b>')).toBe('[06/Jul/2009:16:27:31], a1b2, < MAIL FROM:<a@b>');
    expect(formatReceive(t, 'a1b2', '>', '250 2.1.0 Ok')).toBe('[06/Jul/2009:16:27:31], a1b2, > 250 2.1.0 Ok');
    expect(formatSender(t, 'B0000000186', 'delivered to <x@y>')).toBe('[16:27:31:171] [B0000000186] delivered to <x@y>');
  });

  it('one entry is one line: control characters escaped, very long lines cut', () => {
    expect(oneLine('RCPT TO:<a@b>\r\n[06/Jul/2009:00:00:00], fake, > 250')).toBe('RCPT TO:<a@b>\\r\\n[06/Jul/2009:00:00:00], fake, > 250');
    expect(oneLine('a\x07b\tc')).toBe('a\\x07b\tc');
    const long = oneLine('x'.repeat(5000));
    expect(long.length).toBeLessThan(2100);
    expect(long).toMatch(/\(5000 chars\)$/);
  });

  it('localIso: local wall time with its offset, one token, and the same instant', () => {
    const d = new Date(2009, 6, 6, 16, 27, 31, 171);
    const text = localIso(d);
    expect(text).toMatch(/^2009-07-06T16:27:31[+-]\d\d:\d\d$/);
    expect(new Date(text).getTime()).toBe(d.getTime() - 171);
  });
});
