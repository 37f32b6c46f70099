// Issue 12: one graceful stop. A real `sekisho serve` (receiver and delivery as children) is
// stopped with `sekisho stop` — the control API's shutdown with the control secret — while
// mail is in flight: a 20 MB DATA ends with a reply and is queued whole or not at all, a
// delivery attempt in flight completes and is delivered exactly once, every process exits 0,
// and no owner, lock, temporary or state file is left. shutdown without the secret is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliCommand } from '../../services/supervisor/command.js';
import { isAlive } from '../../bench/lib/rss.js';
import { deadPort, startSink } from '../services/delivery/helpers/servers.js';
import { makeWorkdir, queuedIds, until } from '../services/delivery/helpers/workdir.js';
import { readControl } from '../../services/queue/store.js';
import { lineCollector } from './helpers/recipes-harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class Serve {
  readonly proc: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly workdir: string, readonly controlPort: number) {
    const cmd = cliCommand(['serve', '--workdir', workdir, '--control-port', String(controlPort)]);
    this.proc = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
    this.proc.stdout!.on('data', lineCollector(this.stdout));
    this.proc.stderr!.on('data', lineCollector(this.stderr));
    cleanups.push(() => {
      if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    });
  }

  async ready(): Promise<void> {
    const line = await until(() => {
      if (this.proc.exitCode !== null) throw new Error(`serve exited ${this.proc.exitCode}: ${this.stderr.join('\n')}`);
      return this.stdout.find((l) => l.startsWith('ready '));
    }, 60_000, 'serve ready');
    expect(line).toMatch(/receiver=running delivery=running/);
  }

  /** The children's pids as serve reported them (`receiver running pid 1234 …`). */
  childPids(): number[] {
    return this.stdout.map((l) => /^(?:receiver|delivery) running pid (\d+)/.exec(l)?.[1]).filter(Boolean).map(Number);
  }

  line(re: RegExp): string | undefined {
    return this.stdout.find((l) => re.test(l));
  }
}

/** `sekisho stop --workdir DIR` as its own process. */
function sekishoStop(workdir: string): Promise<{ code: number | null; out: string; err: string }> {
  const cmd = cliCommand(['stop', '--workdir', workdir, '--timeout', '60']);
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((r) => child.once('close', (code) => r({ code, out, err })));
}

/** One SMTP reply (the last line of a multi-line one), bounded in time. */
class RawSmtp {
  private buf = '';
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.buf += d.toString('latin1')));
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawSmtp> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    });
    const c = new RawSmtp(socket);
    await c.reply();
    return c;
  }

  async reply(timeoutMs = 30_000): Promise<string> {
    const r = await until((): string | null => {
      const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(this.buf);
      if (!m) {
        if (this.socket.destroyed) throw new Error(`connection closed; got ${JSON.stringify(this.buf)}`);
        return null;
      }
      const end = m.index + m[0].length;
      const r = this.buf.slice(0, end).trim().split('\r\n').pop()!;
      this.buf = this.buf.slice(end);
      return r;
    }, timeoutMs, 'SMTP reply');
    return r!;
  }

  async cmd(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** Write and wait until the kernel took it (back-pressure), so "sent" means sent. */
  async send(data: string | Buffer): Promise<void> {
    if (!this.socket.write(data)) await new Promise<void>((r) => this.socket.once('drain', r));
  }
}

/** What must never be left in incoming/ after a graceful stop. */
async function leftovers(workdir: string): Promise<string[]> {
  const incoming = join(workdir, 'incoming');
  const names = await readdir(incoming);
  const tmpDir = join(incoming, 'tmp');
  const tmp = existsSync(tmpDir) ? (await readdir(tmpDir)).map((n) => `tmp/${n}`) : [];
  return [...names.filter((n) => n.startsWith('.owner.') || /\.lock(?:$|\.)/.test(n) || n.endsWith('.tmp')), ...tmp];
}

async function stopAndCheck(serve: Serve): Promise<void> {
  const pids = serve.childPids();
  expect(pids.length).toBe(2);
  const stop = await sekishoStop(serve.workdir);
  expect(stop.err).toBe('');
  expect(stop.code).toBe(0);
  expect(stop.out).toMatch(/stopped/);
  expect(await serve.exited).toBe(0);
  // Both children exited 0 by themselves (a kill would read `(exit SIGKILL)` and a stderr line).
  expect(serve.line(/^receiver stopped/)).toBe('receiver stopped (exit 0)');
  expect(serve.line(/^delivery stopped/)).toBe('delivery stopped (exit 0)');
  expect(serve.stderr.filter((l) => /killed/.test(l))).toEqual([]);
  await until(() => pids.every((p) => !isAlive(p)), 5_000, 'children gone');
  expect(await leftovers(serve.workdir)).toEqual([]);
  expect(existsSync(join(serve.workdir, 'serve.json'))).toBe(false);
}

