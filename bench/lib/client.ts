// A small SMTP client for what smtp-source cannot do: per-message latency, holding many
// idle sessions open, and a single very large message streamed with back-pressure. No
// pipelining: one command, one reply, as smtp-source does too (RFC 5321 4.1, lock-step).
import { connect, type Socket } from 'node:net';

export interface Reply {
  code: number;
  lines: string[];
}

export class SmtpConn {
  private buf = '';
  private waiters: Array<(r: Reply | Error) => void> = [];
  private replies: Array<Reply | Error> = [];
  private partial: string[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d.toString('latin1')));
    const fail = (e: Error) => {
      this.closed = true;
      this.push(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Connect and read the banner. */
  static async open(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<{ conn: SmtpConn; banner: Reply }> {
    const socket = connect(port, host);
    const conn = new SmtpConn(socket);
    const banner = await conn.read(timeoutMs);
    return { conn, banner };
  }

  private onData(text: string): void {
    this.buf += text;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      this.partial.push(line);
      // RFC 5321 4.2.1: "NNN-" continues a multi-line reply, "NNN " (or bare "NNN") ends it.
      if (line.length < 4 || line[3] !== '-') {
        this.push({ code: Number(line.slice(0, 3)), lines: this.partial });
        this.partial = [];
      }
    }
  }

  private push(r: Reply | Error): void {
    const w = this.waiters.shift();
    if (w) w(r);
    else if (!(r instanceof Error) || this.replies.length === 0) this.replies.push(r);
  }

  read(timeoutMs = 30_000): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return queued instanceof Error ? Promise.reject(queued) : Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const k = this.waiters.indexOf(waiter);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: Reply | Error) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  async cmd(line: string, timeoutMs = 30_000): Promise<Reply> {
    this.socket.write(line + '\r\n');
    return this.read(timeoutMs);
  }

  /** Write with back-pressure: wait for 'drain' when the kernel buffer is full. */
  async write(chunk: Buffer | string): Promise<void> {
    if (!this.socket.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.socket.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          this.socket.off('drain', onDrain);
          reject(new Error('connection closed while sending'));
        };
        this.socket.once('drain', onDrain);
        this.socket.once('close', onClose);
      });
    }
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Polite end: QUIT, then close without waiting long for the 221. */
  async quit(): Promise<void> {
    try {
      await this.cmd('QUIT', 2000);
    } catch {
      /* already gone */
    }
    this.close();
  }
}

function expect(r: Reply, code: number, what: string): void {
  if (Math.floor(r.code / 100) !== Math.floor(code / 100)) throw new Error(`${what}: ${r.lines.join(' / ')}`);
}

/** A message of about `bytes` bytes: headers plus 76-column body lines, none starting with '.'. */
export function makeMessage(bytes: number, n = 0): Buffer {
  const head =
    `From: <a@ext.jp>\r\nTo: <x@test.jp>\r\nSubject: bench ${n}\r\n` +
    `Message-ID: <bench-${n}-${Date.now()}@ext.jp>\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn\r\n';
  const count = Math.max(1, Math.ceil((bytes - head.length) / line.length));
  return Buffer.from(head + line.repeat(count), 'latin1');
}

export interface Transaction {
  /** Connect to the final 250 (what a sending MTA waits for). */
  totalMs: number;
  /** End of data (`.`) sent to its 250: the server's "durably queued" time (SPEC 7/8). */
  acceptMs: number;
}

/** One message over one fresh connection, as an Internet MTA would send it. */
export async function sendOne(
  port: number,
  body: Buffer,
  opts: { from?: string; to?: string; timeoutMs?: number; chunkBytes?: number } = {},
): Promise<Transaction> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const t0 = performance.now();
  const { conn, banner } = await SmtpConn.open(port, '127.0.0.1', timeoutMs);
  try {
    expect(banner, 220, 'banner');
    expect(await conn.cmd('EHLO bench.ext.jp', timeoutMs), 250, 'EHLO');
    expect(await conn.cmd(`MAIL FROM:<${opts.from ?? 'a@ext.jp'}>`, timeoutMs), 250, 'MAIL');
    expect(await conn.cmd(`RCPT TO:<${opts.to ?? 'x@test.jp'}>`, timeoutMs), 250, 'RCPT');
    expect(await conn.cmd('DATA', timeoutMs), 354, 'DATA');
    const chunk = opts.chunkBytes ?? 256 * 1024;
    for (let off = 0; off < body.length; off += chunk) await conn.write(body.subarray(off, off + chunk));
    const tDot = performance.now();
    expect(await conn.cmd('.', timeoutMs), 250, 'end of data');
    const t1 = performance.now();
    void conn.quit();
    return { totalMs: t1 - t0, acceptMs: t1 - tDot };
  } catch (err) {
    conn.close();
    throw err;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}

/**
 * `sessions` workers each send messages one connection at a time until `messages` were
 * sent in all or `timeoutMs` passed. Returns every transaction's timings.
 */
export async function latencyRun(
  port: number,
  opts: { sessions: number; messages: number; bytes: number; timeoutMs: number },
): Promise<{ ok: Transaction[]; errors: string[]; wallMs: number }> {
  const body = makeMessage(opts.bytes);
  const ok: Transaction[] = [];
  const errors: string[] = [];
  let next = 0;
  const deadline = Date.now() + opts.timeoutMs;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: opts.sessions }, async () => {
      while (next < opts.messages && Date.now() < deadline && errors.length < 50) {
        next++;
        try {
          ok.push(await sendOne(port, body));
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }),
  );
  return { ok, errors, wallMs: performance.now() - t0 };
}

/**
 * Open `count` sessions, each greeted and past EHLO, and keep them open. Opened in waves
 * of `wave` so the listen backlog is not the thing being measured.
 */
export async function holdSessions(
  port: number,
  count: number,
  opts: { wave?: number; timeoutMs?: number } = {},
): Promise<{ conns: SmtpConn[]; failed: number; firstError: string }> {
  const wave = opts.wave ?? 50;
  const conns: SmtpConn[] = [];
  let failed = 0;
  let firstError = '';
  for (let i = 0; i < count; i += wave) {
    await Promise.all(
      Array.from({ length: Math.min(wave, count - i) }, async () => {
        let c: SmtpConn | undefined;
        try {
          const opened = await SmtpConn.open(port, '127.0.0.1', opts.timeoutMs ?? 10_000);
          c = opened.conn;
          expect(opened.banner, 220, 'banner');
          expect(await c.cmd('EHLO held.ext.jp', opts.timeoutMs ?? 10_000), 250, 'EHLO');
          conns.push(c);
        } catch (err) {
          c?.close();
          failed++;
          firstError ||= (err as Error).message;
        }
      }),
    );
  }
  return { conns, failed, firstError };
}
