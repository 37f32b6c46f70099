import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { watchQueue, type QueueWatcher } from '../../../services/queue/watch.js';
import { QueueWriter } from '../../../services/queue/writer.js';
import { readControl, writeControl } from '../../../services/queue/store.js';
import { freshWorkdir, removeWorkdir, sampleRecord, until } from './helpers.js';

let wd: string;
let watcher: QueueWatcher | null = null;
beforeEach(async () => {
  wd = await freshWorkdir();
});
afterEach(async () => {
  watcher?.close();
  watcher = null;
  await removeWorkdir(wd);
});

async function commitOne(w: QueueWriter): Promise<string> {
  const p = await w.begin();
  await p.write(Buffer.from('hello\r\n'));
  return p.commit(sampleRecord());
}

describe('watchQueue', () => {
  it('reports the messages already queued, then each new one as it is committed', async () => {
    const w = new QueueWriter(wd);
    const old = await commitOne(w);
    const seen: string[] = [];
    // A rescan period far longer than the test: the new message must come from fs.watch.
    watcher = watchQueue(wd, (id) => seen.push(id), { rescanMs: 600_000 });
    await until(() => seen.includes(old));
    const fresh = await commitOne(w);
    await until(() => seen.includes(fresh));
    expect(seen.filter((id) => id === old)).toHaveLength(1);
  });

  it('reports a control record rewritten in place (e.g. "retry now" from the control app)', async () => {
    const w = new QueueWriter(wd);
    const id = await commitOne(w);
    const seen: string[] = [];
    watcher = watchQueue(wd, (x) => seen.push(x), { rescanMs: 600_000 });
    await until(() => seen.length === 1);
    const rec = await readControl(wd, id);
    await writeControl(wd, { ...rec, nextAttemptAt: new Date().toISOString() });
    // fs.watch may say it more than once; the runner de-duplicates by claiming.
    await until(() => seen.length >= 2);
    expect(new Set(seen)).toEqual(new Set([id]));
  });

  it('with initial: false reports only what arrives after the start', async () => {
    const w = new QueueWriter(wd);
    const old = await commitOne(w);
    const seen: string[] = [];
    watcher = watchQueue(wd, (id) => seen.push(id), { initial: false, rescanMs: 600_000 });
    await new Promise((r) => setTimeout(r, 200));
    const fresh = await commitOne(w);
    await until(() => seen.includes(fresh));
    expect(seen).not.toContain(old);
  });

  it('the periodic rescan finds a message fs.watch did not report', async () => {
    // The folder does not exist yet when the watcher starts, so fs.watch cannot watch it:
    // only the rescan can find the message.
    const seen: string[] = [];
    watcher = watchQueue(join(wd, 'later'), (id) => seen.push(id), { rescanMs: 100 });
    const dir = join(wd, 'later', 'incoming');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'B0000000042.MSG'), 'x');
    await writeFile(join(dir, 'x.tmp'), '{}');
    await rename(join(dir, 'x.tmp'), join(dir, 'B0000000042.$CP'));
    await until(() => seen.includes('B0000000042'));
  });

  it('stops reporting after close', async () => {
    const w = new QueueWriter(wd);
    const seen: string[] = [];
    watcher = watchQueue(wd, (id) => seen.push(id), { rescanMs: 50 });
    await new Promise((r) => setTimeout(r, 100));
    watcher.close();
    await commitOne(w);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
  });
});
