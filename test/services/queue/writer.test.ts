import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { QueueWriter } from '../../../services/queue/writer.js';
import { listQueue, listQueueIds, messageFile, readControl, readMessageBytes } from '../../../services/queue/store.js';
import { sweepOrphans } from '../../../services/queue/sweep.js';
import { freshWorkdir, removeWorkdir, sampleRecord, startChild, stopChild, until, type Child } from './helpers.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

let wd: string;
const children: Child[] = [];
beforeEach(async () => {
  wd = await freshWorkdir();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
  await removeWorkdir(wd);
});

const incoming = () => join(wd, 'incoming');
const tmpFiles = async () => readdir(join(wd, 'incoming', 'tmp'));
/** What a runner would see: the queue entries besides the counter and the tmp folder. */
/** (`.owner.*`: this process's lock owner file, what the counter lock links to.) */
const queueFiles = async () =>
  (await readdir(incoming())).filter((n) => n !== '.seq' && n !== 'tmp' && !n.startsWith('.owner.')).sort();
/** A queued message's bytes, read as delivery reads them. */
const messageOf = async (id: string) => {
  const rec = await readControl(wd, id);
  return readMessageBytes(messageFile(wd, rec), rec.size);
};
/** Whole: exactly `size` bytes, all `m` (what the `write` child writes). */
const isWholeM = (b: Buffer, size: number) => b.length === size && size > 0 && b.every((c) => c === 0x6d);

