import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLogs, type Logs } from '../../../services/logs/index.js';
import { freshWorkdir, removeWorkdir, until } from './helpers.js';

let wd: string;
let logs: Logs | null = null;
const savedTz = process.env.TZ;
beforeEach(async () => {
  wd = await freshWorkdir();
});
afterEach(async () => {
  await logs?.close();
  logs = null;
  process.env.TZ = savedTz;
  await removeWorkdir(wd);
});

const read = (kind: string, day: string) => readFile(join(wd, 'log', kind, `${day}.log`), 'utf8');

describe('openLogs', () => {
  it('writes the three logs into daily files named by the LOCAL date', async () => {
    process.env.TZ = 'Asia/Tokyo';
    // 15:30 UTC on 23 Nov is 00:30 on 24 Nov in Tokyo: the file is 261124.
    const at = new Date(Date.UTC(2026, 10, 23, 15, 30, 5, 42));
    logs = openLogs(wd, { now: () => at, eol: '\n' });
    logs.accept({ ip: '192.0.2.1', port: 53211, localPort: 25, accepted: true });
    logs.receive('s1', '<', 'EHLO pc1.test.jp');
    logs.sender('B0000000186', 'queued');
    await logs.close();
    expect(await read('accept', '261124')).toBe('[24/Nov/2026:00:30:05] 192.0.2.1:53211 -> :25 accepted\n');
    expect(await read('receive', '261124')).toBe('[24/Nov/2026:00:30:05], s1, < EHLO pc1.test.jp\n');
    expect(await read('sender', '261124')).toBe('[00:30:05:042] [B0000000186] queued\n');
  });

  it('CRLF when asked (the Windows default), UTF-8 text', async () => {
    const at = new Date(2026, 10, 23, 12, 0, 0);
    logs = openLogs(wd, { now: () => at, eol: '\r\n' });
    logs.sender('B0000000001', '宛先 <山田@test.jp> delivered');
    logs.sender('B0000000001', 'done');
    await logs.close();
    expect(await read('sender', '261123')).toBe('[12:00:00:000] [B0000000001] 宛先 <山田@test.jp> delivered\r\n[12:00:00:000] [B0000000001] done\r\n');
  });

  it('rolls over at midnight: lines go to the file of the day they were logged', async () => {
    let at = new Date(2026, 10, 23, 23, 59, 59, 900);
    logs = openLogs(wd, { now: () => at, eol: '\n' });
    logs.sender('B0000000001', 'before midnight');
    at = new Date(2026, 10, 24, 0, 0, 0, 100);
    logs.sender('B0000000001', 'after midnight');
    await logs.close();
    expect(await read('sender', '261123')).toBe('[23:59:59:900] [B0000000001] before midnight\n');
    expect(await read('sender', '261124')).toBe('[00:00:00:100] [B0000000001] after midnight\n');
  });

  it('flushes on its own within a fraction of a second, without close', async () => {
    const at = new Date(2026, 10, 23, 12, 0, 0);
    logs = openLogs(wd, { now: () => at, eol: '\n' });
    logs.receive('s', '>', '220 gw.test.jp ESMTP');
    await until(async () => (await read('receive', '261123').catch(() => '')).includes('220 gw.test.jp'), 5_000);
  });

  it('thousands of lines across early flushes (buffer limit) all land, in order', async () => {
    const at = new Date(2026, 10, 23, 12, 0, 0);
    logs = openLogs(wd, { now: () => at, eol: '\n' });
    for (let i = 0; i < 5000; i++) logs.receive(`s${i % 20}`, '<', `RCPT TO:<user${i}@test.jp>`);
    await logs.flush();
    const lines = (await read('receive', '261123')).trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    expect(lines[4999]).toBe('[23/Nov/2026:12:00:00], s19, < RCPT TO:<user4999@test.jp>');
  });

  it('masks AUTH in the receive log, per session, with sessions interleaved', async () => {
    const at = new Date(2026, 10, 23, 12, 0, 0);
    logs = openLogs(wd, { now: () => at, eol: '\n' });
    logs.receive('A', '<', 'AUTH LOGIN');
    logs.receive('A', '>', '334 VXNlcm5hbWU6');
    logs.receive('B', '<', 'MAIL FROM:<b@test.jp>'); // another session: not an AUTH answer
    logs.receive('A', '<', 'dGFuYWth');
    logs.receive('A', '>', '334 UGFzc3dvcmQ6');
    logs.receive('A', '<', 'c2VjcmV0');
    logs.receive('A', '>', '235 2.7.0 ok');
    logs.receive('B', '<', 'AUTH PLAIN AHRhbmFrYQBzZWNyZXQ=');
    logs.receive('A', '<', 'MAIL FROM:<tanaka@test.jp>');
    await logs.close();
    const text = await read('receive', '261123');
    expect(text.split('\n').map((l) => l.slice(l.indexOf(', ') + 2))).toEqual([
      'A, < AUTH LOGIN',
      'A, > 334 VXNlcm5hbWU6',
      'B, < MAIL FROM:<b@test.jp>',
      'A, < ****',
      'A, > 334 UGFzc3dvcmQ6',
      'A, < ****',
      'A, > 235 2.7.0 ok',
      'B, < AUTH PLAIN ****',
      'A, < MAIL FROM:<tanaka@test.jp>',
      '',
    ]);
    expect(text).not.toMatch(/dGFuYWth|c2VjcmV0|AHRhbmFrYQBzZWNyZXQ/);
  });

  it('prunes old files at open by logs.retentionDays', async () => {
    await mkdir(join(wd, 'log', 'accept'), { recursive: true });
    await writeFile(join(wd, 'log', 'accept', '200101.log'), 'old\n');
    await writeFile(join(wd, 'log', 'accept', '261120.log'), 'recent\n');
    logs = openLogs(wd, { retentionDays: 30, now: () => new Date(2026, 10, 23, 12, 0, 0) });
    await until(async () => !(await readdir(join(wd, 'log', 'accept'))).includes('200101.log'));
    expect(await readdir(join(wd, 'log', 'accept'))).toEqual(['261120.log']);
  });

  it('prunes again when the day changes', async () => {
    const dir = join(wd, 'log', 'sender');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '261121.log'), 'x\n');
    await writeFile(join(dir, '261122.log'), 'x\n');
    let at = new Date(2026, 10, 23, 23, 59, 0);
    logs = openLogs(wd, { retentionDays: 1, now: () => at, eol: '\n' });
    await until(async () => !(await readdir(dir)).includes('261121.log'));
    logs.sender('B0000000001', 'late');
    at = new Date(2026, 10, 24, 0, 1, 0);
    logs.sender('B0000000001', 'next day');
    await until(async () => !(await readdir(dir)).includes('261122.log'));
    await logs.flush();
    expect((await readdir(dir)).sort()).toEqual(['261123.log', '261124.log']);
  });
});
