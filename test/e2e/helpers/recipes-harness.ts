// The harness of the seed recipes (test/e2e/recipes.test.ts): a real `sekisho serve` child on
// a temp work folder, its control API over HTTP and its event stream (the debug consoles), a
// raw SMTP client that can bind its local address to 127.0.0.2 / 127.0.0.3 (the internal
// server and the outside world are both on loopback here), and two kinds of next hop: Debian's
// smtp-sink writing each message to a file, and an smtp-server sink that records every try
// and can refuse chosen recipients with a 5xx.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { connect as netConnect, createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { cliCommand } from '../../../services/cli/spawn.js';
import type { ServiceName } from '../../../services/control/api.js';
import { readControlSecret } from '../../../services/control/secret.js';

/** Poll `check` until it returns something truthy; bounded in time and count. */
export async function until<T>(check: () => Promise<T> | T, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms`);
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A self-signed certificate (EC P-256: quick to make on a busy machine). */
export async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=gw.test.jp'],
    { stdio: 'ignore', timeout: 20_000 },
  );
  return { cert, key };
}

// ---------------------------------------------------------------------------------------
// The work folder, written as an administrator would (Notepad: CRLF).

export interface WorkFolder {
  settings: Record<string, unknown>;
  domains: string[];
  gateway: string[];
  effect: string[];
  aliases: string[];
}

export async function writeWorkFolder(dir: string, w: WorkFolder): Promise<void> {
  await mkdir(join(dir, 'inbox'), { recursive: true });
  await mkdir(join(dir, 'incoming'), { recursive: true });
  await writeFile(join(dir, 'settings.json'), JSON.stringify(w.settings, null, 2));
  const table = (lines: string[]) => lines.map((l) => `${l}\r\n`).join('');
  await writeFile(join(dir, 'domains.dat'), table(w.domains));
  await writeFile(join(dir, 'gateway.dat'), table(w.gateway));
  await writeFile(join(dir, 'effect.dat'), table(w.effect));
  await writeFile(join(dir, 'aliases.dat'), table(w.aliases));
}

// ---------------------------------------------------------------------------------------
// `sekisho serve` as a child process, its API, and its event stream.

export interface DebugLine {
  service: ServiceName;
  line: string;
}

export class Serve {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Every `debug` event of /api/events, in arrival order (what the debug console shows). */
  readonly debug: DebugLine[] = [];
  private child: ChildProcess;
  private exited: Promise<number | null>;
  private events: AbortController | null = null;

  constructor(
    readonly workdir: string,
    readonly controlPort: number,
    /** requireAuth: `serve --require-auth` as the installed service runs; this harness then sends the control secret. */
    private readonly opts: { requireAuth?: boolean } = {},
  ) {
    const cmd = cliCommand(['serve', '--workdir', workdir, ...(opts.requireAuth ? ['--require-auth'] : [])]);
    this.child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.child.stdout!.on('data', lineCollector(this.stdout));
    this.child.stderr!.on('data', lineCollector(this.stderr));
  }

  /** Wait for `ready …` with both services running, then subscribe to the events. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const line = await until(
      () => {
        if (this.child.exitCode !== null) throw new Error(`serve exited ${this.child.exitCode}: ${this.stderr.join('\n')}`);
        return this.stdout.find((l) => l.startsWith('ready '));
      },
      timeoutMs,
      'serve ready',
    );
    if (!/receiver=running/.test(line) || !/delivery=running/.test(line)) {
      throw new Error(`serve is up but a service is not: ${line}\n${this.stderr.join('\n')}`);
    }
    await this.subscribe();
  }

  /** The control secret as a Bearer header when serve requires authentication, else none. */
  private auth(): Record<string, string> {
    return this.opts.requireAuth ? { Authorization: `Bearer ${readControlSecret(this.workdir)}` } : {};
  }

  async api<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.controlPort}/api/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...this.auth() },
      body: JSON.stringify({ args }),
    });
    const body = (await res.json()) as { ok: boolean; result: T; error?: string };
    if (!body.ok) throw new Error(`${method}: HTTP ${res.status} ${body.error}`);
    return body.result;
  }

  /** GET /api/events, kept open: every debug line of both services lands in `debug`. */
  private async subscribe(): Promise<void> {
    this.events = new AbortController();
    const res = await fetch(`http://127.0.0.1:${this.controlPort}/api/events`, { signal: this.events.signal, headers: this.auth() });
    if (!res.ok || !res.body) throw new Error(`/api/events: HTTP ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buf += decoder.decode(value, { stream: true });
          let cut: number;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            for (const l of block.split('\n')) {
              if (!l.startsWith('data: ')) continue;
              const e = JSON.parse(l.slice(6)) as { type: string; service?: ServiceName; line?: string };
              if (e.type === 'debug') this.debug.push({ service: e.service!, line: e.line! });
            }
          }
        }
      } catch {
        // aborted at stop
      }
    })();
  }

  /** The debug lines of one service from index `from` of `debug` on. */
  debugLines(service: ServiceName, from = 0): string[] {
    return this.debug.slice(from).filter((d) => d.service === service).map((d) => d.line);
  }

  /** Wait until a debug line of `service` (after index `from`) matches. */
  async waitDebug(service: ServiceName, pattern: RegExp, from = 0, timeoutMs = 20_000): Promise<string> {
    return until(() => this.debugLines(service, from).find((l) => pattern.test(l)), timeoutMs, `${service} debug ${pattern}`);
  }

  /** Restart both services in debug mode (the app's "debug console" toggle) and wait for
   * their configuration dump and ready line on the event stream. */
  async debugMode(): Promise<void> {
    const from = this.debug.length;
    const statuses = await Promise.all([
      this.api<{ state: string; debug: boolean }>('restartService', 'receiver', { debug: true }),
      this.api<{ state: string; debug: boolean }>('restartService', 'delivery', { debug: true }),
    ]);
    for (const s of statuses) if (s.state !== 'running' || !s.debug) throw new Error(`debug restart: ${JSON.stringify(s)}`);
    await this.waitDebug('receiver', /^ready ports=/, from);
    await this.waitDebug('delivery', /^ready$/, from);
  }

  /** Wait until both services applied a configuration change made after debug index `from`. */
  async waitApplied(from: number, timeoutMs = 20_000): Promise<void> {
    await this.waitDebug('receiver', /^\S+ configuration generation \d+ applied/, from, timeoutMs);
    await this.waitDebug('delivery', /config reloaded \(generation \d+\)/, from, timeoutMs);
  }

  async stop(): Promise<number | null | 'hung'> {
    this.events?.abort();
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    if (code === 'hung') this.child.kill('SIGKILL');
    return code;
  }
}

/** A stream's 'data' handler that appends each complete line to `into`. */
export function lineCollector(into: string[]): (c: Buffer) => void {
  let partial = '';
  return (c) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop() ?? '';
    into.push(...parts);
  };
}

// ---------------------------------------------------------------------------------------
// A raw SMTP client: one command, one reply, so every reply can be asserted exactly.

export class SmtpClient {
  banner = '';
  private socket: Socket | TLSSocket;
  private buf = '';
  private lines: string[] = [];
  private waiting: (() => void) | null = null;
  private closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Connect from `localAddress` (127.0.0.2 = the internal server, 127.0.0.3 = outside). */
  static async connect(port: number, localAddress: string): Promise<SmtpClient> {
    const socket = netConnect({ host: '127.0.0.1', port, localAddress });
    await new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    });
    const c = new SmtpClient(socket);
    c.banner = await c.reply();
    return c;
  }

  private attach(s: Socket | TLSSocket): void {
    s.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 2);
      }
      this.waiting?.();
    });
    s.on('error', () => {});
    s.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  /** The next complete reply; multi-line replies joined with \n. */
  async reply(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
      if (end >= 0) return this.lines.splice(0, end + 1).join('\n');
      if (this.closed) throw new Error(`connection closed; partial reply: ${this.lines.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; got: ${this.lines.join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiting = () => {
          clearTimeout(t);
          this.waiting = null;
          r();
        };
      });
    }
  }

  async cmd(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS (RFC 3207), then the caller says EHLO again. */
  async starttls(): Promise<string> {
    const r = await this.cmd('STARTTLS');
    if (!r.startsWith('220')) return r;
    const plain = this.socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: 'gw.test.jp' });
    await new Promise<void>((res, rej) => {
      secure.once('secureConnect', res);
      secure.once('error', rej);
    });
    this.socket = secure;
    this.attach(secure);
    return r;
  }

  /** DATA, the message (dot-stuffed, CRLF), and the reply to the final dot. */
  async data(message: string): Promise<{ start: string; end: string }> {
    const start = await this.cmd('DATA');
    if (!start.startsWith('354')) return { start, end: '' };
    const body = message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.socket.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    return { start, end: await this.reply() };
  }

  async quit(): Promise<void> {
    if (!this.closed) await this.cmd('QUIT').catch(() => '');
    this.socket.destroy();
  }
}

