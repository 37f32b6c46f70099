// Flushing to disk. A rename is durable only once the directory holding the new name is
// flushed (fsync of the directory, as Postfix and qmail do after moving a queue file).
// Many sessions commit at once, so directory flushes are group-committed: one fsync covers
// every rename that finished before it started.
import { closeSync, fsync, openSync } from 'node:fs';

/** fsync a directory. Windows cannot open a directory for flushing; NTFS journals renames. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  // open and close on the loop thread (microseconds); only the flush waits in the thread pool.
  const fd = openSync(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
  } catch (err) {
    // Some file systems (and some container overlays) refuse fsync on a directory; the rename
    // is then as durable as that file system makes it, and there is nothing better to do.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  } finally {
    closeSync(fd);
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Group commit of one directory's fsync. A caller's renames are covered only by an fsync that
 * *starts* after them, so a request arriving while a flush runs waits for the next one; all
 * requests arriving meanwhile share that next flush. 20 parallel commits cost 2 fsyncs, not 20.
 */
export class DirSyncer {
  /** Number of fsyncs actually issued (for tests and the bench). */
  flushes = 0;
  private inFlight: Promise<void> | null = null;
  private queued: Deferred | null = null;

  constructor(
    readonly dir: string,
    private readonly flush: (dir: string) => Promise<void> = fsyncDir,
  ) {}

  sync(): Promise<void> {
    if (!this.inFlight) return this.start();
    if (!this.queued) this.queued = deferred();
    return this.queued.promise;
  }

  private start(): Promise<void> {
    this.flushes++;
    const run = this.flush(this.dir).finally(() => {
      this.inFlight = null;
      const next = this.queued;
      this.queued = null;
      if (next) this.start().then(next.resolve, next.reject);
    });
    this.inFlight = run;
    return run;
  }
}

const syncers = new Map<string, DirSyncer>();

/** The process-wide group-committing syncer of a directory. */
export function dirSyncer(dir: string): DirSyncer {
  let s = syncers.get(dir);
  if (!s) {
    s = new DirSyncer(dir);
    syncers.set(dir, s);
  }
  return s;
}

/** Flush a directory, sharing the fsync with every concurrent caller in this process. */
export function syncDir(dir: string): Promise<void> {
  return dirSyncer(dir).sync();
}

const soon = new Map<string, NodeJS.Timeout>();

/**
 * Flush a directory within `delayMs`, without waiting for it: for changes whose loss in a power
 * cut costs a duplicate, never a message (removing a delivered message: SPEC 8 promises
 * delivery at least once). One fsync covers every change of the period, where an fsync per
 * removal cost a disk flush per delivered message. A process that exits normally flushes what
 * is pending (flushPendingDirs).
 */
export function syncDirSoon(dir: string, delayMs = 1000): void {
  if (soon.has(dir)) return;
  const timer = setTimeout(() => {
    soon.delete(dir);
    syncDir(dir).catch(() => {
      // The next removal schedules another flush; nothing waits for this one.
    });
  }, delayMs);
  timer.unref();
  soon.set(dir, timer);
}

/** Flush now every directory syncDirSoon is waiting to flush (service shutdown). */
export async function flushPendingDirs(): Promise<void> {
  const dirs = [...soon.keys()];
  for (const t of soon.values()) clearTimeout(t);
  soon.clear();
  await Promise.all(dirs.map((d) => syncDir(d).catch(() => {})));
}
