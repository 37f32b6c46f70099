import { describe, it, expect, afterEach } from 'vitest';
import { MxResolver, lookupHost } from '../../../services/delivery/dns.js';
import { startDns } from './helpers/servers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('MxResolver through delivery.dnsServers (ip:port)', () => {
  it('returns MX hosts by preference and caches them for their TTL', async () => {
    const dns = await startDns({
      'mx.test': [
        { type: 'MX', data: 'b.mx.test', priority: 20, ttl: 60 },
        { type: 'MX', data: 'a.mx.test', priority: 10, ttl: 30 },
      ],
      'a.mx.test': [{ type: 'A', data: '127.0.0.5' }],
    });
    closers.push(dns.close);
    const r = new MxResolver([dns.server], 1000);
    const t = Date.now();
    const a = await r.mx('MX.test', t);
    expect(a).toEqual({ kind: 'mx', hosts: [{ exchange: 'a.mx.test', priority: 10 }, { exchange: 'b.mx.test', priority: 20 }] });
    await r.mx('mx.test', t + 29_000);
    expect(dns.queries.filter((q) => q.type === 15)).toHaveLength(1);
    await r.mx('mx.test', t + 31_000); // the smallest TTL (30 s) has passed
    expect(dns.queries.filter((q) => q.type === 15)).toHaveLength(2);
    expect(await r.addressesOfMx('a.mx.test')).toEqual(['127.0.0.5']);
  });

  it('tells NODATA (implicit MX), NXDOMAIN, null MX and a dead server apart', async () => {
    const dns = await startDns({ 'nomx.test': [{ type: 'A', data: '127.0.0.9' }], 'null.test': [{ type: 'MX', data: '', priority: 0 }] });
    closers.push(dns.close);
    const r = new MxResolver([dns.server], 500);
    expect(await r.mx('nomx.test')).toEqual({ kind: 'implicit', hosts: [{ exchange: 'nomx.test', priority: 0 }] });
    expect((await r.mx('nowhere.test')).kind).toBe('nxdomain');
    expect((await r.mx('null.test')).kind).toBe('null-mx');
    const dead = await startDns({});
    const server = dead.server;
    await dead.close();
    expect((await new MxResolver([server], 300).mx('x.test')).kind).toBe('temp');
  });

  it('resolves host names through the hosts file (dns.lookup)', async () => {
    expect(await lookupHost('localhost')).toContain('127.0.0.1');
    expect(await lookupHost('192.0.2.1')).toEqual(['192.0.2.1']);
  });
});
