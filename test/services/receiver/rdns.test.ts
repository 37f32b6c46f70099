// Forward-confirmed reverse DNS against a tiny UDP DNS responder on loopback (RFC 1035 4.1
// wire format, PTR and A only): a PTR counts only when its name resolves back to the client.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { A, PTR, startDns } from './dns-responder.js';
import { forwardConfirmedName, isLoopback } from '../../../services/receiver/rdns.js';

let dns: { server: string; close(): Promise<void> };
beforeAll(async () => {
  dns = await startDns({
    '1.2.0.192.in-addr.arpa': [{ type: PTR, data: 'Mail.Ext.JP' }],
    'mail.ext.jp': [{ type: A, data: '192.0.2.1' }],
    '2.2.0.192.in-addr.arpa': [{ type: PTR, data: 'trusted.test.jp' }],
    'trusted.test.jp': [{ type: A, data: '192.0.2.99' }],
    '4.2.0.192.in-addr.arpa': 'silent',
  });
});
afterAll(async () => {
  await dns?.close();
});

describe('forward-confirmed reverse DNS', () => {
  const look = (ip: string) => forwardConfirmedName(ip, { servers: [dns.server], timeoutMs: 500 });

  it('takes a PTR name that resolves back to the client, lower-cased', async () => {
    expect(await look('192.0.2.1')).toMatchObject({ hostname: 'mail.ext.jp', note: expect.stringContaining('confirmed') });
  });

  it('ignores a PTR name that points elsewhere (anyone can publish any PTR for their own IPs)', async () => {
    const r = await look('192.0.2.2');
    expect(r.hostname).toBe('');
    expect(r.note).toMatch(/not confirmed/);
  });

  it('has no name without a PTR, and gives up after the timeout', async () => {
    expect((await look('192.0.2.3')).hostname).toBe('');
    const slow = await look('192.0.2.4');
    expect(slow.hostname).toBe('');
    expect(slow.note).toMatch(/timed out|no reverse DNS/);
  });

  it('falls back to the system resolver when dnsServers is unusable, never throws', async () => {
    const r = await forwardConfirmedName('192.0.2.1', { servers: ['not a server'], timeoutMs: 300 });
    expect(r.note).toMatch(/dnsServers \["not a server"\] unusable/);
  });

  it('does not look up loopback clients', async () => {
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && !isLoopback('192.0.2.1')).toBe(true);
    expect(await look('127.0.0.1')).toEqual({ hostname: '', note: 'reverse DNS skipped for loopback' });
  });
});
