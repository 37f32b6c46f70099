import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLog, tailLog, listLogDays, type LogTail } from '../../../services/logs/read.js';
import { freshWorkdir, removeWorkdir, until } from './helpers.js';

let wd: string;
let tail: LogTail | null = null;
beforeEach(async () => {
  wd = await freshWorkdir();
  await mkdir(join(wd, 'log', 'sender'), { recursive: true });
});
afterEach(async () => {
  tail?.close();
  tail = null;
  await removeWorkdir(wd);
});

const file = (day: string) => join(wd, 'log', 'sender', `${day}.log`);
const today = new Date(2026, 10, 23, 12, 0, 0);

describe('readLog', () => {
  it('returns the last `limit` lines of today by default, newest last (CRLF or LF)', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `[12:00:00:000] [B${String(i).padStart(10, '0')}] step ${i}`);
    await writeFile(file('261123'), lines.join('\r\n') + '\r\n');
    const got = await readLog(wd, { kind: 'sender' }, today);
    expect(got).toHaveLength(500);
    expect(got[0]).toEqual({ day: '261123', text: lines[500] });
    expect(got[499].text).toBe(lines[999]);
    expect((await readLog(wd, { kind: 'sender', limit: 3 }, today)).map((l) => l.text)).toEqual(lines.slice(-3));
  });

  it('reads the end of a big file without losing a line at block boundaries', async () => {
    // ~3 MB of lines of varying length, multi-byte characters included.
    const lines = Array.from({ length: 30_000 }, (_, i) => `[12:00:00:000] [B0000000001] 配送 ${'x'.repeat(i % 97)} ${i}`);
    await writeFile(file('261123'), lines.join('\n') + '\n');
    const got = await readLog(wd, { kind: 'sender', limit: 5000 }, today);
    expect(got.map((l) => l.text)).toEqual(lines.slice(-5000));
  });

  it('one named day; a missing day is empty; a malformed day is refused', async () => {
    await writeFile(file('261101'), 'a\nb\n');
    expect((await readLog(wd, { kind: 'sender', day: '261101' })).map((l) => l.text)).toEqual(['a', 'b']);
    expect(await readLog(wd, { kind: 'sender', day: '261102' })).toEqual([]);
    await expect(readLog(wd, { kind: 'sender', day: '../../x' })).rejects.toThrow(/YYMMDD/);
  });

  it('search within a day is a case-insensitive substring', async () => {
    await writeFile(file('261123'), '[1] [B0000000097] to <Yamada@Test.jp>\n[2] [B0000000098] to <x@y>\n[3] [B0000000097] delivered\n');
    expect((await readLog(wd, { kind: 'sender', search: 'yamada@test.JP' }, today)).map((l) => l.text)).toEqual([
      '[1] [B0000000097] to <Yamada@Test.jp>',
    ]);
    expect(await readLog(wd, { kind: 'sender', search: 'b0000000097' }, today)).toHaveLength(2);
  });

  it('search across days: newest days first until the limit, returned newest last', async () => {
    await writeFile(file('261121'), 'B0000000001 old a\nnoise\nB0000000001 old b\n');
    await writeFile(file('261122'), 'noise\n');
    await writeFile(file('261123'), 'B0000000001 new a\nB0000000001 new b\n');
    await writeFile(join(wd, 'log', 'sender', 'readme.txt'), 'B0000000001 not a log\n');
    const all = await readLog(wd, { kind: 'sender', search: 'B0000000001', acrossDays: true }, today);
    expect(all).toEqual([
      { day: '261121', text: 'B0000000001 old a' },
      { day: '261121', text: 'B0000000001 old b' },
      { day: '261123', text: 'B0000000001 new a' },
      { day: '261123', text: 'B0000000001 new b' },
    ]);
    const three = await readLog(wd, { kind: 'sender', search: 'B0000000001', acrossDays: true, limit: 3 }, today);
    expect(three.map((l) => l.text)).toEqual(['B0000000001 old b', 'B0000000001 new a', 'B0000000001 new b']);
    expect(await listLogDays(wd, 'sender')).toEqual(['261123', '261122', '261121']);
  });
});

describe('tailLog', () => {
  it('follows new complete lines from the current end, then the next day after midnight', async () => {
    let now = new Date(2026, 10, 23, 23, 59, 0);
    await writeFile(file('261123'), 'already there\n');
    const got: string[] = [];
    tail = tailLog(wd, 'sender', (line, day) => got.push(`${day} ${line}`), { pollMs: 20, now: () => now });
    await new Promise((r) => setTimeout(r, 100));
    await appendFile(file('261123'), 'one\r\ntw');
    await until(() => got.length === 1);
    await appendFile(file('261123'), 'o\n');
    await until(() => got.length === 2);
    // Midnight: the last line of the old day, then the new day's file from its start.
    await appendFile(file('261123'), 'last of the day\n');
    await writeFile(file('261124'), 'first of the new day\n');
    now = new Date(2026, 10, 24, 0, 0, 1);
    await until(() => got.length === 4);
    expect(got).toEqual(['261123 one', '261123 two', '261123 last of the day', '261124 first of the new day']);
  });

  it('waits for a file that does not exist yet', async () => {
    const got: string[] = [];
    tail = tailLog(wd, 'sender', (line) => got.push(line), { pollMs: 20, now: () => today });
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(file('261123'), 'hello\n');
    await until(() => got.length === 1);
    expect(got).toEqual(['hello']);
  });
});
