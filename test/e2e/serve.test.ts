// `sekisho serve` end to end: the real command with the real receiver and delivery as
// children, on a fresh work folder and free loopback ports; the API over HTTP; SIGTERM stops
// everything and leaves no child behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliCommand } from '../../services/cli/spawn.js';
import { freePort } from '../../bench/lib/ports.js';
import { childrenOf, isAlive as alive } from '../../bench/lib/rss.js';
import type { ServiceStatus } from '../../services/control/api.js';
import { lineCollector } from './helpers/recipes-harness.js';

interface Running {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

const running: Running[] = [];

function startServe(args: string[]): Running {
  const cmd = cliCommand(['serve', ...args]);
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Running = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', lineCollector(r.stdout));
  child.stderr!.on('data', lineCollector(r.stderr));
  running.push(r);
  return r;
}

async function waitLine(r: Running, pattern: RegExp, timeoutMs = 40_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = r.stdout.find((l) => pattern.test(l));
    if (line) return line;
    if (r.child.exitCode !== null) throw new Error(`serve exited ${r.child.exitCode}: ${r.stderr.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`no line ${pattern} in time; stdout:\n${r.stdout.join('\n')}\nstderr:\n${r.stderr.join('\n')}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** The first thing the SMTP port says (then QUIT). */
function greeting(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('data', (d: Buffer) => {
      resolve(d.toString());
      sock.end('QUIT\r\n');
    });
    sock.once('error', reject);
  });
}

async function apiCall<T>(port: number, method: string, args: unknown[] = []): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ args }),
  });
  const body = (await res.json()) as { ok: boolean; result: T; error?: string };
  if (!body.ok) throw new Error(`${method}: ${res.status} ${body.error}`);
  return body.result;
}

async function stopAndCheck(r: Running, pids: number[]): Promise<void> {
  r.child.kill('SIGTERM');
  const code = await Promise.race([r.exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 30_000))]);
  expect(code).toBe(0);
  expect(r.stdout).toContain('stopped');
  const deadline = Date.now() + 5_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  expect(pids.filter(alive)).toEqual([]);
}

afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

