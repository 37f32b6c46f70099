// SPEC 8: "Kill either process at any moment: on restart every message that got a 250 is still
// delivered, at least once." Mail flows client -> receiver -> queue -> delivery -> sink under
// `sekisho serve`, while its receiver and delivery children are killed with SIGKILL several
// times (serve's supervisor restarts them, with its backoff).
// Every message that got a 250 must reach the sink; duplicates are allowed (at least once) and
// reported.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { cliCommand } from '../../services/cli/spawn.js';
import { HopConnection } from '../../services/delivery/smtp-client.js';
import { deadPort, startSink } from '../services/delivery/helpers/servers.js';
import { makeWorkdir, until, queuedIds } from '../services/delivery/helpers/workdir.js';
import { isAlive } from '../../bench/lib/rss.js';

const MESSAGES = 300;
/** Message numbers at which a child is killed: delivery, receiver, delivery, … */
const KILLS_AT = [40, 90, 150, 210, 260];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** `sekisho serve` (receiver + delivery supervised as children, SPEC 1), with the pid of each
 * child as serve reports it on stdout (`delivery running pid 1234`). */
class Serve {
  proc: ChildProcess;
  readonly pids: Record<'receiver' | 'delivery', number[]> = { receiver: [], delivery: [] };
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    const cmd = cliCommand(['serve', ...args]);
    this.proc = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const m = /^(receiver|delivery) running pid (\d+)/.exec(l);
        if (m) {
          const list = this.pids[m[1] as 'receiver' | 'delivery'];
          if (list[list.length - 1] !== Number(m[2])) list.push(Number(m[2]));
        }
      }
    });
    this.proc.stderr!.on('data', (c: Buffer) => process.stderr.write(`[serve] ${c}`));
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }

  /** The pid of the running child `name` (waiting, bounded, until one is running). */
  running(name: 'receiver' | 'delivery'): Promise<number> {
    const list = this.pids[name];
    return until(() => {
      const p = list[list.length - 1];
      return p && isAlive(p) ? p : 0;
    }, 60_000, `${name} running`);
  }

  /** kill -9 the running child `name` (waiting, bounded, until one is running). */
  async kill9(name: 'receiver' | 'delivery'): Promise<number> {
    const pid = await this.running(name);
    process.kill(pid, 'SIGKILL');
    await until(() => !isAlive(pid), 5000, `${name} pid ${pid} gone`);
    return pid;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
    this.proc.kill('SIGTERM');
    await this.exited;
    clearTimeout(t);
  }
}

/** The test's SMTP client: numbered messages into the receiver on `port`, one connection kept
 * open between them and opened again after a kill, all before `deadline`. */
class Sender {
  conn: HopConnection | null = null;
  private readonly target: { address: string; port: number; hostname: string };
  private readonly opts = { helo: 'client.test', connectTimeoutMs: 2000, replyTimeoutMs: 5000 };

  constructor(port: number, private readonly deadline: number) {
    this.target = { address: '127.0.0.1', port, hostname: '127.0.0.1' };
  }

