// A day's traffic for the overview, counted from the logs (so it covers every process that
// ran that day, restarts included, and needs no state of its own). What is counted — the
// numbers an administrator expects from a mail gateway's daily summary:
// - accepted: messages the receiver queued (receive log: our `250 … queued as B…` reply);
// - refused:  connections refused by effect.dat/DNSBL/early talking (accept log `refused`),
//             plus senders, recipients and messages refused with a 5xx reply to MAIL FROM,
//             RCPT TO or the end of DATA (receive log);
// - delivered / deferred / bounced: recipients, from the sender log's per-recipient result
//   line (`<a@b> delivered …`, `<a@b> deferred (…) …`, `<a@b> failed …`).
// The files are streamed line by line: a day of 100k lines is read in well under a second and
// never held in memory.
import type { LogKind } from './types.js';
import type { TrafficCounts, TrafficError, TrafficStats } from './search-types.js';
import { DAY_RE, dayName, logFile, parseDayName } from './paths.js';
import { fileLines, lineHour, lineTime } from './search.js';

export type { TrafficError };

/** How many recent errors the overview shows. */
export const LAST_ERRORS = 20;

export function zeroCounts(): TrafficCounts {
  return { accepted: 0, refused: 0, delivered: 0, deferred: 0, bounced: 0 };
}

/** `2026-12-05T16:27:35.171` (local) → ISO UTC, for `at`. */
function localToIso(local: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec(local);
  if (!m) return local;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
  return new Date(y, mo - 1, d, h, mi, s, ms).toISOString();
}

// `[t], <session>, < RCPT TO:<a@b>` / `[t], <session>, > 550 5.1.1 …` (logs/format.ts formatReceive).
const RECEIVE_RE = /^\[[^\]]*\], (.*?), ([<>]) (.*)$/;
// `[t] [B0000000186-R0001] <a@b> delivered host=…: 250 …` (delivery/attempt.ts).
const SENDER_RESULT_RE = /^\[[^\]]*\] \[[^\]]*\] <[^>]*> (delivered|deferred|failed)\b/;
// Sender log lines worth showing as the last errors: a recipient failed or deferred, or an
// attempt that could not run at all.
const SENDER_ERROR_RE = /^\[[^\]]*\] \[[^\]]*\] (?:<[^>]*> (?:deferred|failed)\b|attempt failed:)/;

/** Sessions seen in the receive log, bounded: a session lasts minutes, not a day. */
const MAX_SESSIONS = 50_000;

/**
 * Traffic of `day` (YYMMDD, default today) per local hour, and the newest errors of the
 * sender log (delivery failures). The overview adds service and configuration errors.
 */
export async function trafficFromLogs(workdir: string, day?: string, now: Date = new Date()): Promise<TrafficStats> {
  const d = day ?? dayName(now);
  if (!DAY_RE.test(d) || !parseDayName(d)) throw new Error(`not a log day (YYMMDD): ${JSON.stringify(d)}`);
  const hours = Array.from({ length: 24 }, zeroCounts);
  const lastErrors: TrafficError[] = [];
  const file = (k: LogKind) => logFile(workdir, k, d);

  for await (const line of fileLines(file('accept'))) {
    if (!line.includes(' refused')) continue;
    // `… -> :25 refused …`: the verdict follows the local port.
    if (!/ -> :\d+ refused\b/.test(line)) continue;
    const h = lineHour('accept', line);
    if (h >= 0) hours[h].refused++;
  }

  // The command each session sent last, to know what a 5xx reply answers.
  const lastCommand = new Map<string, string>();
  for await (const line of fileLines(file('receive'))) {
    const m = RECEIVE_RE.exec(line);
    if (!m) continue;
    const [, session, dir, text] = m;
    if (dir === '<') {
      const verb = text.startsWith('(message data') ? 'DATA-END' : text.slice(0, 4).toUpperCase();
      if (verb === 'QUIT') lastCommand.delete(session);
      else {
        if (lastCommand.size >= MAX_SESSIONS && !lastCommand.has(session)) lastCommand.delete(lastCommand.keys().next().value!);
        lastCommand.set(session, verb);
      }
      continue;
    }
    const h = lineHour('receive', line);
    if (h < 0) continue;
    if (text.startsWith('250') && text.includes(' queued as ')) {
      hours[h].accepted++;
      continue;
    }
    if (text.charCodeAt(0) === 0x35 /* 5 */) {
      const verb = lastCommand.get(session);
      if (verb === 'MAIL' || verb === 'RCPT' || verb === 'DATA-END') hours[h].refused++;
    }
  }

  for await (const line of fileLines(file('sender'))) {
    const m = SENDER_RESULT_RE.exec(line);
    if (m) {
      const h = lineHour('sender', line);
      if (h >= 0) {
        if (m[1] === 'delivered') hours[h].delivered++;
        else if (m[1] === 'deferred') hours[h].deferred++;
        else hours[h].bounced++;
      }
    }
    if ((!m || m[1] !== 'delivered') && SENDER_ERROR_RE.test(line)) {
      const t = lineTime('sender', d, line);
      lastErrors.push({ at: t ? localToIso(t) : '', source: 'delivery', text: line });
      if (lastErrors.length >= LAST_ERRORS * 2) lastErrors.splice(0, lastErrors.length - LAST_ERRORS);
    }
  }

  const totals = zeroCounts();
  for (const c of hours) for (const k of Object.keys(totals) as Array<keyof TrafficCounts>) totals[k] += c[k];
  return { day: d, totals, hours, lastErrors: lastErrors.slice(-LAST_ERRORS) };
}
