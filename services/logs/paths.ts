// The three daily logs of the work folder (SPEC 2, 10): log/accept, log/receive, log/sender,
// one file per local day named YYMMDD.log.
import { join } from 'node:path';
import type { LogKind } from './types.js';

export type { LogKind };
export const LOG_KINDS: readonly LogKind[] = ['accept', 'receive', 'sender'];

export function logDir(workdir: string, kind: LogKind): string {
  return join(workdir, 'log', kind);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYMMDD` of a date, by the local calendar (the admin's day, not UTC). */
export function dayName(d: Date): string {
  return `${pad(d.getFullYear() % 100)}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
}

export const DAY_RE = /^\d{6}$/;
export const DAY_FILE_RE = /^(\d{6})\.log$/;

/** Local midnight of a `YYMMDD` day (years 2000–2099), or null when it is not a real date. */
export function parseDayName(day: string): Date | null {
  if (!DAY_RE.test(day)) return null;
  const y = 2000 + Number(day.slice(0, 2));
  const m = Number(day.slice(2, 4)) - 1;
  const d = Number(day.slice(4, 6));
  const date = new Date(y, m, d);
  if (date.getFullYear() !== y || date.getMonth() !== m || date.getDate() !== d) return null;
  return date;
}

export function logFile(workdir: string, kind: LogKind, day: string): string {
  if (!DAY_RE.test(day)) throw new Error(`not a log day (YYMMDD): ${JSON.stringify(day)}`);
  return join(logDir(workdir, kind), `${day}.log`);
}

/** Line ending of the log files: CRLF on Windows (Notepad), LF elsewhere. */
export const LOG_EOL = process.platform === 'win32' ? '\r\n' : '\n';
