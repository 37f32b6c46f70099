import { describe, expect, it } from 'vitest';
import { evaluateConnect, evaluateMailFrom } from '../../../services/policy/effect.js';
import { evaluateRcpt } from '../../../services/policy/recipients.js';
import { formatReply } from '../../../services/policy/replies.js';
import type { RelayStanding, SenderArg } from '../../../services/policy/types.js';
import { makeSnapshot, session } from './snapshot.js';

const from = (address: string): SenderArg => ({ kind: 'address', address });

// The whole relay matrix (SPEC 6): rule in force x AUTH x recipient x sender.
describe('relay matrix', () => {
  const snap = makeSnapshot({
    domains: 'test.jp\n',
    gateway: 'test.jp, 192.168.0.10, 25\nbranch.jp, 192.168.5.1\n',
    aliases: 'sales@test.jp -> bucho@test.jp, kacho@test.jp\n',
    accounts: { bucho: { password: 'pw' }, kacho: { password: 'pw' } },
    effect: `
192.168.0.1 true
192.168.0.2 default
192.168.0.3 false
192.168.0.4 norelay,0
192.168.0.5 norelay,2
192.168.0.6 norelay
192.168.0.7 only
`,
  });

  const RCPTS = {
    account: 'bucho@test.jp',
    alias: 'sales@test.jp',
    routed: 'someone@branch.jp', // routed by gateway.dat, no alias
    unknown: 'nobody@test.jp', // local domain, no account, no alias
    external: 'c@ext.jp',
  } as const;
  const SENDERS: Record<string, SenderArg> = {
    local: from('taro@test.jp'), // a local-domain address that is not an account: grants nothing
    external: from('a@ext.jp'),
    null: { kind: 'null' },
    blank: { kind: 'blank' },
  };
  const A = 'accepted';
  const U = (a: string) => `550 5.1.1 <${a}>... User unknown`;
  const R = (a: string) => `554 5.7.1 <${a}>: Relay access denied`;
  type Col = 'A' | 'U' | 'R';

  // rule, client, auth, RCPT: account, alias, routed, unknown, external; and MAIL FROM of the
  // account bucho@test.jp itself (it has a password): 530 unless trusted or authenticated as it
  const TABLE: Array<[string, string, boolean, Col, Col, Col, Col, Col, 'A' | '530']> = [
    ['true', '192.168.0.1', false, 'A', 'A', 'A', 'A', 'A', 'A'],
    ['true', '192.168.0.1', true, 'A', 'A', 'A', 'A', 'A', 'A'],
    ['default', '192.168.0.2', false, 'A', 'A', 'U', 'U', 'R', '530'],
    ['default', '192.168.0.2', true, 'A', 'A', 'U', 'U', 'A', 'A'],
    ['norelay,0', '192.168.0.4', false, 'A', 'A', 'U', 'U', 'R', '530'],
    ['norelay,0', '192.168.0.4', true, 'A', 'A', 'U', 'U', 'R', 'A'],
    ['norelay,2', '192.168.0.5', false, 'A', 'A', 'U', 'U', 'R', '530'],
    ['norelay,2', '192.168.0.5', true, 'A', 'A', 'U', 'U', 'A', 'A'],
    ['norelay', '192.168.0.6', false, 'A', 'A', 'U', 'U', 'R', '530'],
    ['norelay', '192.168.0.6', true, 'A', 'A', 'U', 'U', 'R', 'A'],
    ['only', '192.168.0.7', false, 'A', 'A', 'A', 'A', 'A', 'A'],
    ['only', '192.168.0.7', true, 'A', 'A', 'A', 'A', 'A', 'A'],
    // no line matched (the `only` line ended evaluation): the built-in default
    ['default', '203.0.113.9', false, 'A', 'A', 'U', 'U', 'R', '530'],
    ['default', '203.0.113.9', true, 'A', 'A', 'U', 'U', 'A', 'A'],
  ];

  for (const [rule, clientIp, auth, c1, c2, c3, c4, c5, accountSender] of TABLE) {
    const cols = [c1, c2, c3, c4, c5];
    it(`${rule} (${clientIp}) auth=${auth} MAIL FROM:<bucho@test.jp> -> ${accountSender}`, () => {
      const s = session({ clientIp, authUser: auth ? 'bucho' : '' });
      const d = evaluateMailFrom(snap, s, from('bucho@test.jp'));
      expect(d.accept ? 'A' : formatReply(d.reply!)).toBe(accountSender === 'A' ? 'A' : '530 5.7.0 Authentication required for <bucho@test.jp>');
    });
    for (const [senderName, sender] of Object.entries(SENDERS)) {
      it(`${rule} (${clientIp}) auth=${auth} sender=${senderName}`, () => {
        const s = session({ clientIp, authUser: auth ? 'bucho' : '' });
        expect(evaluateConnect(snap, s).accept).toBe(true);
        const mail = evaluateMailFrom(snap, s, sender);
        expect(mail.accept).toBe(true);
        expect(mail.standing.action).toBe(rule);
        const keys = Object.keys(RCPTS) as Array<keyof typeof RCPTS>;
        const got = keys.map((k) => {
          const d = evaluateRcpt(snap, s, mail.standing, sender, RCPTS[k]);
          return d.accept ? A : formatReply(d.reply!);
        });
        const want = keys.map((k, i) => (cols[i] === 'A' ? A : cols[i] === 'U' ? U(RCPTS[k]) : R(RCPTS[k])));
        expect(got).toEqual(want);
      });
    }
  }

  it('false: refused at connect, for every sender and with AUTH alike', () => {
    const s = session({ clientIp: '192.168.0.3', authUser: 'bucho' });
    const c = evaluateConnect(snap, s);
    expect(c.accept).toBe(false);
    expect(formatReply(c.reply!)).toBe('554 5.7.1 Please, mail from a valid IP or Domain address.');
    for (const sender of Object.values(SENDERS)) expect(evaluateMailFrom(snap, s, sender).accept).toBe(false);
  });

  it('expands aliases one level and names the alias line', () => {
    const s = session({ clientIp: '192.168.0.2' });
    const d = evaluateRcpt(snap, s, { action: 'default' }, SENDERS.external, 'Sales@TEST.jp');
    expect(d.targets).toEqual([
      { kind: 'remote', address: 'bucho@test.jp' },
      { kind: 'remote', address: 'kacho@test.jp' },
    ]);
    expect(d.rule).toEqual({ file: 'aliases.dat', line: 1 });
  });
});

