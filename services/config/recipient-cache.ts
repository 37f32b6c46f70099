// verify-cache.json in the work folder: the answers of recipient verification (SPEC 5, issue
// 15) kept across restarts, so a restarted receiver does not ask the internal server again for
// every address it knew. Written by the receiver (its answers) and by the control API (an
// administrator's "clear"), possibly by several receiver processes (receiver.processes):
// every writer reads the file, merges and writes it whole (atomic rename), and a clear is a
// tombstone ("forget what was learnt before time T"), so a merge never brings a cleared answer
// back and no writer has to know about the others.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

export const RECIPIENT_CACHE_FILE = 'verify-cache.json';

/** 2xx to `RCPT TO` → exists; 5xx → unknown. A temporary failure is never cached. */
export type RecipientAnswer = 'exists' | 'unknown';

export interface RecipientCacheEntry {
  /** The address asked (the delivery target), lower-case. */
  address: string;
  answer: RecipientAnswer;
  /** When it was asked (ms since the epoch). */
  at: number;
  /** The next hop that answered, `host:port`. */
  host: string;
  /** The internal server's reply line, for the administrator (never sent to a client). */
  reply: string;
}

export interface RecipientCacheData {
  version: 1;
  entries: RecipientCacheEntry[];
  /** address → time of a "clear this one": answers learnt at or before it are dropped. */
  cleared: Record<string, number>;
  /** Time of the last "clear all" (0: never). */
  clearedAll: number;
}

/** How long a tombstone is kept: longer than any answer could be remembered. */
const TOMBSTONE_MS = 400 * 86_400_000;
const MAX_TOMBSTONES = 10_000;

export function recipientCachePath(workdir: string): string {
  return join(workdir, RECIPIENT_CACHE_FILE);
}

export function emptyRecipientCache(): RecipientCacheData {
  return { version: 1, entries: [], cleared: {}, clearedAll: 0 };
}

function isEntry(e: unknown): e is RecipientCacheEntry {
  const x = e as RecipientCacheEntry;
  return (
    !!x &&
    typeof x.address === 'string' &&
    (x.answer === 'exists' || x.answer === 'unknown') &&
    typeof x.at === 'number' &&
    Number.isFinite(x.at) &&
    typeof x.host === 'string' &&
    typeof x.reply === 'string'
  );
}

/** Parse the file's text; anything unreadable counts as an empty cache (it is only a cache). */
export function parseRecipientCache(text: string): RecipientCacheData {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return emptyRecipientCache();
  }
  const o = v as Partial<RecipientCacheData> | null;
  if (!o || typeof o !== 'object' || o.version !== 1) return emptyRecipientCache();
  const cleared: Record<string, number> = {};
  if (o.cleared && typeof o.cleared === 'object') {
    for (const [k, t] of Object.entries(o.cleared)) if (typeof t === 'number' && Number.isFinite(t)) cleared[k.toLowerCase()] = t;
  }
  return {
    version: 1,
    entries: Array.isArray(o.entries) ? o.entries.filter(isEntry).map((e) => ({ ...e, address: e.address.toLowerCase() })) : [],
    cleared,
    clearedAll: typeof o.clearedAll === 'number' && Number.isFinite(o.clearedAll) ? o.clearedAll : 0,
  };
}

export async function readRecipientCache(workdir: string): Promise<RecipientCacheData> {
  try {
    return parseRecipientCache(await readFile(recipientCachePath(workdir), 'utf8'));
  } catch {
    return emptyRecipientCache();
  }
}

/**
 * What identifies one version of the file, to notice another writer: every write renames a new
 * file into place, so the inode changes even when two writes fall in one mtime tick (the
 * kernel's clock for timestamps is coarse). '' when there is no file.
 */
export async function recipientCacheVersion(workdir: string): Promise<string> {
  try {
    const st = await stat(recipientCachePath(workdir), { bigint: true });
    return `${st.ino}:${st.mtimeNs}:${st.size}`;
  } catch {
    return '';
  }
}

export async function writeRecipientCache(workdir: string, data: RecipientCacheData): Promise<void> {
  await writeFileAtomic(recipientCachePath(workdir), JSON.stringify(data) + '\n');
}

/** Is the entry dropped by a clear made after it was learnt? */
export function isCleared(data: Pick<RecipientCacheData, 'cleared' | 'clearedAll'>, e: RecipientCacheEntry): boolean {
  return e.at <= data.clearedAll || e.at <= (data.cleared[e.address] ?? -1);
}

/**
 * Both sides' answers, the newest per address, without those a clear of either side dropped;
 * at most maxEntries (the newest kept). Commutative, so the order writers merge in does not matter.
 */
export function mergeRecipientCache(
  a: RecipientCacheData,
  b: RecipientCacheData,
  opts: { maxEntries: number; now?: number },
): RecipientCacheData {
  const now = opts.now ?? Date.now();
  const clearedAll = Math.max(a.clearedAll, b.clearedAll);
  const cleared: Record<string, number> = {};
  for (const src of [a.cleared, b.cleared]) {
    for (const [k, t] of Object.entries(src)) {
      if (t > clearedAll && t > now - TOMBSTONE_MS && t > (cleared[k] ?? -1)) cleared[k] = t;
    }
  }
  const tomb = Object.entries(cleared);
  if (tomb.length > MAX_TOMBSTONES) {
    tomb.sort((x, y) => y[1] - x[1]);
    for (const [k] of tomb.slice(MAX_TOMBSTONES)) delete cleared[k];
  }
  const best = new Map<string, RecipientCacheEntry>();
  for (const e of [...a.entries, ...b.entries]) {
    if (isCleared({ cleared, clearedAll }, e)) continue;
    const had = best.get(e.address);
    if (!had || e.at > had.at || (e.at === had.at && e.answer === 'unknown')) best.set(e.address, e);
  }
  let entries = [...best.values()].sort((x, y) => y.at - x.at);
  if (entries.length > opts.maxEntries) entries = entries.slice(0, opts.maxEntries);
  return { version: 1, entries, cleared, clearedAll };
}

/** Is an answer still to be trusted at `now`? */
export function isFresh(e: RecipientCacheEntry, lifetimes: { existsCacheSec: number; unknownCacheSec: number }, now = Date.now()): boolean {
  const sec = e.answer === 'exists' ? lifetimes.existsCacheSec : lifetimes.unknownCacheSec;
  return now - e.at < sec * 1000 && e.at <= now + 60_000;
}

/**
 * The administrator's "clear": one address (any case) or, with none, every answer. Read, add the
 * tombstone, write; a receiver picks it up when it next looks at the file (every few seconds).
 */
export async function clearRecipientCache(workdir: string, address?: string, now = Date.now()): Promise<{ removed: number }> {
  const data = await readRecipientCache(workdir);
  const before = data.entries.length;
  if (address === undefined || address === '') {
    data.clearedAll = Math.max(data.clearedAll, now);
    data.cleared = {};
  } else {
    const key = address.trim().replace(/^<(.*)>$/, '$1').toLowerCase();
    data.cleared[key] = Math.max(data.cleared[key] ?? 0, now);
  }
  data.entries = data.entries.filter((e) => !isCleared(data, e));
  await writeRecipientCache(workdir, data);
  return { removed: before - data.entries.length };
}
