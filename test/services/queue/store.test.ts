import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, truncate, utimes, writeFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  QueueFormatError,
  listQueue,
  readControl,
  removeMessage,
  scanQueue,
  writeControl,
  messagePath,
  controlPath,
  statePath,
  messageFile,
  readMessageBytes,
} from '../../../services/queue/store.js';
import { sweepOrphans } from '../../../services/queue/sweep.js';
import { QueueWriter } from '../../../services/queue/writer.js';
import { copyFormat1Queue, FORMAT1_IDS } from './fixtures/format1.js';
import type { ControlRecord } from '../../../services/queue/types.js';
import { freshWorkdir, removeWorkdir, sampleRecord } from './helpers.js';

let wd: string;
beforeEach(async () => {
  wd = await freshWorkdir();
  await mkdir(join(wd, 'incoming'), { recursive: true });
});
afterEach(() => removeWorkdir(wd));

function record(id: string): ControlRecord {
  return { ...sampleRecord(), format: 'sekisho-queue/1', id, size: 5 };
}

async function put(id: string, cp: string | ControlRecord = record(id)): Promise<void> {
  await writeFile(messagePath(wd, id), 'hello');
  await writeFile(controlPath(wd, id), typeof cp === 'string' ? cp : JSON.stringify(cp));
}

