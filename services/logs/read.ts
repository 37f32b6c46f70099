// Reading the logs for the Logs tab (SPEC 11): one day's last lines, a search by ID or address
// across days, and a live tail. Log files of a busy day are large (the receive log has every
// SMTP line), so nothing here reads a whole file into memory: the last lines are read
// backwards from the end, and searches stream line by line.
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { LogKind, LogLine, LogQuery } from './types.js';
import { DAY_FILE_RE, DAY_RE, dayName, logDir, logFile } from './paths.js';

export const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 100_000;

/** Days that have a file for this log, newest first. */
export async function listLogDays(workdir: string, kind: LogKind): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(logDir(workdir, kind));
  } catch {
    return [];
  }
  const days: string[] = [];
  for (const n of names) {
    const m = DAY_FILE_RE.exec(n);
    if (m) days.push(m[1]);
  }
  // YYMMDD sorts as text within one century.
  return days.sort().reverse();
}

function stripEol(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** The last `limit` lines of a file, read backwards in blocks from the end. */
async function lastLines(path: string, limit: number): Promise<string[]> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const block = 64 * 1024;
    let pos = size;
    let chunks: Buffer[] = [];
    let newlines = 0;
    // limit + 1 newlines guarantee `limit` complete lines (the file ends with a newline).
    while (pos > 0 && newlines <= limit) {
      const len = Math.min(block, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      for (let i = 0; i < len; i++) if (buf[i] === 0x0a) newlines++;
      chunks.unshift(buf);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    chunks = [];
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // The first piece may be cut in the middle of a line when we stopped early.
    if (pos > 0) lines.shift();
    return lines.slice(-limit).map(stripEol);
  } finally {
    await fh.close();
  }
}

/** The last `limit` lines of a file containing `needle` (lower-case), streamed. */
async function searchFile(path: string, needle: string, limit: number): Promise<string[]> {
  const found: string[] = [];
  let stream;
  try {
    await stat(path);
    stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  } catch {
    return [];
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.toLowerCase().includes(needle)) {
      found.push(line);
      // Keep only the newest `limit`: drop in batches, not one shift per line.
      if (found.length >= limit * 2) found.splice(0, found.length - limit);
    }
  }
  return found.slice(-limit);
}

/**
 * Lines of one log for the UI, at most `limit` (default 500), newest last.
 * - default: the last lines of one day (`day`, default today), filtered by `search` if given;
 * - `acrossDays` with `search`: the newest matches of every day, newest day first until
 *   `limit` is reached. Search is a case-insensitive substring (an ID, an address, an IP).
 */
export async function readLog(workdir: string, query: LogQuery, now: Date = new Date()): Promise<LogLine[]> {
  const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(query.limit ?? DEFAULT_LIMIT)));
  const needle = (query.search ?? '').trim().toLowerCase();
  if (query.day !== undefined && !DAY_RE.test(query.day)) throw new Error(`not a log day (YYMMDD): ${JSON.stringify(query.day)}`);

  if (query.acrossDays && needle) {
    const out: LogLine[][] = [];
    let count = 0;
    for (const day of await listLogDays(workdir, query.kind)) {
      const lines = await searchFile(logFile(workdir, query.kind, day), needle, limit - count);
      if (lines.length) out.unshift(lines.map((text) => ({ day, text })));
      count += lines.length;
      if (count >= limit) break;
    }
    return out.flat();
  }

  const day = query.day ?? dayName(now);
  const path = logFile(workdir, query.kind, day);
  const lines = needle ? await searchFile(path, needle, limit) : await lastLines(path, limit);
  return lines.map((text) => ({ day, text }));
}

export interface LogTail {
  close(): void;
}

export interface TailOptions {
  /** Poll period (default 250 ms): polling works on every file system and share, fs.watch does not. */
  pollMs?: number;
  /** Clock (tests). */
  now?: () => Date;
  onError?: (err: Error) => void;
}

/**
 * Follow today's file of a log from its current end, and the next day's file after midnight.
 * `onLine` gets each complete new line (without line ending) and its day.
 */
export function tailLog(
  workdir: string,
  kind: LogKind,
  onLine: (line: string, day: string) => void,
  opts: TailOptions = {},
): LogTail {
  const now = opts.now ?? (() => new Date());
  let day = dayName(now());
  let offset = -1; // -1: start at the current end of the file
  let partial = '';
  let closed = false;
  let busy = false;
  const maxPerPoll = 4 * 1024 * 1024;

  /** Read what was appended to `day`'s file since `offset`. */
  const readNew = async (): Promise<void> => {
    const path = logFile(workdir, kind, day);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      if (offset < 0) offset = 0; // not there yet: follow it from its first line
      return;
    }
    if (offset < 0) offset = size;
    if (size < offset) {
      // Truncated or replaced: start over.
      offset = 0;
      partial = '';
    }
    if (size === offset) return;
    const fh = await open(path, 'r');
    try {
      const len = Math.min(size - offset, maxPerPoll);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, offset);
      offset += bytesRead;
      const text = partial + buf.subarray(0, bytesRead).toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) if (!closed) onLine(stripEol(p), day);
    } finally {
      await fh.close();
    }
  };

  const poll = async () => {
    if (busy || closed) return;
    busy = true;
    try {
      await readNew();
      const today = dayName(now());
      if (today !== day) {
        // Midnight: finish yesterday's file (done above), then follow the new one from its start.
        day = today;
        offset = 0;
        partial = '';
        await readNew();
      }
    } catch (err) {
      opts.onError?.(err as Error);
    } finally {
      busy = false;
    }
  };

  const timer = setInterval(() => void poll(), opts.pollMs ?? 250);
  void poll();
  return {
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
