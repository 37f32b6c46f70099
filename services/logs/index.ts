// The three logs of SPEC 10 for one process: `openLogs(workdir)` and call accept / receive /
// sender. Receiver and delivery each open their own; lines are appended (O_APPEND), so two
// processes can share a file.
import { AuthMasker } from './mask.js';
import { DailyLog, type DailyLogOptions } from './daily.js';
import { formatAccept, formatReceive, formatSender, type AcceptEntry } from './format.js';
import { dayName, logDir } from './paths.js';
import { pruneOldLogs } from './retention.js';

export type { AcceptEntry } from './format.js';
export { maskAuth, AuthMasker } from './mask.js';
export { pruneOldLogs } from './retention.js';
export { readLog, tailLog, listLogDays, type LogTail } from './read.js';
export { dayName, logDir, logFile, LOG_KINDS } from './paths.js';
export type { LogKind, LogLine, LogQuery } from './types.js';

export interface LogsOptions {
  /** logs.retentionDays (default 90; 0 keeps everything). Pruned at open and at each new day. */
  retentionDays?: number;
  /** Flush period (default 200 ms). */
  flushMs?: number;
  /** Clock (tests). */
  now?: () => Date;
  /** Line ending (default CRLF on Windows, LF elsewhere). */
  eol?: string;
  onError?: (err: Error) => void;
}

export interface Logs {
  /** One line per connection (log/accept). */
  accept(entry: AcceptEntry): void;
  /** Every SMTP line both ways (log/receive); `<` from the client, `>` our reply. AUTH masked. */
  receive(session: string, direction: '<' | '>', line: string): void;
  /** Every delivery step of a message (log/sender); `id` like B0000000186 or B0000000186-R0001. */
  sender(id: string, text: string): void;
  /** Forget a session's masking state (call when the connection closes; optional). */
  endSession(session: string): void;
  /** Write what is buffered now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Sessions waiting for an AUTH answer are few; bound the map anyway (a session may vanish). */
const MAX_MASKER_SESSIONS = 10_000;

export function openLogs(workdir: string, opts: LogsOptions = {}): Logs {
  const now = opts.now ?? (() => new Date());
  const retention = opts.retentionDays ?? 90;
  const prune = () => {
    pruneOldLogs(workdir, retention, now()).catch((err) => opts.onError?.(err as Error));
  };
  const fileOpts: DailyLogOptions = { flushMs: opts.flushMs, eol: opts.eol, onError: opts.onError, onNewDay: prune };
  const accept = new DailyLog(logDir(workdir, 'accept'), fileOpts);
  const receive = new DailyLog(logDir(workdir, 'receive'), fileOpts);
  const sender = new DailyLog(logDir(workdir, 'sender'), fileOpts);
  // Only sessions between a 334 and its answer are kept.
  const maskers = new Map<string, AuthMasker>();
  prune();
  // Also when nothing is logged for days (an idle night and weekend): check the day hourly.
  let prunedDay = dayName(now());
  const pruneTimer = setInterval(() => {
    const day = dayName(now());
    if (day !== prunedDay) {
      prunedDay = day;
      prune();
    }
  }, 3_600_000);
  pruneTimer.unref?.();

  return {
    accept(entry) {
      const t = now();
      accept.write(formatAccept(t, entry), t);
    },
    receive(session, direction, line) {
      const t = now();
      let m = maskers.get(session);
      let text: string;
      if (direction === '>') {
        m ??= new AuthMasker();
        text = m.server(line);
        if (m.pending) {
          if (maskers.size >= MAX_MASKER_SESSIONS) maskers.delete(maskers.keys().next().value!);
          maskers.set(session, m);
        } else maskers.delete(session);
      } else {
        text = m ? m.client(line) : new AuthMasker().client(line);
        if (m && !m.pending) maskers.delete(session);
      }
      receive.write(formatReceive(t, session, direction, text), t);
    },
    sender(id, text) {
      const t = now();
      sender.write(formatSender(t, id, text), t);
    },
    endSession(session) {
      maskers.delete(session);
    },
    async flush() {
      await Promise.all([accept.flush(), receive.flush(), sender.flush()]);
    },
    async close() {
      clearInterval(pruneTimer);
      maskers.clear();
      await Promise.all([accept.close(), receive.close(), sender.close()]);
    },
  };
}
