import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
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
} from '../../../services/queue/store.js';
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
    expect(scan.problems[0].message).toMatch(/B0000000050\.\$CP: not valid JSON/);
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
