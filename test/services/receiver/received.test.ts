import { describe, it, expect } from 'vitest';
import { receivedHeader, rfc5322Date, withProtocol } from '../../../services/receiver/received.js';

describe('Received header', () => {
  const base = {
    helo: 'client.ext.jp',
    clientHostname: 'mail.ext.jp',
    clientIp: '192.0.2.10',
    hostname: 'gw.test.jp',
    esmtp: true,
    tls: false,
    authenticated: false,
    id: 'B0000000123',
    date: new Date(2026, 10, 23, 18, 5, 9),
  };

  it('has the SPEC 7 shape on one line with CRLF', () => {
    const h = receivedHeader(base);
    expect(h).toMatch(
      /^Received: from client\.ext\.jp \(mail\.ext\.jp \[192\.0\.2\.10\]\) by gw\.test\.jp \(Sekisho\) with ESMTP id B0000000123; Mon, 23 Nov 2026 18:05:09 [+-]\d{4}\r\n$/,
    );
  });

  it('says unknown without a confirmed name, IPv6: for IPv6, and RFC 3848 protocol names', () => {
    expect(receivedHeader({ ...base, clientHostname: '', clientIp: '2001:db8::1' })).toContain('(unknown [IPv6:2001:db8::1])');
    expect(withProtocol({ esmtp: true, tls: true, authenticated: true })).toBe('ESMTPSA');
    expect(withProtocol({ esmtp: true, tls: true, authenticated: false })).toBe('ESMTPS');
    expect(withProtocol({ esmtp: true, tls: false, authenticated: true })).toBe('ESMTPA');
    expect(withProtocol({ esmtp: false, tls: false, authenticated: false })).toBe('SMTP');
  });

  it('cannot be broken by the HELO text', () => {
    const h = receivedHeader({ ...base, helo: 'evil) (fake [1.2.3.4]) by x\u00e9' });
    expect(h.split('\r\n').length).toBe(2);
    expect(h).not.toContain('(fake');
    expect(h).toMatch(/^Received: from evil\?/);
  });

  it('writes an IDN hostname in its ASCII form', () => {
    expect(receivedHeader({ ...base, hostname: '関所.jp' })).toContain(' by xn--8ous75i.jp (Sekisho) ');
  });

  it('formats RFC 5322 dates with the local offset', () => {
    const d = new Date(2026, 0, 5, 7, 8, 9);
    expect(rfc5322Date(d)).toMatch(/^Mon, 5 Jan 2026 07:08:09 [+-]\d{4}$/);
  });
});
