// Recipient verification, the pure part: which recipients are asked and where, how answers
// read, the `check` warning, and what explain says with a cached answer.
import { describe, expect, it } from 'vitest';
import { agoText, describeCheck, recipientCheckPlan, recipientCheckWarnings } from '../../../services/policy/recipient-check.js';
import { configWarnings } from '../../../services/policy/warnings.js';
import { evaluateRcpt } from '../../../services/policy/recipients.js';
import { explain } from '../../../services/policy/explain.js';
import type { PolicySession, RelayStanding } from '../../../services/policy/types.js';
import { makeSnapshot } from './snapshot.js';

const base = {
  domains: 'test.jp\n',
  gateway: 'corp.jp, 192.168.0.10, 25\ncorp.jp, 192.168.0.11\nother.jp, 192.168.0.20\n',
  aliases: '*@corp.jp -> *@corp.jp\n*@other.jp -> *@other.jp\nsales@test.jp -> sales@corp.jp, bob@test.jp\n',
  effect: '#<> default\n#blank false\n192.168.0.1 true\n',
  accounts: { bob: {} },
};
const session = (o: Partial<PolicySession> = {}): PolicySession => ({ clientIp: '203.0.113.7', clientHostname: '', helo: 'x', authUser: '', now: new Date(2026, 10, 23, 10, 0), ...o });
const standing: RelayStanding = { action: 'default' };
const plan = (snap: ReturnType<typeof makeSnapshot>, rcpt: string, s = session(), st = standing) => {
  const d = evaluateRcpt(snap, s, st, { kind: 'address', address: 'a@ext.jp' }, rcpt);
  expect(d.accept).toBe(true);
  return recipientCheckPlan(snap, s, st, d.targets);
};

describe('recipientCheckPlan', () => {
  it('asks for the targets (after aliases) of the listed domains, the hops in gateway.dat order', () => {
    const snap = makeSnapshot({ ...base, settings: { recipientCheck: { domains: ['corp.jp'] } } });
    const p = plan(snap, 'Taro@Corp.jp');
    expect(p.items).toEqual([
      {
        address: 'Taro@corp.jp',
        domain: 'corp.jp',
        hops: [
          { host: '192.168.0.10', port: 25, rule: { file: 'gateway.dat', line: 1 } },
          { host: '192.168.0.11', port: 25, rule: { file: 'gateway.dat', line: 2 } },
        ],
      },
    ]);
    // An alias of a local domain whose target is in a verified domain: the target is asked.
    expect(plan(snap, 'sales@test.jp').items.map((i) => i.address)).toEqual(['sales@corp.jp']);
    expect(plan(snap, 'x@other.jp').items).toEqual([]);
  });

  it('allRoutedDomains verifies every domain gateway.dat routes; nothing when off', () => {
    const all = makeSnapshot({ ...base, settings: { recipientCheck: { allRoutedDomains: true } } });
    expect(plan(all, 'x@other.jp').items.map((i) => i.address)).toEqual(['x@other.jp']);
    const off = makeSnapshot(base);
    expect(plan(off, 'x@corp.jp')).toEqual({ items: [], notes: [] });
  });

  it('trusted clients and authenticated senders are not verified', () => {
    const snap = makeSnapshot({ ...base, settings: { recipientCheck: { domains: ['corp.jp'] } } });
    const t = plan(snap, 'x@corp.jp', session({ clientIp: '192.168.0.1' }), { action: 'true', rule: { file: 'effect.dat', line: 3 } });
    expect(t.items).toEqual([]);
    expect(t.notes).toEqual(['recipient verification skipped for <x@corp.jp>: trusted client (standing true)']);
    const a = plan(snap, 'x@corp.jp', session({ authUser: 'bob' }));
    expect(a.items).toEqual([]);
    expect(a.notes[0]).toMatch(/authenticated as bob/);
  });
});