describe('relay-abuse forms', () => {
  const snap = makeSnapshot({
    domains: 'test.jp\n',
    aliases: '*@test.jp -> *@test.jp\n',
    accounts: { bucho: { password: 'pw' } },
    effect: '192.168.0.1 true\n192.168.0.7 only\n',
  });
  const FORMS = [
    'user%ext.jp@test.jp',
    '"user@ext.jp"@test.jp',
    'user@ext.jp@test.jp',
    '@test.jp:user@ext.jp',
    'ext.jp!user@test.jp',
    'user@[192.0.2.1]',
    '"ext.jp!user"@test.jp',
    'user:x@test.jp',
  ];
  const untrusted: Array<[string, RelayStanding, string]> = [
    ['default', { action: 'default' }, ''],
    ['default + AUTH', { action: 'default' }, 'bucho'],
    ['norelay,2 + AUTH', { action: 'norelay,2', rule: { file: 'effect.dat', line: 9 } }, 'bucho'],
    ['norelay,0', { action: 'norelay,0' }, ''],
  ];
  for (const form of FORMS) {
    for (const [name, standing, authUser] of untrusted) {
      it(`${form} is refused under ${name}, even with a wildcard alias for the domain`, () => {
        const d = evaluateRcpt(snap, session({ authUser }), standing, { kind: 'address', address: 'a@ext.jp' }, form);
        expect(d.accept).toBe(false);
        expect(d.reply!.code).toBe(554);
        expect(d.reply!.enhanced).toBe('5.7.1');
        expect(d.reply!.text).toMatch(/Relay access denied$/);
        expect(d.targets).toEqual([]);
      });
    }
    it(`${form} passes, as written, for a trusted session (true and matched only)`, () => {
      for (const clientIp of ['192.168.0.1', '192.168.0.7']) {
        const s = session({ clientIp });
        const mail = evaluateMailFrom(snap, s, { kind: 'address', address: 'a@ext.jp' });
        const d = evaluateRcpt(snap, s, mail.standing, { kind: 'address', address: 'a@ext.jp' }, form);
        expect(d.accept).toBe(true);
        expect(d.targets).toEqual([{ kind: 'remote', address: form.replace(/^<|>$/g, '') }]);
      }
    });
  }

  it('a trailing dot never turns a local recipient into relay or an unknown one into a known one', () => {
    const s2 = makeSnapshot({ domains: 'test.jp\n', accounts: { bucho: {} } });
    const std: RelayStanding = { action: 'default' };
    const snd: SenderArg = { kind: 'null' };
    expect(formatReply(evaluateRcpt(s2, session(), std, snd, 'nobody@test.jp.').reply!)).toBe('550 5.1.1 <nobody@test.jp.>... User unknown');
    expect(formatReply(evaluateRcpt(s2, session(), std, snd, 'c@ext.jp.').reply!)).toBe('554 5.7.1 <c@ext.jp.>: Relay access denied');
    const ok = evaluateRcpt(s2, session(), std, snd, 'BUCHO@Test.JP.');
    expect(ok.accept).toBe(true);
    expect(ok.targets).toEqual([{ kind: 'remote', address: 'BUCHO@test.jp' }]);
  });
});

