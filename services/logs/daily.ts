// One daily log (log/<kind>/YYMMDD.log): lines are buffered and appended in one write at least
// every 200 ms, on close, and at exit — the receive log gets every SMTP line of every session,
// so one system call per line would cost more than the SMTP work itself. Each line is stamped
// with its day when it is logged, so a buffer spanning midnight goes to both files.
import { appendFileSync, mkdirSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dayName, LOG_EOL } from './paths.js';

export interface DailyLogOptions {
  /** Flush period (default 200 ms). */
  flushMs?: number;
  /** Flush early once this much text is buffered (default 256 KiB). */
  maxBufferChars?: number;
  eol?: string;
  /** Called when a line is logged on a new day (rollover), with that day. */
  onNewDay?: (day: string) => void;
  /** Where write errors go (default stderr, once per minute at most). */
  onError?: (err: Error) => void;
}

export class DailyLog {
  private day = '';
  private lines: string[] = [];
  private chars = 0;
  /** Buffered text of earlier days, waiting for the next flush. */
  private done: Array<{ day: string; text: string }> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly eol: string;
  private readonly flushMs: number;
  private readonly maxChars: number;
  private dirMade = false;
  private lastErrorAt = 0;
  private readonly exitHook = () => this.flushSync();

  constructor(
    readonly dir: string,
    private readonly opts: DailyLogOptions = {},
  ) {
    this.eol = opts.eol ?? LOG_EOL;
    this.flushMs = opts.flushMs ?? 200;
    this.maxChars = opts.maxBufferChars ?? 256 * 1024;
    process.on('exit', this.exitHook);
  }

  /** Append one line (already formatted, without line ending), stamped with `now`'s day. */
  write(line: string, now: Date): void {
    if (this.closed) return;
    const day = dayName(now);
    if (day !== this.day) {
      this.cut();
      const first = this.day === '';
      this.day = day;
      if (!first) this.opts.onNewDay?.(day);
    }
    this.lines.push(line);
    this.chars += line.length + this.eol.length;
    if (this.chars >= this.maxChars) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref?.();
    }
  }

  /** Move the current day's buffered lines to the list of texts to write. */
  private cut(): void {
    if (this.lines.length) this.done.push({ day: this.day, text: this.lines.join(this.eol) + this.eol });
    this.lines = [];
    this.chars = 0;
  }

  private take(): Array<{ day: string; text: string }> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.cut();
    const batch = this.done;
    this.done = [];
    return batch;
  }

  /** Write everything buffered so far; resolves once it is in the files. */
  flush(): Promise<void> {
    const batch = this.take();
    this.flushing = this.flushing.then(async () => {
      for (const { day, text } of batch) {
        try {
          if (!this.dirMade) {
            await mkdir(this.dir, { recursive: true });
            this.dirMade = true;
          }
          await appendFile(join(this.dir, `${day}.log`), text, 'utf8');
        } catch (err) {
          this.dirMade = false; // folder removed under us? make it again next time
          this.reportError(err as Error);
        }
      }
    });
    return this.flushing;
  }

  private reportError(err: Error): void {
    if (this.opts.onError) return this.opts.onError(err);
    const now = Date.now();
    if (now - this.lastErrorAt < 60_000) return;
    this.lastErrorAt = now;
    process.stderr.write(`sekisho: cannot write log in ${this.dir}: ${err.message}\n`);
  }

  /** At process exit there is no event loop left: write what is buffered synchronously. */
  private flushSync(): void {
    const batch = this.take();
    for (const { day, text } of batch) {
      try {
        mkdirSync(this.dir, { recursive: true });
        appendFileSync(join(this.dir, `${day}.log`), text, 'utf8');
      } catch {
        // nothing more can be done at exit
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return this.flushing;
    this.closed = true;
    process.off('exit', this.exitHook);
    await this.flush();
  }
}
