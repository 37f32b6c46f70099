// Windows lane (issue 12): the whole life of a headless gateway under Windows' own node.exe —
// `init` and `check` on a drive-letter work folder (Z:\…), `serve` with its receiver and
// delivery children, a message from swaks (Linux) relayed to Postfix's smtp-sink (Linux), a
// hot reload of gateway.dat, and `sekisho stop` ending every process gracefully (exit 0, the
// children's "stopped (exit 0)") with no owner, lock, beacon or state file left behind.
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/lib/ports.js';
import { startSmtpSink } from '../services/delivery/helpers/servers.js';
import { laneDir, sekisho, startSekisho, swaks, until, WINE_HOME, winAlive, wineReady, winPath } from './lane.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** smtp-sink's dump files that name this recipient. */
async function sunk(sinkDir: string, rcpt: string): Promise<string[]> {
  const texts = await Promise.all((await readdir(sinkDir)).map((n) => readFile(join(sinkDir, n), 'utf8')));
  return texts.filter((t) => t.includes(`X-Rcpt-Args: <${rcpt}>`));
}

describe.runIf(wineReady())('sekisho under Windows node.exe (Wine)', () => {
  it('init, check, serve, relay to smtp-sink, hot reload of gateway.dat, graceful sekisho stop', async () => {
    const base = await laneDir('serve');
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const mail = join(base, 'mail');
    const W = winPath(mail);
    expect(W).toMatch(/^Z:\\tmp\\/);
    const sinkDir = join(base, 'sink');
    await mkdir(sinkDir);
    const [smtpPort, controlPort, sinkPort] = [await freePort(), await freePort(), await freePort()];
    const sink = await startSmtpSink(sinkDir, sinkPort);
    cleanups.push(sink.close);

    // init and check on the drive-letter folder.
    const init = await sekisho(base, ['init', '--workdir', W, '--port', String(smtpPort), '--control-port', String(controlPort), '--lang', 'en']);
    expect(init.err).toBe('');
    expect(init.code).toBe(0);
    expect(init.out).toContain(`work folder ready: ${W}`);
    expect(init.out).toContain(`created ${W}\\gateway.dat`);
    // Routes and aliases as an administrator writes them (CRLF, as the files are).
    await appendFile(join(mail, 'gateway.dat'), `example.jp, 127.0.0.1, ${sinkPort}\r\n`);
    await appendFile(join(mail, 'aliases.dat'), 'a@example.jp -> a@example.jp\r\nb@example.net -> b@example.net\r\n');
    const check = await sekisho(base, ['check', '--workdir', W]);
    expect(check.code).toBe(0);
    expect(check.out).toHaveLength(1);
    expect(check.out[0]).toMatch(/^OK: settings\.json, gateway\.dat 1 route, .*aliases\.dat 2 aliases.*, 0 warnings$/);

    // serve: receiver and delivery as children.
    const serve = startSekisho(base, ['serve', '--workdir', W]);
    cleanups.push(() => serve.kill());
    expect(await serve.waitFor(/^ready /, 120_000)).toMatch(/receiver=running delivery=running/);
    const childPids = serve
      .out()
      .map((l) => /^(?:receiver|delivery) running pid (\d+)/.exec(l)?.[1])
      .filter((p): p is string => !!p)
      .map(Number);
    expect(childPids).toHaveLength(2);
    const servePid = (JSON.parse(readFileSync(join(mail, 'serve.json'), 'utf8')) as { pid: number }).pid;
    expect(await winAlive(base, [servePid, ...childPids])).toEqual([servePid, ...childPids]);

    // A message from the Linux side, relayed by the Windows processes to smtp-sink.
    const first = await swaks(smtpPort, 'a@example.jp', 'hello from the windows lane');
    expect(first.out).toMatch(/<- {2}250 [^\n]*queued as B\d{10}|<- {2}250 /);
    expect(first.code).toBe(0);
    const [dump] = await until(async () => (await sunk(sinkDir, 'a@example.jp')).length > 0 && sunk(sinkDir, 'a@example.jp'), 60_000, 'a@example.jp at smtp-sink');
    expect(dump).toContain('hello from the windows lane');

    // Hot reload: example.net is not routed yet, so relaying to it is refused (no AUTH) …
    const before = await swaks(smtpPort, 'b@example.net', 'after the reload');
    expect(before.out).toMatch(/<\*\* 554 5\.7\.1/);
    // … and once gateway.dat routes it (no restart), the same message is accepted and relayed.
    await appendFile(join(mail, 'gateway.dat'), `example.net, 127.0.0.1, ${sinkPort}\r\n`);
    let accepted = null as { code: number | null; out: string } | null;
    for (let i = 0; i < 40 && !accepted; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const r = await swaks(smtpPort, 'b@example.net', 'after the reload');
      if (r.code === 0) accepted = r;
      else expect(r.out).toMatch(/<\*\* 554 5\.7\.1/); // still the old configuration, nothing queued
    }
    expect(accepted, 'gateway.dat was not reloaded within 20 s').not.toBeNull();
    await until(async () => (await sunk(sinkDir, 'b@example.net')).length > 0, 60_000, 'b@example.net at smtp-sink');
    // Delivered and removed: the queue is empty (only the counter stays).
    await until(async () => (await readdir(join(mail, 'incoming'))).every((n) => !/^B\d{10}\./.test(n)), 30_000, 'queue empty');

    // The children's owner records name them by a beacon each holds open (PID reuse, issue 12).
    const beacons = join(WINE_HOME, 'prefix', 'drive_c', 'ProgramData', 'Sekisho', 'alive');
    const owners = (await readdir(join(mail, 'incoming'))).filter((n) => n.startsWith('.owner.'));
    expect(owners.length).toBeGreaterThan(0);
    for (const o of owners) {
      const start = /\bstart=lock:(\d+\.[0-9a-f]+)/.exec(await readFile(join(mail, 'incoming', o), 'utf8'))?.[1];
      expect(start, o).toBeDefined();
      expect(childPids).toContain(Number(start!.split('.')[0]));
      expect(existsSync(join(beacons, start!))).toBe(true);
    }

    // sekisho stop: the graceful way, every process ends by itself.
    const stop = await sekisho(base, ['stop', '--workdir', W, '--timeout', '60'], 120_000);
    expect(stop.err).toBe('');
    expect(stop.out).toContain('stopped');
    expect(stop.code).toBe(0);
    expect(await serve.exited).toBe(0);
    expect(serve.out()).toEqual(expect.arrayContaining(['receiver stopped (exit 0)', 'delivery stopped (exit 0)', 'stopped']));
    expect(serve.out().join('\n')).not.toMatch(/killed/);
    expect(await winAlive(base, [servePid, ...childPids])).toEqual([]);

    // Nothing left behind: owner files, claims, the counter's lock, serve.json, beacons.
    const leftovers = (await readdir(join(mail, 'incoming'))).filter((n) => n.startsWith('.owner.') || n.endsWith('.lock') || n.includes('.lock.'));
    expect(leftovers).toEqual([]);
    expect(existsSync(join(mail, 'serve.json'))).toBe(false);
    const ours = existsSync(beacons) ? (await readdir(beacons)).filter((n) => [servePid, ...childPids].some((p) => n.startsWith(`${p}.`))) : [];
    expect(ours).toEqual([]);
  }, 300_000);
});