describe('secure default', () => {
  // effect.dat as `sekisho init` writes it: only the null/blank sender lines.
  const snap = makeSnapshot({
    domains: 'test.jp\n',
    effect: '#<> default\n#blank false\n',
    aliases: 'info@test.jp -> info@test.jp\n',
    accounts: { postmaster: { password: 'secret' }, info: {} },
  });
  it('a spoofed local sender from an untrusted IP never opens relay', () => {
    for (const clientIp of ['203.0.113.66', '::ffff:203.0.113.66', '2001:db8::66']) {
      for (const sender of ['info@test.jp', 'nobody@test.jp', 'x@sub.test.jp', 'INFO@TEST.JP.']) {
        const s = session({ clientIp });
        expect(evaluateConnect(snap, s).accept).toBe(true);
        const mail = evaluateMailFrom(snap, s, from(sender));
        expect(mail.accept).toBe(true);
        expect(mail.standing).toEqual({ action: 'default' });
        const d = evaluateRcpt(snap, s, mail.standing, from(sender), 'victim@ext.jp');
        expect(d.accept).toBe(false);
        expect(formatReply(d.reply!)).toBe('554 5.7.1 <victim@ext.jp>: Relay access denied');
      }
      // and the account with a password cannot even be named as sender
      expect(evaluateMailFrom(snap, session({ clientIp }), from('postmaster@test.jp')).reply?.code).toBe(530);
    }
  });
  it('still accepts mail from anyone to a listed local address', () => {
    const s = session({ clientIp: '203.0.113.66' });
    const mail = evaluateMailFrom(snap, s, from('stranger@ext.jp'));
    expect(evaluateRcpt(snap, s, mail.standing, from('stranger@ext.jp'), 'info@test.jp').accept).toBe(true);
  });
  it('#blank false refuses the blank sender, #<> default keeps bounces flowing', () => {
    const s = session();
    expect(formatReply(evaluateMailFrom(snap, s, { kind: 'blank' }).reply!)).toBe('550 5.7.1 Please, mail from a valid IP or Domain address.');
    expect(evaluateMailFrom(snap, s, { kind: 'null' }).standing).toEqual({ action: 'default', rule: { file: 'effect.dat', line: 1 } });
  });
});

