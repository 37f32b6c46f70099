import { describe, expect, it } from 'vitest';
import { evaluateConnect, evaluateMailFrom, relayPermission } from '../../../services/policy/effect.js';
import { formatReply } from '../../../services/policy/replies.js';
import type { SenderArg } from '../../../services/policy/types.js';
import { makeSnapshot, session } from './snapshot.js';

const from = (address: string): SenderArg => ({ kind: 'address', address });
const NULL: SenderArg = { kind: 'null' };
const BLANK: SenderArg = { kind: 'blank' };

describe('evaluateConnect', () => {
  const snap = makeSnapshot({
    effect: `
' comment lines and blanks are not rules

*@spam.example false
10.1.2.3 false
10.1.2.0/24 default
192.168.*.* true
2001:db8::/32 false
::ffff:198.51.100.0/120 false
badhost.example false
trusted.example default
`,
  });
  it.each([
    // client, hostname, accept, rule line
    ['10.1.2.3', '', false, 4],
    ['10.1.2.4', '', true, 5], // first match: the /24 default after the single-host false
    ['192.168.40.1', '', true, 6],
    ['::ffff:10.1.2.3', '', false, 4], // IPv4-mapped IPv6 is the IPv4 client
    ['2001:db8:1::5', '', false, 7],
    ['2001:db9::5', '', true, undefined],
    ['198.51.100.7', '', false, 8], // an IPv4 client inside an IPv6 block of mapped addresses
    ['203.0.113.5', 'mx.badhost.example', false, 9], // domain pattern: subdomain
    ['203.0.113.5', 'badhost.example', false, 9], // domain pattern: equal
    ['203.0.113.5', 'notbadhost.example', true, undefined], // not a label boundary
    ['203.0.113.5', '', true, undefined], // no forward-confirmed name: domain patterns never match
    ['203.0.113.5', 'www.trusted.example', true, 10],
  ])('%s (%s): accept=%s rule line %s', (clientIp, clientHostname, accept, line) => {
    const d = evaluateConnect(snap, session({ clientIp, clientHostname }));
    expect(d.accept).toBe(accept);
    expect(d.rule?.line).toBe(line);
    if (line) expect(d.rule?.file).toBe('effect.dat');
    if (!accept) expect(formatReply(d.reply!)).toBe('554 5.7.1 Please, mail from a valid IP or Domain address.');
  });

  it('ignores sender patterns at connect (they are decided at MAIL FROM)', () => {
    const d = evaluateConnect(makeSnapshot({ effect: '#<> false\n*@x.jp false\n' }), session());
    expect(d.accept).toBe(true);
    expect(d.rule).toBeUndefined();
    expect(d.reason).toBe('no effect.dat line matched');
  });

  it('stops at an only line: a false after it is dead and refuses nobody', () => {
    const snap2 = makeSnapshot({ effect: '192.168.0.0/16 only\n10.0.0.1 false\n' });
    const d = evaluateConnect(snap2, session({ clientIp: '10.0.0.1' }));
    expect(d.accept).toBe(true);
    expect(d.rule?.line).toBe(1);
    // and a sender `only` also ends connect evaluation
    const snap3 = makeSnapshot({ effect: '*@test.jp only\n10.0.0.1 false\n' });
    expect(evaluateConnect(snap3, session({ clientIp: '10.0.0.1' })).accept).toBe(true);
  });

  it('an unparseable client address matches no IP pattern', () => {
    const d = evaluateConnect(makeSnapshot({ effect: '*.*.*.* false\n' }), session({ clientIp: 'garbage' }));
    expect(d.accept).toBe(true);
  });
});

