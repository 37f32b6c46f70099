// Recycled queue files (services/queue/spare.ts) on a real folder: a delivered message's files
// become spares, the next message overwrites one in place (same inode, no old tail), the pool
// is bounded, old spares are deleted, and two takers never get one file.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir, readFile, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { QueueWriter } from '../../../services/queue/writer.js';
import { messageFile, readControl, readMessageBytes, removeMessage, writeControl } from '../../../services/queue/store.js';
import { SPARE_CAP, SparePool, sparesDir, trimSpares } from '../../../services/queue/spare.js';
import { sweepOrphans } from '../../../services/queue/sweep.js';
import { freshWorkdir, removeWorkdir, sampleRecord } from './helpers.js';

let wd: string;
beforeEach(async () => {
  wd = await freshWorkdir();
});
afterEach(async () => {
  await removeWorkdir(wd);
});

const incoming = () => join(wd, 'incoming');
const spares = async () => (await readdir(sparesDir(wd)).catch(() => [] as string[])).sort();

async function messageOf(id: string): Promise<string> {
  const rec = await readControl(wd, id);
  return readMessageBytes(messageFile(wd, rec), rec.size).toString();
}

async function queue(w: QueueWriter, body: string): Promise<string> {
  const p = await w.begin();
  await p.write(Buffer.from(body));
  return p.commit(sampleRecord('to@example.jp'));
}

