// `sekisho receiver` as a real child process: the ready line the supervisor waits for, the
// --debug output (effective configuration, then the trace), swaks as the client, a clean
// exit on SIGTERM, and a port already in use as a one-line startup error with exit code 1.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliCommand } from '../../services/cli/spawn.js';
import { makeWorkdir, queued } from '../services/receiver/helpers.js';
import { makeMessage, sendOne } from '../../bench/lib/client.js';
import { childrenOf, cmdline, isAlive } from '../../bench/lib/rss.js';
import { connect } from 'node:net';

interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(args: string[]): Child {
  const cmd = cliCommand(args);
  const proc = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not seen in ${timeoutMs} ms\nstdout:\n${child?.stdout()}\nstderr:\n${child?.stderr()}`);
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('sekisho receiver', () => {
  it('prints the effective configuration, `ready ports=A,B`, traces a swaks session, exits 0 on SIGTERM', async () => {
    const { workdir, ports } = await makeWorkdir({ ports: 2 });
    cleanup.push(() => rm(workdir, { recursive: true, force: true }));
    const child = start(['receiver', '--workdir', workdir, '--debug']);
    cleanup.push(() => void child.proc.kill('SIGKILL'));
    await waitFor(() => /^ready ports=/m.test(child.stdout()), 30_000, 'ready line', child);
    const before = child.stdout().split('\n');
    expect(before[0]).toMatch(/^version\s+Sekisho \S+ receiver/);
    expect(before).toContain(`ready ports=${ports.join(',')}`);
    const ready = before.indexOf(`ready ports=${ports.join(',')}`);
    for (const key of ['workdir', 'hostname', 'ports', 'tls', 'auth', 'maxMessageBytes', 'domains', 'effect.dat', 'queue']) {
      expect(before.slice(0, ready).some((l) => l.startsWith(key + ' '))).toBe(true);
    }
    // Aligned: every value starts in the same column.
    const cols = before.slice(0, ready).filter((l) => /^[a-zA-Z.]+ {2,}\S/.test(l)).map((l) => /^\S+ +/.exec(l)![0].length);
    expect(new Set(cols).size).toBe(1);

    const swaks = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(
        '/usr/bin/swaks',
        ['--server', `127.0.0.1:${ports[1]}`, '--helo', 'swaks.ext.jp', '--from', 'a@ext.jp', '--to', 'alice@test.jp', '--body', 'hello from swaks', '--timeout', '20'],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
    expect(swaks.out).toMatch(/<- {2}250 2\.0\.0 Ok: queued as B\d{10}/);
    expect(swaks.code).toBe(0);
    const id = /queued as (B\d{10})/.exec(swaks.out)![1];
    expect((await queued(workdir)).map((r) => r.id)).toContain(id);
    await waitFor(() => child.stdout().includes(`queued as ${id}`), 5000, 'queue id in the trace', child);
    const trace = child.stdout();
    expect(trace).toMatch(/\[\w+\] < EHLO swaks\.ext\.jp/);
    expect(trace).toMatch(/\[\w+\] > 250 2\.1\.5 Accepted/);
    expect(trace).toMatch(/\[\w+\] RCPT <alice@test\.jp>: accept - local account alice/);

    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 60_000);

  it('a port already in use is one clear line on stderr and exit code 1, never ready', async () => {
    const { workdir, ports } = await makeWorkdir({ ports: 2 });
    cleanup.push(() => rm(workdir, { recursive: true, force: true }));
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports[1], '127.0.0.1', () => resolve()));
    cleanup.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const child = start(['receiver', '--workdir', workdir]);
    cleanup.push(() => void child.proc.kill('SIGKILL'));
    expect(await child.exited).toBe(1);
    expect(child.stderr().trim()).toBe(`sekisho receiver: port ${ports[1]} is already in use (EADDRINUSE)`);
    expect(child.stdout()).not.toMatch(/ready/);
  }, 60_000);

  it('a broken configuration is a startup error naming file and line', async () => {
    const { workdir } = await makeWorkdir();
    cleanup.push(() => rm(workdir, { recursive: true, force: true }));
    await writeFile(join(workdir, 'effect.dat'), '#<> default\r\n10.0.0.1 perhaps\r\n');
    const child = start(['receiver', '--workdir', workdir]);
    cleanup.push(() => void child.proc.kill('SIGKILL'));
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(/effect\.dat:2:\d+: /);
    expect(child.stdout()).not.toMatch(/ready/);
  }, 60_000);

  it('receiver.processes 2: workers share the port, one ready line, every message queued once; SIGTERM stops all', async () => {
    const { workdir, ports } = await makeWorkdir({ settings: (s) => (s.receiver.processes = 2) });
    cleanup.push(() => rm(workdir, { recursive: true, force: true }));
    const child = start(['receiver', '--workdir', workdir]);
    cleanup.push(() => void child.proc.kill('SIGKILL'));
    await waitFor(() => /^ready /m.test(child.stdout()), 30_000, 'ready line', child);
    // One line for the whole receiver: the supervisor parses ports from it as before.
    expect(child.stdout().split('\n').filter((l) => l.startsWith('ready'))).toEqual([`ready ports=${ports[0]} processes=2`]);
    const workers = childrenOf(primaryPid(child.proc.pid!));
    expect(workers).toHaveLength(2);

    const body = makeMessage(2048);
    await Promise.all(Array.from({ length: 30 }, () => sendOne(ports[0], body, { from: 'a@ext.jp', to: 'alice@test.jp', timeoutMs: 20_000 })));
    // Every 250 is a queued message of its own: two processes sharing one ID would have
    // overwritten each other's files.
    expect(new Set((await queued(workdir)).map((r) => r.id)).size).toBe(30);

    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    for (const pid of workers) expect(isAlive(pid)).toBe(false);
  }, 60_000);

  it('receiver.processes 2: the workers leave with a killed primary (no orphan keeps the port)', async () => {
    const { workdir, ports } = await makeWorkdir({ settings: (s) => (s.receiver.processes = 2) });
    cleanup.push(() => rm(workdir, { recursive: true, force: true }));
    const child = start(['receiver', '--workdir', workdir]);
    cleanup.push(() => void child.proc.kill('SIGKILL'));
    await waitFor(() => /^ready /m.test(child.stdout()), 30_000, 'ready line', child);
    const primary = primaryPid(child.proc.pid!);
    const workers = childrenOf(primary);
    expect(workers).toHaveLength(2);
    process.kill(primary, 'SIGKILL');
    await waitFor(() => workers.every((pid) => !isAlive(pid)), 10_000, 'workers gone', child);
    // Nobody listens any more: a connection is refused.
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(ports[0], '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 60_000);

  it('receiver.processes 2 with a port in use: the worker’s message, exit code 1, never ready', async () => {
    const { workdir, ports } = await makeWorkdir({ settings: (s) => (s.receiver.processes = 2) });
    cleanup.push(() => rm(workdir, { recursive: true, force: true }));
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports[0], '127.0.0.1', () => resolve()));
    cleanup.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const child = start(['receiver', '--workdir', workdir]);
    cleanup.push(() => void child.proc.kill('SIGKILL'));
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toContain(`sekisho receiver: port ${ports[0]} is already in use (EADDRINUSE)`);
    expect(child.stdout()).not.toMatch(/ready/);
  }, 60_000);
});

/** The node process that runs the receiver's primary: the spawned one, or (through a launcher
 *  such as tsx) the first descendant that has two node children of its own. */
function primaryPid(spawned: number): number {
  const queue = [spawned];
  while (queue.length) {
    const pid = queue.shift()!;
    const kids = childrenOf(pid);
    if (kids.length === 2 && kids.every((k) => cmdline(k).includes('receiver'))) return pid;
    queue.push(...kids);
  }
  throw new Error(`no receiver primary under ${spawned}`);
}
