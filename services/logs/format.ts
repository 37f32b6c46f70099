// The line formats of SPEC 10, kept byte-compatible with the old gateways' logs so admins'
// habits (and their grep scripts) keep working. All times are local.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `06/Jul/2009:16:27:31` (the Apache common-log style the accept/receive logs use). */
export function clfTime(d: Date): string {
  return `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `16:27:35:171` (the sender log: milliseconds, as delivery steps come fast). */
export function senderTime(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}:${pad(d.getMilliseconds(), 3)}`;
}

/** Longest text kept of one logged line; a client can send anything, the log stays readable. */
export const MAX_LINE_CHARS = 2000;

/** One log entry is one line: line breaks and other control characters are shown escaped. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  let s = text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  if (s.length > MAX_LINE_CHARS) s = `${s.slice(0, MAX_LINE_CHARS)}… (${s.length} chars)`;
  return s;
}

export interface AcceptEntry {
  /** Client address (IPv4-mapped IPv6 is shown as IPv4). */
  ip: string;
  /** Client port. */
  port: number;
  /** Our listening port. */
  localPort: number;
  accepted: boolean;
  /** Why: the reply and the rule, e.g. `554 5.7.1 (effect.dat:3)`; optional when accepted. */
  reason?: string;
}

function hostPort(ip: string, port: number): string {
  const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  // IPv6 in brackets, so the port stays unambiguous (RFC 3986 style).
  return plain.includes(':') ? `[${plain}]:${port}` : `${plain}:${port}`;
}

/** `[06/Jul/2009:16:27:31] 192.0.2.1:53211 -> :25 accepted` / `… refused 554 5.7.1 (effect.dat:3)` */
export function formatAccept(d: Date, e: AcceptEntry): string {
  const verdict = e.accepted ? 'accepted' : 'refused';
  const reason = e.reason ? ` ${oneLine(e.reason)}` : '';
  return `[${clfTime(d)}] ${hostPort(e.ip, e.port)} -> :${e.localPort} ${verdict}${reason}`;
}

/** `[06/Jul/2009:16:27:31], <session>, < MAIL FROM:<a@b>` (`<` from the client, `>` our reply). */
export function formatReceive(d: Date, session: string, direction: '<' | '>', line: string): string {
  return `[${clfTime(d)}], ${oneLine(session)}, ${direction} ${oneLine(line)}`;
}

/** `[16:27:35:171] [B0000000186] <text>` */
export function formatSender(d: Date, id: string, text: string): string {
  return `[${senderTime(d)}] [${oneLine(id)}] ${oneLine(text)}`;
}

/**
 * A moment in local time with its offset, `2026-11-23T18:54:56+09:00`: log lines are read by
 * an administrator whose clock is local (the line prefixes are local too), and the offset
 * keeps it unambiguous. One token, no spaces, so it stays one field for grep and awk.
 */
export function localIso(d: Date): string {
  const p = (n: number, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `${sign}${p(off / 60)}:${p(off % 60)}`
  );
}
