// Recipient verification at RCPT time (SPEC 5, issue 15): answers from the cache when it knows
// the address, otherwise asks the target domain's gateway.dat hops in file order (a hop that
// cannot be reached or answers 4xx passes to the next, as delivery does, SPEC 4), at most
// recipientCheck.maxConcurrent questions at once (the rest wait in a bounded line), over
// connections kept open for the next question until idle for recipientCheck.idleSec.
//
// The cache lives in memory and in verify-cache.json (services/config/recipient-cache.ts).
// Every LOOK_MS the checker looks at the file (inode, time, size): a change made by someone
// else (the control API's "clear", another receiver process) is merged in — a clear drops the
// answers learnt before it. New answers of ours are merged into the file and written at most
// every WRITE_MS (a busy MX learns many addresses a second; one small write every few seconds
// is enough for a cache). At close it writes once more, so a restart does not ask again.
import type { Settings } from '../../config/settings.js';
import {
  emptyRecipientCache,
  isCleared,
  isFresh,
  mergeRecipientCache,
  readRecipientCache,
  recipientCacheVersion,
  writeRecipientCache,
  type RecipientCacheData,
  type RecipientCacheEntry,
} from '../../config/recipient-cache.js';
import { formatHostPort } from '../../policy/route.js';
import { describeCheck, type CheckItem } from '../../policy/recipient-check.js';
import { ProbeConnection, ProbeError, replyLine } from './probe.js';

type CheckSettings = Settings['recipientCheck'];

export type CheckOutcome =
  | { kind: 'exists' | 'unknown'; cached: boolean; entry: RecipientCacheEntry; notes: string[] }
  /** Nobody could be asked (down, timeout, 4xx, too many waiting): the configured answer applies. */
  | { kind: 'unavailable'; cached: false; notes: string[] };

export interface CheckerOptions {
  workdir: string;
  settings: () => CheckSettings;
  /** Our name in EHLO (settings.hostname). */
  heloName: () => string;
  /** Trace lines without a session (connections opened and closed, cache reloads). */
  trace?: (line: string) => void;
  /** How often the file is looked at (default 1 s); it is written at most every 3 s. */
  flushMs?: number;
}

/** How many checks may wait for a free slot per allowed concurrent check. */
const WAITING_PER_SLOT = 200;
const LOOK_MS = 1_000;
const WRITE_MS = 3_000;

interface Idle {
  conn: ProbeConnection;
  timer: NodeJS.Timeout;
}

export class RecipientChecker {
  private data: RecipientCacheData = emptyRecipientCache();
  private readonly byAddress = new Map<string, RecipientCacheEntry>();
  private dirty = false;
  private fileVersion: string | null = null;
  private lastWrite = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly inflight = new Map<string, Promise<CheckOutcome>>();
  private readonly idle = new Map<string, Idle[]>();
  private readonly waiting: Array<() => void> = [];
  /** Questions being asked now. */
  running = 0;
  /** The most ever asked at once (for tests and the status line). */
  maxRunning = 0;
  /** Connections opened to internal servers since start. */
  connectionsOpened = 0;

  constructor(private readonly opts: CheckerOptions) {}

