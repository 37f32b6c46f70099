// Cross-process lock files: the ID counter's lock and the per-message claims.
//
// A lock is a name that exactly one process can create, holding the owner record
// `pid hostname time nonce [boot=…] [start=…]` (the last two name the process by more than its
// PID, so a reused PID does not keep a dead owner's lock alive: liveness.ts).
// Each process writes that content once per folder into an owner file (`.owner.<pid>.<token>`)
// and takes a lock by hard-linking it to the lock's name: link(2) fails with EEXIST when the
// name exists, like an O_EXCL create, but allocates no inode and writes nothing. A delivery
// runner takes and drops a claim for every message, and on a busy ext4 without a journal each
// new inode costs a scan past every inode freed in the last seconds (measured: 8 % of the
// machine's CPU for the queue's three new files per message). Where hard links are not
// supported (FAT, some shares) the lock is created with O_EXCL and written instead; a lock read
// empty (the instant between that create and write) counts as alive. A lock whose process is dead is stale and may be broken:
// breakers are serialized by a second lock (`<lock>.break`), and a breaker removes the stale
// lock only if it still holds the very content (nonce) it found stale, so two breakers can never
// both take one lock, and a fresh lock is never removed by mistake.
import { link, stat } from 'node:fs/promises';
import { linkSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { recordFields, releaseBeacon, selfIdentity, writerAlive } from './liveness.js';
import { renameRetrying, retryingSync, unlinkRetrying, unlinkRetryingSync } from './winfs.js';

const HOST = hostname();

/** Lock paths held by this process. A lock carrying our own pid but not in here is from an
 *  earlier process that had the same pid, as happens in containers where pids restart at 1. */
const heldHere = new Set<string>();
/** Lock paths this process is acquiring right now, marked synchronously so that two callers
 *  in one process (two workers handed the same ID) never race each other. */
const acquiring = new Set<string>();

export interface LockInfo {
  pid: number;
  host: string;
  time: string;
  raw: string;
}

// Unique names and nonces without a random draw each time: a random token per process start
// plus a counter (a delivery runner claims hundreds of messages a second).
const TOKEN = randomBytes(4).toString('hex');
let counter = 0;
const unique = () => `${TOKEN}${(counter++).toString(16)}`;

/** An owner record: `pid host time nonce` and the process's start identity (liveness.ts). */
function newContent(): string {
  return `${process.pid} ${HOST} ${new Date().toISOString()} ${unique()}${selfIdentity(TOKEN)}\n`;
}

export function parseLock(raw: string): LockInfo | null {
  const [pid, host, time] = raw.trim().split(/\s+/);
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0 || !host) return null;
  return { pid: n, host, time: time ?? '', raw };
}

interface OwnerFile {
  path: string;
  content: string;
}
/** This process's owner file per folder; `null`: hard links do not work there. */
const owners = new Map<string, OwnerFile | null>();
const OWNER_RE = /^\.owner\.(\d+)\.[0-9a-f]+$/;

// At exit (a graceful stop, or the end of a CLI command): synchronous, as 'exit' handlers must
// be; with the same short retry as the queue's other removals where Windows needs it.
function removeOwnerFiles(): void {
  const paths = [...owners.values()].flatMap((o) => (o ? [o.path] : []));
  owners.clear();
  // The process is ending: once its beacon is closed (Windows) its records read as dead, which
  // is what they are from here on; the files themselves are then removed.
  const beacon = releaseBeacon();
  for (const p of beacon ? [...paths, beacon] : paths) {
    try {
      unlinkRetryingSync(p);
    } catch {
      /* the sweep removes it */
    }
  }
}
process.on('exit', removeOwnerFiles);

/** This process's owner file in `dir`, created on first use; null where links are unsupported. */
function ownerIn(dir: string): OwnerFile | null {
  const known = owners.get(dir);
  if (known !== undefined) return known;
  const content = newContent();
  const path = join(dir, `.owner.${process.pid}.${unique()}`);
  writeFileSync(path, content, { flag: 'wx' }); // ENOENT (no folder) goes to the caller
  const o = { path, content };
  owners.set(dir, o);
  return o;
}

/** Errors of link(2) that mean "no hard links here" rather than "the name is taken". */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EACCES']);

/**
 * Create the lock `path` for this process: its content, or null when the name already exists.
 * A hard link to the owner file where the file system has them, else an O_EXCL create.
 */
function createLock(path: string): string | null {
  const dir = dirname(path);
  for (let attempt = 0; attempt < 2; attempt++) {
    const owner = ownerIn(dir);
    if (!owner) break;
    try {
      linkSync(owner.path, path);
      return owner.content;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') return null;
      if (code === 'ENOENT' || code === 'EMLINK') {
        // Owner file removed under us (an admin cleaning up), or at the link limit (65,000 on
        // ext4): start a new one and try again.
        owners.delete(dir);
        continue;
      }
      if (NO_LINKS.has(code)) {
        owners.set(dir, null);
        break;
      }
      throw err;
    }
  }
  const content = newContent();
  return createWithContent(path, content) ? content : null;
}

/**
 * For the sweep: whether `name` in `dir` is an owner file nobody can use any more (its process
 * is dead, or it cannot be read and is older than a minute). Locks linked to it keep their
 * content when it goes: removing it never frees a lock.
 */
export function isStaleOwnerFile(dir: string, name: string, ageMs: number): boolean {
  const m = OWNER_RE.exec(name);
  if (!m) return false;
  const path = join(dir, name);
  if (Number(m[1]) === process.pid) return owners.get(dir)?.path !== path;
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const info = parseLock(raw);
  if (!info) return ageMs > 60_000;
  return !holderAlive(info, path);
}

