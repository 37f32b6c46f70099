// DNS blocklists (RFC 5782) against a loopback DNS responder.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { dnsblCheck, dnsblQueryName, dnsblReply, isPrivateAddress } from '../../../services/receiver/dnsbl.js';
import { formatReply } from '../../../services/receiver/replies.js';
import { A, startDns } from './dns-responder.js';

let dns: { server: string; close(): Promise<void> };
beforeAll(async () => {
  dns = await startDns({
    '1.2.0.192.bl.test': [{ type: A, data: '127.0.0.2' }],
    '1.2.0.192.other.test': [{ type: A, data: '127.0.0.4' }],
    '3.2.0.192.bl.test': [{ type: A, data: '127.255.255.254' }],
    '4.2.0.192.bl.test': 'silent',
  });
});
afterAll(async () => {
  await dns?.close();
});

describe('DNSBL', () => {
  const check = (ip: string, zones = ['bl.test']) => dnsblCheck(ip, zones, { servers: [dns.server], timeoutMs: 400 });

  it('builds RFC 5782 query names for IPv4 and IPv6', () => {
    expect(dnsblQueryName('192.0.2.1', 'bl.test')).toBe('1.2.0.192.bl.test');
    expect(dnsblQueryName('2001:db8::1', 'bl.test.')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.bl.test`);
  });

  it('refuses a listed client naming the zone', async () => {
    const r = await check('192.0.2.1', ['bl.test', 'other.test']);
    expect(r.listed).toEqual({ zone: 'bl.test', answer: '127.0.0.2' });
    expect(formatReply(dnsblReply('192.0.2.1', 'bl.test'))).toBe('554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.test');
  });

  it('passes an unlisted client, a refused query (127.255.255.x) and a zone that does not answer', async () => {
    expect((await check('192.0.2.2')).listed).toBeNull();
    const refused = await check('192.0.2.3');
    expect(refused.listed).toBeNull();
    expect(refused.notes[0]).toMatch(/not a listing/);
    const silent = await check('192.0.2.4');
    expect(silent.listed).toBeNull();
    expect(silent.notes[0]).toMatch(/not blocking/);
  });

  it('never looks up private addresses', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '::1', 'fd00::1', 'fe80::1']) expect(isPrivateAddress(ip)).toBe(true);
    for (const ip of ['192.0.2.1', '172.32.0.1', '2001:db8::1']) expect(isPrivateAddress(ip)).toBe(false);
  });
});
