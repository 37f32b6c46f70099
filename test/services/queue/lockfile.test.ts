// Owner records name a process by more than its PID (liveness.ts): a lock left by a dead
// process is taken over even when its PID now belongs to a live process; a live owner's lock
// never is; records in the old format (`pid host time nonce`) are still understood.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { claimMessage, isClaimed } from '../../../services/queue/claim.js';
import { inspectLock, tryLock } from '../../../services/queue/lockfile.js';
import { beaconDir, beaconHeld, bootId, procStartTicks, recordFields } from '../../../services/queue/liveness.js';
import { controlPath, lockPath, messagePath } from '../../../services/queue/paths.js';
import { sweepOrphans } from '../../../services/queue/sweep.js';
import { deadPid, freshWorkdir, removeWorkdir, startChild, stopChild, until, type Child } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let wd: string;
let inc: string;
const children: Child[] = [];
beforeEach(async () => {
  wd = await freshWorkdir();
  inc = join(wd, 'incoming');
  await mkdir(inc, { recursive: true });
});
/** Forged beacons (Windows), outside the work folder: removed after each test. */
const forged: string[] = [];
afterEach(async () => {
  await Promise.all(forged.splice(0).map((p) => rm(p, { force: true })));
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
  await removeWorkdir(wd);
});

async function queued(id: string): Promise<void> {
  await writeFile(messagePath(wd, id), 'x');
  await writeFile(controlPath(wd, id), '{}');
}

/** A live process that holds nothing: a child waiting on stdin. */
async function liveChild(): Promise<number> {
  const c = startChild('claim', [wd]);
  children.push(c);
  await c.waitFor((l) => l === 'ready');
  const pid = c.proc.pid!;
  process.kill(pid, 0); // really alive: kill(pid, 0) alone would call its lock alive
  return pid;
}

/**
 * Identity fields claiming that `pid` was started differently from the live process that has
 * that PID now — what an owner record of an earlier process with the same PID looks like.
 */
async function otherStartOf(pid: number): Promise<string> {
  if (process.platform === 'win32') {
    // A beacon nobody holds open: its writer is gone.
    const name = `${pid}.0ddba11`;
    await writeFile(join(beaconDir(), name), '');
    forged.push(join(beaconDir(), name));
    return `start=lock:${name}`;
  }
  const ticks = procStartTicks(pid);
  expect(ticks).not.toBeNull();
  return `boot=${bootId()} start=proc:${BigInt(ticks!) + 1n}`;
}

const record = (pid: number, extra = '') => `${pid} ${hostname()} 2026-01-01T00:00:00.000Z ab12cd${extra ? ` ${extra}` : ''}\n`;