describe('QueueWriter', () => {
  it('commit makes one file <ID>.$CP appear: the message, then its envelope and the last line', async () => {
    const w = new QueueWriter(wd);
    const p = await w.begin();
    expect(p.id).toMatch(/^B\d{10}$/);
    // Nothing visible while writing.
    await p.write(Buffer.from(`Received: from x by gw (Sekisho) id ${p.id}\r\n`));
    await p.write(Buffer.from('Subject: hi\r\n\r\nbody\r\n'));
    expect(await queueFiles()).toEqual([]);
    // Under 128 KiB nothing is on disk yet: commit creates and flushes the file in one write.
    expect(await tmpFiles()).toEqual([]);
    const id = await p.commit(sampleRecord('to@example.jp'));
    expect(id).toBe(p.id);
    expect(await queueFiles()).toEqual([`${id}.$CP`]);
    expect(await tmpFiles()).toEqual([]);
    const data = `Received: from x by gw (Sekisho) id ${id}\r\nSubject: hi\r\n\r\nbody\r\n`;
    expect((await messageOf(id)).toString()).toBe(data);
    const rec = await readControl(wd, id);
    expect(rec.format).toBe('sekisho-queue/2');
    expect(rec.id).toBe(id);
    expect(rec.size).toBe(Buffer.byteLength(data));
    expect(rec.recipients[0].address).toBe('to@example.jp');
    // Plain text for an admin: the message, then the envelope pretty printed (format first),
    // then the last line that says where the two are.
    const text = await readFile(join(incoming(), `${id}.$CP`), 'utf8');
    expect(text.startsWith(data + '{\n  "format": "sekisho-queue/2",\n  "id": "' + id + '",\n')).toBe(true);
    const envelope = text.slice(data.length, text.lastIndexOf('}\n') + 2);
    expect(JSON.parse(envelope)).toEqual(rec);
    expect(text.endsWith(`}\nsekisho-queue/2 message=${rec.size} envelope=${Buffer.byteLength(envelope)}\n`)).toBe(true);
  });

  it('a message past 128 KiB streams into a temp file before commit, and commits whole', async () => {
    const w = new QueueWriter(wd);
    const p = await w.begin();
    const parts = [Buffer.alloc(70_000, 'a'), Buffer.alloc(70_000, 'b'), Buffer.from('tail\r\n')];
    for (const part of parts) await p.write(part);
    expect(await tmpFiles()).toHaveLength(1);
    expect(await queueFiles()).toEqual([]);
    const id = await p.commit(sampleRecord('to@example.jp'));
    expect(await tmpFiles()).toEqual([]);
    expect(await messageOf(id)).toEqual(Buffer.concat(parts));
    expect((await readControl(wd, id)).size).toBe(140_006);
  });

  it('an empty message is a queue file of its envelope alone', async () => {
    const w = new QueueWriter(wd);
    const p = await w.begin();
    const id = await p.commit(sampleRecord('to@example.jp'));
    expect((await messageOf(id)).length).toBe(0);
    expect((await readFile(join(incoming(), `${id}.$CP`), 'utf8')).startsWith('{\n  "format": "sekisho-queue/2"')).toBe(true);
  });

  it('ready() reports an unusable queue folder at start', async () => {
    await writeFile(join(wd, 'incoming'), 'a file where the folder should be');
    await expect(new QueueWriter(wd).ready()).rejects.toThrow();
  });

  it('abort leaves nothing behind', async () => {
    const w = new QueueWriter(wd);
    const p = await w.begin();
    await p.write(Buffer.alloc(200_000, 'a'));
    await p.abort();
    expect(await queueFiles()).toEqual([]);
    expect(await tmpFiles()).toEqual([]);
    await expect(p.write(Buffer.from('x'))).rejects.toThrow(/aborted/);
    await p.abort(); // idempotent
  });

  it('a record that does not validate is refused and leaves nothing', async () => {
    const w = new QueueWriter(wd);
    const p = await w.begin();
    await p.write(Buffer.from('x'));
    await expect(p.commit({ ...sampleRecord(), recipients: [] })).rejects.toThrow(/recipients/);
    expect(await queueFiles()).toEqual([]);
    expect(await tmpFiles()).toEqual([]);
  });

  it('many parallel commits all land, with distinct ids', async () => {
    const w = new QueueWriter(wd);
    const ids = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const p = await w.begin();
        await p.write(Buffer.from(`message ${i}\r\n`));
        return p.commit(sampleRecord(`u${i}@example.jp`));
      }),
    );
    expect(new Set(ids).size).toBe(40);
    expect((await listQueue(wd)).map((r) => r.id)).toEqual([...ids].sort());
  });

  it('streams a 50 MB message without holding it in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gcNow = runInNewContext('gc') as () => void;
    // Two collections with a turn of the event loop between: finished I/O requests release
    // their buffers only once their callbacks ran.
    const gc = async () => {
      gcNow();
      await new Promise((r) => setImmediate(r));
      gcNow();
    };
    const w = new QueueWriter(wd);
    const p = await w.begin();
    await gc();
    const before = process.memoryUsage();
    const chunk = 64 * 1024;
    const total = 50 * 1024 * 1024;
    for (let off = 0; off < total; off += chunk) {
      // A fresh buffer each time, as a socket gives them.
      await p.write(Buffer.alloc(chunk, off % 251));
    }
    await gc();
    const after = process.memoryUsage();
    // heap + buffers outside the heap: a writer that kept the chunks would hold 50 MB here.
    const growth = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(growth).toBeLessThan(20 * 1024 * 1024);
    const id = await p.commit(sampleRecord());
    expect((await stat(join(incoming(), `${id}.$CP`))).size).toBeGreaterThan(total);
    expect((await readControl(wd, id)).size).toBe(total);
  });

  it('a writer killed mid-write leaves nothing the runner picks up, and the sweep removes the rest', async () => {
    const c = startChild('write', [wd, 'hang']);
    children.push(c);
    const line = await c.waitFor((l) => l.startsWith('writing '));
    const id = line.split(' ')[1];
    await stopChild(c, 'SIGKILL');
    expect(await listQueueIds(wd)).toEqual([]);
    expect(await queueFiles()).toEqual([]);
    const left = await tmpFiles();
    expect(left).toHaveLength(1);
    expect(left[0].startsWith(`${id}.`)).toBe(true);
    const report = await sweepOrphans(wd);
    // The temp file, and the dead writer's lock owner file (its ID counter lock linked to it).
    const owners = report.removed.filter((p) => p.startsWith(join(incoming(), '.owner.')));
    expect(owners).toHaveLength(1);
    expect(report.removed.filter((p) => !owners.includes(p))).toEqual([join(incoming(), 'tmp', left[0])]);
    expect(await tmpFiles()).toEqual([]);
    expect((await readdir(incoming())).filter((n) => n.startsWith('.owner.'))).toEqual([]);
  });

  it('killed at any moment of a stream of commits: every control file is complete and its data whole', async () => {
    const c = startChild('write', [wd, 'loop']);
    children.push(c);
    // Let it commit a few, then kill it wherever it is.
    await c.waitFor((l) => l.startsWith('committed ') && Number(l.slice(11)) >= 0 && c.lines.length >= 15, 30_000);
    await stopChild(c, 'SIGKILL');
    const committed = c.lines.filter((l) => l.startsWith('committed ')).map((l) => l.slice(10));
    const ids = await listQueueIds(wd);
    // Every message the child saw committed (its "250") is there.
    for (const id of committed) expect(ids).toContain(id);
    // At most the one in flight beyond that.
    expect(ids.length - committed.length).toBeLessThanOrEqual(1);
    // Every queue file is whole: all its `m` bytes (small and streamed ones), its envelope.
    for (const id of ids) {
      const rec = await readControl(wd, id);
      expect(isWholeM(await messageOf(id), rec.size), id).toBe(true);
    }
    // Anything else left (the temp file of the commit in flight) is the sweep's: the writer is dead.
    await sweepOrphans(wd, { now: Date.now() + 120_000 });
    expect(await tmpFiles()).toEqual([]);
    expect(await queueFiles()).toEqual(ids.map((id) => `${id}.$CP`));
  });

  // The instant between "the queue file is written and flushed" and "it is renamed into
  // incoming/", held open for real: strace's fault injection stops every rename the writer
  // makes from then on for a minute, and the writer is killed while its commit waits there.
  it.skipIf(process.platform !== 'linux' || !existsSync('/usr/bin/strace'))(
    'killed between the durable write and the rename: nothing queued, nothing half visible, the message before it whole',
    async () => {
      const c = startChild('write', [wd, 'step']);
      children.push(c);
      const ready = await c.waitFor((l) => l.startsWith('ready '));
      const [, id, bytes] = ready.split(' ');
      const first = c.lines.find((l) => l.startsWith('committed '))!.slice(10);
      const tracer = spawn(
        'strace',
        ['-f', '-p', String(c.proc.pid), '-e', 'trace=rename,renameat,renameat2', '-e', 'inject=rename,renameat,renameat2:delay_enter=60000000', '-o', '/dev/null'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      try {
        let err = '';
        tracer.stderr!.on('data', (d) => (err += d));
        await until(() => /attached/.test(err), 10_000);
        await new Promise((r) => setTimeout(r, 200)); // every thread of the child attached
        c.proc.stdin!.write('go\n');
        // The commit's one write: the message and its envelope, durable in the temp file.
        const done = new RegExp(`sekisho-queue/2 message=${bytes} envelope=\\d+\\n$`);
        let tmp = '';
        await until(async () => {
          const names = await tmpFiles();
          if (names.length !== 1) return false;
          tmp = join(incoming(), 'tmp', names[0]);
          return done.test((await readFile(tmp)).toString('latin1'));
        }, 10_000);
        await new Promise((r) => setTimeout(r, 300)); // now inside (or just before) the held rename
        c.proc.kill('SIGKILL');
      } finally {
        // A traced process's death is reported once the tracer lets go of it.
        tracer.kill('SIGTERM');
        await new Promise((r) => (tracer.exitCode !== null ? r(null) : tracer.once('exit', r)));
      }
      await stopChild(c, 'SIGKILL');
      expect(c.lines).not.toContain(`committed ${id}`); // no 250 was given for it
      expect(await listQueueIds(wd)).toEqual([first]);
      expect(await queueFiles()).toEqual([`${first}.$CP`]);
      expect(isWholeM(await messageOf(first), 3000)).toBe(true);
      const left = await tmpFiles();
      expect(left).toHaveLength(1);
      expect(left[0].startsWith(`${id}.`)).toBe(true);
      const report = await sweepOrphans(wd);
      expect(report.removed).toContain(join(incoming(), 'tmp', left[0]));
      expect(await tmpFiles()).toEqual([]);
      expect(await listQueueIds(wd)).toEqual([first]);
    },
    30_000,
  );

  it('two writer processes (two receivers) on one folder: every commit lands under its own id', async () => {
    const kids = [startChild('write', [wd, 'loop']), startChild('write', [wd, 'loop'])];
    children.push(...kids);
    const enough = (k: Child) => k.waitFor(() => k.lines.filter((l) => l.startsWith('committed ')).length >= 10, 30_000);
    await Promise.all(kids.map(enough));
    await Promise.all(kids.map((k) => stopChild(k, 'SIGKILL')));
    const committed = kids.map((k) => k.lines.filter((l) => l.startsWith('committed ')).map((l) => l.slice(10)));
    const all = [...committed[0], ...committed[1]];
    expect(new Set(all).size).toBe(all.length);
    const ids = await listQueueIds(wd);
    for (const id of all) expect(ids).toContain(id);
    for (const id of ids) {
      const rec = await readControl(wd, id);
      expect(isWholeM(await messageOf(id), rec.size), id).toBe(true);
    }
  });
});