describe('evaluateMailFrom: effect.dat, both kinds, first match', () => {
  const snap = makeSnapshot({
    effect: `
#<> default
#blank false
boss@Partner.JP true
*@spam.example false
*@partner.jp norelay,2
192.168.0.0/24 true
10.0.0.0/8 norelay
`,
  });
  it.each<[string, SenderArg, string, boolean, number | undefined, string?]>([
    ['null sender -> #<> default', NULL, '10.0.0.1', true, 1],
    ['blank sender -> #blank false', BLANK, '192.168.0.5', false, 2, '550 5.7.1 Please, mail from a valid IP or Domain address.'],
    ['exact sender, case-insensitive', from('BOSS@partner.jp'), '203.0.113.1', true, 3],
    ['sender with trailing-dot domain still matches', from('x@spam.example.'), '192.168.0.5', false, 4, '550 5.7.1 Please, mail from a valid IP or Domain address.'],
    ['*@dom any local part', from('anyone@partner.jp'), '192.168.0.5', true, 5],
    ['IP line after sender lines', from('a@ext.jp'), '192.168.0.5', true, 6],
    ['plain norelay', from('a@ext.jp'), '10.9.9.9', true, 7],
    ['nothing matches -> default', from('a@ext.jp'), '203.0.113.1', true, undefined],
  ])('%s', (_name, sender, clientIp, accept, line, reply) => {
    const d = evaluateMailFrom(snap, session({ clientIp }), sender);
    expect(d.accept).toBe(accept);
    expect(d.rule?.line).toBe(line);
    expect(d.standing.rule?.line).toBe(line);
    if (reply) expect(formatReply(d.reply!)).toBe(reply);
  });

  it('reports the standing in force', () => {
    expect(evaluateMailFrom(snap, session({ clientIp: '203.0.113.1' }), from('a@partner.jp')).standing.action).toBe('norelay,2');
    expect(evaluateMailFrom(snap, session({ clientIp: '10.1.1.1' }), from('a@ext.jp')).standing.action).toBe('norelay');
    const none = evaluateMailFrom(snap, session({ clientIp: '203.0.113.1' }), from('a@ext.jp'));
    expect(none.standing).toEqual({ action: 'default' });
    expect(none.reason).toBe('standing default (no effect.dat line matched)');
  });

  it('an IP false line met at MAIL FROM (reloaded since connect) refuses with the connect text', () => {
    const s = makeSnapshot({ effect: '10.0.0.1 false\n' });
    const d = evaluateMailFrom(s, session({ clientIp: '10.0.0.1' }), from('a@b.jp'));
    expect(formatReply(d.reply!)).toBe('554 5.7.1 Please, mail from a valid IP or Domain address.');
  });

  it('refuses an unparseable sender', () => {
    const d = evaluateMailFrom(snap, session(), from('a b@c'));
    expect(d.accept).toBe(false);
    expect(formatReply(d.reply!)).toBe('553 5.1.7 <a b@c>: Bad sender address syntax');
  });
});

describe('only', () => {
  const snap = makeSnapshot({
    effect: `
192.168.1.0/24 default
10.0.0.0/8 only
192.168.2.5 true
#<> false
`,
  });
  it('a matching client gets the only standing', () => {
    const d = evaluateMailFrom(snap, session({ clientIp: '10.2.3.4' }), from('a@ext.jp'));
    expect(d.standing).toEqual({ action: 'only', rule: { file: 'effect.dat', line: 2 } });
  });
  it('a line before the only still decides first', () => {
    expect(evaluateMailFrom(snap, session({ clientIp: '192.168.1.9' }), from('a@ext.jp')).standing.action).toBe('default');
  });
  it('a non-matching client gets the built-in default; the lines after only are dead', () => {
    const d = evaluateMailFrom(snap, session({ clientIp: '192.168.2.5' }), from('a@ext.jp'));
    expect(d.standing).toEqual({ action: 'default' });
    expect(d.reason).toContain('effect.dat:2 10.0.0.0/8 only did not match; evaluation ends there');
    // the dead `#<> false` refuses nothing
    expect(evaluateMailFrom(snap, session({ clientIp: '203.0.113.1' }), NULL).accept).toBe(true);
  });
});

describe('relayPermission', () => {
  it.each([
    ['true', false, true], ['true', true, true],
    ['only', false, true], ['only', true, true],
    ['default', false, false], ['default', true, true],
    ['norelay,2', false, false], ['norelay,2', true, true],
    ['norelay,0', false, false], ['norelay,0', true, false],
    // plain norelay is norelay,0 (docs/policy.md)
    ['norelay', false, false], ['norelay', true, false],
    ['false', true, false],
  ] as const)('%s auth=%s -> %s', (action, auth, allowed) => {
    expect(relayPermission({ action }, auth).allowed).toBe(allowed);
  });
});

