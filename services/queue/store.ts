// Reading and writing queued messages (SPEC 8). A message exists for the runner exactly when
// its control file `incoming/<ID>.$CP` exists; `incoming/<ID>.MSG` is renamed in before it and
// removed after it, so a control file never points at nothing.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ControlRecord, QueueId, RecipientState } from './types.js';
import { controlPath, incomingDir, isQueueId, messagePath, queueTmpDir } from './paths.js';
import { syncDir, syncDirSoon } from './fsync.js';
import { renameRetrying, unlinkRetrying } from './winfs.js';
import { readFileSync } from 'node:fs';
import { writeDurableFile } from './durable.js';
import { sparePool, type SpareKind } from './spare.js';

export { messagePath, controlPath } from './paths.js';

export const QUEUE_FORMAT = 'sekisho-queue/1' as const;

/** A control file that cannot be used: not JSON, wrong format marker, missing fields. */
export class QueueFormatError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'QueueFormatError';
  }
}

const STATUSES = new Set(['pending', 'delivered', 'failed']);
const ORIGINS = new Set(['message', 'bounce', 'double-bounce']);

function check(cond: unknown, file: string, what: string): asserts cond {
  if (!cond) throw new QueueFormatError(file, what);
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const optStr = (v: unknown) => v === undefined || isStr(v);

function checkRecipient(r: unknown, i: number, file: string): asserts r is RecipientState {
  const at = `recipients[${i}]`;
  check(r && typeof r === 'object' && !Array.isArray(r), file, `${at} is not an object`);
  const o = r as Record<string, unknown>;
  check(isStr(o.address) && o.address !== '', file, `${at}.address must be a non-empty string`);
  check(isStr(o.original), file, `${at}.original must be a string`);
  check(o.kind === 'local' || o.kind === 'remote', file, `${at}.kind must be "local" or "remote"`);
  check(o.kind !== 'local' || (isStr(o.user) && o.user !== ''), file, `${at}.user is required for a local recipient`);
  check(isStr(o.status) && STATUSES.has(o.status), file, `${at}.status must be pending, delivered or failed`);
  check(isCount(o.attempts), file, `${at}.attempts must be a count`);
  check(isCount(o.refusals), file, `${at}.refusals must be a count`);
  for (const k of ['user', 'lastReply', 'lastHost', 'lastAttemptAt', 'firstAttemptAt']) {
    check(optStr(o[k]), file, `${at}.${k} must be a string`);
  }
}

/**
 * Check that a value is a control record; throws QueueFormatError naming the file and field.
 * Unknown extra fields are allowed (a later minor version may add some).
 */
export function validateControlRecord(value: unknown, file = 'control record'): ControlRecord {
  check(value && typeof value === 'object' && !Array.isArray(value), file, 'not a JSON object');
  const o = value as Record<string, unknown>;
  check(o.format === QUEUE_FORMAT, file, `unknown format ${JSON.stringify(o.format)} (expected "${QUEUE_FORMAT}")`);
  check(isStr(o.id) && isQueueId(o.id), file, `id must look like B0000000001`);
  check(isStr(o.from), file, 'from must be a string ("" for the null sender)');
  check(Array.isArray(o.recipients) && o.recipients.length > 0, file, 'recipients must be a non-empty list');
  o.recipients.forEach((r, i) => checkRecipient(r, i, file));
  for (const k of ['receivedAt', 'nextAttemptAt']) {
    check(isStr(o[k]) && !Number.isNaN(Date.parse(o[k] as string)), file, `${k} must be an ISO date`);
  }
  check(isCount(o.retries), file, 'retries must be a count');
  check(isCount(o.size), file, 'size must be a count');
  const c = o.client as Record<string, unknown> | undefined;
  check(c && typeof c === 'object' && isStr(c.ip) && isStr(c.helo) && isStr(c.authUser), file, 'client must be { ip, helo, authUser }');
  check(isStr(o.origin) && ORIGINS.has(o.origin), file, 'origin must be message, bounce or double-bounce');
  check(o.bounceOf === undefined || (isStr(o.bounceOf) && isQueueId(o.bounceOf)), file, 'bounceOf must be a queue id');
  return value as ControlRecord;
}

/** The record as it is written: format and id first so the file reads well in Notepad. */
export function serializeControl(record: ControlRecord): string {
  const { format, id, ...rest } = record;
  return JSON.stringify({ format, id, ...rest }, null, 2) + '\n';
}

/** Read and validate `incoming/<ID>.$CP`. ENOENT passes through (the message is gone). */
export async function readControl(workdir: string, id: QueueId): Promise<ControlRecord> {
  const file = controlPath(workdir, id);
  // Small file, read on the loop thread: cheaper than a thread-pool round trip per message.
  const text = readFileSync(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new QueueFormatError(file, `not valid JSON (${(err as Error).message})`);
  }
  const record = validateControlRecord(value, file);
  if (record.id !== id) throw new QueueFormatError(file, `holds id ${record.id}, not ${id}`);
  return record;
}

// Unique per process without a random draw per file (randomBytes costs CPU at 800 msg/s):
// a random token per process start plus a counter.
const processToken = randomBytes(3).toString('hex');
let tmpCounter = 0;

/** A unique temporary name in incoming/tmp/ (the pid lets the sweep see whose it is). */
export function tmpName(workdir: string, id: QueueId, suffix: '.MSG.tmp' | '.$CP.tmp'): string {
  return join(queueTmpDir(workdir), `${id}.${process.pid}.${processToken}${(tmpCounter++).toString(16)}${suffix}`);
}

const tmpReady = new Map<string, Promise<unknown>>();
/** mkdir -p incoming/tmp once per process and workdir. */
export function ensureQueueDirs(workdir: string): Promise<unknown> {
  let p = tmpReady.get(workdir);
  if (!p) {
    p = mkdir(queueTmpDir(workdir), { recursive: true });
    p.catch(() => tmpReady.delete(workdir));
    tmpReady.set(workdir, p);
  }
  return p;
}
/** Forget the cached mkdir (the folder was removed under us). */
export function forgetQueueDirs(workdir: string): void {
  tmpReady.delete(workdir);
}

/** Run `fn` (which creates a file in incoming/tmp) with the folder made; once more if it was
 *  removed under us (ENOENT: an admin cleaning up). */
export async function withTmpDir<T>(workdir: string, fn: () => Promise<T>): Promise<T> {
  await ensureQueueDirs(workdir);
  try {
    return await fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    forgetQueueDirs(workdir);
    await ensureQueueDirs(workdir);
    return fn();
  }
}

/**
 * Replace a control record atomically (after every delivery attempt, SPEC 8): temp file,
 * fsync, rename over the old one, fsync the folder. A crash leaves the old or the new record.
 */
export async function writeControl(workdir: string, record: ControlRecord): Promise<void> {
  const file = controlPath(workdir, record.id);
  validateControlRecord(record, file);
  const tmp = tmpName(workdir, record.id, '.$CP.tmp');
  await withTmpDir(workdir, () => writeDurableFile(tmp, serializeControl(record), sparePool(workdir)));
  try {
    await renameRetrying(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(incomingDir(workdir));
}

export interface QueueProblem {
  id: QueueId;
  file: string;
  message: string;
}

/** Every queued message's ID (the control files present), sorted. */
export async function listQueueIds(workdir: string): Promise<QueueId[]> {
  let names: string[];
  try {
    names = await readdir(incomingDir(workdir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const ids: QueueId[] = [];
  for (const n of names) {
    if (n.endsWith('.$CP')) {
      const id = n.slice(0, -4);
      if (isQueueId(id)) ids.push(id);
    }
  }
  return ids.sort();
}

/** Every readable control record, sorted by id, and the ones that could not be read. */
export async function scanQueue(workdir: string): Promise<{ records: ControlRecord[]; problems: QueueProblem[] }> {
  const ids = await listQueueIds(workdir);
  const records: Array<ControlRecord | undefined> = new Array(ids.length);
  const problems: QueueProblem[] = [];
  let next = 0;
  // A few reads at a time: a big queue should not open thousands of files at once.
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      try {
        records[i] = await readControl(workdir, ids[i]);
      } catch (err) {
        // Removed between readdir and read: delivered meanwhile, not a problem.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        problems.push({ id: ids[i], file: controlPath(workdir, ids[i]), message: (err as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, ids.length) }, worker));
  return { records: records.filter((r): r is ControlRecord => r !== undefined), problems };
}

/**
 * Every readable control record, sorted by id. Unreadable ones are skipped and reported to
 * `onProblem` (default: a line on stderr), so one corrupt file never hides the whole queue.
 */
export async function listQueue(
  workdir: string,
  onProblem: (p: QueueProblem) => void = (p) => process.stderr.write(`queue: skipped ${p.message}\n`),
): Promise<ControlRecord[]> {
  const { records, problems } = await scanQueue(workdir);
  problems.forEach(onProblem);
  return records;
}

async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlinkRetrying(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Take a file out of incoming/: into spare/ for reuse (spare.ts), else delete it. */
async function retire(workdir: string, kind: SpareKind, path: string): Promise<void> {
  if (sparePool(workdir).give(kind, path) === 'refused') await unlinkQuiet(path);
}

/**
 * Remove a message: control file first, then the data, then flush the folder. A crash in
 * between leaves an orphan .MSG (removed by sweepOrphans), never a control file without data.
 * `recycle` (default true): the files are renamed into incoming/spare/ for reuse while the
 * pool has room (spare.ts; settings delivery.recycleQueueFiles), else deleted. `waitForFlush`:
 * resolve only once the folder is flushed (default: flushed within a second, not waited for).
 */
export async function removeMessage(
  workdir: string,
  id: QueueId,
  opts: { recycle?: boolean; waitForFlush?: boolean } = {},
): Promise<void> {
  if (opts.recycle === false) {
    await unlinkQuiet(controlPath(workdir, id));
    await unlinkQuiet(messagePath(workdir, id));
  } else {
    await retire(workdir, 'c', controlPath(workdir, id));
    await retire(workdir, 'm', messagePath(workdir, id));
  }
  if (opts.waitForFlush) {
    // An administrator's delete: gone from the disk when the call returns.
    await syncDir(incomingDir(workdir));
    return;
  }
  // A delivered message: its removal reaches the disk within a second, together with every
  // other one of that second. A power cut before that can only bring it back to be delivered
  // again (at least once, SPEC 8), so nobody waits for the flush.
  syncDirSoon(incomingDir(workdir));
}
