import { describe, expect, it } from 'vitest';
import { lookupRoute, parseSmarthost } from '../../../services/policy/route.js';
import { makeSnapshot } from './snapshot.js';

const GATEWAY = `
' domain, next hop, port
test.jp, 192.168.0.10, 25
Test.JP, 192.168.0.11
*.branch.test.jp, mx.branch.test.jp, 20025
*.test.jp, 192.168.0.99
*.a.branch.test.jp, 10.1.1.1, 2525
*.branch.test.jp, backup.branch.test.jp
v6.jp, 2001:db8::25, 25
`;

describe('lookupRoute', () => {
  const snap = makeSnapshot({ gateway: GATEWAY });
  it('exact lines, all of them, in file order', () => {
    const r = lookupRoute(snap, 'TEST.jp.');
    expect(r.route).toEqual({
      kind: 'gateway',
      hops: [
        { host: '192.168.0.10', port: 25, rule: { file: 'gateway.dat', line: 2 } },
        { host: '192.168.0.11', port: 25, rule: { file: 'gateway.dat', line: 3 } },
      ],
    });
    expect(r.trace).toEqual(['route test.jp -> gateway.dat:2 192.168.0.10:25, gateway.dat:3 192.168.0.11:25']);
  });
  it('*. lines match subdomains only, most specific suffix wins, file order within it', () => {
    expect(lookupRoute(snap, 'x.branch.test.jp').trace).toEqual([
      'route x.branch.test.jp -> gateway.dat:4 mx.branch.test.jp:20025, gateway.dat:7 backup.branch.test.jp:25',
    ]);
    expect(lookupRoute(snap, 'deep.x.a.branch.test.jp').trace).toEqual(['route deep.x.a.branch.test.jp -> gateway.dat:6 10.1.1.1:2525']);
    expect(lookupRoute(snap, 'sales.test.jp').trace).toEqual(['route sales.test.jp -> gateway.dat:5 192.168.0.99:25']);
    // `*.branch.test.jp` does not match branch.test.jp itself; `*.test.jp` does
    expect(lookupRoute(snap, 'branch.test.jp').trace).toEqual(['route branch.test.jp -> gateway.dat:5 192.168.0.99:25']);
  });
  it('an IPv6 next hop is shown in brackets', () => {
    expect(lookupRoute(snap, 'v6.jp').trace).toEqual(['route v6.jp -> gateway.dat:8 [2001:db8::25]:25']);
  });
  it('no line: the smarthost, with its port or delivery.outboundPort', () => {
    const withPort = makeSnapshot({ gateway: GATEWAY, settings: { delivery: { smarthost: 'relay.isp.jp:587' } } });
    expect(lookupRoute(withPort, 'ext.jp').route).toEqual({ kind: 'smarthost', host: 'relay.isp.jp', port: 587 });
    const noPort = makeSnapshot({ settings: { delivery: { smarthost: 'relay.isp.jp', outboundPort: 2525 } } });
    const r = lookupRoute(noPort, 'ext.jp');
    expect(r.route).toEqual({ kind: 'smarthost', host: 'relay.isp.jp', port: 2525 });
    expect(r.trace[0]).toBe('route ext.jp -> smarthost relay.isp.jp:2525 (settings.json delivery.smarthost; no gateway.dat line)');
    // gateway.dat still comes first
    expect(lookupRoute(withPort, 'test.jp').route.kind).toBe('gateway');
  });
  it('no line and no smarthost: DNS MX', () => {
    const r = lookupRoute(snap, 'Ext.JP');
    expect(r.route).toEqual({ kind: 'mx', domain: 'ext.jp' });
    expect(r.trace).toEqual(['route ext.jp -> DNS MX of ext.jp (no gateway.dat line, no smarthost)']);
  });
});

describe('parseSmarthost', () => {
  it.each([
    ['relay.jp', { host: 'relay.jp', port: 25 }],
    ['relay.jp:587', { host: 'relay.jp', port: 587 }],
    ['[2001:db8::1]:465', { host: '2001:db8::1', port: 465 }],
    ['[2001:db8::1]', { host: '2001:db8::1', port: 25 }],
    ['2001:db8::1', { host: '2001:db8::1', port: 25 }],
    ['  ', null],
  ])('%j', (text, want) => {
    expect(parseSmarthost(text, 25)).toEqual(want);
  });
});
