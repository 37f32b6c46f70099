// Shared by the receiver tests: a fresh work folder written by hand, the receiver started
// in-process, and a raw line-based SMTP client (plain or TLS). Every wait is bounded.
import { mkdtemp, mkdir, writeFile, readdir, readFile, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { defaultSettings, type Settings } from '../../../services/config/settings.js';
import { startReceiver, type Receiver } from '../../../services/receiver/index.js';
import type { ControlRecord } from '../../../services/queue/types.js';
import { messageFile, readControl, readMessageBytes, scanQueue } from '../../../services/queue/store.js';

// One free-port helper for the bench and the tests.
import { freePort } from '../../../bench/lib/ports.js';
export { freePort };

export interface WorkdirOptions {
  effect?: string[];
  aliases?: string[];
  domains?: string[];
  gateway?: string[];
  /** user -> apop.dat content (a plain password, or `$scrypt$...`). */
  accounts?: Record<string, string>;
  settings?: (s: Settings) => void;
  /** Number of plain ports (default 1). */
  ports?: number;
  /** Extra files written into the work folder before it is read (relative path -> content). */
  files?: Record<string, string | Buffer>;
}

export const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';

/** test.jp is local; alice (password `secret`) is an account; aliases: sales -> alice, bob. */
export async function makeWorkdir(o: WorkdirOptions = {}): Promise<{ workdir: string; ports: number[] }> {
  const workdir = await mkdtemp(join(tmpdir(), 'sekisho-rcv-'));
  const ports: number[] = [];
  while (ports.length < (o.ports ?? 1)) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const s = defaultSettings();
  s.hostname = 'gw.test.jp';
  s.receiver.bind = '127.0.0.1';
  s.receiver.ports = ports;
  s.receiver.idleTimeoutSec = 30;
  o.settings?.(s);
  await mkdir(join(workdir, 'inbox'), { recursive: true });
  await writeFile(join(workdir, 'settings.json'), JSON.stringify(s, null, 2) + '\n');
  await writeFile(join(workdir, 'effect.dat'), crlf(o.effect ?? ["' test rules", '#<> default', '#blank false']));
  await writeFile(join(workdir, 'domains.dat'), crlf(o.domains ?? ['test.jp']));
  await writeFile(
    join(workdir, 'aliases.dat'),
    crlf(o.aliases ?? ['sales@test.jp -> alice@test.jp, bob@test.jp', 'bob@test.jp -> bob@test.jp']),
  );
  await writeFile(join(workdir, 'gateway.dat'), crlf(o.gateway ?? ['test.jp, 127.0.0.1, 9']));
  for (const [rel, content] of Object.entries(o.files ?? {})) {
    await mkdir(dirname(join(workdir, rel)), { recursive: true });
    await writeFile(join(workdir, rel), content);
  }
  for (const [user, pw] of Object.entries(o.accounts ?? { alice: 'secret' })) {
    await mkdir(join(workdir, 'inbox', user), { recursive: true });
    await writeFile(join(workdir, 'inbox', user, 'apop.dat'), pw + '\r\n');
  }
  return { workdir, ports };
}

export interface Running {
  workdir: string;
  rx: Receiver;
  port: number;
  trace: string[];
  /** What the receiver would have written to stderr. */
  warnings: string[];
  stop(): Promise<void>;
}

export async function runReceiver(o: WorkdirOptions = {}): Promise<Running> {
  const { workdir } = await makeWorkdir(o);
  const trace: string[] = [];
  const warnings: string[] = [];
  const rx = await startReceiver({ workdir, debug: (l) => trace.push(l), warn: (t) => warnings.push(t) });
  return {
    workdir,
    rx,
    port: rx.ports[0],
    trace,
    warnings,
    async stop() {
      await rx.close();
      await rm(workdir, { recursive: true, force: true });
    },
  };
}

/** Queued records, sorted by id, read as delivery reads them (a message exists once its .$CP does). */
export async function queued(workdir: string): Promise<ControlRecord[]> {
  const { records, problems } = await scanQueue(workdir);
  if (problems.length) throw new Error(`unreadable queue files: ${problems.map((p) => p.message).join('; ')}`);
  return records;
}

/** Every file under incoming/ (recursively) except the ID counter, its lock and lock owner files. */
export async function queueFiles(workdir: string): Promise<string[]> {
  const entries = await readdir(join(workdir, 'incoming'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.seq') && !e.name.startsWith('.owner.'))
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/** A queued message's bytes (without the queue file's envelope), as latin1 text. */
export async function messageText(workdir: string, id: string): Promise<string> {
  const rec = await readControl(workdir, id);
  return readMessageBytes(messageFile(workdir, rec), rec.size).toString('latin1');
}

export interface Reply {
  code: number;
  lines: string[];
  /** The last line's text after the code and separator. */
  text: string;
}

/** A raw SMTP client: write lines, read complete replies (RFC 5321 4.2.1 multi-line). */
export class Client {
  private buf = '';
  private replies: Reply[] = [];
  private partial: string[] = [];
  private waiter: (() => void) | null = null;
  closed = false;
  /** Everything received, for byte-level assertions. */
  raw = '';

  private constructor(public socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => this.onData(d.toString('latin1')));
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static async connect(port: number, opts: { tls?: boolean; host?: string } = {}): Promise<Client> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls
      ? tlsConnect({ port, host, rejectUnauthorized: false, servername: 'gw.test.jp' })
      : connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    (socket as Socket).setNoDelay(true);
    return new Client(socket);
  }

  private onData(text: string): void {
    this.raw += text;
    this.buf += text;
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      this.partial.push(line);
      if (line.length < 4 || line[3] !== '-') {
        this.replies.push({ code: Number(line.slice(0, 3)), lines: this.partial, text: line.slice(4) });
        this.partial = [];
      }
    }
    this.waiter?.();
  }

  /** The next complete reply; rejects on timeout or when the connection closed first. */
  async read(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    while (!this.replies.length) {
      if (this.closed) throw new Error(`connection closed; received so far: ${JSON.stringify(this.raw)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply in ${timeoutMs} ms; received so far: ${JSON.stringify(this.raw)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.replies.shift()!;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(line: string, timeoutMs?: number): Promise<Reply> {
    this.write(line + '\r\n');
    return this.read(timeoutMs);
  }

  /** Wait until the server closed the connection (bounded). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  /** RFC 3207: upgrade this connection after a 220 to STARTTLS. */
  async startTls(): Promise<void> {
    const plain = this.socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const tls = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: 'gw.test.jp' });
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', () => resolve());
      tls.once('error', reject);
    });
    this.socket = tls;
    this.buf = '';
    this.attach(tls);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connect, read the banner, EHLO. */
export async function session(port: number, helo = 'client.ext.jp'): Promise<Client> {
  const c = await Client.connect(port);
  const banner = await c.read();
  if (banner.code !== 220) throw new Error(`banner ${banner.code} ${banner.text}`);
  const ehlo = await c.cmd(`EHLO ${helo}`);
  if (ehlo.code !== 250) throw new Error(`EHLO ${ehlo.code} ${ehlo.text}`);
  return c;
}

export function message(subject = 'hello', body = 'body text'): string {
  return `From: a@ext.jp\r\nTo: alice@test.jp\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;
}

/** A self-signed certificate in a fresh folder (openssl, as the issue asks). */
export async function selfSigned(): Promise<{ dir: string; cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sekisho-rcv-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return { dir, cert, key };
}

/** Poll `check` until it returns true (bounded). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms`);
}
