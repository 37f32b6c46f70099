import { describe, expect, it } from 'vitest';
import { explain, senderArgFrom } from '../../../services/policy/explain.js';
import { makeSnapshot } from './snapshot.js';

const snap = makeSnapshot({
  domains: 'test.jp\n',
  gateway: 'branch.jp, 192.168.0.9, 25\ntest.jp, 192.168.0.10, 25\n',
  aliases: "' mode B\nsales@test.jp -> sales@test.jp\nb@test.jp -> bucho@test.jp\n",
  effect: '#<> default\n#blank false\n10.0.0.66 false\n*@spam.jp false\n192.168.0.1 true\n192.168.*.* default\n',
  accounts: { bucho: { password: 'pw' }, nopw: {} },
});
const NOW = { now: new Date(2026, 10, 23, 10, 0) };

describe('explain', () => {
  it('reads like the debug trace, one line a step, with the file:line that decided', () => {
    const r = explain(snap, { client: '192.168.0.5', from: 'a@x.jp', to: ['b@test.jp', 'c@ext.jp', 'nobody@test.jp'] }, NOW);
    expect(r.text).toEqual([
      'connect 192.168.0.5: accepted (effect.dat:6 192.168.*.* default)',
      'MAIL FROM:<a@x.jp>: accepted, standing default (effect.dat:6 192.168.*.* default)',
      'RCPT TO:<b@test.jp>: accepted -> alias aliases.dat:3 b@test.jp -> bucho@test.jp; route test.jp -> gateway.dat:2 192.168.0.10:25',
      'RCPT TO:<c@ext.jp>: refused 554 5.7.1 <c@ext.jp>: Relay access denied (relay refused: standing default, not authenticated)',
      'RCPT TO:<nobody@test.jp>: refused 550 5.1.1 <nobody@test.jp>... User unknown (no local account or alias for nobody@test.jp)',
    ]);
    expect(r.connect).toEqual({ accept: true, rule: 'effect.dat:6', reason: 'effect.dat:6 192.168.*.* default' });
    expect(r.recipients[0]).toMatchObject({ address: 'b@test.jp', accept: true, rule: 'aliases.dat:3', route: 'route test.jp -> gateway.dat:2 192.168.0.10:25' });
    expect(r.recipients[1]).toMatchObject({ accept: false, reply: '554 5.7.1 <c@ext.jp>: Relay access denied' });
  });

  it('no line matched, authenticated relay goes by MX', () => {
    const r = explain(snap, { client: '203.0.113.7', auth: 'BUCHO', from: '<bucho@test.jp>', to: ['c@ext.jp'] }, NOW);
    expect(r.text).toEqual([
      'connect 203.0.113.7: accepted (no effect.dat line matched)',
      'AUTH bucho: as if authenticated',
      'MAIL FROM:<bucho@test.jp>: accepted, standing default (no effect.dat line matched)',
      'RCPT TO:<c@ext.jp>: accepted -> relay allowed: standing default, authenticated; route ext.jp -> DNS MX of ext.jp (no gateway.dat line, no smarthost)',
    ]);
  });

  it('--auth of an account that cannot authenticate is reported and ignored', () => {
    const none = explain(snap, { client: '203.0.113.7', auth: 'ghost', from: '', to: ['c@ext.jp'] }, NOW);
    expect(none.text[1]).toBe('AUTH ghost: no such account (inbox/ghost/); treated as not authenticated');
    expect(none.recipients[0].accept).toBe(false);
    const nopw = explain(snap, { client: '203.0.113.7', auth: 'nopw', from: '', to: ['c@ext.jp'] }, NOW);
    expect(nopw.text[1]).toContain('no apop.dat password');
    expect(nopw.recipients[0].accept).toBe(false);
  });

  it('a refused connection stops there', () => {
    const r = explain(snap, { client: '::ffff:10.0.0.66', from: 'a@x.jp', to: ['b@test.jp'] }, NOW);
    expect(r.text).toEqual([
      'connect 10.0.0.66: refused 554 5.7.1 Please, mail from a valid IP or Domain address. (refused by effect.dat:3 10.0.0.66 false)',
      'the connection is closed: MAIL FROM and RCPT TO are not reached',
    ]);
    expect(r.mailFrom.accept).toBe(false);
    expect(r.recipients).toEqual([{ address: 'b@test.jp', accept: false, reason: 'not reached: connection refused', trace: [] }]);
  });

  it('a refused sender stops at MAIL FROM', () => {
    const r = explain(snap, { client: '203.0.113.7', from: 'x@SPAM.jp', to: ['b@test.jp'] }, NOW);
    expect(r.text[1]).toBe('MAIL FROM:<x@SPAM.jp>: refused 550 5.7.1 Please, mail from a valid IP or Domain address. (refused by effect.dat:4 *@spam.jp false)');
    expect(r.mailFrom).toMatchObject({ accept: false, rule: 'effect.dat:4' });
    expect(r.recipients[0].reason).toBe('not reached: MAIL FROM refused');
    const blank = explain(snap, { client: '203.0.113.7', from: '#blank', to: ['b@test.jp'] }, NOW);
    expect(blank.text[1]).toBe('MAIL FROM: (blank): refused 550 5.7.1 Please, mail from a valid IP or Domain address. (refused by effect.dat:2 #blank false)');
  });

  it('verbose adds the look-ups; local delivery is named when forwardAll is off', () => {
    const local = makeSnapshot({ domains: 'test.jp\n', accounts: { bucho: {} }, settings: { delivery: { forwardAll: false } } });
    const r = explain(local, { client: '203.0.113.7', from: '<>', to: ['bucho@test.jp'] }, { ...NOW, verbose: true });
    expect(r.text).toContain('RCPT TO:<bucho@test.jp>: accepted -> local account bucho; local delivery bucho@test.jp -> inbox/bucho/');
    expect(r.text).toContain('    no effect.dat IP/domain line matched');
    expect(r.text).toContain('    local account bucho (inbox/bucho/)');
  });

  it('domain patterns use the given forward-confirmed name', () => {
    const s = makeSnapshot({ effect: 'partner.jp true\n' });
    const r = explain(s, { client: '198.51.100.1', from: 'a@b.jp', to: ['c@ext.jp'] }, { ...NOW, clientHostname: 'MX1.Partner.jp' });
    expect(r.text[0]).toBe('connect 198.51.100.1 (mx1.partner.jp): accepted (effect.dat:1 partner.jp true)');
    expect(r.recipients[0].accept).toBe(true);
  });

  it('senderArgFrom', () => {
    expect(senderArgFrom('')).toEqual({ kind: 'null' });
    expect(senderArgFrom('<>')).toEqual({ kind: 'null' });
    expect(senderArgFrom('#BLANK')).toEqual({ kind: 'blank' });
    expect(senderArgFrom('<a@b.jp>')).toEqual({ kind: 'address', address: 'a@b.jp' });
  });
});
