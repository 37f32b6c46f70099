// Recycled queue files ("spares", incoming/spare/). A delivered message's two files are not
// deleted but renamed into spare/, and the receiver's next message takes one and overwrites it
// in place, instead of every message creating two new files and deleting two old ones.
//
// Why: creating and deleting files is the dearest part of queueing a small message, far more
// than writing its bytes. Measured on this project's benchmark machine (ext4 without a journal,
// mounted with `discard`): a create spends ~0.25 ms scanning past recently freed inodes, and an
// unlink blocks ~0.4 ms on a synchronous discard of the freed blocks; on Windows each create and
// delete goes through NTFS's MFT and the virus scanner's filters. A rename costs neither, and an
// overwrite of a file's existing blocks allocates and frees nothing. Postfix and Haraka delete
// and create; at several hundred messages a second this made the difference (docs/benchmarks.md).
//
// Rules that keep it safe:
// - A spare is claimed by renaming it to the caller's own temp name: rename is atomic, so two
//   takers never get one file (the loser sees ENOENT and takes the next).
// - A taker truncates the old content down to the new length before writing (so no tail of an
//   old message can survive), then writes; the O_DSYNC write flushes the new size with the data.
// - Only small files are reused (the receiver's single-write path, state files); streamed
//   messages are created as before. Two kinds are kept apart (`m.` queue file, `c.` state) so a
//   taker's file already has about the right number of blocks.
// - At most CAP spares of each kind; beyond that a delivered file is deleted as before. Spares
//   still hold the text of delivered mail, so the delivery service deletes those untouched for
//   SPARE_MAX_AGE_MS (trimSpares): a quiet gateway keeps no old mail around.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { incomingDir } from './paths.js';

export type SpareKind = 'm' | 'c';

/** Spares kept per kind (about 1 MB of disk for small mail). */
export const SPARE_CAP = 256;
/** A spare untouched this long is deleted (trimSpares). */
export const SPARE_MAX_AGE_MS = 10 * 60_000;
/** How often an empty cache may look at the folder again. The receiver learns of new spares
 *  only by looking: at 100 ms a busy receiver created a new file for a quarter of its messages
 *  while spares waited (strace of 3,000 messages: 741 creates at 100 ms, 128 at 20 ms); a
 *  readdir of at most SPARE_CAP names costs tens of microseconds. */
const RESCAN_MS = 20;
/** How often a full pool may recount before refusing (the takers do not tell the giver). */
const RECOUNT_MS = 50;
const NAME_RE = /^([mc])\.\d+\.[0-9a-f]+$/;

export function sparesDir(workdir: string): string {
  return join(incomingDir(workdir), 'spare');
}

const TOKEN = randomBytes(3).toString('hex');
let counter = 0;

/** What give() did with a file. */
export type GiveResult = 'spared' | 'gone' | 'refused';

/** One process's view of incoming/spare/ (use sparePool(workdir)). */
export class SparePool {
  private readonly dir: string;
  private readonly cache: Record<SpareKind, string[]> = { m: [], c: [] };
  private readonly lastScan: Record<SpareKind, number> = { m: 0, c: 0 };
  /** Spares this process believes are there (recounted when it reaches the cap). */
  private readonly count: Record<SpareKind, number> = { m: 0, c: 0 };
  private lastCount = 0;
  /** Off after an error that says the folder cannot be used (read-only, permissions). */
  private disabled = false;

  constructor(workdir: string) {
    this.dir = sparesDir(workdir);
  }

  private scan(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      names = [];
    }
    this.cache.m = [];
    this.cache.c = [];
    for (const n of names) {
      const m = NAME_RE.exec(n);
      if (m) this.cache[m[1] as SpareKind].push(n);
    }
    this.count.m = this.cache.m.length;
    this.count.c = this.cache.c.length;
    this.lastCount = Date.now();
  }

  /**
   * Move a spare of `kind` to `dest` (the caller's fresh temp name). False when there is none:
   * the caller creates a new file. The file at `dest` then holds old content: truncate it.
   */
  take(kind: SpareKind, dest: string): boolean {
    if (this.disabled) return false;
    for (let tries = 0; tries < 8; tries++) {
      let name = this.cache[kind].pop();
      if (!name) {
        const now = Date.now();
        if (now - this.lastScan[kind] < RESCAN_MS) return false;
        this.lastScan[kind] = now;
        this.scan();
        name = this.cache[kind].pop();
        if (!name) return false;
      }
      try {
        renameSync(join(this.dir, name), dest);
        this.count[kind] = Math.max(0, this.count[kind] - 1);
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          // Taken by another process, or trimmed; if our destination folder is missing the
          // caller's create will say so.
          if (!existsSync(this.dir)) return false;
          continue;
        }
        return false; // EPERM/EBUSY (a scanner holds it on Windows): create a new file instead
      }
    }
    return false;
  }

  /**
   * Retire a queue file: rename it into spare/ ('spared'), or report that it is already gone
   * ('gone'), or that it was not taken ('refused': the pool is full or unusable) — then the
   * caller deletes it as before.
   */
  give(kind: SpareKind, path: string): GiveResult {
    if (this.disabled) return 'refused';
    if (this.count[kind] >= SPARE_CAP) {
      // The receiver takes spares without telling us: look again, at most every RECOUNT_MS.
      // (Once a second refused a quarter of the delivered files at 800 msg/s, and each refused
      // one is an unlink on the delivery loop — blocking on a disk mounted with `discard`.)
      if (Date.now() - this.lastCount < RECOUNT_MS) return 'refused';
      this.scan();
      if (this.count[kind] >= SPARE_CAP) return 'refused';
    }
    const target = join(this.dir, `${kind}.${process.pid}.${TOKEN}${(counter++).toString(16)}`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        renameSync(path, target);
        this.count[kind]++;
        return 'spared';
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          if (existsSync(path)) {
            // Our folder is missing: make it once.
            try {
              mkdirSync(this.dir, { recursive: true });
              continue;
            } catch {
              this.disabled = true;
              return 'refused';
            }
          }
          return 'gone';
        }
        if (code === 'EROFS' || code === 'EACCES' || code === 'EXDEV') this.disabled = true;
        return 'refused';
      }
    }
    return 'refused';
  }
}

const pools = new Map<string, SparePool>();

/** The process-wide pool of a work folder. */
export function sparePool(workdir: string): SparePool {
  let p = pools.get(workdir);
  if (!p) {
    p = new SparePool(workdir);
    pools.set(workdir, p);
  }
  return p;
}

/**
 * Delete spares untouched for `maxAgeMs` (a spare still holds a delivered message's text).
 * Returns the paths removed. Cheap when the gateway is busy: nothing is old then.
 */
export function trimSpares(workdir: string, maxAgeMs = SPARE_MAX_AGE_MS, now = Date.now()): string[] {
  const dir = sparesDir(workdir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const path = join(dir, n);
    try {
      const st = statSync(path);
      // rename sets ctime: a freshly retired spare is young even if its mtime is old.
      if (now - Math.max(st.mtimeMs, st.ctimeMs) <= maxAgeMs) continue;
      unlinkSync(path);
      removed.push(path);
    } catch {
      // taken meanwhile
    }
  }
  return removed;
}
