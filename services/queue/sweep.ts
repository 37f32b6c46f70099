// The startup sweep (called by delivery when it starts, and safe to call any time): removes
// what crashed writers left behind, never anything a live process is still writing.
//
// - incoming/<ID>.MSG without its .$CP (format 1): a crash between the two renames of a commit,
//   or between the two retirements of removeMessage. Removed once older than a minute (the gap
//   between the renames of a live commit is microseconds; the minute is a wide margin).
// - incoming/<ID>.$ST without its .$CP (format 2): a crash between removeMessage's retirement of
//   the queue file and of its state. Only a finished message's state, no message text; removed
//   once older than a minute (a state is written only for a queued message, so none is new).
// - incoming/tmp/<ID>.<pid>.<random>.{MSG,$CP}.tmp: a write in progress or abandoned. Removed
//   when the writing process is dead, or (pid reused, other host) when untouched for an hour.
// - incoming/<ID>.lock of a dead process whose message is gone; lock helper leftovers; the
//   owner file (`.owner.<pid>.<token>`, what locks are hard links to) of a dead process.
// - incoming/spare/ files (recycled queue files, spare.ts) untouched for ten minutes.
// - incoming/<ID>.$CP: format 2's queue file holds its message and needs nothing else. A format-1
//   control record without its .MSG cannot come from our write order; it is reported, not
//   removed (the admin decides: it may be a file copied in by hand). Which of the two a .$CP is
//   comes from its last line (store.ts queueFileFormat, the reader's own check).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { controlPath, incomingDir, isQueueId, messagePath, queueTmpDir } from './paths.js';
import { queueFileFormat } from './store.js';
import { isStaleOwnerFile, removeStaleLock } from './lockfile.js';
import { trimSpares } from './spare.js';
import { unlinkRetrying } from './winfs.js';

export interface SweepOptions {
  /** Age after which an orphan .MSG or .$ST is removed (default 60 000 ms). */
  orphanAgeMs?: number;
  /** Age after which a temp file of a live (or unknown) process is removed (default 1 h). */
  tmpAgeMs?: number;
  /** Age after which a recycled spare file is removed (default 10 minutes, spare.ts). */
  spareAgeMs?: number;
  /** Clock, for tests (ms since the epoch). */
  now?: number;
}

export interface SweepReport {
  /** Paths removed. */
  removed: string[];
  /** Things found wrong and left alone. */
  problems: string[];
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function ageMs(path: string, now: number): Promise<number | null> {
  try {
    const st = await stat(path);
    // A rename updates ctime but not mtime: use the later, so a freshly renamed file is young.
    return now - Math.max(st.mtimeMs, st.ctimeMs);
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function remove(path: string, report: SweepReport): Promise<void> {
  try {
    await unlinkRetrying(path); // Windows: a scanner may hold the file for a moment
    report.removed.push(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report.problems.push(`${path}: cannot remove (${(err as Error).message})`);
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

export async function sweepOrphans(workdir: string, opts: SweepOptions = {}): Promise<SweepReport> {
  const now = opts.now ?? Date.now();
  const orphanAge = opts.orphanAgeMs ?? 60_000;
  const tmpAge = opts.tmpAgeMs ?? 3_600_000;
  const report: SweepReport = { removed: [], problems: [] };
  const dir = incomingDir(workdir);
  const names = await list(dir);
  const present = new Set(names);
  let formatChecks = 0;

  for (const name of names) {
    const path = join(dir, name);
    const dot = name.indexOf('.');
    const id = dot > 0 ? name.slice(0, dot) : '';
    const ext = dot > 0 ? name.slice(dot) : '';
    const seqTmp = /^\.seq\.(\d+)\.tmp$/.exec(name);
    if (seqTmp && !pidAlive(Number(seqTmp[1]))) await remove(path, report);
    if (/^\.seq\.lock(\.break)?\.\d+\.[0-9a-f]+\.(new|gone)$/.test(name)) {
      const age = await ageMs(path, now);
      if (age !== null && age > orphanAge) await remove(path, report);
    }
    if (name.startsWith('.owner.')) {
      const age = await ageMs(path, now);
      if (age !== null && isStaleOwnerFile(dir, name, age)) await remove(path, report);
      continue;
    }
    if (!isQueueId(id)) continue;
    if (ext === '.MSG' && !present.has(`${id}.$CP`)) {
      const age = await ageMs(path, now);
      // Check again: a commit may have renamed the control file in since readdir.
      if (age !== null && age > orphanAge && !(await exists(controlPath(workdir, id)))) await remove(path, report);
    } else if (ext === '.$ST' && !present.has(`${id}.$CP`)) {
      const age = await ageMs(path, now);
      if (age !== null && age > orphanAge && !(await exists(controlPath(workdir, id)))) await remove(path, report);
    } else if (ext === '.$CP' && !present.has(`${id}.MSG`)) {
      // A few system calls on the loop thread per queued message (~8 µs); let the delivery loop
      // breathe now and then when the queue is large.
      if (++formatChecks % 256 === 0) await new Promise((r) => setImmediate(r));
      let format: 1 | 2;
      try {
        format = queueFileFormat(path);
      } catch (err) {
        // Gone meanwhile (delivered): nothing to say.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report.problems.push(`${path}: cannot read (${(err as Error).message})`);
        continue;
      }
      if (format === 1 && !(await exists(messagePath(workdir, id))) && (await exists(path))) {
        report.problems.push(`${path}: control file without its message ${id}.MSG`);
      }
    } else if (ext === '.lock' && !present.has(`${id}.$CP`)) {
      if (await removeStaleLock(path)) report.removed.push(path);
    } else if (/^\.lock(\.break)?\.\d+\.[0-9a-f]+\.(new|gone)$/.test(ext)) {
      // Private temporaries of the lock helper: a few system calls long when alive.
      const age = await ageMs(path, now);
      if (age !== null && age > orphanAge) await remove(path, report);
    }
  }

  report.removed.push(...trimSpares(workdir, opts.spareAgeMs, now));

  const tdir = queueTmpDir(workdir);
  for (const name of await list(tdir)) {
    const path = join(tdir, name);
    const m = /^B\d{10}\.(\d+)\.[0-9a-f]+\.(MSG|\$CP)\.tmp$/.exec(name);
    const age = await ageMs(path, now);
    if (age === null) continue;
    if ((m && !pidAlive(Number(m[1]))) || age > tmpAge) await remove(path, report);
  }
  return report;
}
