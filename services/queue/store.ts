// Reading and writing queued messages (SPEC 8; docs/queue-format.md). A message exists for the
// runner exactly when `incoming/<ID>.$CP` exists. Two layouts are read:
//
// - format 2 (written now): `<ID>.$CP` is the queue file, the message followed by its envelope
//   record and a last line `sekisho-queue/2 message=<bytes> envelope=<bytes>`, committed by one
//   flush and one rename (writer.ts). What delivery learns later (per-recipient status, attempts,
//   next try) goes to `<ID>.$ST`, the whole record rewritten atomically; absent until the
//   first attempt that leaves the message queued. Losing a state update (power cut) brings back
//   the previous state: an earlier retry, at worst a recipient delivered twice (at least once).
// - format 1 (queued before the upgrade): `<ID>.MSG` the message, `<ID>.$CP` the record alone;
//   read, updated in place and delivered as before, never converted.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ControlRecord, QueueId, RecipientState } from './types.js';
import { controlPath, incomingDir, isQueueId, messagePath, queueTmpDir, statePath } from './paths.js';
import { syncDir, syncDirSoon } from './fsync.js';
import { renameRetrying, unlinkRetrying } from './winfs.js';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { writeDurableFile } from './durable.js';
import { sparePool, type SpareKind } from './spare.js';

export { messagePath, controlPath, statePath } from './paths.js';

/** What the writer writes: queue file (message + envelope) and state file. */
export const QUEUE_FORMAT = 'sekisho-queue/2' as const;
/** The layout before: .MSG + .$CP; still read, updated and delivered. */
export const QUEUE_FORMAT_V1 = 'sekisho-queue/1' as const;

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
  check(
    o.format === QUEUE_FORMAT || o.format === QUEUE_FORMAT_V1,
    file,
    `unknown format ${JSON.stringify(o.format)} (expected "${QUEUE_FORMAT}" or "${QUEUE_FORMAT_V1}")`,
  );
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

function parseRecord(text: string, file: string, id: QueueId): ControlRecord {
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

/** The queue file's last line: where the message ends and how long the envelope is. */
const TRAILER_RE = /^sekisho-queue\/2 message=(\d{1,15}) envelope=(\d{1,15})$/;
/** One read from the end usually holds the last line and the whole envelope (a few hundred bytes). */
const TAIL_READ = 4096;
/** A format-1 control record is a few KiB; a .$CP this big without a trailer is not one. */
const V1_MAX_BYTES = 16 * 1024 * 1024;

/** What follows the message in a queue file: the envelope (pretty JSON) and the last line. */
export function queueTrailer(record: ControlRecord): Buffer {
  const envelope = serializeControl(record);
  const envLen = Buffer.byteLength(envelope);
  return Buffer.from(`${envelope}sekisho-queue/2 message=${record.size} envelope=${envLen}\n`);
}

function readFull(fd: number, buf: Buffer, position: number, file: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new QueueFormatError(file, 'shorter than its trailer says');
    done += n;
  }
}

/** A `.$CP`'s last TAIL_READ bytes and, when its last line is a queue file's, that line. */
function readTail(fd: number, file: string) {
  const total = fstatSync(fd).size;
  const tailStart = Math.max(0, total - TAIL_READ);
  const tail = Buffer.allocUnsafe(total - tailStart);
  readFull(fd, tail, tailStart, file);
  const lineStart = tail.length >= 2 && tail[tail.length - 1] === 0x0a ? tail.lastIndexOf(0x0a, tail.length - 2) + 1 : -1;
  const m = lineStart >= 0 ? TRAILER_RE.exec(tail.toString('latin1', lineStart, tail.length - 1)) : null;
  return { total, tailStart, tail, lineStart, m };
}

/**
 * Which layout a `.$CP` has, judged by its last line alone (neither message nor envelope is
 * parsed): 2 when it ends in a `sekisho-queue/2 message=… envelope=…` line — a queue file, its
 * message inside —, else 1: format 1's control record, whose message is `<ID>.MSG` (or a file
 * that is neither, which readControl refuses). For the sweep, which must not take a format-2
 * queue file for a control record that lost its `.MSG`. ENOENT passes through.
 */
export function queueFileFormat(file: string): 1 | 2 {
  const fd = openSync(file, 'r');
  try {
    return readTail(fd, file).m ? 2 : 1;
  } finally {
    closeSync(fd);
  }
}

/**
 * The record a `.$CP` holds: format 2's envelope (from the trailer, never reading the message),
 * or format 1's whole record. Small reads on the loop thread: cheaper than a thread-pool round
 * trip per message.
 */
