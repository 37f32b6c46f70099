// Shared by the robustness suites (test/e2e/robustness*.test.ts): a work folder written by
// hand, a real `sekisho receiver` child process started through cliCommand, and a few
// raw-socket helpers. Every wait is bounded.
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { defaultSettings, type Settings } from '../../services/config/settings.js';
import { cliCommand } from '../../services/cli/spawn.js';
import type { ControlRecord } from '../../services/queue/types.js';
import { scanQueue } from '../../services/queue/store.js';

export { SmtpConn, makeMessage, type Reply } from '../../bench/lib/client.js';

// One free-port helper for the bench and the tests.
import { freePort } from '../../bench/lib/ports.js';
export { freePort };

export interface WorkdirOptions {
  /** effect.dat lines; default: untrusted loopback (`#<> default`, `#blank false` only). */
  effect?: string[];
  aliases?: string[];
  domains?: string[];
  gateway?: string[];
  settings?: (s: Settings) => void;
}

/** A fresh work folder: test.jp is local with a mode-A alias, nothing trusts 127.0.0.1. */
export async function makeWorkdir(o: WorkdirOptions = {}): Promise<{ workdir: string; port: number }> {
  const workdir = await mkdtemp(join(tmpdir(), 'sekisho-robust-'));
  const port = await freePort();
  const s = defaultSettings();
  s.hostname = 'gw.test.jp';
  s.receiver.bind = '127.0.0.1';
  s.receiver.ports = [port];
  s.receiver.idleTimeoutSec = 60;
  s.control.port = await freePort();
  o.settings?.(s);
  for (const sub of ['incoming', 'inbox', 'log/accept', 'log/receive', 'log/sender']) {
    await mkdir(join(workdir, sub), { recursive: true });
  }
  const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';
  await writeFile(join(workdir, 'settings.json'), JSON.stringify(s, null, 2) + '\n');
  await writeFile(join(workdir, 'effect.dat'), crlf(o.effect ?? [`' robustness: loopback is NOT trusted`, '#<> default', '#blank false']));
  await writeFile(join(workdir, 'domains.dat'), crlf(o.domains ?? ['test.jp']));
  await writeFile(join(workdir, 'aliases.dat'), crlf(o.aliases ?? ['*@test.jp -> *@test.jp']));
  // test.jp goes to a port where nothing listens: the receiver alone never delivers anyway.
  await writeFile(join(workdir, 'gateway.dat'), crlf(o.gateway ?? ['test.jp, 127.0.0.1, 9']));
  return { workdir, port };
}

export interface Receiver {
  child: ChildProcess;
  ports: number[];
  output(): string;
  /** True while the process is running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** `sekisho receiver --workdir DIR`, ready once it prints `ready ports=…` (docs/development.md). */
export async function startReceiver(workdir: string, timeoutMs = 20_000): Promise<Receiver> {
  const cmd = cliCommand(['receiver', '--workdir', workdir]);
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-50_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-50_000)));
  const ports = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver not ready in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = () => {
      const m = /ready ports=([\d,]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1].split(',').map(Number));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited (${code ?? sig}) before ready:\n${out}`));
    });
  });
  return {
    child,
    ports,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}

export async function removeWorkdir(workdir: string): Promise<void> {
  await rm(workdir, { recursive: true, force: true });
}

/** Every queued message's record (the queue's truth: a message exists once its .$CP does;
 * read as the product reads it, either queue format). */
export async function queuedRecords(workdir: string): Promise<ControlRecord[]> {
  const { records, problems } = await scanQueue(workdir);
  if (problems.length) throw new Error(`unreadable queue files: ${problems.map((p) => p.message).join('; ')}`);
  return records;
}

/** A raw socket that collects everything the server sends, for byte-level tests. */
export class RawSession {
  /** Everything received since the banner (the banner itself is in `banner`). */
  received = '';
  banner = '';
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.received += d.toString('latin1')));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static async open(port: number): Promise<RawSession> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const s = new RawSession(socket);
    const banner = await s.waitFor(/^220 .*\r\n/m, 10_000);
    if (!banner) throw new Error(`no 220 banner: ${JSON.stringify(s.received)}`);
    s.banner = banner[0];
    s.received = '';
    return s;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Wait until the received text matches `re` (bounded), or the connection closed. */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = re.exec(this.received);
      if (m) return m;
      if (this.closed) return re.exec(this.received);
      await new Promise((r) => setTimeout(r, 10));
    }
    return re.exec(this.received);
  }

  /** Complete reply lines (`NNN text`) received so far, continuation lines removed. */
  finalReplies(): string[] {
    return this.received.split('\r\n').filter((l) => /^\d{3}( |$)/.test(l));
  }

  close(): void {
    this.socket.destroy();
  }
}
