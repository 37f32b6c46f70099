// The checker: cache in memory and in verify-cache.json (persist, restore, expiry, a clear
// made in the file), one question for two sessions asking the same address, hop fallback.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecipientChecker, outcomeText } from '../../../../services/receiver/recipient-check/checker.js';
import { recipientCheckSchema } from '../../../../services/config/settings.js';
import { clearRecipientCache, readRecipientCache, writeRecipientCache } from '../../../../services/config/recipient-cache.js';
import type { CheckItem } from '../../../../services/policy/recipient-check.js';
import { startInternalServer, type InternalServer } from '../../../e2e/helpers/internal-server.js';
import { deadPort } from '../../delivery/helpers/servers.js';
import { until } from '../../delivery/helpers/workdir.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function setup(o: { settings?: Record<string, unknown>; flushMs?: number; rcptDelayMs?: number } = {}) {
  const workdir = await mkdtemp(join(tmpdir(), 'sekisho-checker-'));
  const srv: InternalServer = await startInternalServer({ users: ['taro@corp.jp'], rcptDelayMs: o.rcptDelayMs });
  cleanups.push(() => srv.close());
  const settings = recipientCheckSchema.parse({ domains: ['corp.jp'], ...o.settings });
  const make = async () => {
    const c = new RecipientChecker({ workdir, settings: () => settings, heloName: () => 'gw.test.jp', flushMs: o.flushMs ?? 100 });
    await c.start();
    cleanups.push(() => c.close());
    return c;
  };
  const item = (address: string, port = srv.port): CheckItem => ({
    address,
    domain: 'corp.jp',
    hops: [{ host: '127.0.0.1', port, rule: { file: 'gateway.dat', line: 1 } }],
  });
  return { workdir, srv, settings, make, item };
}

describe('RecipientChecker', () => {
  it('asks once, answers from memory, persists at close and restores at start', async () => {
    const t = await setup();
    const c = await t.make();
    const [a, b] = await Promise.all([c.check(t.item('taro@corp.jp')), c.check(t.item('TARO@corp.jp'))]);
    expect(a.kind).toBe('exists');
    expect(b).toBe(a);
    expect(a.cached).toBe(false);
    expect(outcomeText(a)).toMatch(/^verified by 127\.0\.0\.1:\d+ \(asked now\)$/);
    const u = await c.check(t.item('ghost@corp.jp'));
    expect(u.kind).toBe('unknown');
    const again = await c.check(t.item('ghost@corp.jp'));
    expect(again.cached).toBe(true);
    expect(t.srv.rcpts).toEqual(['taro@corp.jp', 'ghost@corp.jp']);
    await c.close();
    expect((await readRecipientCache(t.workdir)).entries.map((e) => e.address).sort()).toEqual(['ghost@corp.jp', 'taro@corp.jp']);

    const c2 = await t.make();
    const r = await c2.check(t.item('taro@corp.jp'));
    expect(r.cached).toBe(true);
    expect(t.srv.rcpts).toHaveLength(2);
  });

  it('forgets an expired answer and asks again', async () => {
    const t = await setup({ settings: { existsCacheSec: 0 } });
    const c = await t.make();
    await c.check(t.item('taro@corp.jp'));
    await c.check(t.item('taro@corp.jp'));
    expect(t.srv.rcpts).toHaveLength(2);
    // Restored answers expire too: one older than unknownCacheSec is not used.
    await writeRecipientCache(t.workdir, {
      version: 1,
      entries: [{ address: 'old@corp.jp', answer: 'unknown', at: Date.now() - 3_601_000, host: 'x:25', reply: '550' }],
      cleared: {},
      clearedAll: 0,
    });
    const c2 = await t.make();
    expect(c2.cached('old@corp.jp')).toBeUndefined();
  });

  it('picks up a clear written into the file by someone else', async () => {
    const t = await setup();
    const c = await t.make();
    await c.check(t.item('ghost@corp.jp'));
    await c.sync();
    expect(c.cached('ghost@corp.jp')).toBeDefined();
    await clearRecipientCache(t.workdir);
    await until(() => c.cached('ghost@corp.jp') === undefined, 5000, 'the clear picked up');
    expect((await c.check(t.item('ghost@corp.jp'))).cached).toBe(false);
    expect(t.srv.rcpts).toHaveLength(2);
  });

  it('is unavailable when no hop answers, and does not remember that', async () => {
    const t = await setup({ settings: { timeoutSec: 2 } });
    const c = await t.make();
    const r = await c.check(t.item('taro@corp.jp', await deadPort()));
    expect(r.kind).toBe('unavailable');
    expect(outcomeText(r)).toMatch(/cannot be verified now \(.*ECONNREFUSED/);
    expect(c.cached('taro@corp.jp')).toBeUndefined();
  });

  it('bounds the line of waiting checks: beyond 200 per slot the answer is "unavailable" at once', async () => {
    const t = await setup({ settings: { maxConcurrent: 1, timeoutSec: 60 }, rcptDelayMs: 2 });
    const c = await t.make();
    const all = Array.from({ length: 202 }, (_, i) => c.check(t.item(`u${i}@corp.jp`)));
    const last = await all[201];
    expect(last.kind).toBe('unavailable');
    expect(last.notes).toEqual(['200 checks already waiting: not asked']);
    const kinds = (await Promise.all(all.slice(0, 201))).map((o) => o.kind);
    expect(kinds.every((k) => k === 'unknown')).toBe(true);
    expect(c.maxRunning).toBe(1);
    expect(t.srv.maxRcptInFlight).toBe(1);
    expect(c.connectionsOpened).toBe(1);
  }, 30_000);

  it('a check waits for a slot at most timeoutSec', async () => {
    const t = await setup({ settings: { maxConcurrent: 1, timeoutSec: 1 }, rcptDelayMs: 3000 });
    const c = await t.make();
    // The first check holds the only slot for two hosts' timeouts (about 2 s), the second waits 1 s.
    const twoHops = { ...t.item('a@corp.jp'), hops: [...t.item('a@corp.jp').hops, ...t.item('a@corp.jp').hops] };
    const [first, second] = await Promise.all([c.check(twoHops), c.check(t.item('b@corp.jp'))]);
    expect(first.kind).toBe('unavailable');
    expect(first.notes.join(' ')).toMatch(/no answer within [\d.]+ s \(RCPT TO:<a@corp\.jp>\)/);
    expect(second.kind).toBe('unavailable');
    expect(second.notes).toEqual(['no free check slot within 1 s (recipientCheck.maxConcurrent 1)']);
  }, 20_000);
});