describe('graceful stop of serve (sekisho stop)', () => {
  it('a 20 MB DATA in progress is answered and queued whole (or refused and not queued); every process exits 0', async () => {
    const smtpPort = await deadPort();
    // The next hop answers nothing: the message stays in the queue, where it can be checked.
    const workdir = await makeWorkdir({ receiverPorts: [smtpPort], gateway: [`example.jp, 127.0.0.1, ${await deadPort()}`] });
    // The test client on loopback may relay (SPEC 6 `true`).
    await writeFile(join(workdir, 'effect.dat'), '127.0.0.1 true\r\n');
    const serve = new Serve(workdir, await deadPort());
    await serve.ready();

    const c = await RawSmtp.open(smtpPort);
    expect(await c.cmd('EHLO client.test')).toMatch(/^250/);
    expect(await c.cmd('MAIL FROM:<taro@test.jp>')).toMatch(/^250/);
    expect(await c.cmd('RCPT TO:<big@example.jp>')).toMatch(/^250/);
    expect(await c.cmd('DATA')).toMatch(/^354/);
    const line = `${'x'.repeat(998)}\r\n`; // 1000 bytes a line (RFC 5322 2.1.1)
    const half = line.repeat(10 * 1024); // ~10 MB
    const header = 'From: <taro@test.jp>\r\nTo: <big@example.jp>\r\nSubject: big\r\n\r\n';
    await c.send(header);
    await c.send(half);

    // The stop comes while the message is half sent.
    const stopping = sekishoStop(workdir);
    await until(() => serve.line(/^receiver stopping/), 20_000, 'receiver stopping');
    await c.send(half);
    await c.send('.\r\n');
    const answer = await c.reply();
    expect(answer).toMatch(/^(250|4\d\d) /);
    c.socket.destroy();

    const stop = await stopping;
    expect(stop.code).toBe(0);
    expect(await serve.exited).toBe(0);
    const ids = await queuedIds(workdir);
    if (answer.startsWith('250')) {
      expect(ids.length).toBe(1);
      // Whole: every byte sent (our Received header comes on top). Read through the queue
      // module, whatever its on-disk layout.
      const record = await readControl(workdir, ids[0]);
      expect(record.size).toBeGreaterThanOrEqual(header.length + 2 * half.length);
    } else {
      expect(ids).toEqual([]);
    }
    expect(serve.line(/^receiver stopped/)).toBe('receiver stopped (exit 0)');
    expect(serve.line(/^delivery stopped/)).toBe('delivery stopped (exit 0)');
    expect(await leftovers(workdir)).toEqual([]);
    expect(existsSync(join(workdir, 'serve.json'))).toBe(false);
  }, 120_000);

  it('a delivery attempt in flight completes: delivered exactly once, nothing left in the queue', async () => {
    // The next hop takes 3 s to answer the end of DATA: the attempt is in flight at the stop.
    const sink = await startSink({ dataDelayMs: 3000 });
    cleanups.push(() => sink.close());
    const smtpPort = await deadPort();
    const workdir = await makeWorkdir({
      receiverPorts: [smtpPort],
      gateway: [`example.jp, 127.0.0.1, ${sink.port}`],
      // Longer than the sink's delay: the attempt is slow, not failed.
      delivery: { replyTimeoutSec: 10 },
    });
    await writeFile(join(workdir, 'effect.dat'), '127.0.0.1 true\r\n');
    const serve = new Serve(workdir, await deadPort());
    await serve.ready();

    const c = await RawSmtp.open(smtpPort);
    await c.cmd('EHLO client.test');
    await c.cmd('MAIL FROM:<taro@test.jp>');
    expect(await c.cmd('RCPT TO:<once@example.jp>')).toMatch(/^250/);
    expect(await c.cmd('DATA')).toMatch(/^354/);
    expect(await c.cmd('Subject: once\r\n\r\nexactly once\r\n.')).toMatch(/^250/);
    await c.cmd('QUIT');
    c.socket.destroy();

    await sink.waitFor(1, 20_000);
    await stopAndCheck(serve);
    expect(sink.received.length).toBe(1);
    expect(await queuedIds(workdir)).toEqual([]);
  }, 120_000);

  it('shutdown without or with a wrong secret is refused; the secret works as a Bearer token', async () => {
    const smtpPort = await deadPort();
    const workdir = await makeWorkdir({ receiverPorts: [smtpPort] });
    const controlPort = await deadPort();
    const serve = new Serve(workdir, controlPort);
    await serve.ready();
    const secretFile = join(workdir, 'control.secret');
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    if (process.platform !== 'win32') expect((await stat(secretFile)).mode & 0o777).toBe(0o600);

    const call = (method: string, auth?: string) =>
      fetch(`http://127.0.0.1:${controlPort}/api/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: `Bearer ${auth}` } : {}) },
        body: '{"args":[]}',
      });
    // No control.password here: other calls are open on loopback, shutdown is not.
    expect((await call('shutdown')).status).toBe(401);
    expect((await call('shutdown', 'f'.repeat(64))).status).toBe(401);
    expect((await call('serviceStatus')).status).toBe(200);
    expect((await call('serviceStatus', secret)).status).toBe(200);
    expect(isAlive(serve.proc.pid!)).toBe(true);
    expect(serve.stdout.some((l) => /stopping/.test(l))).toBe(false);

    await stopAndCheck(serve);
  }, 120_000);
});
