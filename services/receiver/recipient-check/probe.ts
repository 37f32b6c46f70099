// A small SMTP client for one job: ask an internal server whether it would take a recipient
// (`MAIL FROM:<>`, `RCPT TO:<addr>`, `RSET`) and keep the connection for the next question.
// Written on net rather than nodemailer's SMTPConnection because that one has no RSET and
// treats a 5xx RCPT as the end of its envelope. Plain TCP only: the internal server sits on
// the LAN next to the gateway, nothing confidential crosses (no message, only an address),
// and STARTTLS would cost two round trips and a handshake per connection for nothing.
import { connect, type Socket } from 'node:net';

/** One complete reply (RFC 5321 4.2.1: `250-a` … `250 z`). */
export interface ProbeReply {
  code: number;
  /** Every line as received, without CRLF. */
  lines: string[];
}

/** The reply as one line for logs: `550 5.1.1 <x@y>: Recipient address rejected`. */
export function replyLine(r: ProbeReply): string {
  const last = r.lines[r.lines.length - 1] ?? String(r.code);
  return last.replace(/^(\d{3})-/, '$1 ').slice(0, 300);
}

/** The longest line taken from a server (RFC 5321 4.5.3.1.5: 512 for a reply line; generous). */
const MAX_LINE = 4096;
/** Lines in one reply; an EHLO reply has a dozen. */
const MAX_REPLY_LINES = 200;

export class ProbeError extends Error {
  constructor(
    message: string,
    /** The connection never reached a usable state or broke mid-conversation. */
    readonly broken = true,
  ) {
    super(message);
  }
}

export type ProbeResult =
  | { kind: 'exists' | 'unknown' | 'tempfail'; reply: ProbeReply }
  /** MAIL FROM:<> itself was refused: the server cannot be asked this way (not "user unknown"). */
  | { kind: 'sender-refused'; reply: ProbeReply };

export interface ProbeOptions {
  /** Our name in EHLO/HELO (settings.hostname). */
  heloName: string;
  /** Deadline for connect + greeting + EHLO, and for each question. */
  timeoutMs: number;
}

/** One connection to an internal server; one question at a time. */
export class ProbeConnection {
  private buf = '';
  private lines: string[] = [];
  private waiter: { resolve: (r: ProbeReply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private busy = false;
  /** Questions asked on this connection. */
  uses = 0;

  private constructor(
    private readonly socket: Socket,
    readonly target: string,
  ) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', (err) => this.fail(new ProbeError(`${target}: ${err.message}`)));
    socket.on('close', () => this.fail(new ProbeError(`${target}: connection closed by the server`)));
  }

  /** Connect, read the greeting, say EHLO (HELO when EHLO is refused). */
  static async open(host: string, port: number, opts: ProbeOptions): Promise<ProbeConnection> {
    const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const socket = connect({ host, port });
    const conn = new ProbeConnection(socket, target);
    try {
      await conn.within(opts.timeoutMs, 'connect and greeting', async () => {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
          socket.once('close', () => reject(new ProbeError(`${target}: connection closed`)));
        });
        const greeting = await conn.read();
        if (greeting.code !== 220) throw new ProbeError(`${target}: greeting ${replyLine(greeting)}`);
        let hello = await conn.command(`EHLO ${opts.heloName}`);
        if (hello.code >= 500) hello = await conn.command(`HELO ${opts.heloName}`);
        if (hello.code !== 250) throw new ProbeError(`${target}: ${replyLine(hello)}`);
      });
    } catch (err) {
      conn.destroy();
      throw err instanceof ProbeError ? err : new ProbeError(`${target}: ${(err as Error).message}`);
    }
    return conn;
  }

  /** Still open and not in the middle of a question. */
  get usable(): boolean {
    return !this.failure && !this.busy && !this.socket.destroyed;
  }

  /**
   * `MAIL FROM:<>` (the null sender, RFC 5321 4.5.5: nothing may bounce from a probe),
   * `RCPT TO:<address>`, `RSET` (so the next question starts a fresh transaction, 4.1.1.5).
   */
  async ask(address: string, timeoutMs: number): Promise<ProbeResult> {
    // A quoted local part may hold spaces (RFC 5321 4.1.2); a line break or NUL would end the
    // command early and must never reach the wire (the receiver's parser refuses them anyway).
    if (/[\r\n\0]/.test(address)) throw new ProbeError(`not asked: ${JSON.stringify(address)} holds a line break`, false);
    if (!this.usable) throw new ProbeError(`${this.target}: connection not usable`);
    this.busy = true;
    this.uses++;
    try {
      return await this.within(timeoutMs, `RCPT TO:<${address}>`, async () => {
        const mail = await this.command('MAIL FROM:<>');
        let result: ProbeResult;
        if (mail.code !== 250) {
          result = { kind: 'sender-refused', reply: mail };
        } else {
          const rcpt = await this.command(`RCPT TO:<${address}>`);
          const c = Math.floor(rcpt.code / 100);
          result = { kind: c === 2 ? 'exists' : c === 5 ? 'unknown' : 'tempfail', reply: rcpt };
        }
        const rset = await this.command('RSET');
        if (rset.code !== 250) this.fail(new ProbeError(`${this.target}: RSET answered ${replyLine(rset)}`));
        return result;
      });
    } finally {
      this.busy = false;
    }
  }

  /** QUIT politely and close; never throws. */
  close(): void {
    if (this.failure || this.socket.destroyed) return this.destroy();
    this.failure = new ProbeError(`${this.target}: closed`, false);
    this.socket.end('QUIT\r\n');
    this.socket.setTimeout(2000, () => this.socket.destroy());
  }

  destroy(): void {
    this.failure ??= new ProbeError(`${this.target}: closed`, false);
    this.socket.destroy();
  }

  private async command(line: string): Promise<ProbeReply> {
    this.socket.write(line + '\r\n');
    return this.read();
  }

  private read(): Promise<ProbeReply> {
    if (this.failure) return Promise.reject(this.failure);
    const r = this.take();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** A whole reply from the lines received, or null when it is not complete yet. */
  private take(): ProbeReply | null {
    for (let i = 0; i < this.lines.length; i++) {
      const m = /^(\d{3})([ -]|$)/.exec(this.lines[i]);
      if (!m) {
        this.fail(new ProbeError(`${this.target}: not an SMTP reply: ${JSON.stringify(this.lines[i].slice(0, 80))}`));
        return null;
      }
      if (m[2] !== '-') {
        const lines = this.lines.splice(0, i + 1);
        return { code: Number(m[1]), lines };
      }
    }
    if (this.lines.length > MAX_REPLY_LINES) this.fail(new ProbeError(`${this.target}: reply of more than ${MAX_REPLY_LINES} lines`));
    return null;
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      this.lines.push(this.buf.slice(0, nl).replace(/\r$/, ''));
      this.buf = this.buf.slice(nl + 1);
    }
    if (this.buf.length > MAX_LINE) return this.fail(new ProbeError(`${this.target}: reply line longer than ${MAX_LINE} bytes`));
    if (!this.waiter) return;
    const r = this.take();
    if (r) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(r);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
    if (!this.socket.destroyed && err instanceof ProbeError && err.broken) this.socket.destroy();
  }

  private async within<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ProbeError(`${this.target}: no answer within ${Math.round(ms / 100) / 10} s (${what})`);
        this.fail(err);
        reject(err);
      }, ms);
    });
    try {
      return await Promise.race([fn(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
