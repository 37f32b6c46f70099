import { describe, it, expect } from 'vitest';
import { applyOutcome, nextAttemptAt, type RetrySettings } from '../../../services/delivery/retry.js';
import type { RecipientState } from '../../../services/queue/types.js';
import { attemptLogId, bounceLogId } from '../../../services/delivery/log-ids.js';

const policy: RetrySettings = { retryIntervalSec: 120, refusalRetries: 1, abnormalHours: 8, noResponseHours: 24 };
const fresh: RecipientState = { address: 'a@x.jp', original: 'a@x.jp', kind: 'remote', status: 'pending', attempts: 0, refusals: 0 };
const t0 = new Date('2026-11-23T00:00:00Z');
const after = (h: number) => new Date(t0.getTime() + h * 3600_000);

describe('applyOutcome (SPEC 8)', () => {
  it('2xx delivers and records the reply, host and clocks', () => {
    const s = applyOutcome(fresh, { kind: 'delivered', reply: '250 ok', host: 'h[1.2.3.4]:25' }, t0, policy);
    expect(s).toMatchObject({ status: 'delivered', attempts: 1, lastReply: '250 ok', lastHost: 'h[1.2.3.4]:25', firstAttemptAt: t0.toISOString() });
  });

  it('4xx retries until abnormalHours since the first attempt, then fails', () => {
    let s = applyOutcome(fresh, { kind: 'temp', reply: '451 later', host: 'h' }, t0, policy);
    expect(s.status).toBe('pending');
    s = applyOutcome(s, { kind: 'temp', reply: '451 later', host: 'h' }, after(7.9), policy);
    expect(s.status).toBe('pending');
    s = applyOutcome(s, { kind: 'temp', reply: '451 later', host: 'h' }, after(8), policy);
    expect(s.status).toBe('failed');
    expect(s.attempts).toBe(3);
    expect(s.firstAttemptAt).toBe(t0.toISOString());
  });

  it('no answer uses noResponseHours, not abnormalHours', () => {
    let s = applyOutcome(fresh, { kind: 'noanswer', reply: 'ETIMEDOUT', host: '' }, t0, policy);
    s = applyOutcome(s, { kind: 'noanswer', reply: 'ETIMEDOUT', host: '' }, after(10), policy);
    expect(s.status).toBe('pending');
    s = applyOutcome(s, { kind: 'noanswer', reply: 'ETIMEDOUT', host: '' }, after(24), policy);
    expect(s.status).toBe('failed');
  });

  it('a hop skipped as unreachable a moment ago is no attempt: counters stay, the time limit still ends it', () => {
    const skipped = { kind: 'noanswer' as const, reply: 'ECONNREFUSED (host unreachable a moment ago, not tried again yet)', host: 'h:25', notTried: true };
    let s = applyOutcome(fresh, skipped, t0, policy);
    expect(s).toMatchObject({ status: 'pending', attempts: 0, lastReply: skipped.reply });
    expect(s.firstAttemptAt).toBeUndefined();
    s = applyOutcome(s, { kind: 'noanswer', reply: 'ECONNREFUSED', host: 'h:25' }, t0, policy);
    expect(s.attempts).toBe(1);
    s = applyOutcome(s, skipped, after(23), policy);
    expect([s.status, s.attempts, s.lastAttemptAt]).toEqual(['pending', 1, t0.toISOString()]);
    s = applyOutcome(s, skipped, after(24), policy);
    expect(s.status).toBe('failed');
  });

  it('5xx is retried refusalRetries more times, then fails', () => {
    let s = applyOutcome(fresh, { kind: 'perm', reply: '550 no', host: 'h' }, t0, policy);
    expect([s.status, s.refusals]).toEqual(['pending', 1]);
    s = applyOutcome(s, { kind: 'perm', reply: '550 no', host: 'h' }, after(0.1), policy);
    expect([s.status, s.refusals]).toEqual(['failed', 2]);
    const none = applyOutcome(fresh, { kind: 'perm', reply: '550 no', host: 'h' }, t0, { ...policy, refusalRetries: 0 });
    expect(none.status).toBe('failed');
  });

  it('a loop fails at once; a final recipient is never changed again', () => {
    const s = applyOutcome(fresh, { kind: 'fatal', reply: '554 5.4.6 mail loop', host: '' }, t0, policy);
    expect(s.status).toBe('failed');
    expect(applyOutcome(s, { kind: 'delivered', reply: '250', host: '' }, t0, policy)).toBe(s);
  });

  it('0 hours means no time limit (SPEC 2: 0 = unlimited)', () => {
    let s = applyOutcome(fresh, { kind: 'temp', reply: '451', host: '' }, t0, { ...policy, abnormalHours: 0 });
    s = applyOutcome(s, { kind: 'temp', reply: '451', host: '' }, after(1000), { ...policy, abnormalHours: 0 });
    expect(s.status).toBe('pending');
  });

  it('next attempt is retryIntervalSec later, at least one second', () => {
    expect(nextAttemptAt(t0, policy).getTime() - t0.getTime()).toBe(120_000);
    expect(nextAttemptAt(t0, { ...policy, retryIntervalSec: 0 }).getTime() - t0.getTime()).toBe(1000);
  });
});

describe('sender log IDs (SPEC 8/10)', () => {
  it('formats attempts, retries and bounces', () => {
    expect(attemptLogId('B0000000186', 0)).toBe('B0000000186');
    expect(attemptLogId('B0000000186', 1)).toBe('B0000000186-R0001');
    expect(bounceLogId('B0000000186', 1)).toBe('B0000000186-R0001-E001');
    expect(bounceLogId('B0000000186', 0)).toBe('B0000000186-E001');
  });
});