describe('sekisho serve', () => {
  it('initializes a work folder, runs receiver, delivery and the API, and stops cleanly on SIGTERM', async () => {
    const workdir = join(await mkdtemp(join(tmpdir(), 'sekisho-serve-')), 'mail');
    const [smtpPort, controlPort] = [await freePort(), await freePort()];
    const r = startServe(['--workdir', workdir, '--init', '--port', String(smtpPort), '--control-port', String(controlPort)]);
    expect(await waitLine(r, /^control /)).toBe(`control http://127.0.0.1:${controlPort}/`);
    await waitLine(r, /^ready /);
    expect(JSON.parse(await readFile(join(workdir, 'settings.json'), 'utf8')).receiver.ports).toEqual([smtpPort]);

    const status = await apiCall<ServiceStatus[]>(controlPort, 'serviceStatus');
    const byName = Object.fromEntries(status.map((s) => [s.name, s]));
    expect(byName.receiver).toMatchObject({ state: 'running', ports: [smtpPort], lastError: null });
    expect(byName.delivery).toMatchObject({ state: 'running' });
    const pids = status.map((s) => s.pid!);
    expect(pids.every((p) => p > 0 && alive(p))).toBe(true);

    // The receiver really listens: it greets.
    expect(await greeting(smtpPort)).toMatch(/^220 /);

    await stopAndCheck(r, pids);
  });

  it('keeps serving the API when the SMTP port is taken, and says why the receiver is down', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'sekisho-serve-'));
    const blocker: Server = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const smtpPort = (blocker.address() as { port: number }).port;
    const controlPort = await freePort();
    await writeFile(
      join(workdir, 'settings.json'),
      JSON.stringify({ receiver: { bind: '127.0.0.1', ports: [smtpPort] }, control: { port: controlPort } }),
    );
    try {
      const r = startServe(['--workdir', workdir]);
      const ready = await waitLine(r, /^ready /);
      expect(ready).toMatch(/receiver=crashed/);
      const status = await apiCall<ServiceStatus[]>(controlPort, 'serviceStatus');
      const receiver = status.find((s) => s.name === 'receiver')!;
      expect(receiver.state).toMatch(/crashed|starting/);
      expect(receiver.lastError).toBe(`port ${smtpPort} is already in use`);
      expect(r.stderr.some((l) => l.includes(`port ${smtpPort} is already in use`))).toBe(true);
      const delivery = status.find((s) => s.name === 'delivery')!;
      expect(delivery.state).toBe('running');
      await stopAndCheck(r, [delivery.pid!]);
    } finally {
      blocker.close();
    }
  });

  it('supervises a receiver of two processes (receiver.processes 2): running, greets, stops whole', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'sekisho-serve-'));
    const [smtpPort, controlPort] = [await freePort(), await freePort()];
    await writeFile(
      join(workdir, 'settings.json'),
      JSON.stringify({ receiver: { bind: '127.0.0.1', ports: [smtpPort], processes: 2 }, control: { port: controlPort } }),
    );
    const r = startServe(['--workdir', workdir]);
    await waitLine(r, /^ready /);
    const status = await apiCall<ServiceStatus[]>(controlPort, 'serviceStatus');
    const receiver = status.find((s) => s.name === 'receiver')!;
    expect(receiver).toMatchObject({ state: 'running', ports: [smtpPort], lastError: null });
    const workers = childrenOf(receiver.pid!);
    expect(workers).toHaveLength(2);
    for (let i = 0; i < 4; i++) expect(await greeting(smtpPort)).toMatch(/^220 /);
    await stopAndCheck(r, [...status.map((s) => s.pid!), ...workers]);
  });

  it('leaves no child behind even when serve itself is killed with SIGKILL', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'sekisho-serve-'));
    const controlPort = await freePort();
    await writeFile(
      join(workdir, 'settings.json'),
      JSON.stringify({ receiver: { bind: '127.0.0.1', ports: [await freePort()] }, control: { port: controlPort } }),
    );
    const r = startServe(['--workdir', workdir]);
    await waitLine(r, /^ready /);
    const pids = (await apiCall<ServiceStatus[]>(controlPort, 'serviceStatus')).map((s) => s.pid!);
    expect(pids.every((p) => p > 0 && alive(p))).toBe(true);
    r.child.kill('SIGKILL');
    await r.exited;
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(pids.filter(alive)).toEqual([]);
  });

  it('protects the API with control.password and applies a new password at once', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'sekisho-serve-'));
    const controlPort = await freePort();
    await writeFile(
      join(workdir, 'settings.json'),
      JSON.stringify({ receiver: { bind: '127.0.0.1', ports: [await freePort()] }, control: { port: controlPort, password: 'first-pw' } }),
    );
    const r = startServe(['--workdir', workdir]);
    await waitLine(r, /^ready /);
    const post = (method: string, auth: string, args: unknown[] = []) =>
      fetch(`http://127.0.0.1:${controlPort}/api/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${auth}` },
        body: JSON.stringify({ args }),
      });
    expect((await post('version', 'wrong')).status).toBe(401);
    const read = (await (await post('readSettings', 'first-pw')).json()) as { result: { settings: { control: object }; version: string } };
    const { settings, version } = read.result;
    const saved = await post('saveSettings', 'first-pw', [{ ...settings, control: { ...settings.control, password: 'second-pw' } }, version]);
    expect(((await saved.json()) as { result: { ok: boolean } }).result.ok).toBe(true);
    // serve hears the settings change (file poll) and switches within a few seconds.
    const deadline = Date.now() + 15_000;
    while ((await post('version', 'second-pw')).status !== 200 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    expect((await post('version', 'second-pw')).status).toBe(200);
    expect((await post('version', 'first-pw')).status).toBe(401);
    const status = (await (await post('serviceStatus', 'second-pw')).json()) as { result: ServiceStatus[] };
    await stopAndCheck(r, status.result.map((s) => s.pid!));
  });

  it('exits 1 with a clear message when the control port is in use', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'sekisho-serve-'));
    const blocker: Server = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const controlPort = (blocker.address() as { port: number }).port;
    await writeFile(join(workdir, 'settings.json'), JSON.stringify({ receiver: { ports: [await freePort()] } }));
    try {
      const r = startServe(['--workdir', workdir, '--control-port', String(controlPort)]);
      expect(await r.exited).toBe(1);
      expect(r.stderr.join('\n')).toContain(`control port ${controlPort} is already in use`);
    } finally {
      blocker.close();
    }
  });
});