describe('aliases and accounts', () => {
  const base = {
    domains: 'test.jp\nother.jp\n',
    gateway: '*.branch.jp, 10.0.0.9\n',
    aliases: `
*@test.jp -> *@inner.test.jp
bucho@test.jp -> boss@other.jp
*@x.branch.jp -> *@mail.branch.jp, *@archive.branch.jp
`,
    accounts: { bucho: { password: 'pw' }, kacho: {}, boss: {} },
  };
  const std: RelayStanding = { action: 'default' };
  const snd: SenderArg = { kind: 'null' };

  it('wildcard alias passes the local part through (as written)', () => {
    const snap = makeSnapshot(base);
    const d = evaluateRcpt(snap, session(), std, snd, 'Taro.Yamada@test.jp');
    expect(d.accept).toBe(true);
    expect(d.targets).toEqual([{ kind: 'remote', address: 'Taro.Yamada@inner.test.jp' }]);
    expect(d.rule).toEqual({ file: 'aliases.dat', line: 1 });
    const multi = evaluateRcpt(snap, session(), std, snd, 'a@x.branch.jp');
    expect(multi.targets.map((t) => t.address)).toEqual(['a@mail.branch.jp', 'a@archive.branch.jp']);
  });
  it('exact alias first, then the local account, then the wildcard', () => {
    const snap = makeSnapshot(base);
    expect(evaluateRcpt(snap, session(), std, snd, 'bucho@test.jp').targets).toEqual([{ kind: 'remote', address: 'boss@other.jp' }]);
    const k = evaluateRcpt(snap, session(), std, snd, 'kacho@test.jp');
    expect(k.reason).toBe('local account kacho');
    expect(k.targets).toEqual([{ kind: 'remote', address: 'kacho@test.jp' }]);
  });
  it('forwardAll off: a local account is delivered locally, also as an alias target', () => {
    const snap = makeSnapshot({ ...base, settings: { delivery: { forwardAll: false } } });
    expect(evaluateRcpt(snap, session(), std, snd, 'Kacho@test.jp').targets).toEqual([{ kind: 'local', user: 'kacho', address: 'Kacho@test.jp' }]);
    expect(evaluateRcpt(snap, session(), std, snd, 'bucho@test.jp').targets).toEqual([{ kind: 'local', user: 'boss', address: 'boss@other.jp' }]);
  });
  it('an account name in a routed (not local) domain is not a local account', () => {
    const snap = makeSnapshot(base);
    const d = evaluateRcpt(snap, session(), std, snd, 'kacho@y.branch.jp');
    expect(formatReply(d.reply!)).toBe('550 5.1.1 <kacho@y.branch.jp>... User unknown');
  });
  it('a trusted session skips the User unknown check', () => {
    const snap = makeSnapshot(base);
    const d = evaluateRcpt(snap, session(), { action: 'true', rule: { file: 'effect.dat', line: 1 } }, snd, 'nobody@y.branch.jp');
    expect(d.accept).toBe(true);
    expect(d.targets).toEqual([{ kind: 'remote', address: 'nobody@y.branch.jp' }]);
  });
  it('RCPT TO:<Postmaster> without a domain is postmaster at the first local domain', () => {
    const snap = makeSnapshot({ domains: 'test.jp\n', accounts: { postmaster: {} } });
    const d = evaluateRcpt(snap, session(), std, snd, 'Postmaster');
    expect(d.accept).toBe(true);
    expect(d.targets).toEqual([{ kind: 'remote', address: 'Postmaster@test.jp' }]);
    expect(evaluateRcpt(snap, session(), std, snd, 'someone').reply?.code).toBe(553);
  });
  it('refuses a malformed recipient with 553 5.1.3', () => {
    const d = evaluateRcpt(makeSnapshot(base), session(), std, snd, 'a b@test.jp');
    expect(formatReply(d.reply!)).toBe('553 5.1.3 <a b@test.jp>: Bad recipient address syntax');
  });
});

describe('sender.dat (first match, -1 forbids)', () => {
  const snap = makeSnapshot({
    domains: 'test.jp\n',
    effect: '192.168.0.1 true\n',
    aliases: 'info@test.jp -> info@test.jp\n',
    accounts: {
      bucho: { password: 'pw', sender: ['boss@ext.jp,0', '*@ext.jp,-1', '*,0'] },
      intern: { sender: ['*@test.jp,0', '*,-1'] },
    },
  });
  const std: RelayStanding = { action: 'default' };
  it('limits the authenticated account', () => {
    const s = session({ authUser: 'bucho' });
    const snd = from('bucho@test.jp');
    const bad = evaluateRcpt(snap, s, std, snd, 'c@EXT.jp');
    expect(formatReply(bad.reply!)).toBe('550 5.7.1 <c@EXT.jp>: Destination not allowed for account bucho');
    expect(bad.rule).toEqual({ file: 'inbox/bucho/sender.dat', line: 2 });
    expect(evaluateRcpt(snap, s, std, snd, 'boss@ext.jp').accept).toBe(true); // line 1 matches first
    expect(evaluateRcpt(snap, s, std, snd, 'c@other.jp').accept).toBe(true); // line 3
  });
  it('limits the local account a trusted client sends as, local destinations included', () => {
    const s = session({ clientIp: '192.168.0.1' });
    const trusted: RelayStanding = { action: 'true', rule: { file: 'effect.dat', line: 1 } };
    const snd = from('intern@test.jp');
    expect(evaluateRcpt(snap, s, trusted, snd, 'info@test.jp').accept).toBe(true);
    expect(evaluateRcpt(snap, s, trusted, snd, 'x@ext.jp').reply?.code).toBe(550);
    // another sender from the same client is not limited
    expect(evaluateRcpt(snap, s, trusted, from('someone@test.jp'), 'x@ext.jp').accept).toBe(true);
  });
});