describe('account rules at MAIL FROM (SPEC 7)', () => {
  const spec = {
    domains: 'test.jp\n',
    effect: '192.168.0.10 true\n192.168.0.20 default\n',
    accounts: {
      postmaster: { password: 'pw' },
      nopass: {},
      off: { password: 'pw', sendingDisabled: true },
      night: { password: 'pw', usetime: ['mon-fri 22:00-06:00'] },
      office: { password: 'pw', usetime: ['mon-fri 09:00-18:00', 'sat 10:00-12:00'] },
    },
  };
  const snap = makeSnapshot(spec);

  it('an account sender with a password needs AUTH as that account', () => {
    const d = evaluateMailFrom(snap, session({ clientIp: '192.168.0.20' }), from('Postmaster@Test.jp'));
    expect(d.accept).toBe(false);
    expect(formatReply(d.reply!)).toBe('530 5.7.0 Authentication required for <Postmaster@Test.jp>');
  });
  it('quoting, case and a trailing dot do not dodge the check', () => {
    for (const a of ['"postmaster"@test.jp', 'POSTMASTER@TEST.JP', 'postmaster@test.jp.']) {
      expect(evaluateMailFrom(snap, session(), from(a)).reply?.code).toBe(530);
    }
  });
  it('authenticated as another account is not enough', () => {
    expect(evaluateMailFrom(snap, session({ authUser: 'office' }), from('postmaster@test.jp')).reply?.code).toBe(530);
  });
  it('authenticated as the account, or trusted by true, passes', () => {
    expect(evaluateMailFrom(snap, session({ authUser: 'postmaster' }), from('postmaster@test.jp')).accept).toBe(true);
    expect(evaluateMailFrom(snap, session({ clientIp: '192.168.0.10' }), from('postmaster@test.jp')).accept).toBe(true);
  });
  it('an account without a password, or a non-local domain, is not checked', () => {
    expect(evaluateMailFrom(snap, session(), from('nopass@test.jp')).accept).toBe(true);
    expect(evaluateMailFrom(snap, session(), from('postmaster@other.jp')).accept).toBe(true);
  });
  it('auth.accountSendersNeedAuth off disables the check', () => {
    const s = makeSnapshot({ ...spec, settings: { auth: { accountSendersNeedAuth: false } } });
    expect(evaluateMailFrom(s, session(), from('postmaster@test.jp')).accept).toBe(true);
  });
  it('$offsmtp refuses the authenticated account, and the account a trusted client sends as', () => {
    const d = evaluateMailFrom(snap, session({ authUser: 'off' }), from('someone@ext.jp'));
    expect(formatReply(d.reply!)).toBe('550 5.7.1 Sending disabled for account off');
    expect(evaluateMailFrom(snap, session({ clientIp: '192.168.0.10' }), from('off@test.jp')).reply?.code).toBe(550);
  });
  it.each([
    // usetime mon-fri 22:00-06:00 belongs to the day it starts on
    [new Date(2026, 10, 23, 23, 0), true], // Mon 23:00
    [new Date(2026, 10, 24, 3, 0), true], // Tue 03:00 (Monday's night)
    [new Date(2026, 10, 28, 3, 0), true], // Sat 03:00 (Friday's night)
    [new Date(2026, 10, 23, 3, 0), false], // Mon 03:00 (Sunday's night: Sunday not listed)
    [new Date(2026, 10, 24, 6, 0), false], // Tue 06:00: end is exclusive
    [new Date(2026, 10, 24, 12, 0), false], // Tue noon
    [new Date(2026, 10, 28, 23, 0), false], // Sat 23:00
  ])('usetime across midnight at %s -> %s', (now, accept) => {
    const d = evaluateMailFrom(snap, session({ authUser: 'night', now }), from('night@test.jp'));
    expect(d.accept).toBe(accept);
    if (!accept) {
      expect(formatReply(d.reply!)).toBe('450 4.7.1 Sending not allowed at this time for account night');
      expect(d.rule?.file).toBe('inbox/night/usetime.dat');
    }
  });
  it('usetime with several windows', () => {
    const at = (now: Date) => evaluateMailFrom(snap, session({ authUser: 'office', now }), from('office@test.jp')).accept;
    expect(at(new Date(2026, 10, 23, 9, 0))).toBe(true);
    expect(at(new Date(2026, 10, 23, 18, 0))).toBe(false);
    expect(at(new Date(2026, 10, 28, 11, 59))).toBe(true); // Saturday window
    expect(at(new Date(2026, 10, 29, 11, 0))).toBe(false); // Sunday
  });
});