describe('describeCheck', () => {
  it('says who answered and when', () => {
    const at = Date.UTC(2026, 10, 23, 1, 0);
    expect(describeCheck({ answer: 'exists', at, host: '192.168.0.10:25', reply: '250 2.1.5 Ok' }, true, at + 12 * 60_000)).toBe(
      'verified by 192.168.0.10:25 (cached 12 min ago)',
    );
    expect(describeCheck({ answer: 'unknown', at, host: '192.168.0.10:25', reply: '550 5.1.1 User unknown' }, false, at)).toBe(
      'refused by 192.168.0.10:25: 550 5.1.1 User unknown (asked now)',
    );
    expect([agoText(1000), agoText(30_000), agoText(3 * 3_600_000), agoText(3 * 86_400_000)]).toEqual(['just now', '30 s ago', '3 h ago', '3 days ago']);
  });
});

describe('recipient verification in check and explain', () => {
  it('warns (recipient-check.no-route) for a listed domain gateway.dat does not route', () => {
    const snap = makeSnapshot({ ...base, settings: { recipientCheck: { domains: ['corp.jp', 'nowhere.jp', '*.branch.jp'] } } });
    expect(recipientCheckWarnings(snap).map((d) => d.message)).toEqual([
      'recipientCheck.domains lists nowhere.jp, but gateway.dat has no route for it: there is no internal server to ask, so its recipients are not verified',
      'recipientCheck.domains lists *.branch.jp, but gateway.dat has no route for it: there is no internal server to ask, so its recipients are not verified',
    ]);
    expect(configWarnings(snap).filter((d) => d.code === 'recipient-check.no-route')).toHaveLength(2);
  });

  it('explain uses the cached answer: refused as User unknown, verified, or "would ask"', () => {
    const snap = makeSnapshot({ ...base, settings: { recipientCheck: { domains: ['corp.jp'] } } });
    const now = new Date(2026, 10, 23, 10, 0);
    const at = now.getTime() - 12 * 60_000;
    const cache = new Map([
      ['taro@corp.jp', { answer: 'exists' as const, at, host: '192.168.0.10:25', reply: '250 2.1.5 Ok' }],
      ['ghost@corp.jp', { answer: 'unknown' as const, at, host: '192.168.0.10:25', reply: '550 5.1.1 <ghost@corp.jp>: User unknown' }],
    ]);
    const r = explain(snap, { client: '203.0.113.7', from: 'a@ext.jp', to: ['taro@corp.jp', 'ghost@corp.jp', 'new@corp.jp'] }, { now, recipientCheck: (a) => cache.get(a) });
    expect(r.text.slice(2)).toEqual([
      'RCPT TO:<taro@corp.jp>: accepted -> wildcard alias aliases.dat:1 *@corp.jp -> *@corp.jp; route corp.jp -> gateway.dat:1 192.168.0.10:25, gateway.dat:2 192.168.0.11:25; verified by 192.168.0.10:25 (cached 12 min ago)',
      'RCPT TO:<ghost@corp.jp>: refused 550 5.1.1 <ghost@corp.jp>... User unknown (wildcard alias aliases.dat:1 *@corp.jp -> *@corp.jp; refused by 192.168.0.10:25: 550 5.1.1 <ghost@corp.jp>: User unknown (cached 12 min ago))',
      'RCPT TO:<new@corp.jp>: accepted -> wildcard alias aliases.dat:1 *@corp.jp -> *@corp.jp; route corp.jp -> gateway.dat:1 192.168.0.10:25, gateway.dat:2 192.168.0.11:25; no cached answer; the receiver would ask 192.168.0.10:25, 192.168.0.11:25',
    ]);
    expect(r.recipients[1]).toMatchObject({ accept: false, reply: '550 5.1.1 <ghost@corp.jp>... User unknown' });
    // An answer older than its lifetime is not used.
    const later = explain(snap, { client: '203.0.113.7', from: 'a@ext.jp', to: ['ghost@corp.jp'] }, { now: new Date(now.getTime() + 3_600_000), recipientCheck: (a) => cache.get(a) });
    expect(later.recipients[0].accept).toBe(true);
  });
});
