// watchWorkFolder on a real folder: a table edited behind the app's back (Notepad), the
// settings, the inbox, the queue folder and today's log each produce their event.
import { appendFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlApi } from '../../../services/control/handlers.js';
import { watchWorkFolder, type WorkFolderEvents } from '../../../services/control/file-events.js';
import { ControlEventBus } from '../../../services/control/events.js';
import type { ControlEvent } from '../../../services/control/api.js';
import { Supervisor } from '../../../services/supervisor/index.js';
import { dayName } from '../../../services/logs/paths.js';

const open: WorkFolderEvents[] = [];
afterEach(() => {
  for (const w of open.splice(0)) w.close();
});

async function until(events: ControlEvent[], pred: (e: ControlEvent) => boolean, what: string): Promise<ControlEvent> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const e = events.find(pred);
    if (e) return e;
    if (Date.now() > deadline) throw new Error(`no ${what} event; got ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A work folder with settings.json, incoming/ and today's sender log holding `logText`. */
async function folder(logText: string) {
  const workdir = await mkdtemp(join(tmpdir(), 'sekisho-events-'));
  await writeFile(join(workdir, 'settings.json'), '{}\n');
  await mkdir(join(workdir, 'incoming'));
  await mkdir(join(workdir, 'log', 'sender'), { recursive: true });
  const logFile = join(workdir, 'log', 'sender', `${dayName(new Date())}.log`);
  await writeFile(logFile, logText);
  const api = createControlApi({ workdir, supervisor: new Supervisor({ workdir, services: [] }) });
  return { workdir, logFile, api };
}

describe('watchWorkFolder', () => {
  it('publishes config, accounts, queue and log events for changes on disk', async () => {
    const { workdir, logFile, api } = await folder('old line\n');
    await writeFile(join(workdir, 'effect.dat'), '#<> default\r\n');
    const events: ControlEvent[] = [];
    open.push(watchWorkFolder(workdir, api, (e) => events.push(e), { pollMs: 100, queueDebounceMs: 50 }));
    // Let the first poll record the current state (no events for what was already there).
    await new Promise((r) => setTimeout(r, 400));
    expect(events.filter((e) => e.type === 'config')).toEqual([]);

    // Notepad adds a broken line: the editor hears of it with the error.
    await writeFile(join(workdir, 'effect.dat'), '#<> default\r\n10.0.0.1 perhaps\r\n');
    // The poll may catch the file between writeFile's truncate and its write (an empty
    // effect.dat is valid): wait for the event that carries the broken line.
    const effect = await until(
      events,
      (e) => e.type === 'config' && e.table === 'effect' && e.diagnostics.some((d) => d.severity === 'error' && d.line === 2),
      'effect.dat',
    );
    if (effect.type !== 'config') throw new Error('unreachable');
    expect(effect.version).toBe((await api.readTable('effect')).version);
    expect(effect.diagnostics.some((d) => d.severity === 'error' && d.line === 2)).toBe(true);

    await writeFile(join(workdir, 'settings.json'), '{"hostname":"mx.test.jp"}\n');
    await until(events, (e) => e.type === 'config' && e.table === 'settings', 'settings');

    await mkdir(join(workdir, 'inbox', 'postmaster'), { recursive: true });
    await until(events, (e) => e.type === 'config' && e.table === 'accounts', 'accounts');

    await writeFile(join(workdir, 'incoming', 'B0000000001.$CP'), '{}');
    await until(events, (e) => e.type === 'queue', 'queue');

    await appendFile(logFile, '[09:00:00:000] [B0000000001] new line\n');
    const log = await until(events, (e) => e.type === 'log', 'log');
    expect(log).toEqual({ type: 'log', kind: 'sender', line: '[09:00:00:000] [B0000000001] new line' });
    expect(events.some((e) => e.type === 'log' && e.line === 'old line')).toBe(false);
  });

  it('with follow off, no queue or log events until a UI subscribes; config events always', async () => {
    const { workdir, logFile, api } = await folder('');
    // Wired as `sekisho serve` does: follow while the bus has subscribers.
    const bus = new ControlEventBus();
    const events: ControlEvent[] = [];
    bus.on('event', (e: ControlEvent) => events.push(e));
    const w = watchWorkFolder(workdir, api, (e) => bus.publish(e), { pollMs: 100, queueDebounceMs: 50, follow: bus.subscribers > 0 });
    open.push(w);
    bus.on('subscribers', (n: number) => w.follow(n > 0));
    await new Promise((r) => setTimeout(r, 300));

    await writeFile(join(workdir, 'incoming', 'B0000000001.$CP'), '{}');
    await appendFile(logFile, '[09:00:00:000] [B0000000001] unseen\n');
    await writeFile(join(workdir, 'settings.json'), '{"hostname":"mx.test.jp"}\n');
    await until(events, (e) => e.type === 'config' && e.table === 'settings', 'settings');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.filter((e) => e.type === 'queue' || e.type === 'log')).toEqual([]);

    // A UI connects: the queue view is told to refresh, and new log lines flow.
    const unsubscribe = bus.subscribe(() => {});
    expect(bus.subscribers).toBe(1);
    await until(events, (e) => e.type === 'queue', 'queue after subscribe');
    await new Promise((r) => setTimeout(r, 200));
    await appendFile(logFile, '[09:00:01:000] [B0000000002] seen\n');
    const log = await until(events, (e) => e.type === 'log', 'log after subscribe');
    expect(log).toMatchObject({ line: '[09:00:01:000] [B0000000002] seen' });

    // The last one leaves: quiet again.
    unsubscribe();
    unsubscribe(); // idempotent
    expect(bus.subscribers).toBe(0);
    events.length = 0;
    await writeFile(join(workdir, 'incoming', 'B0000000003.$CP'), '{}');
    await appendFile(logFile, '[09:00:02:000] [B0000000003] unseen again\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(events.filter((e) => e.type === 'queue' || e.type === 'log')).toEqual([]);
  });
});
