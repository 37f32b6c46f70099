// Debian's smtp-sink as the internal mail server behind the gateway. `-c` makes it print
// running counters (`sess=N quit=N mesg=N\r`) each time a session ends or a "." is
// received; we count delivered messages from that line, so end-to-end throughput is
// measured at the very end of the path without writing files (which would make the sink,
// not the gateway, the bottleneck).
import type { ChildProcess } from 'node:child_process';
import { start, stop, sleep } from './procs.js';
import { freePort, waitForBanner } from './ports.js';

export const SMTP_SINK = '/usr/sbin/smtp-sink';

export class Sink {
  messages = 0;
  sessions = 0;
  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
  ) {}

  static async start(opts: { maxConcurrency?: number } = {}): Promise<Sink> {
    const port = await freePort();
    // smtp-sink refuses to run as root without -u; the postfix user exists with the package.
    const args = ['-c', '-u', 'postfix', '-m', String(opts.maxConcurrency ?? 1024), `127.0.0.1:${port}`, '4096'];
    const child = start(SMTP_SINK, args);
    const sink = new Sink(port, child);
    let tail = '';
    child.stdout!.on('data', (d: Buffer) => {
      tail = (tail + d.toString('latin1')).slice(-400);
      const m = /sess=(\d+) quit=\d+ mesg=(\d+)[^\r\n]*[\r\n]?$/.exec(tail.replace(/[\r\n]+$/, ''));
      if (m) {
        sink.sessions = Number(m[1]);
        sink.messages = Number(m[2]);
      }
    });
    await waitForBanner(port);
    return sink;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the time (performance.now()) the count reached `target`, or null on timeout. */
  async waitForMessages(target: number, timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.messages >= target) return performance.now();
      await sleep(5);
    }
    return this.messages >= target ? performance.now() : null;
  }

  async stop(): Promise<void> {
    await stop(this.child, 2000);
  }
}
