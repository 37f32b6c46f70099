// A day's traffic for the overview, counted from the logs (so it covers every process that
// ran that day, restarts included, and needs no state of its own). What is counted — the
// numbers an administrator expects from a mail gateway's daily summary:
// - accepted: messages the receiver queued (receive log: our `250 … queued as B…` reply);
// - refused:  connections refused by effect.dat/DNSBL/early talking (accept log `refused`),
//             plus senders, recipients and messages refused with a 5xx reply to MAIL FROM,
//             RCPT TO or the end of DATA (receive log);
// - delivered / deferred / bounced: recipients, from the sender log's per-recipient result
//   line (`<a@b> delivered …`, `<a@b> deferred (…) …`, `<a@b> failed …`).
// The files are streamed: a day of 160k lines is counted in about 0.1 s and never held in
// memory, and a DayTraffic kept between calls reads only what was appended since.
import type { LogKind } from './types.js';
import type { TrafficCounts, TrafficError, TrafficStats } from './search-types.js';
import { DAY_RE, dayName, logFile, parseDayName } from './paths.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { lineHour, lineTime } from './search.js';

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
 * The counts of one day, kept up to date by reading only what was appended to the three files
 * since the last update: the overview asks again and again during the day, and a busy day's
 * receive log is large. A file that shrank (replaced, truncated) is counted again from its start.
 */
export class DayTraffic {
  private hours = Array.from({ length: 24 }, zeroCounts);
  private lastErrors: TrafficError[] = [];
  /** Bytes of each file counted so far (complete lines only). */
  private offsets = new Map<LogKind, number>();
  /** Per-file counts, so one file read again from its start does not count twice. */
  private perFile = new Map<LogKind, TrafficCounts[]>();
  /** The command each session sent last, to know what a 5xx reply answers. */
  private lastCommand = new Map<string, string>();
  private busy: Promise<TrafficStats> | null = null;

  constructor(
    private readonly workdir: string,
    readonly day: string,
  ) {
    if (!DAY_RE.test(day) || !parseDayName(day)) throw new Error(`not a log day (YYMMDD): ${JSON.stringify(day)}`);
  }

  /** Read what was appended since the last call; one update at a time. */
  update(): Promise<TrafficStats> {
    this.busy ??= this.run().finally(() => (this.busy = null));
    return this.busy;
  }

  private async run(): Promise<TrafficStats> {
    for (const kind of ['accept', 'receive', 'sender'] as const) await this.readKind(kind);
    const totals = zeroCounts();
    const hours = Array.from({ length: 24 }, zeroCounts);
    for (const counts of this.perFile.values()) {
      counts.forEach((c, h) => {
        for (const k of Object.keys(totals) as Array<keyof TrafficCounts>) {
          hours[h][k] += c[k];
          totals[k] += c[k];
        }
      });
    }
    this.hours = hours;
    return { day: this.day, totals, hours: this.hours.map((c) => ({ ...c })), lastErrors: this.lastErrors.slice(-LAST_ERRORS) };
  }

  private async readKind(kind: LogKind): Promise<void> {
    const path = logFile(this.workdir, kind, this.day);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return; // no file (yet): nothing logged
    }
    let offset = this.offsets.get(kind) ?? 0;
    let counts = this.perFile.get(kind);
    if (!counts || size < offset) {
      // First look, or the file was replaced: count it from its start.
      offset = 0;
      counts = Array.from({ length: 24 }, zeroCounts);
      this.perFile.set(kind, counts);
      if (kind === 'receive') this.lastCommand.clear();
      if (kind === 'sender') this.lastErrors = [];
    }
    if (size === offset) return;
    const onLine = this.lineHandler(kind, counts);
    let partial: Buffer | null = null;
    const stream = createReadStream(path, { start: offset, end: size - 1, highWaterMark: 256 * 1024 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf: Buffer = partial ? Buffer.concat([partial, chunk]) : chunk;
      const last = buf.lastIndexOf(0x0a);
      if (last < 0) {
        partial = buf;
        continue;
      }
      // Complete lines only: a line being written now is counted at the next update.
      const text = buf.toString('utf8', 0, last);
      offset += last + 1;
      partial = last + 1 < buf.length ? buf.subarray(last + 1) : null;
      let from = 0;
      for (;;) {
        const nl = text.indexOf('\n', from);
        const line = text.slice(from, nl < 0 ? text.length : nl);
        onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
        if (nl < 0) break;
        from = nl + 1;
      }
    }
    this.offsets.set(kind, offset);
  }

  private lineHandler(kind: LogKind, hours: TrafficCounts[]): (line: string) => void {
    if (kind === 'accept') {
      return (line) => {
        // `… -> :25 refused …`: the verdict follows the local port.
        if (!line.includes(' refused') || !/ -> :\d+ refused\b/.test(line)) return;
        const h = lineHour('accept', line);
        if (h >= 0) hours[h].refused++;
      };
    }
    if (kind === 'receive') {
      const lastCommand = this.lastCommand;
      return (line) => {
        const m = RECEIVE_RE.exec(line);
        if (!m) return;
        const [, session, dir, text] = m;
        if (dir === '<') {
          const verb = text.startsWith('(message data') ? 'DATA-END' : text.slice(0, 4).toUpperCase();
          if (verb === 'QUIT') lastCommand.delete(session);
          else {
            if (lastCommand.size >= MAX_SESSIONS && !lastCommand.has(session)) lastCommand.delete(lastCommand.keys().next().value!);
            lastCommand.set(session, verb);
          }
          return;
        }
        const h = lineHour('receive', line);
        if (h < 0) return;
        if (text.startsWith('250') && text.includes(' queued as ')) {
          hours[h].accepted++;
          return;
        }
        if (text.charCodeAt(0) === 0x35 /* 5 */) {
          const verb = lastCommand.get(session);
          if (verb === 'MAIL' || verb === 'RCPT' || verb === 'DATA-END') hours[h].refused++;
        }
      };
    }
    return (line) => {
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
        const t = lineTime('sender', this.day, line);
        this.lastErrors.push({ at: t ? localToIso(t) : '', source: 'delivery', text: line });
        if (this.lastErrors.length >= LAST_ERRORS * 2) this.lastErrors.splice(0, this.lastErrors.length - LAST_ERRORS);
      }
    };
  }
}

/**
 * Traffic of `day` (YYMMDD, default today) per local hour, and the newest errors of the
 * sender log (delivery failures), read once. The overview adds service and configuration errors.
 */
export async function trafficFromLogs(workdir: string, day?: string, now: Date = new Date()): Promise<TrafficStats> {
  return new DayTraffic(workdir, day ?? dayName(now)).update();
}
