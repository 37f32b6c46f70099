// One search across the three logs, on files written by the real loggers (openLogs).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogs } from '../../../services/logs/index.js';
import { lineTime, searchLogs } from '../../../services/logs/search.js';
import { freshWorkdir, removeWorkdir } from './helpers.js';

let wd: string;
beforeEach(async () => {
  wd = await freshWorkdir();
});
afterEach(async () => {
  await removeWorkdir(wd);
});

/** Two days of one message's life: received on 4 Dec 23:59, delivered on 5 Dec after a retry. */
async function writeDays(): Promise<void> {
  let t = new Date(2026, 11, 4, 23, 59, 58);
  const logs = openLogs(wd, { now: () => t, retentionDays: 0 });
  logs.accept({ ip: '192.0.2.7', port: 50000, localPort: 25, accepted: true });
  logs.receive('c1', '<', 'MAIL FROM:<Taro@Test.jp>');
  logs.receive('c1', '<', 'RCPT TO:<hanako@example.jp>');
  t = new Date(2026, 11, 4, 23, 59, 59);
  logs.receive('c1', '>', '250 2.0.0 Ok: queued as B0000000042');
  logs.sender('B0000000042', 'attempt 1 from=<taro@test.jp> size=10');
  logs.sender('B0000000042', '<hanako@example.jp> deferred (noanswer) host=mx:25: ECONNREFUSED');
  t = new Date(2026, 11, 5, 0, 1, 2, 345);
  logs.sender('B0000000042-R0001', '<hanako@example.jp> delivered host=mx:25: 250 ok');
  logs.accept({ ip: '198.51.100.9', port: 40000, localPort: 25, accepted: false, reason: '554 5.7.1 (effect.dat:3)' });
  // Another message, to show what a search does not find.
  logs.receive('c2', '<', 'RCPT TO:<jiro@example.jp>');
  await logs.close();
}

describe('searchLogs', () => {
  it('finds an address in every log of a day, merged by time, each hit saying its log', async () => {
    await writeDays();
    const hits = await searchLogs(wd, { text: 'hanako@example.jp', day: '261204' });
    expect(hits.map((h) => [h.kind, h.day])).toEqual([
      ['receive', '261204'],
      ['sender', '261204'],
    ]);
    expect(hits[0].time).toBe('2026-12-04T23:59:58.000');
    expect(hits[1].text).toContain('deferred (noanswer)');
  });

  it('a queue ID finds its retries (B…-R0001) across days, oldest first; case does not matter', async () => {
    await writeDays();
    const hits = await searchLogs(wd, { text: 'b0000000042', acrossDays: true });
    expect(hits.map((h) => `${h.day} ${h.kind} ${h.time}`)).toEqual([
      '261204 receive 2026-12-04T23:59:59.000',
      '261204 sender 2026-12-04T23:59:59.000',
      '261204 sender 2026-12-04T23:59:59.000',
      '261205 sender 2026-12-05T00:01:02.345',
    ]);
    expect(hits[3].text).toContain('[B0000000042-R0001] <hanako@example.jp> delivered');
    // The mixed-case sender address is found by its lower-case form.
    expect((await searchLogs(wd, { text: 'taro@test.jp', day: '261204' })).map((h) => h.kind)).toEqual(['receive', 'sender']);
  });

  it('finds an IP in the accept log; kinds and limit narrow the answer; today is the default day', async () => {
    await writeDays();
    const now = new Date(2026, 11, 5, 12, 0, 0);
    const ip = await searchLogs(wd, { text: '198.51.100.9' }, now);
    expect(ip).toHaveLength(1);
    expect(ip[0]).toMatchObject({ kind: 'accept', day: '261205' });
    expect(ip[0].text).toMatch(/refused 554 5\.7\.1 \(effect\.dat:3\)$/);
    expect(await searchLogs(wd, { text: '198.51.100.9', kinds: ['sender'] }, now)).toEqual([]);
    const last = await searchLogs(wd, { text: 'example.jp', acrossDays: true, limit: 2 }, now);
    expect(last.map((h) => h.text)).toEqual([
      // Same second: the receive log's whole-second time sorts before the sender's .345.
      expect.stringContaining('RCPT TO:<jiro@example.jp>'),
      expect.stringContaining('R0001] <hanako@example.jp> delivered'),
    ]);
    await expect(searchLogs(wd, { text: '  ' })).rejects.toThrow(/needs a text/);
    await expect(searchLogs(wd, { text: 'x', day: '2612' })).rejects.toThrow(/YYMMDD/);
  });

  it('reads the time of each log format', () => {
    expect(lineTime('accept', '261205', '[05/Dec/2026:09:08:07] 192.0.2.1:1 -> :25 accepted')).toBe('2026-12-05T09:08:07.000');
    expect(lineTime('sender', '261205', '[09:08:07:006] [B0000000001] x')).toBe('2026-12-05T09:08:07.006');
    expect(lineTime('receive', '261205', 'no prefix')).toBeNull();
  });
});
