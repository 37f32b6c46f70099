// The logs are named by local day as YYMMDD (SPEC 10); the date picker speaks ISO
// `YYYY-MM-DD` (HTML input type=date). Conversions both ways, and what a search found per log.
import type { LogKind } from '../api/types.js';

export const LOG_KINDS: LogKind[] = ['accept', 'receive', 'sender'];

/** `261205` → `2026-12-05` (the logs' years are 20xx); '' when not a day. */
export function dayToIso(day: string): string {
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(day);
  if (!m) return '';
  const iso = `20${m[1]}-${m[2]}-${m[3]}`;
  return isoToDay(iso) === day ? iso : '';
}

/** `2026-12-05` → `261205`; '' when not a valid calendar date. */
export function isoToDay(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return '';
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (d.getFullYear() !== Number(m[1]) || d.getMonth() !== Number(m[2]) - 1 || d.getDate() !== Number(m[3])) return '';
  return `${m[1].slice(2)}${m[2]}${m[3]}`;
}

/** Today as the logs name it (local time). */
export function today(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(now.getFullYear() % 100)}${p(now.getMonth() + 1)}${p(now.getDate())}`;
}

/** How many hits each log had, in LOG_KINDS order, only those with hits. */
export function countByKind(hits: Array<{ kind: LogKind }>): Array<{ kind: LogKind; n: number }> {
  return LOG_KINDS.map((kind) => ({ kind, n: hits.filter((h) => h.kind === kind).length })).filter((c) => c.n > 0);
}

/** `2026-12-05T16:27:35.171` → `16:27:35` (the day is shown apart when searching across days). */
export function clock(time: string): string {
  return /T(\d{2}:\d{2}:\d{2})/.exec(time)?.[1] ?? time;
}
