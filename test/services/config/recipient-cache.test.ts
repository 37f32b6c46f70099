// verify-cache.json: parse, merge (newest wins, clears are tombstones), bound, expiry, clear.
import { describe, it, expect } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clearRecipientCache,
  emptyRecipientCache,
  isFresh,
  mergeRecipientCache,
  parseRecipientCache,
  readRecipientCache,
  recipientCachePath,
  writeRecipientCache,
  type RecipientCacheData,
  type RecipientCacheEntry,
} from '../../../services/config/recipient-cache.js';

const e = (address: string, at: number, answer: 'exists' | 'unknown' = 'exists'): RecipientCacheEntry => ({
  address,
  answer,
  at,
  host: '192.168.0.10:25',
  reply: answer === 'exists' ? '250 2.1.5 Ok' : '550 5.1.1 User unknown',
});
const data = (entries: RecipientCacheEntry[], extra: Partial<RecipientCacheData> = {}): RecipientCacheData => ({ ...emptyRecipientCache(), entries, ...extra });

describe('verify-cache.json', () => {
  it('reads what it wrote; a missing, broken or foreign file is an empty cache', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sekisho-vc-'));
    expect(await readRecipientCache(dir)).toEqual(emptyRecipientCache());
    const d = data([e('taro@corp.jp', 1000), e('ghost@corp.jp', 2000, 'unknown')], { cleared: { 'x@corp.jp': 500 } });
    await writeRecipientCache(dir, d);
    expect(await readRecipientCache(dir)).toEqual(d);
    await writeFile(recipientCachePath(dir), '{"version":1,"entries":[');
    expect(await readRecipientCache(dir)).toEqual(emptyRecipientCache());
    expect(parseRecipientCache('{"version":2,"entries":[]}')).toEqual(emptyRecipientCache());
    // A malformed entry is skipped, the rest kept; addresses are lower-cased.
    const p = parseRecipientCache(JSON.stringify({ version: 1, entries: [{ address: 'A@corp.jp', answer: 'maybe', at: 1, host: '', reply: '' }, { ...e('B@Corp.jp', 5) }] }));
    expect(p.entries.map((x) => x.address)).toEqual(['b@corp.jp']);
  });

  it('merges: the newest answer per address wins, both orders alike, bounded to the newest', () => {
    const a = data([e('taro@corp.jp', 1000), e('hanako@corp.jp', 3000)]);
    const b = data([e('taro@corp.jp', 2000, 'unknown'), e('jiro@corp.jp', 500)]);
    const ab = mergeRecipientCache(a, b, { maxEntries: 10, now: 5000 });
    const ba = mergeRecipientCache(b, a, { maxEntries: 10, now: 5000 });
    expect(ab).toEqual(ba);
    expect(ab.entries.map((x) => `${x.address} ${x.answer}`)).toEqual(['hanako@corp.jp exists', 'taro@corp.jp unknown', 'jiro@corp.jp exists']);
    expect(mergeRecipientCache(a, b, { maxEntries: 2, now: 5000 }).entries.map((x) => x.address)).toEqual(['hanako@corp.jp', 'taro@corp.jp']);
  });

  it('a clear is a tombstone: a merge never brings back an answer learnt before it, a newer one stays', () => {
    const receiverSide = data([e('taro@corp.jp', 1000), e('ghost@corp.jp', 1000, 'unknown'), e('new@corp.jp', 4000)]);
    const cleared = data([], { cleared: { 'ghost@corp.jp': 2000 } });
    const m = mergeRecipientCache(receiverSide, cleared, { maxEntries: 10, now: 5000 });
    expect(m.entries.map((x) => x.address).sort()).toEqual(['new@corp.jp', 'taro@corp.jp']);
    expect(m.cleared).toEqual({ 'ghost@corp.jp': 2000 });
    const all = mergeRecipientCache(receiverSide, data([], { clearedAll: 3000 }), { maxEntries: 10, now: 5000 });
    expect(all.entries.map((x) => x.address)).toEqual(['new@corp.jp']);
    // A tombstone older than clear-all is dropped (clear-all covers it).
    expect(mergeRecipientCache(m, data([], { clearedAll: 3000 }), { maxEntries: 10, now: 5000 }).cleared).toEqual({});
  });

  it('expiry: exists and unknown have their own lifetimes', () => {
    const life = { existsCacheSec: 100, unknownCacheSec: 10 };
    expect(isFresh(e('a@corp.jp', 0), life, 99_000)).toBe(true);
    expect(isFresh(e('a@corp.jp', 0), life, 100_000)).toBe(false);
    expect(isFresh(e('a@corp.jp', 0, 'unknown'), life, 9_000)).toBe(true);
    expect(isFresh(e('a@corp.jp', 0, 'unknown'), life, 10_000)).toBe(false);
    expect(isFresh(e('a@corp.jp', 0), { existsCacheSec: 0, unknownCacheSec: 0 }, 0)).toBe(false);
  });

  it('clearRecipientCache removes one address (any case) or all and leaves the tombstone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sekisho-vc-'));
    await writeRecipientCache(dir, data([e('taro@corp.jp', 1000), e('ghost@corp.jp', 1000, 'unknown')]));
    expect(await clearRecipientCache(dir, '<Ghost@Corp.JP>', 2000)).toEqual({ removed: 1 });
    const after = await readRecipientCache(dir);
    expect(after.entries.map((x) => x.address)).toEqual(['taro@corp.jp']);
    expect(after.cleared).toEqual({ 'ghost@corp.jp': 2000 });
    expect(await clearRecipientCache(dir, undefined, 3000)).toEqual({ removed: 1 });
    const none = JSON.parse(await readFile(recipientCachePath(dir), 'utf8'));
    expect(none).toEqual({ version: 1, entries: [], cleared: {}, clearedAll: 3000 });
  });
});