describe('spare queue files', () => {
  it('a removed message becomes a spare (its state file another); the next message reuses it in place, without the old tail', async () => {
    const w = new QueueWriter(wd);
    const long = `Subject: first\r\n\r\n${'x'.repeat(9000)}\r\n`;
    const first = await queue(w, long);
    // One attempt left it queued: it has a state file too.
    await writeControl(wd, { ...(await readControl(wd, first)), retries: 1 });
    const inodes = {
      queue: (await stat(join(incoming(), `${first}.$CP`))).ino,
      state: (await stat(join(incoming(), `${first}.$ST`))).ino,
    };
    await removeMessage(wd, first);
    await expect(stat(join(incoming(), `${first}.$CP`))).rejects.toThrow();
    await expect(stat(join(incoming(), `${first}.$ST`))).rejects.toThrow();
    const s = await spares();
    expect(s).toHaveLength(2);
    expect(s.filter((n) => n.startsWith('m.'))).toHaveLength(1);
    expect(s.filter((n) => n.startsWith('c.'))).toHaveLength(1);

    // Let the receiver's pool look at the folder again (it rescans an empty cache at most every 100 ms).
    await new Promise((r) => setTimeout(r, 150));
    const short = 'Subject: second\r\n\r\nhello\r\n';
    const second = await queue(w, short);
    expect((await stat(join(incoming(), `${second}.$CP`))).ino).toBe(inodes.queue);
    // Exactly the new content: nothing of the 9 KB message survives behind it (the queue file's
    // last line must add up to its length, or it would not read at all).
    expect(await messageOf(second)).toBe(short);
    expect((await readFile(join(incoming(), `${second}.$CP`), 'latin1')).includes('xxxx')).toBe(false);
    const rec = await readControl(wd, second);
    expect(rec.size).toBe(short.length);
    // Its first state takes the control spare.
    await writeControl(wd, { ...rec, retries: 1 });
    expect((await stat(join(incoming(), `${second}.$ST`))).ino).toBe(inodes.state);
    expect((await readControl(wd, second)).retries).toBe(1);
    expect(await spares()).toEqual([]);
  });

  it('a longer message over a shorter spare is whole', async () => {
    const w = new QueueWriter(wd);
    const first = await queue(w, 'tiny\r\n');
    await removeMessage(wd, first);
    await new Promise((r) => setTimeout(r, 150));
    const big = `Subject: big\r\n\r\n${'y'.repeat(30_000)}\r\n`;
    const second = await queue(w, big);
    expect(await messageOf(second)).toBe(big);
  });

  it('writeControl (a retry rewrite) takes a control spare too, and the record reads back whole', async () => {
    const w = new QueueWriter(wd);
    const a = await queue(w, 'a\r\n');
    const b = await queue(w, 'b\r\n');
    await writeControl(wd, { ...(await readControl(wd, a)), retries: 1 });
    await removeMessage(wd, a);
    await new Promise((r) => setTimeout(r, 150));
    const rec = await readControl(wd, b);
    const changed = { ...rec, retries: 3, recipients: rec.recipients.map((r) => ({ ...r, lastReply: '451 4.3.0 try later '.repeat(40) })) };
    await writeControl(wd, changed);
    expect((await readControl(wd, b)).retries).toBe(3);
    expect((await spares()).filter((n) => n.startsWith('c.'))).toEqual([]);
  });

  it('an administrator’s delete removes the files instead of keeping them as spares', async () => {
    const w = new QueueWriter(wd);
    const id = await queue(w, 'secret\r\n');
    await removeMessage(wd, id, { recycle: false, waitForFlush: true });
    expect(await spares()).toEqual([]);
    expect((await readdir(incoming())).filter((n) => n.startsWith(id))).toEqual([]);
  });

  it('keeps at most SPARE_CAP of a kind; beyond that files are deleted', async () => {
    const pool = new SparePool(wd);
    await mkdir(sparesDir(wd), { recursive: true });
    const n = SPARE_CAP + 5;
    for (let i = 0; i < n; i++) {
      const p = join(incoming(), `f${i}`);
      await writeFile(p, 'x');
      const r = pool.give('m', p);
      if (r === 'refused') continue;
      expect(r).toBe('spared');
    }
    expect((await spares()).length).toBe(SPARE_CAP);
    expect(pool.give('m', join(incoming(), 'no-such-file'))).toBe('refused');
  });

  it('a pool that looked full takes files again soon after another process (the receiver) took its spares', async () => {
    await mkdir(join(incoming(), 'tmp'), { recursive: true });
    const giver = new SparePool(wd);
    for (let i = 0; i < SPARE_CAP; i++) {
      const p = join(incoming(), `g${i}`);
      await writeFile(p, 'x');
      expect(giver.give('m', p)).toBe('spared');
    }
    await writeFile(join(incoming(), 'extra'), 'x');
    expect(giver.give('m', join(incoming(), 'extra'))).toBe('refused'); // looked: really full
    const taker = new SparePool(wd);
    for (let i = 0; i < SPARE_CAP; i++) expect(taker.take('m', join(incoming(), 'tmp', `t${i}`))).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    // The giver still counts SPARE_CAP; it must look again rather than delete (an unlink on
    // the delivery loop) for the next second.
    await writeFile(join(incoming(), 'next'), 'x');
    expect(giver.give('m', join(incoming(), 'next'))).toBe('spared');
  });

  it('reports a file already gone, and makes its folder when missing', async () => {
    const pool = new SparePool(wd);
    await mkdir(incoming(), { recursive: true });
    expect(pool.give('c', join(incoming(), 'gone.$CP'))).toBe('gone');
    await writeFile(join(incoming(), 'x.$CP'), '{}');
    expect(pool.give('c', join(incoming(), 'x.$CP'))).toBe('spared');
    expect(await spares()).toHaveLength(1);
  });

  it('two takers racing for the spares never get the same file', async () => {
    await mkdir(join(incoming(), 'tmp'), { recursive: true });
    const giver = new SparePool(wd);
    for (let i = 0; i < 20; i++) {
      const p = join(incoming(), `s${i}`);
      await writeFile(p, `spare ${i}`);
      expect(giver.give('m', p)).toBe('spared');
    }
    // Two processes' pools: separate caches of the same folder.
    const a = new SparePool(wd);
    const b = new SparePool(wd);
    const got: string[] = [];
    for (let i = 0; i < 30; i++) {
      for (const [who, pool] of [['a', a], ['b', b]] as const) {
        const dest = join(incoming(), 'tmp', `${who}${i}`);
        if (pool.take('m', dest)) got.push(await readFile(dest, 'utf8'));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(got).toHaveLength(20);
    expect(new Set(got).size).toBe(20);
  });

  it('spares untouched for ten minutes are deleted (trimSpares, and the sweep)', async () => {
    const w = new QueueWriter(wd);
    const a = await queue(w, 'old mail\r\n');
    await writeControl(wd, { ...(await readControl(wd, a)), retries: 1 });
    await removeMessage(wd, a);
    const names = await spares();
    expect(names).toHaveLength(2);
    expect(trimSpares(wd)).toEqual([]); // fresh
    const later = Date.now() + 11 * 60_000;
    expect(trimSpares(wd, undefined, later).sort()).toEqual(names.map((n) => join(sparesDir(wd), n)).sort());
    expect(await spares()).toEqual([]);

    const b = await queue(w, 'more old mail\r\n');
    await writeControl(wd, { ...(await readControl(wd, b)), retries: 1 });
    await removeMessage(wd, b);
    const old = new Date(Date.now() - 20 * 60_000);
    for (const n of await spares()) await utimes(join(sparesDir(wd), n), old, old);
    const report = await sweepOrphans(wd, { now: Date.now() + 11 * 60_000 });
    expect(report.removed.filter((p) => p.startsWith(sparesDir(wd)))).toHaveLength(2);
  });
});