export function plainAuth(user: string, password: string): string {
  return `AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`;
}

export function message(o: { from: string; to: string; subject: string; body?: string }): string {
  return [
    `From: ${o.from}`,
    `To: ${o.to}`,
    `Subject: ${o.subject}`,
    `Message-ID: <${o.subject.replace(/\W/g, '')}@recipes.test>`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    '',
    o.body ?? `This is ${o.subject}.`,
    '',
  ].join('\r\n');
}

// ---------------------------------------------------------------------------------------
// Next hops.

/** Debian/Postfix smtp-sink writing each message to a file in `dir` (man smtp-sink, -d). */
export class SmtpSinkChild {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private child: ChildProcess,
  ) {}

  static async start(dir: string): Promise<SmtpSinkChild> {
    const port = await freePort();
    const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'nobody');
    const child = spawn('/usr/sbin/smtp-sink', ['-u', user, '-d', `${dir}/%M.`, `127.0.0.1:${port}`, '100'], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await until(
      () =>
        new Promise<boolean>((r) => {
          const s = netConnect(port, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            r(true);
          });
          s.once('error', () => r(false));
        }),
      10_000,
      `smtp-sink on ${port}`,
    );
    return new SmtpSinkChild(dir, port, child);
  }

  /** Every dumped message: the X-Client-Addr / X-Mail-Args / X-Rcpt-Args lines, then it. */
  async dumps(): Promise<string[]> {
    const names = (await readdir(this.dir)).sort();
    return Promise.all(names.map((n) => readFile(join(this.dir, n), 'utf8')));
  }

  /** Wait for a dump containing `needle`. The file is written while the message arrives, so
   * a caller that reads past the header passes `complete` (e.g. the closing MIME boundary). */
  async waitFor(needle: string, timeoutMs = 20_000, complete: (dump: string) => boolean = () => true): Promise<string> {
    return until(
      async () => (await this.dumps()).find((d) => d.includes(needle) && complete(d)),
      timeoutMs,
      `smtp-sink message with ${needle}`,
    );
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    await gone;
  }
}

