// The overview's day counts, from log files written by the real loggers (openLogs) with the
// lines the receiver and the delivery runner write (receiver.ts, delivery/attempt.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogs, type Logs } from '../../../services/logs/index.js';
import { DayTraffic, trafficFromLogs, LAST_ERRORS } from '../../../services/logs/stats.js';
import { appendFile, writeFile } from 'node:fs/promises';
import { logFile } from '../../../services/logs/paths.js';
import { freshWorkdir, removeWorkdir } from './helpers.js';

let wd: string;
beforeEach(async () => {
  wd = await freshWorkdir();
});
afterEach(async () => {
  await removeWorkdir(wd);
});

/** Loggers whose clock the test sets: `at(h, m)` is 5 Dec 2026, local time. */
function loggers(): { logs: Logs; at: (h: number, m?: number) => void } {
  let t = new Date(2026, 11, 5, 0, 0, 0);
  const logs = openLogs(wd, { now: () => t, retentionDays: 0, flushMs: 10_000 });
  return { logs, at: (h, m = 0) => (t = new Date(2026, 11, 5, h, m, 7)) };
}

/** One SMTP session as the receiver logs it. */
function session(logs: Logs, cid: string, o: { rcpt: Array<[string, string]>; queued?: string; dataReply?: string }) {
  logs.accept({ ip: '192.0.2.7', port: 50000, localPort: 25, accepted: true });
  logs.receive(cid, '>', '220 gw.test.jp ESMTP');
  logs.receive(cid, '<', 'EHLO pc1');
  logs.receive(cid, '>', '250 gw.test.jp');
  logs.receive(cid, '<', 'MAIL FROM:<taro@test.jp>');
  logs.receive(cid, '>', '250 2.1.0 Ok');
  for (const [addr, reply] of o.rcpt) {
    logs.receive(cid, '<', `RCPT TO:<${addr}>`);
    logs.receive(cid, '>', reply);
  }
  if (o.queued || o.dataReply) {
    logs.receive(cid, '<', 'DATA');
    logs.receive(cid, '>', '354 End data with <CR><LF>.<CR><LF>');
    logs.receive(cid, '<', '(message data, 1234 bytes)');
    logs.receive(cid, '>', o.queued ? `250 2.0.0 Ok: queued as ${o.queued}` : o.dataReply!);
  }
  logs.receive(cid, '<', 'QUIT');
  logs.receive(cid, '>', '221 2.0.0 Bye');
}

