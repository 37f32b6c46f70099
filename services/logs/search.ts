// One search across the three logs (accept, receive, sender) for the Logs tab: an address, a
// queue ID (B0000000186 finds its attempts B0000000186-R0001 too, being a substring) or an IP.
// Files are streamed line by line (a busy day's receive log has every SMTP line); each file
// keeps only its newest `limit` hits, then the files' hits are merged by time.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { LogKind } from './types.js';
import type { LogSearchHit, LogSearchQuery } from './search-types.js';
import { DEFAULT_LIMIT, listLogDays } from './read.js';
import { DAY_RE, dayName, LOG_KINDS, logFile } from './paths.js';

const MAX_LIMIT = 10_000;
const MONTHS: Record<string, string> = {
  Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06',
  Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12',
};

// `[06/Jul/2009:16:27:31]` opens accept and receive lines (logs/format.ts clfTime).
const CLF_RE = /^\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})\]/;
// `[16:27:35:171]` opens sender lines (format.ts senderTime); the date is the file's day.
const SENDER_RE = /^\[(\d{2}):(\d{2}):(\d{2}):(\d{3})\]/;

/**
 * The sortable local time of a log line, `2026-12-05T16:27:35.171`, from its prefix and, for the
 * sender log (whose lines carry only the time), its file's day. Null when the line has no prefix.
 */
export function lineTime(kind: LogKind, day: string, line: string): string | null {
  if (kind === 'sender') {
    const m = SENDER_RE.exec(line);
    if (!m) return null;
    return `20${day.slice(0, 2)}-${day.slice(2, 4)}-${day.slice(4, 6)}T${m[1]}:${m[2]}:${m[3]}.${m[4]}`;
  }
  const m = CLF_RE.exec(line);
  if (!m || !MONTHS[m[2]]) return null;
  return `${m[3]}-${MONTHS[m[2]]}-${m[1]}T${m[4]}:${m[5]}:${m[6]}.000`;
}

/** Hour 0-23 of a line's prefix (cheaper than lineTime for counting), or -1. */
export function lineHour(kind: LogKind, line: string): number {
  if (kind === 'sender') {
    if (line.charCodeAt(0) !== 0x5b || line.charCodeAt(3) !== 0x3a) return -1;
    const h = Number(line.slice(1, 3));
    return h >= 0 && h < 24 ? h : -1;
  }
  // [dd/Mon/yyyy:HH
  if (line.charCodeAt(0) !== 0x5b || line.charCodeAt(12) !== 0x3a) return -1;
  const h = Number(line.slice(13, 15));
  return Number.isInteger(h) && h >= 0 && h < 24 ? h : -1;
}

/** Every line of a log file, streamed; nothing when the file does not exist. */
export async function* fileLines(path: string): AsyncGenerator<string> {
  try {
    await stat(path);
  } catch {
    return;
  }
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    stream.destroy();
  }
}

async function searchOne(kind: LogKind, day: string, path: string, needle: string, limit: number): Promise<LogSearchHit[]> {
  const found: LogSearchHit[] = [];
  let lastTime = `20${day.slice(0, 2)}-${day.slice(2, 4)}-${day.slice(4, 6)}T00:00:00.000`;
  for await (const line of fileLines(path)) {
    // A line without a prefix (hand-edited, cut) sorts with the line before it.
    const t = lineTime(kind, day, line);
    if (t) lastTime = t;
    if (!line.toLowerCase().includes(needle)) continue;
    found.push({ kind, day, time: lastTime, text: line });
    // Keep only the newest `limit`: drop in batches, not one shift per line.
    if (found.length >= limit * 2) found.splice(0, found.length - limit);
  }
  return found.slice(-limit);
}

function mergeByTime(lists: LogSearchHit[][]): LogSearchHit[] {
  // Each list is in time order already; a stable sort of the concatenation keeps that order
  // for equal times (accept before receive before sender, the order a message goes through).
  return lists.flat().sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/**
 * Hits of `q.text` (case-insensitive substring) in the chosen logs (default all three), at most
 * `limit` (default 500), merged by time, newest last.
 * - default: one day (`q.day`, default today);
 * - `acrossDays`: the newest days first, until `limit` hits are found.
 */
export async function searchLogs(workdir: string, q: LogSearchQuery, now: Date = new Date()): Promise<LogSearchHit[]> {
  const needle = (q.text ?? '').trim().toLowerCase();
  if (!needle) throw new Error('searchLogs needs a text to search for (an address, a queue ID or an IP)');
  if (q.day !== undefined && !DAY_RE.test(q.day)) throw new Error(`not a log day (YYMMDD): ${JSON.stringify(q.day)}`);
  const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(q.limit ?? DEFAULT_LIMIT)));
  const kinds = (q.kinds?.length ? q.kinds : LOG_KINDS).filter((k) => (LOG_KINDS as readonly string[]).includes(k));

  let days: string[];
  if (q.acrossDays) {
    const all = new Set<string>();
    for (const k of kinds) for (const d of await listLogDays(workdir, k)) all.add(d);
    days = [...all].sort().reverse();
  } else {
    days = [q.day ?? dayName(now)];
  }

  const out: LogSearchHit[][] = [];
  let count = 0;
  for (const day of days) {
    const perKind = await Promise.all(kinds.map((k) => searchOne(k, day, logFile(workdir, k, day), needle, limit)));
    const merged = mergeByTime(perKind);
    if (merged.length) out.unshift(merged);
    count += merged.length;
    if (count >= limit) break;
  }
  return out.flat().slice(-limit);
}