function readQueueFile(file: string, id: QueueId): ControlRecord {
  const fd = openSync(file, 'r');
  try {
    const { total, tailStart, tail, lineStart, m } = readTail(fd, file);
    if (m) {
      const size = Number(m[1]);
      const envLen = Number(m[2]);
      // The lengths must add up to the file: a file cut short or grown is never taken for a
      // message (a partial message is never delivered).
      if (size + envLen + (tail.length - lineStart) !== total) {
        throw new QueueFormatError(file, `is ${total} bytes, its last line says message ${size} + envelope ${envLen}`);
      }
      let env: Buffer;
      if (size >= tailStart) {
        env = tail.subarray(size - tailStart, size - tailStart + envLen);
      } else {
        env = Buffer.allocUnsafe(envLen);
        readFull(fd, env, size, file);
      }
      const record = parseRecord(env.toString('utf8'), file, id);
      if (record.format !== QUEUE_FORMAT) throw new QueueFormatError(file, `the envelope of a queue file says format ${record.format}`);
      if (record.size !== size) throw new QueueFormatError(file, `envelope size ${record.size} differs from the last line's ${size}`);
      return record;
    }
    // Format 1: the file is the record.
    if (total > V1_MAX_BYTES) throw new QueueFormatError(file, 'has no sekisho-queue/2 last line and is too big for a control record');
    let whole = tail;
    if (tailStart > 0) {
      whole = Buffer.allocUnsafe(total);
      readFull(fd, whole, 0, file);
    }
    const text = whole.toString('utf8');
    if (!text.trimStart().startsWith('{')) {
      throw new QueueFormatError(file, 'has no last line "sekisho-queue/2 message=… envelope=…" (cut short?) and is not a control record');
    }
    const record = parseRecord(text, file, id);
    if (record.format !== QUEUE_FORMAT_V1) throw new QueueFormatError(file, `a ${record.format} record without its message (no queue file trailer)`);
    return record;
  } finally {
    closeSync(fd);
  }
}

/**
 * Read and validate a queued message's record: format 2's latest state (`<ID>.$ST`, else the
 * envelope in `<ID>.$CP`), or format 1's `<ID>.$CP`. QueueFormatError when corrupt; ENOENT
 * passes through (the message is gone).
 */
export async function readControl(workdir: string, id: QueueId): Promise<ControlRecord> {
  return readControlSync(workdir, id);
}

export function readControlSync(workdir: string, id: QueueId): ControlRecord {
  const base = readQueueFile(controlPath(workdir, id), id);
  if (base.format === QUEUE_FORMAT_V1) return base;
  const file = statePath(workdir, id);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return base; // not attempted yet
    throw err;
  }
  const state = parseRecord(text, file, id);
  if (state.format !== QUEUE_FORMAT) throw new QueueFormatError(file, `a state file must say format ${QUEUE_FORMAT}`);
  // The message's length is the queue file's; a state never changes it.
  return { ...state, size: base.size };
}

/** The first `size` bytes of `path` (a message from messageFile), read on the loop thread. */
export function readMessageBytes(path: string, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    readFull(fd, buf, 0, path);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * The file holding the message as its first `record.size` bytes (format 2: the queue file,
 * followed by the envelope; format 1: the .MSG). Read exactly that many bytes from offset 0.
 */
export function messageFile(workdir: string, record: Pick<ControlRecord, 'id' | 'format'>): string {
  return record.format === QUEUE_FORMAT_V1 ? messagePath(workdir, record.id) : controlPath(workdir, record.id);
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
 * Record a message's new state atomically (after every delivery attempt, SPEC 8): format 2
 * writes `<ID>.$ST`, format 1 replaces its `<ID>.$CP`. Temp file flushed, renamed over the old
 * one, folder flushed: a crash leaves the old or the new state, never half of one.
 */
export async function writeControl(workdir: string, record: ControlRecord): Promise<void> {
  const file = record.format === QUEUE_FORMAT_V1 ? controlPath(workdir, record.id) : statePath(workdir, record.id);
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

/** Every queued message's ID (the `.$CP` files present, either format), sorted. */
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

/** Every readable record (latest state), sorted by id, and the ones that could not be read. */
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
 * Remove a message: the file that makes it queued (`.$CP`) first, then the rest (format 2's
 * `.$ST`, format 1's `.MSG`), then flush the folder. A crash in between leaves a file nobody
 * reads (an orphan `.MSG` or `.$ST`, removed by sweepOrphans), never a
 * queued message without its data.
 * `recycle` (default true): the files are renamed into incoming/spare/ for reuse while the
 * pool has room (spare.ts; settings delivery.recycleQueueFiles), else deleted. `waitForFlush`:
 * resolve only once the folder is flushed (default: flushed within a second, not waited for).
 */
export async function removeMessage(
  workdir: string,
  id: QueueId,
  opts: { recycle?: boolean; waitForFlush?: boolean } = {},
): Promise<void> {
  const v1 = existsSync(messagePath(workdir, id));
  if (opts.recycle === false) {
    await unlinkQuiet(controlPath(workdir, id));
    if (v1) await unlinkQuiet(messagePath(workdir, id));
    await unlinkQuiet(statePath(workdir, id));
  } else {
    // Format 2's .$CP holds the message: a data spare; format 1's is a small record.
    await retire(workdir, v1 ? 'c' : 'm', controlPath(workdir, id));
    if (v1) await retire(workdir, 'm', messagePath(workdir, id));
    await retire(workdir, 'c', statePath(workdir, id));
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