/** Whether the process named by a lock (or owner file) at `path` may still be running. */
export function holderAlive(info: LockInfo, path: string): boolean {
  // Another machine's process cannot be checked from here: assume it lives.
  if (info.host !== HOST) return true;
  if (info.pid === process.pid) return heldHere.has(path);
  return writerAlive(info.pid, recordFields(info.raw));
}

// Lock files are a few bytes: read and removed on the loop thread (microseconds), not through
// thread-pool round trips — a claim is taken and released for every message.
function readRaw(path: string): string | null {
  try {
    // A scanner holding the file without sharing makes the open fail with EBUSY on Windows.
    return retryingSync(() => readFileSync(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

// Through winfs: on Windows an antivirus or indexer holding the file briefly makes unlink and
// rename fail with EPERM/EBUSY/EACCES; elsewhere this is one unlink(2) on the loop thread.
async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlinkRetrying(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Create `path` holding `content`; false when it already exists. One O_EXCL create (exactly
 * one process wins) and one small write, done synchronously: a claim is taken for every
 * message, and the temp-file + link(2) dance cost three more syscalls and four thread-pool
 * round trips each time (measured: ~15% of the delivery's CPU). A reader may see the lock
 * empty for the microseconds between create and write; an unreadable lock counts as alive
 * until it is 10 s old (isStale), so that window never lets a breaker in.
 */
function createWithContent(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A lock is stale when its process is dead, or (unreadable content) when it is old. */
async function isStale(path: string, raw: string): Promise<boolean> {
  const info = parseLock(raw);
  if (info) return !holderAlive(info, path);
  try {
    const st = await stat(path);
    return Date.now() - st.mtimeMs > 10_000;
  } catch {
    return false;
  }
}

/**
 * Remove `path` only if it still holds `raw`: rename it away (atomic, one winner), check the
 * content, and put it back with link (which never overwrites) if it was not the one we meant.
 */
async function removeIfUnchanged(path: string, raw: string): Promise<boolean> {
  const grave = `${path}.${process.pid}.${unique()}.gone`;
  try {
    await renameRetrying(path, grave);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const moved = readRaw(grave);
  if (moved === raw) {
    await unlinkQuiet(grave);
    return true;
  }
  try {
    await link(grave, path);
  } catch {
    // The name was taken again meanwhile: the newer lock wins.
  }
  await unlinkQuiet(grave);
  return false;
}

/** Remove a stale lock, serialized with every other breaker through `<path>.break`. */
async function breakStale(path: string, staleRaw: string): Promise<void> {
  const breaker = `${path}.break`;
  const mine = newContent();
  if (!createWithContent(breaker, mine)) {
    // Another process is breaking it right now, or died doing so (a breaker holds the file for
    // a few system calls only, so a dead one older than two seconds is safe to clear).
    const raw = readRaw(breaker);
    if (raw === null) return;
    const st = await stat(breaker).catch(() => null);
    if (st && Date.now() - st.mtimeMs > 2_000 && (await isStale(breaker, raw))) await removeIfUnchanged(breaker, raw);
    return;
  }
  try {
    // While we hold the breaker nobody else may remove the lock, and nobody can create one
    // while it exists: if it still has the stale content, it is safe to unlink.
    if (readRaw(path) === staleRaw) await unlinkQuiet(path);
  } finally {
    if (readRaw(breaker) === mine) await unlinkQuiet(breaker);
  }
}

export class HeldLock {
  private released = false;
  constructor(
    readonly path: string,
    private readonly content: string,
  ) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // Only ever remove our own lock (a lock is never broken while we live, but be sure). Held
    // here until it is gone: while a Windows retry waits, our own callers must not break it.
    try {
      if (readRaw(this.path) === this.content) await unlinkQuiet(this.path);
    } finally {
      heldHere.delete(this.path);
    }
  }
}

/** Take the lock, breaking it if its holder is dead; null when a live process holds it. */
export async function tryLock(path: string): Promise<HeldLock | null> {
  if (heldHere.has(path) || acquiring.has(path)) return null;
  acquiring.add(path);
  let held: HeldLock | null = null;
  try {
    for (let attempt = 0; attempt < 4 && !held; attempt++) {
      const content = createLock(path);
      if (content !== null) {
        held = new HeldLock(path, content);
        heldHere.add(path);
        break;
      }
      const raw = readRaw(path);
      if (raw === null) continue; // released meanwhile: try again
      if (!(await isStale(path, raw))) break;
      await breakStale(path, raw);
    }
  } finally {
    acquiring.delete(path);
  }
  return held;
}

/** Wait for the lock (bounded): used for short critical sections such as the ID counter. */
export async function lock(path: string, timeoutMs = 10_000): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const held = await tryLock(path);
    if (held) return held;
    if (Date.now() > deadline) throw new Error(`cannot take the lock ${path}: held by another process (${(readRaw(path))?.trim() ?? 'gone'})`);
    await new Promise((r) => setTimeout(r, Math.min(2 + i * 2, 25) + Math.random() * 5));
  }
}

/** Inspect a lock without taking it: null when absent, else who holds it and whether they live. */
export async function inspectLock(path: string): Promise<{ info: LockInfo | null; alive: boolean } | null> {
  const raw = readRaw(path);
  if (raw === null) return null;
  return { info: parseLock(raw), alive: !(await isStale(path, raw)) };
}

/** Remove a lock whose holder is dead (the sweep); true when removed. */
export async function removeStaleLock(path: string): Promise<boolean> {
  const raw = readRaw(path);
  if (raw === null || !(await isStale(path, raw))) return false;
  await breakStale(path, raw);
  return readRaw(path) !== raw;
}