  /** Send message i (to <local><i>@example.jp, subject "<subject> <i>") until some attempt is
   * answered; returns once it got a 250 (only that counts as accepted), throws on a 5xx. */
  async send(i: number, local: string, subject: string): Promise<void> {
    for (;;) {
      if (Date.now() > this.deadline) throw new Error(`sending stalled at message ${i}`);
      try {
        this.conn ??= await HopConnection.open(this.target, this.opts);
      } catch {
        this.conn = null;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const body = `From: <client@test.jp>\r\nTo: <${local}${i}@example.jp>\r\nSubject: ${subject} ${i}\r\n\r\nmessage ${i}\r\n`;
      const res = await this.conn.send('client@test.jp', [`${local}${i}@example.jp`], body.length, () => Readable.from([Buffer.from(body)]));
      const r = res.recipients[0];
      if (r.kind === 'ok') {
        if (!res.reusable) this.conn = null;
        return;
      }
      this.drop();
      if (r.kind === 'perm') throw new Error(`message ${i} refused: ${r.reply}`);
      await new Promise((r2) => setTimeout(r2, 100));
    }
  }

  /** Close the connection (it died with the process that held it). */
  drop(): void {
    this.conn?.close();
    this.conn = null;
  }
}

/**
 * A sink and a work folder routing example.jp to it, with short retry times; the test client on
 * loopback is trusted to relay (SPEC 6 `true`, a single host).
 */
async function gatewayToSink() {
  const sink = await startSink();
  cleanups.push(() => sink.close());
  const port = await deadPort();
  const workdir = await makeWorkdir({
    receiverPorts: [port],
    gateway: [`example.jp, 127.0.0.1, ${sink.port}`],
    delivery: { workers: 8, retryIntervalSec: 1, abnormalHours: 1, noResponseHours: 1 },
  });
  await writeFile(join(workdir, 'effect.dat'), '127.0.0.1 true\r\n');
  return { sink, port, workdir };
}

describe('crash safety (kill -9 of receiver and delivery while mail flows)', () => {
  it(`every message answered 250 arrives at least once (${MESSAGES} messages, ${KILLS_AT.length} kills)`, async () => {
    const { sink, port, workdir } = await gatewayToSink();

    const serve = new Serve(['--workdir', workdir, '--control-port', String(await deadPort())]);
    cleanups.push(() => serve.stop());
    const killed: string[] = [];

    const accepted = new Set<number>();
    let nextKill = 0;
    const sender = new Sender(port, Date.now() + 150_000);

    for (let i = 0; i < MESSAGES; i++) {
      if (nextKill < KILLS_AT.length && i === KILLS_AT[nextKill]) {
        const victim = nextKill % 2 === 0 ? 'delivery' : 'receiver';
        killed.push(`${victim}:${await serve.kill9(victim)}@${i}`);
        nextKill++;
      }
      // Send message i until some attempt is answered; only a 250 counts as accepted.
      await sender.send(i, 'r', 'crash');
      accepted.add(i);
    }
    sender.conn?.quit();

    // Everything accepted must arrive, with both services up again.
    const numberOf = (data: Buffer) => Number(/Subject: crash (\d+)/.exec(data.toString())?.[1] ?? -1);
    await until(() => {
      const seen = new Set(sink.received.map((m) => numberOf(m.data)));
      return [...accepted].every((n) => seen.has(n));
    }, 120_000, 'every accepted message at the sink');

    const counts = new Map<number, number>();
    for (const m of sink.received) counts.set(numberOf(m.data), (counts.get(numberOf(m.data)) ?? 0) + 1);
    const duplicates = [...counts.entries()].filter(([, c]) => c > 1);
    const missing = [...accepted].filter((n) => !counts.has(n));
    process.stdout.write(
      `crash test: ${accepted.size} accepted, ${sink.received.length} delivered, ${missing.length} missing, ` +
        `${duplicates.length} duplicated (${duplicates.map(([n, c]) => `${n}x${c}`).join(' ') || 'none'}); ` +
        `killed ${killed.join(' ')}; receiver pids ${serve.pids.receiver.join(',')}, delivery pids ${serve.pids.delivery.join(',')}\n`,
    );
    expect(missing).toEqual([]);
    expect(accepted.size).toBe(MESSAGES);
    // Every kill hit a different process, and serve restarted each child after it.
    expect(new Set(killed.map((k) => k.split('@')[0])).size).toBe(KILLS_AT.length);
    await until(() => serve.pids.receiver.length > Math.floor(KILLS_AT.length / 2) && serve.pids.delivery.length > Math.ceil(KILLS_AT.length / 2), 30_000, 'children restarted');
    await until(async () => (await queuedIds(workdir)).length === 0, 30_000, 'queue drained');
  }, 300_000);

  // The power-cut case short of the disk: serve and both children die in the same instant
  // (no supervisor restarts anything), and a new serve on the same folder must deliver every
  // message that got a 250 — what the queue's one durable write per message promises.
  it('every message answered 250 arrives at least once when the whole serve is killed -9 and started again', async () => {
    const { sink, port, workdir } = await gatewayToSink();
    const start = async () => new Serve(['--workdir', workdir, '--control-port', String(await deadPort())]);
    let serve = await start();
    cleanups.push(() => serve.stop());
    const COUNT = 150;
    const WHOLE_KILLS_AT = [50, 110];
    const accepted = new Set<number>();
    const sender = new Sender(port, Date.now() + 200_000);
    for (let i = 0; i < COUNT; i++) {
      if (WHOLE_KILLS_AT.includes(i)) {
        const pids = [serve.proc.pid!, await serve.running('receiver'), await serve.running('delivery')];
        for (const pid of pids) process.kill(pid, 'SIGKILL');
        await until(() => pids.every((p) => !isAlive(p)), 10_000, 'serve and children gone');
        await serve.exited;
        sender.drop();
        serve = await start();
      }
      await sender.send(i, 'w', 'whole');
      accepted.add(i);
    }
    sender.conn?.quit();
    const numberOf = (data: Buffer) => Number(/Subject: whole (\d+)/.exec(data.toString())?.[1] ?? -1);
    await until(() => {
      const seen = new Set(sink.received.map((m) => numberOf(m.data)));
      return [...accepted].every((n) => seen.has(n));
    }, 120_000, 'every accepted message at the sink');
    const missing = [...accepted].filter((n) => !sink.received.some((m) => numberOf(m.data) === n));
    process.stdout.write(`whole-serve crash test: ${accepted.size} accepted, ${sink.received.length} delivered, ${missing.length} missing\n`);
    expect(missing).toEqual([]);
    expect(accepted.size).toBe(COUNT);
    // Nothing delivered carries the queue file's envelope, and the queue empties.
    expect(sink.received.every((m) => !m.data.toString().includes('sekisho-queue'))).toBe(true);
    await until(async () => (await queuedIds(workdir)).length === 0, 30_000, 'queue drained');
  }, 300_000);
});
