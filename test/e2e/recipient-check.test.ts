// Recipient verification end to end (issue 15), real sockets on loopback: a client talks to the
// receiver, the receiver asks an internal smtp-server that knows its users, delivery forwards
// what was accepted to that same server.
import { describe, it, expect, afterEach } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runReceiver, session, queued, message, type Running, type Client } from '../services/receiver/helpers.js';
import { deadPort } from '../services/delivery/helpers/servers.js';
import { until } from '../services/delivery/helpers/workdir.js';
import { startDelivery } from '../../services/delivery/index.js';
import { startReceiver } from '../../services/receiver/index.js';
import { readRecipientCache, clearRecipientCache } from '../../services/config/recipient-cache.js';
import { startInternalServer, type InternalServer } from './helpers/internal-server.js';
import type { Settings } from '../../services/config/settings.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function internal(o: Parameters<typeof startInternalServer>[0]): Promise<InternalServer> {
  const s = await startInternalServer(o);
  cleanups.push(() => s.close());
  return s;
}

/** Mode A for corp.jp (wildcard alias), routed to the internal server, verified. */
async function receiver(port: number, settings?: (s: Settings) => void): Promise<Running> {
  const r = await runReceiver({
    gateway: [`corp.jp, 127.0.0.1, ${port}`],
    aliases: ['*@corp.jp -> *@corp.jp'],
    settings: (s) => {
      s.recipientCheck.domains = ['corp.jp'];
      s.recipientCheck.maxConcurrent = 5;
      s.delivery.retryIntervalSec = 1;
      settings?.(s);
    },
  });
  cleanups.push(() => r.stop());
  return r;
}

async function mailFrom(r: Running): Promise<Client> {
  const c = await session(r.port);
  cleanups.push(async () => c.close());
  expect((await c.cmd('MAIL FROM:<sender@ext.jp>')).code).toBe(250);
  return c;
}