describe('trafficFromLogs', () => {
  it('counts accepted/refused (receiver) and delivered/deferred/bounced (delivery) per local hour', async () => {
    const { logs, at } = loggers();
    at(9, 5);
    session(logs, 'c1', { rcpt: [['a@example.jp', '250 2.1.5 Ok']], queued: 'B0000000001' });
    // A refused recipient (5xx to RCPT) and a 5xx to the message end: two refusals.
    session(logs, 'c2', { rcpt: [['x@test.jp', '550 5.1.1 <x@test.jp>: User unknown'], ['b@example.jp', '250 2.1.5 Ok']], dataReply: '554 5.6.0 message refused' });
    // A syntax error is not a refusal of mail.
    logs.receive('c3', '<', 'BOGUS');
    logs.receive('c3', '>', '502 5.5.2 Error: command not recognized');
    at(9, 6);
    logs.sender('B0000000001', 'attempt 1 from=<taro@test.jp> size=1234');
    logs.sender('B0000000001', '<a@example.jp> deferred (noanswer) host=mx.example.jp:25: ECONNREFUSED');
    at(14, 30);
    // A connection refused by effect.dat.
    logs.accept({ ip: '198.51.100.9', port: 40000, localPort: 25, accepted: false, reason: '554 5.7.1 (effect.dat:3)' });
    session(logs, 'c4', { rcpt: [['c@example.jp', '250 2.1.5 Ok'], ['d@example.jp', '250 2.1.5 Ok']], queued: 'B0000000002' });
    logs.sender('B0000000001-R0001', '<a@example.jp> delivered host=mx.example.jp[192.0.2.1]:25: 250 2.0.0 Ok');
    logs.sender('B0000000002', '<c@example.jp> delivered host=mx.example.jp[192.0.2.1]:25: 250 2.0.0 Ok');
    logs.sender('B0000000002', '<d@example.jp> failed host=mx.example.jp[192.0.2.1]:25: 550 5.1.1 no such user');
    logs.sender('B0000000002', 'bounce queued as B0000000003 to <taro@test.jp> for <d@example.jp>');
    await logs.close();

    const s = await trafficFromLogs(wd, '261205');
    expect(s.day).toBe('261205');
    expect(s.hours).toHaveLength(24);
    expect(s.hours[9]).toEqual({ accepted: 1, refused: 2, delivered: 0, deferred: 1, bounced: 0 });
    expect(s.hours[14]).toEqual({ accepted: 1, refused: 1, delivered: 2, deferred: 0, bounced: 1 });
    expect(s.totals).toEqual({ accepted: 2, refused: 3, delivered: 2, deferred: 1, bounced: 1 });
    expect(s.hours.filter((h, i) => i !== 9 && i !== 14).every((h) => Object.values(h).every((n) => n === 0))).toBe(true);
    // The delivery failures, newest last, with their time.
    expect(s.lastErrors.map((e) => [e.source, e.text.replace(/^\[[^\]]*\] /, '')])).toEqual([
      ['delivery', '[B0000000001] <a@example.jp> deferred (noanswer) host=mx.example.jp:25: ECONNREFUSED'],
      ['delivery', '[B0000000002] <d@example.jp> failed host=mx.example.jp[192.0.2.1]:25: 550 5.1.1 no such user'],
    ]);
    expect(new Date(s.lastErrors[1].at).getHours()).toBe(14);
    expect(new Date(s.lastErrors[1].at).getMinutes()).toBe(30);
  });

  it('gives zeros for a day without logs, and refuses a day that is not YYMMDD', async () => {
    const s = await trafficFromLogs(wd, '261204');
    expect(s.totals).toEqual({ accepted: 0, refused: 0, delivered: 0, deferred: 0, bounced: 0 });
    expect(s.lastErrors).toEqual([]);
    await expect(trafficFromLogs(wd, '2612')).rejects.toThrow(/YYMMDD/);
    await expect(trafficFromLogs(wd, '261399')).rejects.toThrow(/YYMMDD/);
  });

  it('reads a day of 100k lines streamed and keeps only the newest errors', async () => {
    const { logs, at } = loggers();
    for (let i = 0; i < 25_000; i++) {
      at(i % 24, i % 60);
      const id = `B${String(i).padStart(10, '0')}`;
      session(logs, `s${i}`, { rcpt: [['a@example.jp', '250 2.1.5 Ok']], queued: id });
      logs.sender(id, i % 10 === 0 ? `<a@example.jp> failed host=h:25: 550 no ${i}` : '<a@example.jp> delivered host=h:25: 250 ok');
      if (i % 5000 === 0) await logs.flush();
    }
    await logs.close();
    const s = await trafficFromLogs(wd, '261205');
    expect(s.totals).toEqual({ accepted: 25_000, refused: 0, delivered: 22_500, deferred: 0, bounced: 2_500 });
    expect(s.hours[0].accepted).toBe(Math.ceil(25_000 / 24));
    expect(s.lastErrors).toHaveLength(LAST_ERRORS);
    expect(s.lastErrors.at(-1)!.text).toContain('550 no 24990');
  }, 60_000);

  it('a DayTraffic kept between calls reads only what was appended, and counts the same as a fresh read', async () => {
    const { logs, at } = loggers();
    const counter = new DayTraffic(wd, '261205');
    at(8);
    session(logs, 'a1', { rcpt: [['a@example.jp', '250 2.1.5 Ok']], queued: 'B0000000001' });
    logs.sender('B0000000001', '<a@example.jp> delivered host=h:25: 250 ok');
    await logs.flush();
    expect((await counter.update()).totals).toMatchObject({ accepted: 1, delivered: 1 });

    at(9);
    // A session split over two updates: its 5xx reply answers a RCPT counted in the first.
    logs.receive('a2', '<', 'RCPT TO:<x@test.jp>');
    await logs.flush();
    await counter.update();
    logs.receive('a2', '>', '550 5.1.1 <x@test.jp>: User unknown');
    logs.sender('B0000000002', '<b@example.jp> failed host=h:25: 550 no');
    await logs.flush();
    // Half a line (a writer in the middle of its write) is left for the next update.
    await appendFile(logFile(wd, 'sender', '261205'), '[09:00:07:000] [B0000000003] <c@example.jp> deliv');
    const second = await counter.update();
    expect(second.totals).toEqual({ accepted: 1, refused: 1, delivered: 1, deferred: 0, bounced: 1 });
    await appendFile(logFile(wd, 'sender', '261205'), 'ered host=h:25: 250 ok\n');
    const third = await counter.update();
    expect(third.totals.delivered).toBe(2);
    expect(third).toEqual(await trafficFromLogs(wd, '261205'));
    expect(third.lastErrors.map((e) => e.text)).toEqual([expect.stringContaining('<b@example.jp> failed')]);

    // A file replaced by a shorter one is counted again from its start.
    await writeFile(logFile(wd, 'sender', '261205'), '[10:00:00:000] [B0000000009] <z@example.jp> deferred (temp) host=h:25: 451 later\n');
    const fourth = await counter.update();
    expect(fourth.totals).toMatchObject({ accepted: 1, refused: 1, delivered: 0, deferred: 1, bounced: 0 });
    expect(fourth.lastErrors).toHaveLength(1);
    await logs.close();
  });
});