export interface SinkTry {
  stage: 'rcpt' | 'data';
  /** RCPT: the address; DATA: every accepted recipient of the transaction. */
  to: string[];
  from: string;
  /** What the sink answered. */
  code: number;
  /** Date.now() when the command arrived. */
  at: number;
  data?: Buffer;
}

export interface Refusal {
  code: number;
  message: string;
  /** Refuse the RCPT, or accept it and refuse the message at the end of DATA. */
  at: 'rcpt' | 'data';
}

function smtpError(r: Refusal): Error {
  const e = new Error(r.message) as Error & { responseCode: number };
  e.responseCode = r.code;
  return e;
}

/** An smtp-server next hop (the Internet, through the smarthost setting): records every RCPT
 * and every DATA, and refuses the recipients `refuse` names with their 5xx reply. */
export class RecordingSink {
  readonly tries: SinkTry[] = [];
  private server: SMTPServer;
  port = 0;

  constructor(private refuse: Map<string, Refusal> = new Map()) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      hideSTARTTLS: true,
      logger: false,
      size: 0,
      onRcptTo: (addr, session, cb) => {
        const r = this.refuse.get(addr.address.toLowerCase());
        const refused = r && r.at === 'rcpt' ? r : null;
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        this.tries.push({ stage: 'rcpt', to: [addr.address], from, code: refused?.code ?? 250, at: Date.now() });
        if (refused) return cb(smtpError(refused));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((t) => t.address);
          const refused = to.map((a) => this.refuse.get(a.toLowerCase())).find((r) => r?.at === 'data');
          this.tries.push({
            stage: 'data',
            to,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            code: refused?.code ?? 250,
            at: Date.now(),
            data: Buffer.concat(chunks),
          });
          if (refused) return cb(smtpError(refused));
          cb();
        });
      },
    });
    this.server.on('error', () => {});
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = ((this.server as unknown as { server: Server }).server.address() as AddressInfo).port;
    return this;
  }

  /** Every RCPT and DATA try that involved `address`. */
  triesFor(address: string, stage: 'rcpt' | 'data'): SinkTry[] {
    const a = address.toLowerCase();
    return this.tries.filter((t) => t.stage === stage && t.to.some((x) => x.toLowerCase() === a));
  }

  /** Messages accepted (DATA answered 250) for `address`. */
  delivered(address: string): SinkTry[] {
    return this.triesFor(address, 'data').filter((t) => t.code === 250);
  }

  close(): Promise<void> {
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}
