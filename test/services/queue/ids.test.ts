import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { IdAllocator } from '../../../services/queue/ids.js';
import { deadPid, freshWorkdir, removeWorkdir, startChild, stopChild, type Child } from './helpers.js';

let wd: string;
let dir: string;
const children: Child[] = [];
beforeEach(async () => {
  wd = await freshWorkdir();
  dir = join(wd, 'incoming');
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
  await removeWorkdir(wd);
});

const num = (id: string) => Number(id.slice(1));

describe('IdAllocator', () => {
  it('hands out B + ten digits, increasing, starting at B0000000001', async () => {
    const a = await IdAllocator.open(dir, { blockSize: 3 });
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push(await a.next());
    expect(ids[0]).toBe('B0000000001');
    for (const id of ids) expect(id).toMatch(/^B\d{10}$/);
    expect(ids.map(num)).toEqual([...ids.map(num)].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(10);
  });

  it('keeps increasing across a re-open, skipping the unused rest of a block', async () => {
    const a = await IdAllocator.open(dir, { blockSize: 100 });
    const first = [await a.next(), await a.next()];
    const b = await IdAllocator.open(dir, { blockSize: 100 }); // "restart"
    const next = await b.next();
    expect(num(next)).toBeGreaterThan(num(first[1]));
    expect(next).toBe('B0000000101');
    // The counter file holds the next unreserved number.
    expect((await readFile(join(dir, '.seq'), 'utf8')).trim()).toBe('201');
  });

  it('concurrent next() calls in one process never repeat across block refills', async () => {
    const a = await IdAllocator.open(dir, { blockSize: 5 });
    const ids = await Promise.all(Array.from({ length: 203 }, () => a.next()));
    expect(new Set(ids).size).toBe(203);
  });

  it('reserves the next block in the background before the current one runs out', async () => {
    const a = await IdAllocator.open(dir, { blockSize: 8 });
    const seq = async () => (await readFile(join(dir, '.seq'), 'utf8')).trim();
    expect(await seq()).toBe('9');
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await a.next()); // 2 left: a quarter of the block
    const deadline = Date.now() + 5_000;
    while ((await seq()) !== '17' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await seq()).toBe('17');
    for (let i = 0; i < 10; i++) ids.push(await a.next());
    // Alone on the folder, the blocks follow each other without a gap.
    expect(ids.map(num)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('never goes below a message already queued when the counter file is lost', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'B0000004711.$CP'), '{}');
    const a = await IdAllocator.open(dir);
    expect(await a.next()).toBe('B0000004712');
  });

  it('takes over a counter lock left by a dead process', async () => {
    await mkdir(dir, { recursive: true });
    const pid = await deadPid();
    await writeFile(join(dir, '.seq.lock'), `${pid} ${hostname()} 2020-01-01T00:00:00.000Z deadbeef\n`);
    const a = await IdAllocator.open(dir);
    expect(await a.next()).toBe('B0000000001');
  });

  it('two processes allocating at once on one folder never get the same id', async () => {
    const count = 400;
    const kids = [startChild('alloc', [dir, String(count), '7']), startChild('alloc', [dir, String(count), '7'])];
    children.push(...kids);
    await Promise.all(kids.map((k) => k.waitFor((l) => l === 'ready')));
    for (const k of kids) k.proc.stdin!.write('go\n');
    const outs = await Promise.all(kids.map((k) => k.waitFor((l) => l.startsWith('['), 30_000)));
    const lists = outs.map((o) => JSON.parse(o) as string[]);
    for (const ids of lists) {
      expect(ids).toHaveLength(count);
      // Increasing within each process.
      for (let i = 1; i < ids.length; i++) expect(num(ids[i])).toBeGreaterThan(num(ids[i - 1]));
    }
    const all = new Set([...lists[0], ...lists[1]]);
    expect(all.size).toBe(2 * count);
    // A third "restart" continues above everything both handed out.
    const c = await IdAllocator.open(dir, { blockSize: 7 });
    const max = Math.max(...[...all].map(num));
    expect(num(await c.next())).toBeGreaterThan(max);
  });
});