describe('queue store', () => {
  it('writeControl replaces a record atomically and readControl reads it back', async () => {
    await put('B0000000010');
    const r = record('B0000000010');
    r.recipients[0].status = 'delivered';
    r.recipients[0].lastReply = '250 2.0.0 OK';
    await writeControl(wd, r);
    expect(await readControl(wd, 'B0000000010')).toEqual(r);
    // No temp file left behind.
    expect(await readdir(join(wd, 'incoming', 'tmp'))).toEqual([]);
  });

  it('writeControl refuses a record that would not read back', async () => {
    const bad = { ...record('B0000000011'), origin: 'spam' } as unknown as ControlRecord;
    await expect(writeControl(wd, bad)).rejects.toThrow(/origin/);
  });

  it('readControl names the file and the problem of a corrupt control file', async () => {
    await put('B0000000001', '{"format": "sekisho-queue/1", "id": "B0000000001", ');
    const err = await readControl(wd, 'B0000000001').catch((e) => e);
    expect(err).toBeInstanceOf(QueueFormatError);
    expect(err.message).toContain('B0000000001.$CP');
    expect(err.message).toMatch(/not valid JSON/);

    await put('B0000000002', { ...record('B0000000002'), format: 'other/9' } as unknown as ControlRecord);
    await expect(readControl(wd, 'B0000000002')).rejects.toThrow(/unknown format "other\/9"/);

    await put('B0000000003', record('B0000000004'));
    await expect(readControl(wd, 'B0000000003')).rejects.toThrow(/holds id B0000000004/);

    const noRecipients = { ...record('B0000000005'), recipients: [] };
    await put('B0000000005', noRecipients);
    await expect(readControl(wd, 'B0000000005')).rejects.toThrow(/recipients/);
  });

  it('listQueue returns records sorted by id, skipping and reporting unreadable ones', async () => {
    await put('B0000000030');
    await put('B0000000002');
    await put('B0000000100');
    await put('B0000000050', 'not json');
    await writeFile(join(wd, 'incoming', 'notes.txt'), 'ignored');
    const problems: string[] = [];
    const list = await listQueue(wd, (p) => problems.push(p.id));
    expect(list.map((r) => r.id)).toEqual(['B0000000002', 'B0000000030', 'B0000000100']);
    expect(problems).toEqual(['B0000000050']);
    const scan = await scanQueue(wd);
    expect(scan.problems[0].message).toMatch(/B0000000050\.\$CP: has no last line "sekisho-queue\/2 .*is not a control record/);
  });

  it('listQueue of a work folder without a queue is empty', async () => {
    expect(await listQueue(join(wd, 'nowhere'))).toEqual([]);
  });

  it('removeMessage removes control and data; removing twice is harmless', async () => {
    await put('B0000000007');
    await removeMessage(wd, 'B0000000007');
    expect((await readdir(join(wd, 'incoming'))).filter((n) => n.startsWith('B'))).toEqual([]);
    await removeMessage(wd, 'B0000000007');
  });
});

describe('queue format 2 (one queue file, state written after attempts)', () => {
  async function queue(body = 'Subject: x\r\n\r\nhello\r\n', rec = sampleRecord()): Promise<string> {
    const p = await new QueueWriter(wd).begin();
    await p.write(Buffer.from(body));
    return p.commit(rec);
  }

  it('a state update goes to <ID>.$ST and never touches the queue file; readControl returns the latest state', async () => {
    const id = await queue();
    const before = await readFile(controlPath(wd, id));
    const rec = await readControl(wd, id);
    expect(existsSync(statePath(wd, id))).toBe(false);
    const next = { ...rec, retries: 1, recipients: [{ ...rec.recipients[0], attempts: 1, lastReply: '451 4.3.0 later' }] };
    await writeControl(wd, next);
    expect(await readFile(controlPath(wd, id))).toEqual(before);
    expect(JSON.parse(await readFile(statePath(wd, id), 'utf8'))).toEqual(next);
    expect(await readControl(wd, id)).toEqual(next);
    expect(messageFile(wd, next)).toBe(controlPath(wd, id));
    expect(readMessageBytes(messageFile(wd, next), next.size).toString()).toBe('Subject: x\r\n\r\nhello\r\n');
    expect((await listQueue(wd)).map((r) => r.retries)).toEqual([1]);
  });

  it('a queue file whose length does not add up is never read as a message (cut short, or grown)', async () => {
    const a = await queue();
    const full = (await readFile(controlPath(wd, a))).length;
    await truncate(controlPath(wd, a), full - 1);
    await expect(readControl(wd, a)).rejects.toThrow(/has no last line "sekisho-queue\/2/);
    const b = await queue();
    await appendFile(controlPath(wd, b), 'x');
    await expect(readControl(wd, b)).rejects.toThrow(/B\d{10}\.\$CP/);
    // Shift the bytes but keep the length and the last line: the envelope no longer parses.
    const c = await queue();
    const text = await readFile(controlPath(wd, c), 'latin1');
    await writeFile(controlPath(wd, c), 'X' + text.slice(0, text.indexOf('{')) + text.slice(text.indexOf('{') + 1), 'latin1');
    await expect(readControl(wd, c)).rejects.toThrow(QueueFormatError);
    const problems: string[] = [];
    expect(await listQueue(wd, (p) => problems.push(p.id))).toEqual([]);
    expect(problems.sort()).toEqual([a, b, c]);
  });

  it('a format-2 record alone in a .$CP (no message, no last line) is refused, not delivered as empty', async () => {
    await writeFile(controlPath(wd, 'B0000000005'), JSON.stringify({ ...record('B0000000005'), format: 'sekisho-queue/2' }, null, 2) + '\n');
    await expect(readControl(wd, 'B0000000005')).rejects.toThrow(/without its message/);
  });

  it('a corrupt state file is named in the error', async () => {
    const id = await queue();
    await writeFile(statePath(wd, id), '{"format": "sekisho-queue/2"');
    await expect(readControl(wd, id)).rejects.toThrow(/\.\$ST: not valid JSON/);
  });

  it('an envelope longer than the first read from the end (many recipients) reads whole', async () => {
    const many = sampleRecord();
    many.recipients = Array.from({ length: 60 }, (_, i) => ({ ...many.recipients[0], address: `user${i}@example.jp`, original: `user${i}@example.jp` }));
    const id = await queue('Subject: many\r\n\r\n' + 'z'.repeat(10_000) + '\r\n', many);
    expect((await readFile(controlPath(wd, id))).length).toBeGreaterThan(10_000 + 4096);
    expect((await readControl(wd, id)).recipients.map((r) => r.address)).toEqual(many.recipients.map((r) => r.address));
  });

  it('removeMessage takes the queue file and its state; an orphan state (crash between the two) is swept after a minute', async () => {
    const id = await queue();
    await writeControl(wd, { ...(await readControl(wd, id)), retries: 1 });
    await removeMessage(wd, id, { recycle: false, waitForFlush: true });
    expect((await readdir(join(wd, 'incoming'))).filter((n) => n.startsWith(id))).toEqual([]);

    const other = await queue();
    await writeControl(wd, { ...(await readControl(wd, other)), retries: 2 });
    await writeFile(statePath(wd, 'B0000000077'), '{}'); // its queue file gone
    expect((await sweepOrphans(wd)).removed).toEqual([]); // too young: maybe a state being written
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(statePath(wd, 'B0000000077'), old, old);
    expect((await sweepOrphans(wd, { now: Date.now() + 2 * 60_000 })).removed).toEqual([statePath(wd, 'B0000000077')]);
    expect(existsSync(statePath(wd, other))).toBe(true); // a queued message's state stays
  });
});

describe('a format-1 queue after the upgrade', () => {
  it('is read as it was written, updated in place and removed whole', async () => {
    await copyFormat1Queue(wd);
    const recs = await listQueue(wd, (p) => {
      throw new Error(p.message);
    });
    expect(recs.map((r) => [r.id, r.format])).toEqual(FORMAT1_IDS.map((id) => [id, 'sekisho-queue/1']));
    const [a, b] = recs;
    expect(b.recipients.map((r) => r.status)).toEqual(['delivered', 'pending']);
    expect(messageFile(wd, a)).toBe(messagePath(wd, a.id));
    const text = readMessageBytes(messageFile(wd, a), a.size).toString();
    expect(text).toBe(await readFile(messagePath(wd, a.id), 'utf8'));
    expect(text.endsWith('queued before the upgrade\r\n')).toBe(true);

    // An attempt's new state replaces its .$CP (no .$ST for format 1).
    await writeControl(wd, { ...a, retries: 2 });
    expect(existsSync(statePath(wd, a.id))).toBe(false);
    expect(JSON.parse(await readFile(controlPath(wd, a.id), 'utf8')).retries).toBe(2);
    expect((await readControl(wd, a.id)).retries).toBe(2);

    await removeMessage(wd, a.id);
    await removeMessage(wd, b.id, { recycle: false, waitForFlush: true });
    expect((await readdir(join(wd, 'incoming'))).filter((n) => /^B\d{10}\./.test(n))).toEqual([]);
  });

  it('and new messages queued next to it are format 2, above its ids', async () => {
    await copyFormat1Queue(wd);
    const p = await new QueueWriter(wd).begin();
    await p.write(Buffer.from('new\r\n'));
    const id = await p.commit(sampleRecord());
    expect(id > FORMAT1_IDS[1]).toBe(true);
    expect((await listQueue(wd)).map((r) => r.format)).toEqual(['sekisho-queue/1', 'sekisho-queue/1', 'sekisho-queue/2']);
  });
});
