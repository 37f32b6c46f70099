import { describe, expect, it } from 'vitest';
import { configWarnings } from '../../../services/policy/warnings.js';
import { makeSnapshot } from './snapshot.js';

const codes = (ds: ReturnType<typeof configWarnings>) => ds.map((d) => `${d.code} ${d.file}:${d.line}`);

describe('configWarnings', () => {
  it('a clean configuration has none', () => {
    const snap = makeSnapshot({
      domains: 'test.jp\n',
      // trusted hosts above #<>, so their bounces are trusted too (effect.null-sender-first)
      effect: '192.168.0.5 true\n2001:db8::5/128 true\n#<> default\n#blank false\n192.168.0.0/24 default\n',
      aliases: 'info@test.jp -> info@test.jp\npostmaster@test.jp -> admin@test.jp\n',
      gateway: 'test.jp, 192.168.0.10, 25\n',
    });
    expect(configWarnings(snap)).toEqual([]);
  });

  it('domains.no-postmaster: a local domain where postmaster would be User unknown', () => {
    const snap = makeSnapshot({
      domains: 'a.jp\nb.jp\nc.jp\n',
      aliases: 'Postmaster@A.jp -> admin@a.jp\n*@b.jp -> *@b.jp\n',
    });
    expect(codes(configWarnings(snap)).filter((c) => c.startsWith('domains.'))).toEqual(['domains.no-postmaster domains.dat:3']);
    const withAccount = makeSnapshot({ domains: 'a.jp\nc.jp\n', accounts: { postmaster: {} } });
    expect(configWarnings(withAccount)).toEqual([]);
  });

  it('alias.wildcard: every *@domain alias (mode A)', () => {
    const snap = makeSnapshot({ aliases: 'a@test.jp -> a@test.jp\n*@test.jp -> *@test.jp\n*@b.jp -> *@c.jp\n' });
    expect(codes(configWarnings(snap))).toEqual(['alias.wildcard aliases.dat:2', 'alias.wildcard aliases.dat:3']);
    expect(configWarnings(snap)[0].severity).toBe('warning');
  });

  it('effect.dangerous-true: true or implicit wider than one host', () => {
    const snap = makeSnapshot({
      effect: `
192.168.0.5
192.168.0.5/32 true
192.168.*.* true
192.168.0.0/31
2001:db8::/64 true
abc.co.jp true
*@test.jp
boss@test.jp true
#<> true
#blank
*.*.*.* default
10.0.0.0/8 norelay,2
`,
    });
    expect(codes(configWarnings(snap))).toEqual([
      'effect.dangerous-true effect.dat:3',
      'effect.dangerous-true effect.dat:4',
      'effect.dangerous-true effect.dat:5',
      'effect.dangerous-true effect.dat:6',
      'effect.dangerous-true effect.dat:7',
      'effect.dangerous-true effect.dat:8',
      'effect.dangerous-true effect.dat:9',
      'effect.dangerous-true effect.dat:10',
    ]);
    expect(configWarnings(snap)[1].message).toContain('"192.168.0.0/31" with no action (= true)');
  });

  it('effect.dead-after-only: each line after the first only (a wide only is dangerous too)', () => {
    const snap = makeSnapshot({ effect: '#<> default\n192.168.0.0/16 only\n10.0.0.1 false\n#blank false\n192.168.1.1 only\n' });
    expect(codes(configWarnings(snap))).toEqual([
      'effect.dangerous-true effect.dat:2',
      'effect.null-sender-first effect.dat:2',
      'effect.dead-after-only effect.dat:3',
      'effect.dead-after-only effect.dat:4',
      'effect.dead-after-only effect.dat:5',
    ]);
    expect(configWarnings(snap)[2].message).toContain('effect.dat:2');
  });

  it('effect.null-sender-first: a trusted host below a #<> line that does not trust', () => {
    const snap = makeSnapshot({ effect: '192.168.0.9 true\n#<> default\n#blank false\n192.168.0.10 true\nmx.test.jp true\n10.0.0.1 default\n' });
    expect(codes(configWarnings(snap))).toEqual([
      'effect.null-sender-first effect.dat:4',
      'effect.dangerous-true effect.dat:5',
      'effect.null-sender-first effect.dat:5',
    ]);
    expect(configWarnings(snap)[0].message).toContain('effect.dat:2 "#<> default"');
    // A trusted host above the #<> line is fine, and so is a #<> line that itself trusts.
    expect(codes(configWarnings(makeSnapshot({ effect: '192.168.0.10 true\n#<> default\n' })))).toEqual([]);
    expect(codes(configWarnings(makeSnapshot({ effect: '#<> true\n192.168.0.10 true\n' })))).not.toContain('effect.null-sender-first effect.dat:2');
    // Only the first #<> line decides: a later non-trusting one shadows nothing.
    expect(codes(configWarnings(makeSnapshot({ effect: '#<> true\n#<> false\n192.168.0.10 true\n' }))).filter((c) => c.startsWith('effect.null-sender-first'))).toEqual([]);
    // An `only` host below #<> is caught too (its bounces get default).
    expect(codes(configWarnings(makeSnapshot({ effect: '#<> default\n192.168.0.10 only\n' })))).toEqual(['effect.null-sender-first effect.dat:2']);
  });

  it('gateway.self-loop: a hop that is this gateway on a receiver port', () => {
    const snap = makeSnapshot({
      settings: { hostname: 'gw.test.jp', receiver: { ports: [25, 20025] } },
      gateway: `
a.jp, GW.test.jp
b.jp, 127.0.0.2, 25
c.jp, localhost, 20025
d.jp, ::1, 25
e.jp, 192.168.0.2, 25
f.jp, 127.0.0.1, 2525
g.jp, 192.168.0.10, 25
h.jp, ::ffff:127.0.0.1, 25
`,
    });
    expect(codes(configWarnings(snap, { ownAddresses: ['192.168.0.2', 'fe80::1'] }))).toEqual([
      'gateway.self-loop gateway.dat:1',
      'gateway.self-loop gateway.dat:2',
      'gateway.self-loop gateway.dat:3',
      'gateway.self-loop gateway.dat:4',
      'gateway.self-loop gateway.dat:5',
      'gateway.self-loop gateway.dat:8',
    ]);
    // without ownAddresses the LAN address is not known to be this box
    expect(codes(configWarnings(snap))).not.toContain('gateway.self-loop gateway.dat:5');
  });

  it('settings.smarthost-pingpong: the smarthost is also a gateway.dat next hop', () => {
    const ping = makeSnapshot({ gateway: 'test.jp, mail.test.jp, 25\n', settings: { delivery: { smarthost: 'MAIL.test.jp:587' } } });
    const ds = configWarnings(ping);
    expect(codes(ds)).toEqual(['settings.smarthost-pingpong settings.json:0']);
    expect(ds[0].message).toContain('gateway.dat:1');
    const fine = makeSnapshot({ gateway: 'test.jp, mail.test.jp, 25\n', settings: { delivery: { smarthost: 'relay.isp.jp' } } });
    expect(configWarnings(fine)).toEqual([]);
  });

  it('settings.smarthost-self-loop: the smarthost is this gateway', () => {
    const snap = makeSnapshot({ settings: { hostname: 'gw.test.jp', delivery: { smarthost: 'gw.test.jp' } } });
    expect(codes(configWarnings(snap))).toEqual(['settings.smarthost-self-loop settings.json:0']);
  });
});