  /** Read verify-cache.json and start the periodic look at it. */
  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync(false).catch((err) => this.opts.trace?.(`recipient check cache: ${(err as Error).message}`)), this.opts.flushMs ?? LOOK_MS);
    this.timer.unref();
  }

  /** The fresh cached answer for an address, if any. */
  cached(address: string, now = Date.now()): RecipientCacheEntry | undefined {
    const e = this.byAddress.get(address.toLowerCase());
    return e && isFresh(e, this.opts.settings(), now) ? e : undefined;
  }

  /** Ask (or answer from the cache) whether the internal server takes item.address. */
  check(item: CheckItem): Promise<CheckOutcome> {
    const key = item.address.toLowerCase();
    const hit = this.cached(key);
    if (hit) return Promise.resolve({ kind: hit.answer, cached: true, entry: hit, notes: [] });
    // The same address asked by two sessions at once: one question.
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.ask(item).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async ask(item: CheckItem): Promise<CheckOutcome> {
    const s = this.opts.settings();
    const notes: string[] = [];
    if (this.closed) return { kind: 'unavailable', cached: false, notes: ['the receiver is stopping'] };
    if (!(await this.slot(s, notes))) return { kind: 'unavailable', cached: false, notes };
    try {
      for (const hop of item.hops) {
        const target = formatHostPort(hop.host, hop.port);
        try {
          const r = await this.askHop(hop.host, hop.port, item.address, s, notes);
          if (r.kind === 'exists' || r.kind === 'unknown') {
            const entry: RecipientCacheEntry = { address: item.address.toLowerCase(), answer: r.kind, at: Date.now(), host: target, reply: replyLine(r.reply) };
            this.remember(entry);
            return { kind: r.kind, cached: false, entry, notes };
          }
          notes.push(`${target} answered ${replyLine(r.reply)}${r.kind === 'sender-refused' ? ' to MAIL FROM:<>' : ''}; next hop`);
        } catch (err) {
          notes.push(`${(err as Error).message}; next hop`);
        }
      }
      return { kind: 'unavailable', cached: false, notes };
    } finally {
      this.release();
    }
  }

  /** One question to one hop; a kept connection that turns out closed is replaced once. */
  private async askHop(host: string, port: number, address: string, s: CheckSettings, notes: string[]) {
    const key = formatHostPort(host, port);
    // One deadline for the whole check of this host: connect, greeting, EHLO and the questions.
    const deadline = Date.now() + s.timeoutSec * 1000;
    const left = () => Math.max(1, deadline - Date.now());
    const kept = this.takeIdle(key);
    if (kept) {
      try {
        const r = await kept.ask(address, left());
        this.putIdle(key, kept, s);
        notes.push(`asked ${key} on a kept connection (question ${kept.uses})`);
        return r;
      } catch (err) {
        kept.destroy();
        // The server closed it while idle (its own timeout): not the server's answer.
        if (!(err instanceof ProbeError) || !err.broken) throw err;
      }
    }
    const conn = await ProbeConnection.open(host, port, { heloName: this.opts.heloName(), timeoutMs: left() });
    this.connectionsOpened++;
    this.opts.trace?.(`recipient check: connected to ${key}`);
    try {
      const r = await conn.ask(address, left());
      this.putIdle(key, conn, s);
      notes.push(`asked ${key} on a new connection`);
      return r;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  private takeIdle(key: string): ProbeConnection | null {
    const list = this.idle.get(key);
    while (list?.length) {
      const i = list.pop()!;
      clearTimeout(i.timer);
      if (i.conn.usable) return i.conn;
      i.conn.destroy();
    }
    return null;
  }

  private putIdle(key: string, conn: ProbeConnection, s: CheckSettings): void {
    if (this.closed || !conn.usable) return conn.destroy();
    const list = this.idle.get(key) ?? [];
    // Never more idle connections to one server than checks may run at once.
    if (list.length >= s.maxConcurrent) return conn.close();
    const entry: Idle = {
      conn,
      timer: setTimeout(() => {
        const l = this.idle.get(key);
        const at = l?.indexOf(entry) ?? -1;
        if (at >= 0) l!.splice(at, 1);
        conn.close();
      }, s.idleSec * 1000),
    };
    entry.timer.unref();
    list.push(entry);
    this.idle.set(key, list);
  }

  /** Wait for a free slot (bounded line, bounded time); false when none came. */
  private async slot(s: CheckSettings, notes: string[]): Promise<boolean> {
    if (this.running < s.maxConcurrent) {
      this.take();
      return true;
    }
    if (this.waiting.length >= s.maxConcurrent * WAITING_PER_SLOT) {
      notes.push(`${this.waiting.length} checks already waiting: not asked`);
      return false;
    }
    return new Promise<boolean>((resolve) => {
      const go = () => {
        clearTimeout(timer);
        if (this.closed) {
          notes.push('the receiver is stopping');
          return resolve(false);
        }
        this.take();
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(go);
        if (at >= 0) this.waiting.splice(at, 1);
        notes.push(`no free check slot within ${s.timeoutSec} s (recipientCheck.maxConcurrent ${s.maxConcurrent})`);
        resolve(false);
      }, s.timeoutSec * 1000);
      this.waiting.push(go);
    });
  }

  private take(): void {
    this.running++;
    if (this.running > this.maxRunning) this.maxRunning = this.running;
  }

  private release(): void {
    this.running--;
    // The limit may have been lowered by a settings change: only start what it allows.
    if (this.running < this.opts.settings().maxConcurrent) this.waiting.shift()?.();
  }

  // ------------------------------------------------------------------ cache

  private remember(e: RecipientCacheEntry): void {
    if (isCleared(this.data, e)) return;
    this.byAddress.set(e.address, e);
    this.dirty = true;
    const max = this.opts.settings().maxCacheEntries;
    if (this.byAddress.size > max) {
      // Map order is insertion order: the first ones are the oldest answers.
      for (const k of this.byAddress.keys()) {
        this.byAddress.delete(k);
        if (this.byAddress.size <= max) break;
      }
    }
  }

  /** Merge the file (when someone else changed it) and write our new answers. */
  sync(force = true): Promise<void> {
    this.flushing ??= this.syncNow(force).finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async syncNow(force: boolean): Promise<void> {
    const s = this.opts.settings();
    const version = await recipientCacheVersion(this.opts.workdir);
    const writeDue = this.dirty && (force || Date.now() - this.lastWrite >= WRITE_MS);
    if (version === this.fileVersion && !writeDue) return;
    const disk = await readRecipientCache(this.opts.workdir);
    const now = Date.now();
    const mine: RecipientCacheData = { ...this.data, entries: [...this.byAddress.values()] };
    const merged = mergeRecipientCache(mine, disk, { maxEntries: s.maxCacheEntries, now });
    merged.entries = merged.entries.filter((e) => isFresh(e, s, now));
    const dropped = [...this.byAddress.keys()].filter((k) => !merged.entries.some((e) => e.address === k));
    if (dropped.length && version !== this.fileVersion) this.opts.trace?.(`recipient check cache: ${dropped.length} answer(s) cleared or expired (verify-cache.json changed)`);
    this.data = merged;
    this.byAddress.clear();
    // Oldest first, so the bound in remember() drops the oldest.
    for (const e of [...merged.entries].reverse()) this.byAddress.set(e.address, e);
    // Answers not yet written stay dirty until the next write is due.
    const changed = writeDue || (!this.dirty && (merged.entries.length !== disk.entries.length || dropped.length > 0));
    if (changed) {
      this.dirty = false;
      this.lastWrite = Date.now();
      await writeRecipientCache(this.opts.workdir, merged);
    }
    this.fileVersion = await recipientCacheVersion(this.opts.workdir);
  }

  /** Stop: write the cache, close the kept connections. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const go of this.waiting.splice(0)) go();
    for (const list of this.idle.values()) {
      for (const i of list) {
        clearTimeout(i.timer);
        i.conn.close();
      }
    }
    this.idle.clear();
    await this.sync().catch(() => {});
  }
}

/** For the trace and the receive log: the answer and how it was reached. */
export function outcomeText(o: CheckOutcome, now = Date.now()): string {
  if (o.kind === 'unavailable') return `cannot be verified now (${o.notes.join('; ') || 'no hop answered'})`;
  return describeCheck(o.entry, o.cached, now);
}