describe('recipient verification against an internal smtp-server', () => {
  it('refuses an unknown address at RCPT (nothing queued, no bounce), accepts and delivers a known one', async () => {
    const srv = await internal({ users: ['taro@corp.jp'] });
    const r = await receiver(srv.port);
    // --debug starts with the configuration in force.
    expect(r.trace).toContain('recipientCheck          corp.jp; cache exists 86400 s, unknown 3600 s; timeout 10 s; 5 at once; unavailable -> 450 4.1.1');
    const c = await mailFrom(r);
    const unknown = await c.cmd('RCPT TO:<nobody@corp.jp>');
    expect(unknown.code).toBe(550);
    // The alias whitelist's reply; the internal server's own text stays out of it.
    expect(unknown.lines[0]).toBe('550 5.1.1 <nobody@corp.jp>... User unknown');
    expect(r.trace.some((l) => /recipient check <nobody@corp\.jp>: refused by 127\.0\.0\.1:\d+: 550 .*mailbox unavailable \(internal server\) \(asked now\)/.test(l))).toBe(true);
    expect((await c.cmd('DATA')).code).toBe(503);
    expect(await queued(r.workdir)).toEqual([]);

    expect((await c.cmd('RSET')).code).toBe(250);
    expect((await c.cmd('MAIL FROM:<sender@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<Taro@corp.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    expect((await c.cmd(message('verified') + '.')).code).toBe(250);
    const q = await queued(r.workdir);
    expect(q.map((m) => m.recipients.map((x) => x.address))).toEqual([['Taro@corp.jp']]);
    await c.cmd('QUIT');

    // The probe asked with the null sender and said RSET; nothing was delivered by it.
    expect(srv.messages).toEqual([]);
    const d = await startDelivery({ workdir: r.workdir, rescanMs: 500 });
    cleanups.push(() => d.close());
    await until(() => srv.messages.length === 1, 15_000, 'delivery to the internal server');
    expect(srv.messages[0].to).toEqual(['Taro@corp.jp']);
    expect(srv.messages[0].data).toContain('Subject: verified');
    // The receive log records the check.
    const logDir = join(r.workdir, 'log', 'receive');
    await until(async () => (await readdir(logDir).catch(() => [])).length > 0, 5000, 'the receive log');
    const logs = await readFile(join(logDir, (await readdir(logDir))[0]), 'utf8');
    expect(logs).toMatch(/\(recipient check <nobody@corp\.jp>: refused by 127\.0\.0\.1:\d+/);
    expect(logs).toMatch(/\(recipient check <taro@corp\.jp>: verified by 127\.0\.0\.1:\d+ \(asked now\)\)/i);
  });

  it('answers the second check of an address from the cache (no new question, no new connection), also after a restart', async () => {
    const srv = await internal({ users: ['taro@corp.jp'] });
    const r = await receiver(srv.port);
    const c = await mailFrom(r);
    expect((await c.cmd('RCPT TO:<taro@corp.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<ghost@corp.jp>')).code).toBe(550);
    expect(srv.rcpts).toEqual(['taro@corp.jp', 'ghost@corp.jp']);
    // The second question went over the connection the first one opened.
    expect(srv.connections).toBe(1);
    expect(r.trace.some((l) => /asked 127\.0\.0\.1:\d+ on a kept connection/.test(l))).toBe(true);

    expect((await c.cmd('RSET')).code).toBe(250);
    expect((await c.cmd('MAIL FROM:<sender@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<taro@corp.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<GHOST@corp.jp>')).code).toBe(550);
    expect(srv.rcpts).toHaveLength(2);
    expect(srv.connections).toBe(1);
    expect(r.trace.some((l) => /recipient check <taro@corp\.jp>: verified by 127\.0\.0\.1:\d+ \(cached (just now|\d+ s ago)\)/.test(l))).toBe(true);
    expect(r.trace.some((l) => /recipient check <GHOST@corp\.jp>: refused by .*\(cached/.test(l))).toBe(true);
    await c.cmd('QUIT');

    // Stop: the answers are written to verify-cache.json; a new receiver does not ask again.
    await r.rx.close();
    const file = await readRecipientCache(r.workdir);
    expect(file.entries.map((e) => `${e.address} ${e.answer}`).sort()).toEqual(['ghost@corp.jp unknown', 'taro@corp.jp exists']);
    const trace: string[] = [];
    const rx2 = await startReceiver({ workdir: r.workdir, debug: (l) => trace.push(l), warn: () => {} });
    cleanups.push(() => rx2.close());
    const c2 = await session(rx2.ports[0]);
    cleanups.push(async () => c2.close());
    expect((await c2.cmd('MAIL FROM:<sender@ext.jp>')).code).toBe(250);
    expect((await c2.cmd('RCPT TO:<taro@corp.jp>')).code).toBe(250);
    expect((await c2.cmd('RCPT TO:<ghost@corp.jp>')).code).toBe(550);
    expect(srv.rcpts).toHaveLength(2);
    expect(trace.some((l) => /verified by 127\.0\.0\.1:\d+ \(cached/.test(l))).toBe(true);

    // The administrator clears ghost (the control API edits the file): the receiver picks the
    // clear up at its next look at the file and asks again.
    await clearRecipientCache(r.workdir, 'ghost@corp.jp');
    await until(async () => {
      const reply = await c2.cmd('RCPT TO:<ghost@corp.jp>');
      expect(reply.code).toBe(550);
      return srv.rcpts.length === 3;
    }, 15_000, 'the cleared address asked again');
    expect(srv.rcpts[2]).toBe('ghost@corp.jp');
  });

  it('answers 450 4.1.1 while the internal server is down (nothing queued), takes the retry once it is back; with whenUnavailable accept it takes the recipient', async () => {
    const port = await deadPort();
    const r = await receiver(port);
    const c = await mailFrom(r);
    const reply = await c.cmd('RCPT TO:<taro@corp.jp>');
    expect(reply.code).toBe(450);
    expect(reply.lines[0]).toMatch(/^450 4\.1\.1 <taro@corp\.jp>\.\.\. /);
    expect((await c.cmd('DATA')).code).toBe(503);
    expect(await queued(r.workdir)).toEqual([]);
    // The sender retries later: once the internal server is back, the same recipient is
    // accepted and the message delivered (a temporary failure was not remembered).
    const srv = await internal({ users: ['taro@corp.jp'], port });
    expect((await c.cmd('RSET')).code).toBe(250);
    expect((await c.cmd('MAIL FROM:<sender@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<taro@corp.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    expect((await c.cmd(message('retried') + '.')).code).toBe(250);
    const d = await startDelivery({ workdir: r.workdir, rescanMs: 500 });
    cleanups.push(() => d.close());
    await until(() => srv.messages.length === 1, 15_000, 'delivery once the internal server is back');
    expect(srv.messages[0].data).toContain('Subject: retried');
    await d.close();
    await srv.close();
    await r.rx.close();
    expect((await readRecipientCache(r.workdir)).entries.map((e) => `${e.address} ${e.answer}`)).toEqual(['taro@corp.jp exists']);

    const r2 = await receiver(port, (s) => (s.recipientCheck.whenUnavailable = 'accept'));
    const c2 = await mailFrom(r2);
    expect((await c2.cmd('RCPT TO:<jiro@corp.jp>')).code).toBe(250);
    expect(r2.trace.some((l) => /recipient check <jiro@corp\.jp>: cannot be verified now/.test(l))).toBe(true);
  });

  it('tries the next gateway.dat host when the first cannot be reached', async () => {
    const srv = await internal({ users: ['taro@corp.jp'] });
    const dead = await deadPort();
    const r = await runReceiver({
      gateway: [`corp.jp, 127.0.0.1, ${dead}`, `corp.jp, 127.0.0.1, ${srv.port}`],
      aliases: ['*@corp.jp -> *@corp.jp'],
      settings: (s) => (s.recipientCheck.allRoutedDomains = true),
    });
    cleanups.push(() => r.stop());
    const c = await mailFrom(r);
    expect((await c.cmd('RCPT TO:<taro@corp.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<jiro@corp.jp>')).code).toBe(550);
    expect(r.trace.some((l) => new RegExp(`verified by 127\\.0\\.0\\.1:${srv.port}`).test(l))).toBe(true);
  });

  it('does not verify trusted clients or local accounts', async () => {
    const srv = await internal({ users: [] });
    const r = await runReceiver({
      effect: ['127.0.0.1 true'],
      gateway: [`corp.jp, 127.0.0.1, ${srv.port}`],
      aliases: ['*@corp.jp -> *@corp.jp'],
      settings: (s) => (s.recipientCheck.domains = ['corp.jp', 'test.jp']),
    });
    cleanups.push(() => r.stop());
    const c = await mailFrom(r);
    expect((await c.cmd('RCPT TO:<anyone@corp.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    expect(srv.rcpts).toEqual([]);
    expect(r.trace.some((l) => /recipient verification skipped for <anyone@corp\.jp>: trusted client/.test(l))).toBe(true);
  });

  it('200 concurrent RCPTs for different addresses stay within maxConcurrent and do not stall other clients', async () => {
    const users = Array.from({ length: 100 }, (_, i) => `u${i}@corp.jp`);
    const srv = await internal({ users, rcptDelayMs: 20 });
    const r = await receiver(srv.port, (s) => (s.recipientCheck.maxConcurrent = 4));
    const clients = await Promise.all(Array.from({ length: 200 }, () => mailFrom(r)));
    const answers = clients.map((c, i) => c.cmd(`RCPT TO:<u${i}@corp.jp>`, 60_000));
    // Meanwhile another client, to a recipient that needs no check, is answered at once: the
    // checks wait in their own line, not in the receiver's.
    await until(() => srv.rcpts.length > 0, 10_000, 'the first check');
    const other = await mailFrom(r);
    expect((await other.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    const pendingWhenOtherAnswered = 200 - srv.rcpts.length;
    const codes = (await Promise.all(answers)).map((a) => a.code);
    expect(codes.filter((c) => c === 250)).toHaveLength(100);
    expect(codes.filter((c) => c === 550)).toHaveLength(100);
    expect(codes.slice(0, 100).every((c) => c === 250)).toBe(true);
    expect(srv.maxRcptInFlight).toBeLessThanOrEqual(4);
    expect(srv.maxRcptInFlight).toBeGreaterThan(1);
    expect(srv.connections).toBeLessThanOrEqual(4);
    expect(pendingWhenOtherAnswered).toBeGreaterThan(0);
  }, 90_000);
});
