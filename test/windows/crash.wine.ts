// Windows lane (issue 12): a delivery process killed outright on Windows (`taskkill /F`: no
// exit handler runs) in the middle of an attempt leaves its claim file behind. The owner record
// names it by its beacon, which Windows closed with the process, so the restarted delivery
// process recognises the claim as dead, takes it over and delivers the message; `sekisho stop`
// then ends everything gracefully and leaves no claim or owner file.
import { spawn } from 'node:child_process';
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/lib/ports.js';
import { startSink } from '../services/delivery/helpers/servers.js';
import { laneDir, sekisho, startSekisho, until, WINE_HOME, winAlive, wineReady, winPath } from './lane.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

describe.runIf(wineReady())('a killed delivery process on Windows (Wine)', () => {
  it('its claim is taken over by the restarted delivery, the message delivered; stop leaves nothing', async () => {
    const base = await laneDir('crash');
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const mail = join(base, 'mail');
    const W = winPath(mail);
    // A next hop that takes 4 s to answer the end of DATA: the attempt is in flight for a while.
    const hop = await startSink({ dataDelayMs: 4000 });
    cleanups.push(() => hop.close());
    const [smtpPort, controlPort] = [await freePort(), await freePort()];

    expect((await sekisho(base, ['init', '--workdir', W, '--port', String(smtpPort), '--control-port', String(controlPort), '--lang', 'en'])).code).toBe(0);
    await appendFile(join(mail, 'gateway.dat'), `example.jp, 127.0.0.1, ${hop.port}\r\n`);
    await appendFile(join(mail, 'aliases.dat'), 'a@example.jp -> a@example.jp\r\n');
    // Retry soon after a failed attempt (the default is two minutes).
    const settings = JSON.parse(await readFile(join(mail, 'settings.json'), 'utf8'));
    settings.delivery.retryIntervalSec = 1;
    await writeFile(join(mail, 'settings.json'), JSON.stringify(settings, null, 2));

    const serve = startSekisho(base, ['serve', '--workdir', W]);
    cleanups.push(() => serve.kill());
    await serve.waitFor(/^ready /, 120_000);
    const pidOf = (re: RegExp) => serve.out().map((l) => re.exec(l)?.[1]).filter(Boolean).map(Number);
    const [deliveryPid] = pidOf(/^delivery running pid (\d+)/);
    const [receiverPid] = pidOf(/^receiver running pid (\d+)/);

    const sw = await run('/usr/bin/swaks', ['--server', `127.0.0.1:${smtpPort}`, '--from', 'taro@test.jp', '--to', 'a@example.jp', '--body', 'crash lane', '--timeout', '30']);
    expect(sw.code).toBe(0);
    const id = /queued as (B\d{10})/.exec(sw.out)?.[1] ?? '';
    expect(id).toMatch(/^B\d{10}$/);

    // The attempt is in flight (the hop has the data and has not answered): the claim exists.
    await hop.waitFor(1, 60_000);
    const claim = await readFile(join(mail, 'incoming', `${id}.lock`), 'utf8');
    expect(claim.split(' ')[0]).toBe(String(deliveryPid));
    expect(claim).toMatch(/ start=lock:\d+\.[0-9a-f]+/);

    // Killed outright: no exit handler, the claim and owner file stay behind.
    const kill = await run('wine', ['taskkill', '/PID', String(deliveryPid), '/F'], { ...process.env, WINEPREFIX: join(WINE_HOME, 'prefix'), WINEDEBUG: '-all' });
    expect(kill.code, kill.out).toBe(0);
    expect(await winAlive(base, [deliveryPid])).toEqual([]);

    // The supervisor starts delivery again; it takes the dead process's claim over and delivers.
    await until(() => pidOf(/^delivery running pid (\d+)/).some((p) => p !== deliveryPid), 60_000, 'delivery restarted');
    await hop.waitFor(2, 90_000);
    await until(async () => (await readdir(join(mail, 'incoming'))).every((n) => !n.startsWith(`${id}.`)), 60_000, 'message delivered and removed');
    expect(hop.received.every((m) => m.to.includes('a@example.jp'))).toBe(true);

    const stop = await sekisho(base, ['stop', '--workdir', W], 120_000);
    expect(stop.code, stop.err).toBe(0);
    expect(await serve.exited).toBe(0);
    const newDelivery = pidOf(/^delivery running pid (\d+)/).filter((p) => p !== deliveryPid);
    expect(await winAlive(base, [receiverPid, ...newDelivery])).toEqual([]);
    // Nothing left: the dead process's owner file is swept (by the new delivery at its start),
    // its claim was taken over and released; the living ones removed theirs at exit.
    const left = (await readdir(join(mail, 'incoming'))).filter((n) => n.startsWith('.owner.') || n.includes('.lock'));
    expect(left).toEqual([]);
  }, 300_000);
});
