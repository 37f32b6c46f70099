// `sekisho delivery` as a real child process delivering to Debian's smtp-sink (Postfix), and
// its lifecycle: `ready` on stdout after the --debug configuration, clean stop on SIGTERM.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand } from '../../services/cli/spawn.js';
import { deadPort, startSmtpSink, startSink } from '../services/delivery/helpers/servers.js';
import { makeWorkdir, queueMessage, until, queuedIds } from '../services/delivery/helpers/workdir.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function startCli(args: string[]): { child: ChildProcess; out: string[]; exited: Promise<number | null> } {
  const cmd = cliCommand(args);
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    out.push(...lines);
  });
  child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, out, exited };
}

describe('sekisho delivery (child process)', () => {
  it('prints the configuration, then ready; delivers to smtp-sink; stops cleanly on SIGTERM', async () => {
    const sinkDir = await mkdtemp(join(tmpdir(), 'sekisho-smtp-sink-'));
    const port = await deadPort();
    const sink = await startSmtpSink(sinkDir, port);
    cleanups.push(sink.close);
    const workdir = await makeWorkdir({ gateway: [`example.jp, 127.0.0.1, ${port}`] });
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp', 'b@example.jp'] });

    const p = startCli(['delivery', '--workdir', workdir, '--debug']);
    await until(() => p.out.includes('ready'), 15_000, 'ready');
    const readyAt = p.out.indexOf('ready');
    expect(p.out[0]).toMatch(/^version\s+\d/);
    expect(p.out.slice(0, readyAt).some((l) => /^retryIntervalSec\s+1$/.test(l))).toBe(true);

    await until(async () => (await queuedIds(workdir)).length === 0, 10_000, 'queue empty');
    const files = await until(async () => {
      const f = (await readdir(sinkDir, { recursive: true })).filter((n) => !n.endsWith('/'));
      return f.length ? f : null;
    }, 5000, 'smtp-sink dump');
    // smtp-sink's dump: X-Client-Addr / X-Client-Proto / X-Helo-Args / X-Mail-Args / X-Rcpt-Args, then the message.
    const dump = await readFile(join(sinkDir, files![0]), 'utf8');
    expect(dump).toContain('X-Rcpt-Args: <a@example.jp>');
    expect(dump).toContain('X-Rcpt-Args: <b@example.jp>');
    expect(dump).toContain(`hello ${id}`);
    expect(p.out.some((l) => l.endsWith(`[${id}] route example.jp -> gateway.dat:2 127.0.0.1:${port}`))).toBe(true);

    p.child.kill('SIGTERM');
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(code).toBe(0);
    // No claim is left behind.
    expect((await readdir(join(workdir, 'incoming'))).filter((n) => n.endsWith('.lock'))).toEqual([]);
  }, 40_000);

  it('lets an attempt in flight finish on SIGTERM', async () => {
    // A server that takes the message slowly: the attempt is in flight when SIGTERM comes.
    const slow = await startSink({ dataDelayMs: 1500 });
    cleanups.push(slow.close);
    const workdir = await makeWorkdir({ gateway: [`example.jp, 127.0.0.1, ${slow.port}`] });
    const p = startCli(['delivery', '--workdir', workdir]);
    await until(() => p.out.includes('ready'), 15_000, 'ready');
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await slow.waitFor(1, 10_000);
    p.child.kill('SIGTERM');
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code).toBe(0);
    // The attempt finished during the stop: delivered, so removed from the queue.
    expect(await queuedIds(workdir)).toEqual([]);
    expect(existsSync(join(workdir, 'incoming'))).toBe(true);
  }, 40_000);

  it('exits 1 with the reason on stderr when the work folder is broken', async () => {
    const workdir = await makeWorkdir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(workdir, 'settings.json'), '{ "delivery": { "workers": "many" } }');
    const cmd = cliCommand(['delivery', '--workdir', workdir]);
    const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/delivery\.workers/);
  }, 30_000);
});
