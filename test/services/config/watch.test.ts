import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, open, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigLoadError, ConfigWatcher } from '../../../services/config/watch.js';
import { writeTableLines } from '../../../services/config/tables.js';
import type { ConfigSnapshot, Diagnostic } from '../../../services/config/types.js';

let dir: string;
let watcher: ConfigWatcher | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-watch-'));
  await writeFile(join(dir, 'effect.dat'), '#<> default\r\n#blank false\r\n');
  await writeFile(join(dir, 'domains.dat'), 'test.jp\r\n');
});

afterEach(async () => {
  await watcher?.close();
  watcher = null;
  await rm(dir, { recursive: true, force: true });
});

/** Resolves with the next event of either kind, or rejects after `ms`. */
function nextEvent(w: ConfigWatcher, ms = 5000): Promise<{ applied?: ConfigSnapshot; rejected?: Diagnostic[] }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      reject(new Error('no watcher event'));
    }, ms);
    const onApplied = (s: ConfigSnapshot) => (cleanup(), resolve({ applied: s }));
    const onRejected = (d: Diagnostic[]) => (cleanup(), resolve({ rejected: d }));
    const cleanup = () => {
      clearTimeout(t);
      w.off('applied', onApplied);
      w.off('rejected', onRejected);
    };
    w.on('applied', onApplied);
    w.on('rejected', onRejected);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConfigWatcher', () => {
  it('refuses to start on a broken configuration, naming the error', async () => {
    await writeFile(join(dir, 'gateway.dat'), 'test.jp, 10.0.0.1, 99999\r\n');
    const err = await ConfigWatcher.start(dir).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigLoadError);
    expect((err as ConfigLoadError).diagnostics[0]).toMatchObject({ file: 'gateway.dat', line: 1, column: 20, code: 'gateway.bad-port' });
  });

  it('applies a good change with generation + 1, rejects a bad one and keeps the last good snapshot', async () => {
    watcher = await ConfigWatcher.start(dir);
    expect(watcher.current().generation).toBe(1);
    expect(watcher.current().domains.map((d) => d.domain)).toEqual(['test.jp']);

    let ev = nextEvent(watcher);
    await writeFile(join(dir, 'domains.dat'), 'test.jp\r\nexample.co.jp\r\n');
    const applied = (await ev).applied!;
    expect(applied.generation).toBe(2);
    expect(applied.domains.map((d) => d.domain)).toEqual(['test.jp', 'example.co.jp']);
    expect(watcher.current()).toBe(applied);

    ev = nextEvent(watcher);
    await writeFile(join(dir, 'effect.dat'), '#<> default\r\n192.168.1.0/33 true\r\n');
    const rejected = (await ev).rejected!;
    expect(rejected).toContainEqual(expect.objectContaining({ file: 'effect.dat', line: 2, column: 1, code: 'effect.bad-pattern' }));
    expect(watcher.current()).toBe(applied);
    expect(watcher.current().effect).toHaveLength(2);

    // Fixing the file applies again.
    ev = nextEvent(watcher);
    await writeTableLines(dir, 'effect', ['#<> default', '192.168.1.0/24 true']);
    const fixed = (await ev).applied!;
    expect(fixed.generation).toBe(3);
    expect(fixed.effect[1].pattern).toEqual({ kind: 'cidr', family: 4, address: '192.168.1.0', prefix: 24 });
  });

  it('sees account changes (apop.dat, $offsmtp) and settings.json', async () => {
    watcher = await ConfigWatcher.start(dir);
    let ev = nextEvent(watcher);
    await mkdir(join(dir, 'inbox', 'bucho'), { recursive: true });
    await writeFile(join(dir, 'inbox', 'bucho', 'apop.dat'), 'secret\r\n');
    let snap = (await ev).applied!;
    expect(snap.accounts.get('bucho')?.password).toEqual({ kind: 'plain', value: 'secret' });

    ev = nextEvent(watcher);
    await writeFile(join(dir, 'inbox', 'bucho', '$offsmtp'), '');
    snap = (await ev).applied!;
    expect(snap.accounts.get('bucho')?.sendingDisabled).toBe(true);

    ev = nextEvent(watcher);
    await writeFile(join(dir, 'settings.json'), '{ "receiver": { "ports": [2525], "bogus": 1 } }\n');
    const rejected = (await ev).rejected!;
    expect(rejected[0]).toMatchObject({ file: 'settings.json', code: 'settings.unknown-key', line: 1 });
    expect(rejected[0].message).toContain('receiver.bogus');
    expect(watcher.current().settings.receiver.ports).toEqual([25]);
  });

  it('ignores the queue and the logs', async () => {
    watcher = await ConfigWatcher.start(dir);
    const events: string[] = [];
    watcher.on('applied', () => events.push('applied'));
    watcher.on('rejected', () => events.push('rejected'));
    await mkdir(join(dir, 'incoming'), { recursive: true });
    await writeFile(join(dir, 'incoming', 'B0000000001.MSG'), 'x');
    await writeFile(join(dir, 'notes.txt'), 'x');
    await sleep(900);
    expect(events).toEqual([]);
    expect(watcher.current().generation).toBe(1);
  });

  it('never applies a half-written file, even when the first half is a valid table', async () => {
    watcher = await ConfigWatcher.start(dir);
    const applied: ConfigSnapshot[] = [];
    const rejected: Diagnostic[][] = [];
    watcher.on('applied', (s) => applied.push(s));
    watcher.on('rejected', (d) => rejected.push(d));

    // Cut in the middle of the last line: `10.0.0.0/16 default` becomes `10.0.0.0/1` — valid,
    // and an implicit `true` for half the IPv4 Internet if it were ever applied.
    const full = '#<> default\r\n#blank false\r\n192.168.0.0/16 default\r\n10.0.0.0/16 default\r\n';
    const cut = full.lastIndexOf('10.0.0.0/1') + '10.0.0.0/1'.length;
    const half = full.slice(0, cut);
    expect(half.endsWith('10.0.0.0/1')).toBe(true);

    const fh = await open(join(dir, 'effect.dat'), 'w');
    await fh.write(half);
    await fh.sync();
    const t0 = Date.now();
    await sleep(200); // shorter than the watcher's stability threshold (300 ms)
    await fh.write(full.slice(cut));
    const gap = Date.now() - t0; // on a stalled machine a pause beyond ~550 ms is indistinguishable from a finished file
    await fh.close();

    for (let i = 0; i < 50 && applied.length === 0; i++) await sleep(100);
    await sleep(600); // any late second event would show here
    const truncated = applied.filter((s) => s.effect.some((r) => r.patternText === '10.0.0.0/1'));
    expect(truncated, `the half-written file was applied (pause between the halves: ${gap} ms)`).toEqual([]);
    expect(applied).toHaveLength(1);
    expect(applied[0].effect.map((r) => `${r.patternText} ${r.action}`)).toEqual([
      '#<> default',
      '#blank false',
      '192.168.0.0/16 default',
      '10.0.0.0/16 default',
    ]);
    expect(rejected).toEqual([]);
  });

  it('reload() reports unchanged when nothing changed', async () => {
    watcher = await ConfigWatcher.start(dir);
    expect(await watcher.reload()).toBe('unchanged');
    await writeFile(join(dir, 'domains.dat'), 'other.jp\r\n');
    expect(await watcher.reload()).toBe('applied');
    expect(watcher.current().domains[0].domain).toBe('other.jp');
  });
});