describe('owner records and PID reuse', () => {
  it('writes the process identity into its records (boot id and start time on Linux, a held beacon on Windows)', async () => {
    const held = await tryLock(join(inc, 'x.lock'));
    expect(held).not.toBeNull();
    const raw = await readFile(join(inc, 'x.lock'), 'utf8');
    const f = recordFields(raw);
    expect(raw.split(' ').slice(0, 2)).toEqual([String(process.pid), hostname()]);
    if (process.platform === 'linux') {
      expect(f.get('boot')).toBe(bootId());
      expect(f.get('start')).toBe(`proc:${procStartTicks(process.pid)}`);
    } else if (process.platform === 'win32') {
      expect(f.get('start')).toMatch(new RegExp(`^lock:${process.pid}\\.[0-9a-f]+$`));
      // Held open with share mode 0: nobody (not even another handle of ours) can open it.
      expect(await readdir(beaconDir())).toContain(f.get('start')!.slice(5));
      expect(beaconHeld(join(beaconDir(), f.get('start')!.slice(5)))).toBe(true);
    }
    await held!.release();
  });

  it('takes over a claim whose PID was reused by a live process', async () => {
    await queued('B0000000031');
    const pid = await liveChild();
    await writeFile(lockPath(wd, 'B0000000031'), record(pid, await otherStartOf(pid)));
    expect(await isClaimed(wd, 'B0000000031')).toBe(false);
    const c = await claimMessage(wd, 'B0000000031');
    expect(c).not.toBeNull();
    expect(await readFile(lockPath(wd, 'B0000000031'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await c!.release();
  });

  it('never takes over the claim of a live owner (a real child holding it)', async () => {
    await queued('B0000000032');
    const c = startChild('claim', [wd, 'B0000000032']);
    children.push(c);
    await c.waitFor((l) => l === 'ready');
    c.proc.stdin!.write('go\n');
    expect(await c.waitFor((l) => l.endsWith('B0000000032'))).toBe('claimed B0000000032');
    const raw = await readFile(lockPath(wd, 'B0000000032'), 'utf8');
    expect(recordFields(raw).get('start')).toBeDefined();
    for (let i = 0; i < 3; i++) expect(await claimMessage(wd, 'B0000000032')).toBeNull();
    expect(await isClaimed(wd, 'B0000000032')).toBe(true);
    expect((await sweepOrphans(wd)).removed).toEqual([]);
    // Once it is killed (no cleanup at all), the same record reads as dead.
    await stopChild(c, 'SIGKILL');
    const taken = await claimMessage(wd, 'B0000000032');
    expect(taken).not.toBeNull();
    await taken!.release();
  });

  it.runIf(process.platform === 'linux')('a record from before the last reboot is dead even with a live PID and start time', async () => {
    const pid = await liveChild();
    const raw = record(pid, `boot=00000000-0000-4000-8000-000000000000 start=proc:${procStartTicks(pid)}`);
    await writeFile(join(inc, 'y.lock'), raw);
    expect((await inspectLock(join(inc, 'y.lock')))!.alive).toBe(false);
    // The same record from this boot names the live child: alive.
    await writeFile(join(inc, 'y.lock'), record(pid, `boot=${bootId()} start=proc:${procStartTicks(pid)}`));
    expect((await inspectLock(join(inc, 'y.lock')))!.alive).toBe(true);
    expect(await tryLock(join(inc, 'y.lock'))).toBeNull();
  });

  it.runIf(process.platform === 'linux')('a reused PID of another account (EPERM to kill(pid, 0) when not root) is no longer "alive"', async () => {
    // PID 1 runs as root: kill(1, 0) answers EPERM to an ordinary user, success to root. Either
    // way the start time in the record is not PID 1's, so the record's process is dead.
    const raw = record(1, await otherStartOf(1));
    await writeFile(join(inc, 'z.lock'), raw);
    const held = await tryLock(join(inc, 'z.lock'));
    expect(held).not.toBeNull();
    await held!.release();
  });

  it.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
    'judged from another account (kill answers EPERM), a reused PID is dead and a live owner alive',
    async () => {
      // This process (root) has a child; a checker running as `nobody` gets EPERM from
      // kill(child, 0) — what the old code read as "alive" — and must still tell the records apart.
      const pid = await liveChild();
      await chmod(wd, 0o755);
      await writeFile(join(inc, 'reused.lock'), record(pid, await otherStartOf(pid)));
      await writeFile(join(inc, 'live.lock'), record(pid, `boot=${bootId()} start=proc:${procStartTicks(pid)}`));
      await writeFile(join(inc, 'old.lock'), record(pid));
      const judge = async (name: string) => {
        const out = await new Promise<string>((resolve, reject) => {
          const p = spawn(process.execPath, ['--import', tsxLoader, join(here, 'children', 'inspect.ts'), join(inc, name)], {
            uid: 65534,
            gid: 65534,
            env: { ...process.env, HOME: '/tmp' },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let o = '';
          let e = '';
          p.stdout.on('data', (d: Buffer) => (o += d.toString()));
          p.stderr.on('data', (d: Buffer) => (e += d.toString()));
          p.once('close', (code) => (code === 0 ? resolve(o) : reject(new Error(`inspect as nobody: exit ${code}: ${e}`))));
        });
        return JSON.parse(out) as { kill: string; alive: boolean };
      };
      expect(await judge('reused.lock')).toEqual({ kill: 'EPERM', alive: false });
      expect(await judge('live.lock')).toEqual({ kill: 'EPERM', alive: true });
      expect(await judge('old.lock')).toEqual({ kill: 'EPERM', alive: true }); // old format: kill's answer, as before
    },
  );

  it('still reads old records (pid host time nonce): a live PID holds, a dead one is taken over', async () => {
    const pid = await liveChild();
    await writeFile(join(inc, 'old.lock'), record(pid));
    expect((await inspectLock(join(inc, 'old.lock')))!.info!.pid).toBe(pid);
    expect(await tryLock(join(inc, 'old.lock'))).toBeNull();
    await writeFile(join(inc, 'old.lock'), record(await deadPid()));
    const held = await tryLock(join(inc, 'old.lock'));
    expect(held).not.toBeNull();
    await held!.release();
  });

  it('the sweep removes the owner file of a process whose PID was reused, not a live owner’s', async () => {
    const pid = await liveChild();
    const dead = `.owner.${pid}.dead01`;
    const old = `.owner.${pid}.0ld001`;
    await writeFile(join(inc, dead), record(pid, await otherStartOf(pid)));
    await writeFile(join(inc, old), record(pid)); // old format, live PID: kept
    const r = await sweepOrphans(wd);
    expect(r.removed).toContain(join(inc, dead));
    expect(r.removed).not.toContain(join(inc, old));
    expect(await readdir(inc)).toContain(old);
  });

  it('a process that exits removes its owner files (and its Windows beacon)', async () => {
    await queued('B0000000033');
    const c = startChild('claim', [wd, 'B0000000033']);
    children.push(c);
    await c.waitFor((l) => l === 'ready');
    c.proc.stdin!.write('go\n');
    await c.waitFor((l) => l === 'done');
    const pid = c.proc.pid!;
    const left = async () => [
      ...(await readdir(inc)).filter((n) => n.startsWith(`.owner.${pid}.`)),
      ...(process.platform === 'win32' ? (await readdir(beaconDir())).filter((n) => n.startsWith(`${pid}.`)) : []),
    ];
    expect((await left()).length).toBeGreaterThan(process.platform === 'win32' ? 1 : 0);
    c.proc.stdin!.end(); // the child exits on stdin EOF
    expect((await c.exited).code).toBe(0);
    await until(async () => (await left()).length === 0, 5_000);
  });
});
