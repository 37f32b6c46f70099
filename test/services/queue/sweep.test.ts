import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, unlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { sweepOrphans } from '../../../services/queue/sweep.js';
import { QueueWriter } from '../../../services/queue/writer.js';
import { controlPath, messagePath, readControl, statePath, writeControl } from '../../../services/queue/store.js';
import { copyFormat1Queue } from './fixtures/format1.js';
import { deadPid, freshWorkdir, removeWorkdir, sampleRecord } from './helpers.js';

let wd: string;
let inc: string;
let tmp: string;
beforeEach(async () => {
  wd = await freshWorkdir();
  inc = join(wd, 'incoming');
  tmp = join(inc, 'tmp');
  await mkdir(tmp, { recursive: true });
});
afterEach(() => removeWorkdir(wd));

const ls = async (d: string) => (await readdir(d)).filter((n) => n !== 'tmp').sort();

describe('sweepOrphans', () => {
  it('removes an orphan .MSG (crash between the renames) once older than a minute, keeps complete messages', async () => {
    await writeFile(join(inc, 'B0000000001.MSG'), 'orphan');
    await writeFile(join(inc, 'B0000000002.MSG'), 'queued');
    await writeFile(join(inc, 'B0000000002.$CP'), '{}');
    // Young: a commit may be between its two renames right now.
    expect((await sweepOrphans(wd)).removed).toEqual([]);
    expect(await ls(inc)).toEqual(['B0000000001.MSG', 'B0000000002.$CP', 'B0000000002.MSG']);
    const r = await sweepOrphans(wd, { now: Date.now() + 61_000 });
    expect(r.removed).toEqual([join(inc, 'B0000000001.MSG')]);
    expect(await ls(inc)).toEqual(['B0000000002.$CP', 'B0000000002.MSG']);
  });

  it('removes temp files of dead writers at once, and of live ones only when stale', async () => {
    const dead = await deadPid();
    await writeFile(join(tmp, `B0000000005.${dead}.abcdef.MSG.tmp`), 'partial');
    await writeFile(join(tmp, `B0000000005.${dead}.abcdef.$CP.tmp`), '{');
    await writeFile(join(tmp, `B0000000006.${process.pid}.abcdef.MSG.tmp`), 'being written');
    await sweepOrphans(wd);
    expect(await readdir(tmp)).toEqual([`B0000000006.${process.pid}.abcdef.MSG.tmp`]);
    // Untouched for more than an hour (a writer that hung): removed.
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(tmp, `B0000000006.${process.pid}.abcdef.MSG.tmp`), old, old);
    await sweepOrphans(wd, { now: Date.now() + 2 * 3600_000 });
    expect(await readdir(tmp)).toEqual([]);
  });

  it('reports a control file without its data, and leaves it', async () => {
    await writeFile(join(inc, 'B0000000003.$CP'), '{}');
    const r = await sweepOrphans(wd, { now: Date.now() + 61_000 });
    expect(r.problems).toEqual([`${join(inc, 'B0000000003.$CP')}: control file without its message B0000000003.MSG`]);
    expect(await ls(inc)).toEqual(['B0000000003.$CP']);
  });

  it('removes a dead runner’s claim of a message that is gone, keeps live claims', async () => {
    const dead = await deadPid();
    await writeFile(join(inc, 'B0000000004.lock'), `${dead} ${hostname()} 2020-01-01T00:00:00.000Z 00\n`);
    await writeFile(join(inc, 'B0000000007.lock'), `${process.ppid} ${hostname()} 2020-01-01T00:00:00.000Z 00\n`);
    const r = await sweepOrphans(wd);
    expect(r.removed).toEqual([join(inc, 'B0000000004.lock')]);
    expect(await ls(inc)).toEqual(['B0000000007.lock']);
  });

  it('removes a dead process’s lock owner file, keeps a live one’s', async () => {
    const dead = await deadPid();
    await writeFile(join(inc, `.owner.${dead}.ab12`), `${dead} ${hostname()} 2020-01-01T00:00:00.000Z ab12\n`);
    await writeFile(join(inc, `.owner.${process.ppid}.cd34`), `${process.ppid} ${hostname()} 2020-01-01T00:00:00.000Z cd34\n`);
    const r = await sweepOrphans(wd);
    expect(r.removed).toEqual([join(inc, `.owner.${dead}.ab12`)]);
    expect(await ls(inc)).toEqual([`.owner.${process.ppid}.cd34`]);
  });

  it('removes leftovers of crashed lock and counter writers', async () => {
    const dead = await deadPid();
    const names = [`.seq.${dead}.tmp`, `.seq.lock.${dead}.ab12.new`, `B0000000008.lock.${dead}.cd34.gone`, `B0000000008.lock.break.${dead}.ef.new`];
    for (const n of names) await writeFile(join(inc, n), 'x');
    // The counter temp of a dead writer goes at once; the lock helpers' files once a minute old.
    expect((await sweepOrphans(wd)).removed).toEqual([join(inc, `.seq.${dead}.tmp`)]);
    await sweepOrphans(wd, { now: Date.now() + 61_000 });
    expect(await ls(inc)).toEqual([]);
  });
});

describe('sweepOrphans and the two queue formats', () => {
  async function queue(body: string): Promise<string> {
    const p = await new QueueWriter(wd).begin();
    await p.write(Buffer.from(body));
    return p.commit(sampleRecord());
  }

  it('a format-2 queue (queue files with and without a state, small and streamed) gets no orphan report', async () => {
    const small = await queue('Subject: small\r\n\r\nhello\r\n');
    const big = await queue(`Subject: big\r\n\r\n${'y'.repeat(300_000)}\r\n`); // streamed (> 128 KiB)
    await writeControl(wd, { ...(await readControl(wd, small)), retries: 1 });
    for (const now of [Date.now(), Date.now() + 61_000]) {
      const r = await sweepOrphans(wd, { now });
      expect(r.problems).toEqual([]);
      expect(r.removed).toEqual([]);
    }
    for (const f of [controlPath(wd, small), statePath(wd, small), controlPath(wd, big)]) expect(existsSync(f)).toBe(true);
  });

  it('a format-1 control record whose .MSG is gone is still reported, next to format-2 messages', async () => {
    await copyFormat1Queue(wd);
    await unlink(messagePath(wd, 'B0000000097'));
    await queue('Subject: new\r\n\r\nhello\r\n');
    const r = await sweepOrphans(wd, { now: Date.now() + 61_000 });
    expect(r.problems).toEqual([`${controlPath(wd, 'B0000000097')}: control file without its message B0000000097.MSG`]);
    expect(existsSync(controlPath(wd, 'B0000000097'))).toBe(true); // left for the administrator
  });

  it('removes a state file whose queue file is gone (crash inside removeMessage) once a minute old; a queued message keeps its state', async () => {
    const id = await queue('Subject: queued\r\n\r\nhello\r\n');
    await writeControl(wd, { ...(await readControl(wd, id)), retries: 1 });
    await writeFile(statePath(wd, 'B0000000077'), '{}');
    expect((await sweepOrphans(wd)).removed).toEqual([]); // young: left alone
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(statePath(wd, 'B0000000077'), old, old);
    await utimes(statePath(wd, id), old, old);
    expect((await sweepOrphans(wd, { now: Date.now() + 2 * 60_000 })).removed).toEqual([statePath(wd, 'B0000000077')]);
    expect(existsSync(statePath(wd, id))).toBe(true);
    expect((await readControl(wd, id)).retries).toBe(1);
  });
});
