import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pruneOldLogs } from '../../../services/logs/retention.js';
import { freshWorkdir, removeWorkdir } from './helpers.js';

let wd: string;
beforeEach(async () => {
  wd = await freshWorkdir();
  for (const k of ['accept', 'receive', 'sender']) {
    await mkdir(join(wd, 'log', k), { recursive: true });
    for (const f of ['261123.log', '260825.log', '260824.log', '250101.log', 'notes.txt', '999999.log']) {
      await writeFile(join(wd, 'log', k, f), 'x\n');
    }
  }
});
afterEach(() => removeWorkdir(wd));

const now = new Date(2026, 10, 23, 10, 0, 0); // 23 Nov 2026, local

describe('pruneOldLogs', () => {
  it('keeps today and the retentionDays days before it, deletes older day files only', async () => {
    const removed = await pruneOldLogs(wd, 90, now);
    expect(removed).toHaveLength(6);
    for (const k of ['accept', 'receive', 'sender']) {
      // 90 days before 23 Nov is 25 Aug: kept; 24 Aug and older: deleted. Names that are not
      // a real day are not ours to touch.
      expect((await readdir(join(wd, 'log', k))).sort()).toEqual(['260825.log', '261123.log', '999999.log', 'notes.txt']);
    }
  });

  it('0 keeps everything', async () => {
    expect(await pruneOldLogs(wd, 0, now)).toEqual([]);
    expect(await readdir(join(wd, 'log', 'sender'))).toHaveLength(6);
  });

  it('a missing log folder is fine', async () => {
    expect(await pruneOldLogs(join(wd, 'nothing'), 10, now)).toEqual([]);
  });
});
