// The queue runner end to end in-process: real queue files (QueueWriter), real config files
// (ConfigWatcher), real SMTP servers on loopback, a real UDP DNS responder.
import { describe, it, expect } from 'vitest';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { readControl, writeControl } from '../../../services/queue/store.js';
import type { ControlRecord } from '../../../services/queue/types.js';
import { startSilent, deadPort, startDns } from './helpers/servers.js';
import { deliveryFixtures } from './helpers/fixtures.js';
import { copyFormat1Queue, FORMAT1_IDS } from '../queue/fixtures/format1.js';
import { makeWorkdir, queueMessage, until, queuedIds, readRecord, senderLog, type WorkdirOptions } from './helpers/workdir.js';

const { cleanups, sink, runner } = deliveryFixtures();

async function setup(o: WorkdirOptions) {
  const workdir = await makeWorkdir(o);
  return workdir;
}

/** A trace line `HH:MM:SS.mmm [ID] text` (the ID part is absent for runner-level lines). */
const traced = (lines: string[], text: string) => lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} (\[B\d{10}[-\w]*\] )?/.test(l) && l.endsWith(` ${text}`));

const emptyQueue = (workdir: string) => async () => (await queuedIds(workdir)).length === 0;

describe('delivery runner', () => {
  it('delivers through gateway.dat, logs each step and removes the message', async () => {
    const s = await sink();
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`] });
    const lines: string[] = [];
    await runner(workdir, lines);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp', 'b@example.jp'] });
    await s.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(s.received).toHaveLength(1); // one transaction for both recipients of the hop
    expect(s.received[0].to).toEqual(['a@example.jp', 'b@example.jp']);
    expect(s.received[0].from).toBe('taro@test.jp');
    expect(s.received[0].data.toString()).toContain(`hello ${id}`);
    // The message and nothing of the queue file's envelope after it.
    expect(s.received[0].data.toString()).not.toContain('sekisho-queue');
    expect(existsSync(join(workdir, 'incoming', `${id}.$CP`))).toBe(false);
    // --debug: the effective configuration first, then the route in the SPEC 9 form.
    expect(lines[0]).toMatch(/^version\s+\S+/);
    expect(lines.some((l) => /^workers\s+4$/.test(l))).toBe(true);
    expect(lines.some((l) => /^bounceFormat\s+rfc3464$/.test(l))).toBe(true);
    expect(lines.some((l) => /^tlsVerify\s+none$/.test(l))).toBe(true);
    expect(lines.some((l) => /^tlsCaFile\s+\(none\)$/.test(l))).toBe(true);
    expect(traced(lines, `route example.jp -> gateway.dat:2 127.0.0.1:${s.port}`)).toBe(true);
    expect(lines.some((l) => l.includes(`[${id}] route example.jp -> gateway.dat:2`))).toBe(true);
    // Every command and reply of the session, under the message's ID.
    expect(lines.some((l) => l.endsWith(`[${id}] 127.0.0.1:${s.port} > RCPT TO:<b@example.jp>`))).toBe(true);
    await until(async () => (await senderLog(workdir)).includes('removed'), 3000, 'sender log');
    const log = await senderLog(workdir);
    expect(log).toMatch(new RegExp(`\\[${id}\\] <a@example.jp> delivered host=127.0.0.1:${s.port}: 250`));
  });

  it('keeps a delivered message’s files as spares, or deletes them with recycleQueueFiles false', async () => {
    const spares = async (wd: string) => (await readdir(join(wd, 'incoming', 'spare')).catch(() => [] as string[])).sort();
    const s = await sink();
    const recycling = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`] });
    await runner(recycling);
    await queueMessage(recycling, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await until(emptyQueue(recycling), 5000, 'queue empty');
    // Delivered at the first attempt: no state file was ever written, the queue file is the spare.
    await until(async () => (await spares(recycling)).length === 1, 3000, 'one spare');
    expect((await spares(recycling)).map((n) => n[0]).sort()).toEqual(['m']);

    const deleting = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`], delivery: { recycleQueueFiles: false } });
    const lines: string[] = [];
    await runner(deleting, lines);
    const id = await queueMessage(deleting, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await until(emptyQueue(deleting), 5000, 'queue empty');
    expect(await spares(deleting)).toEqual([]);
    expect((await readdir(join(deleting, 'incoming'))).filter((n) => n.startsWith(id))).toEqual([]);
    expect(lines.some((l) => /^recycleQueueFiles\s+false$/.test(l))).toBe(true);
  });

  it('falls back to the next gateway.dat hop when the first cannot be reached, and remembers it is down', async () => {
    const dead = await deadPort();
    const s = await sink();
    const workdir = await setup({
      gateway: [`example.jp, 127.0.0.1, ${dead}`, `example.jp, 127.0.0.1, ${s.port}`],
      delivery: { retryIntervalSec: 30 },
    });
    const lines: string[] = [];
    await runner(workdir, lines);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await s.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    // The next message does not knock on the dead door again within the retry interval.
    const id2 = await queueMessage(workdir, { from: 'taro@test.jp', to: ['b@example.jp'] });
    await s.waitFor(2);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(lines.some((l) => l.includes(`[${id2}] 127.0.0.1:${dead} b@example.jp:`) && l.endsWith('not tried again yet)'))).toBe(true);
    expect(traced(lines, `route example.jp -> gateway.dat:2 127.0.0.1:${dead}`)).toBe(true);
    expect(traced(lines, `route example.jp -> gateway.dat:3 127.0.0.1:${s.port}`)).toBe(true);
  });

  it('falls back to the next hop when the first answers 4xx, in the same attempt', async () => {
    const busy = await sink({ rcpt: () => ({ code: 451, message: '4.3.2 busy' }) });
    const s = await sink();
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${busy.port}`, `example.jp, 127.0.0.1, ${s.port}`] });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await s.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(busy.received).toHaveLength(0);
    await until(async () => (await senderLog(workdir)).includes('removed'), 3000, 'sender log');
    expect(await senderLog(workdir)).toContain(`[${id}] <a@example.jp> delivered host=127.0.0.1:${s.port}`);
  });

  it('retries a 4xx every retryIntervalSec until it is accepted', async () => {
    let calls = 0;
    const flaky = await sink({ rcpt: () => (calls++ < 1 ? { code: 451, message: '4.3.0 try later' } : null) });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${flaky.port}`] });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await until(async () => (await readRecord(workdir, id))?.retries === 1, 5000, 'first attempt recorded');
    const rec = (await readRecord(workdir, id))!;
    expect(rec.recipients[0]).toMatchObject({ status: 'pending', attempts: 1, lastHost: `127.0.0.1:${flaky.port}` });
    expect(rec.recipients[0].lastReply).toMatch(/^451 4\.3\.0/);
    expect(Date.parse(rec.nextAttemptAt)).toBeGreaterThan(Date.now() - 1000);
    await flaky.waitFor(1, 8000);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    await until(async () => (await senderLog(workdir)).includes(`[${id}-R0001] <a@example.jp> delivered`), 3000, 'retry logged');
  });

  for (const format of ['rfc3464', 'classic'] as const) {
    it(`5xx: one refusal retry, then a ${format} bounce to the sender from the postmaster`, async () => {
      const refusing = await sink({ rcpt: (a) => (a.startsWith('bad') ? { code: 550, message: '5.1.1 <bad@example.jp>: User unknown' } : null) });
      const senderSide = await sink();
      const workdir = await setup({
        gateway: [`example.jp, 127.0.0.1, ${refusing.port}`, `test.jp, 127.0.0.1, ${senderSide.port}`],
        delivery: { bounceFormat: format },
      });
      await runner(workdir);
      const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['good@example.jp', 'bad@example.jp'] });
      await senderSide.waitFor(1, 10_000);
      await until(emptyQueue(workdir), 5000, 'queue empty');
      // good: delivered once on the first attempt; bad: refused twice (refusalRetries 1).
      expect(refusing.received.map((r) => r.to)).toEqual([['good@example.jp']]);
      const b = senderSide.received[0];
      expect(b.from).toBe(''); // RFC 5321 4.5.5: a bounce has the null sender
      expect(b.to).toEqual(['taro@test.jp']);
      const mail = await simpleParser(b.data);
      expect(mail.subject).toBe('Delivery failure');
      expect(mail.from?.value[0].address).toBe('postmaster@test.jp');
      expect(mail.text).toContain('<bad@example.jp>');
      expect(mail.text).toContain('> 550 5.1.1 <bad@example.jp>: User unknown');
      expect(mail.text).not.toContain('<good@example.jp>');
      const raw = b.data.toString();
      if (format === 'rfc3464') {
        expect(raw).toMatch(/Content-Type: multipart\/report; report-type=delivery-status;/);
        expect(raw).toContain('Content-Type: message/delivery-status');
        expect(raw).toContain('Final-Recipient: rfc822; bad@example.jp');
        expect(raw).toContain('Status: 5.1.1');
        expect(raw).toContain('Diagnostic-Code: smtp; 550 5.1.1 <bad@example.jp>: User unknown');
      } else {
        expect(raw).toMatch(/Content-Type: multipart\/mixed;/);
        expect(raw).not.toContain('message/delivery-status');
      }
      const original = mail.attachments.find((a) => a.contentType === 'message/rfc822')!;
      expect(original.content.toString()).toContain(`hello ${id}`);
      const bounced = new RegExp(`\\[${id}-R0001-E001\\] bounce queued as B\\d{10} to <taro@test.jp>`);
      await until(async () => bounced.test(await senderLog(workdir)), 3000, 'bounce logged');
    });
  }

  it('no answer: retried until noResponseHours, then failed and bounced', async () => {
    const silent = await startSilent();
    cleanups.push(() => silent.close());
    const senderSide = await sink();
    const workdir = await setup({
      gateway: [`example.jp, 127.0.0.1, ${silent.port}`, `test.jp, 127.0.0.1, ${senderSide.port}`],
      delivery: { replyTimeoutSec: 1, connectTimeoutSec: 1, noResponseHours: 0.0005 },
    });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await senderSide.waitFor(1, 15_000);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    await until(async () => (await senderLog(workdir)).includes(`[${id}] <a@example.jp> deferred (noanswer)`), 3000, 'deferral logged');
    const mail = await simpleParser(senderSide.received[0].data);
    expect(mail.text).toContain('no answer for longer than the retry period');
  }, 25_000);

  it('routes by MX through delivery.dnsServers (a local UDP responder)', async () => {
    const s = await sink();
    const dns = await startDns({
      'mx.example': [{ type: 'MX', data: 'in.mx.example', priority: 10 }],
      'in.mx.example': [{ type: 'A', data: '127.0.0.1' }],
      'implicit.example': [{ type: 'A', data: '127.0.0.1' }],
    });
    cleanups.push(dns.close);
    const workdir = await setup({ delivery: { dnsServers: [dns.server], outboundPort: s.port } });
    const lines: string[] = [];
    await runner(workdir, lines);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@mx.example'] });
    await s.waitFor(1);
    expect(traced(lines, `route mx.example -> mx 10 127.0.0.1:${s.port}`)).toBe(true);
    expect(dns.queries.some((q) => q.name === 'mx.example' && q.type === 15)).toBe(true);
    // No MX but an A record: the implicit MX (RFC 5321 5.1), resolved with dns.lookup, which
    // does not know this name — so it is deferred, not bounced.
    const id2 = await queueMessage(workdir, { from: 'taro@test.jp', to: ['b@implicit.example'] });
    await until(async () => (await readRecord(workdir, id2))?.retries === 1, 5000, 'implicit MX attempt');
    expect((await readRecord(workdir, id2))!.recipients[0].lastReply).toMatch(/^451 4\.4\.4 host not found: implicit\.example/);
  });

  it('delivers a queue folder left in format 1 (.MSG + .$CP) by the version before the upgrade', async () => {
    const s = await sink();
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`] });
    await copyFormat1Queue(workdir);
    await runner(workdir);
    await s.waitFor(2);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    const byId = (id: string) => s.received.find((m) => m.data.toString().includes(`id ${id};`))!;
    // B0000000098's first recipient was delivered before the upgrade: only the other one now.
    expect(byId('B0000000097').to).toEqual(['sales@example.jp']);
    expect(byId('B0000000098').to).toEqual(['b@example.jp']);
    for (const id of FORMAT1_IDS) {
      const original = await readFile(join(import.meta.dirname, '..', 'queue', 'fixtures', 'format1', 'incoming', `${id}.MSG`));
      expect(byId(id).data.toString()).toBe(original.toString());
    }
    expect((await readdir(join(workdir, 'incoming'))).filter((n) => /^B\d{10}\./.test(n))).toEqual([]);
  });

  it('delivers locally into inbox/<user>/<ID>.MSG, once', async () => {
    const workdir = await setup({ accounts: ['hanako'], delivery: { forwardAll: false } });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: [{ address: 'hanako@test.jp', kind: 'local', user: 'hanako' }] });
    await until(emptyQueue(workdir), 5000, 'queue empty');
    const copy = await readFile(join(workdir, 'inbox', 'hanako', `${id}.MSG`), 'utf8');
    expect(copy.endsWith(`hello ${id}\r\n`)).toBe(true); // the message only, not the queue file's envelope
    const files = await readdir(join(workdir, 'inbox', 'hanako'));
    expect(files).toEqual([`${id}.MSG`]); // no temp file left behind
  });

  it('uses the smarthost (host:port) with STARTTLS and AUTH when configured', async () => {
    const smart = await sink({ starttls: true, auth: { user: 'relay', pass: 'pw-not-logged' } });
    const workdir = await setup({
      delivery: { smarthost: `127.0.0.1:${smart.port}`, smarthostUser: 'relay', smarthostPassword: 'pw-not-logged' },
    });
    const lines: string[] = [];
    await runner(workdir, lines);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@anywhere.example'] });
    await smart.waitFor(1);
    expect(smart.received[0]).toMatchObject({ secure: true, user: 'relay', to: ['a@anywhere.example'] });
    expect(traced(lines, `route anywhere.example -> smarthost 127.0.0.1:${smart.port}`)).toBe(true);
    expect(lines.some((l) => /^smarthostAuth\s+relay \(password set\)$/.test(l))).toBe(true);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    await until(async () => (await senderLog(workdir)).includes('removed'), 3000, 'sender log');
    expect(lines.join('\n') + (await senderLog(workdir))).not.toContain('pw-not-logged');
  });

  it('delivers a bounce to a local sender into its inbox (forwardAll off)', async () => {
    const refusing = await sink({ rcpt: () => ({ code: 550, message: '5.1.1 User unknown' }) });
    const workdir = await setup({
      accounts: ['taro'],
      gateway: [`example.jp, 127.0.0.1, ${refusing.port}`],
      delivery: { forwardAll: false, refusalRetries: 0 },
    });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await until(emptyQueue(workdir), 5000, 'queue empty');
    const files = await readdir(join(workdir, 'inbox', 'taro'));
    expect(files).toHaveLength(1);
    const mail = await simpleParser(await readFile(join(workdir, 'inbox', 'taro', files[0])));
    expect(mail.subject).toBe('Delivery failure');
    expect(mail.text).toContain(`Queue ID: ${id}`);
  });

  it('honours bounceNow from the queue UI: fails every pending recipient with that reason and bounces', async () => {
    const remote = await sink();
    const senderSide = await sink();
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${remote.port}`, `test.jp, 127.0.0.1, ${senderSide.port}`] });
    const id = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    const rec = (await readControl(workdir, id)) as ControlRecord & { bounceNow?: string };
    await writeControl(workdir, { ...rec, bounceNow: 'deleted by administrator' } as ControlRecord);
    await runner(workdir);
    await senderSide.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(remote.received).toHaveLength(0);
    const raw = senderSide.received[0].data.toString();
    expect(raw).toContain('> 554 5.0.0 deleted by administrator');
    expect(raw).toContain('Diagnostic-Code: X-Sekisho; 554 5.0.0 deleted by administrator');
    expect(raw).toContain('Status: 5.0.0');
  });

  it('never bounces a message whose sender is <>', async () => {
    const refusing = await sink({ rcpt: () => ({ code: 550, message: '5.1.1 User unknown' }) });
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${refusing.port}`], delivery: { refusalRetries: 0 } });
    await runner(workdir);
    const id = await queueMessage(workdir, { from: '', to: ['a@example.jp'] });
    await until(emptyQueue(workdir), 5000, 'queue empty');
    await until(async () => (await senderLog(workdir)).includes('no bounce'), 3000, 'log line');
    expect(await senderLog(workdir)).toContain(`[${id}-E001] sender is <>: no bounce`);
    expect(await queuedIds(workdir)).toEqual([]);
  });

  it('a failed bounce goes to the postmaster once; a failed double bounce is dropped', async () => {
    const refusing = await sink({ rcpt: () => ({ code: 550, message: '5.1.1 User unknown' }) });
    const postmaster = await sink();
    const workdir = await setup({
      gateway: [`example.jp, 127.0.0.1, ${refusing.port}`, `test.jp, 127.0.0.1, ${postmaster.port}`],
      delivery: { refusalRetries: 0 },
    });
    await runner(workdir);
    const bounceId = await queueMessage(workdir, { from: '', to: ['gone@example.jp'], origin: 'bounce' });
    await postmaster.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    expect(postmaster.received[0].to).toEqual(['postmaster@test.jp']);
    expect(postmaster.received[0].from).toBe('');
    // A double bounce that fails is logged and dropped, nothing more is queued.
    await queueMessage(workdir, { from: '', to: ['gone@example.jp'], origin: 'double-bounce' });
    await until(emptyQueue(workdir), 5000, 'queue empty');
    await until(async () => (await senderLog(workdir)).includes('dropped'), 3000, 'dropped line');
    expect(postmaster.received).toHaveLength(1);
    expect(await senderLog(workdir)).toContain(`[${bounceId}-E001] double bounce queued as`);
  });

  it('detects a loop: a next hop that is this gateway fails with 5.4.6, never retried', async () => {
    const senderSide = await sink();
    const ownPort = await deadPort();
    const workdir = await setup({
      receiverPorts: [ownPort],
      gateway: [`example.jp, 127.0.0.1, ${ownPort}`, `test.jp, 127.0.0.1, ${senderSide.port}`],
    });
    await runner(workdir);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    await senderSide.waitFor(1);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    const mail = await simpleParser(senderSide.received[0].data);
    expect(mail.text).toContain('> 554 5.4.6 mail loop: next hop 127.0.0.1 is this gateway');
  });

  it('applies a gateway.dat change to the next attempt (hot reload)', async () => {
    const a = await sink();
    const b = await sink();
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${a.port}`] });
    const lines: string[] = [];
    await runner(workdir, lines);
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['x@example.jp'] });
    await a.waitFor(1);
    await writeFile(join(workdir, 'gateway.dat'), `example.jp, 127.0.0.1, ${b.port}\r\n`);
    await until(() => traced(lines, 'config reloaded (generation 2)'), 5000, 'reload');
    await queueMessage(workdir, { from: 'taro@test.jp', to: ['y@example.jp'] });
    await b.waitFor(1);
    expect(a.received).toHaveLength(1);
  });

  it('two runners on one folder never deliver a message twice', async () => {
    const s = await sink();
    const workdir = await setup({ gateway: [`example.jp, 127.0.0.1, ${s.port}`] });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await queueMessage(workdir, { from: 'taro@test.jp', to: [`r${i}@example.jp`] }));
    await Promise.all([runner(workdir), runner(workdir)]);
    await s.waitFor(30, 15_000);
    await until(emptyQueue(workdir), 5000, 'queue empty');
    await new Promise((r) => setTimeout(r, 500)); // a late duplicate would show up here
    const subjects = s.received.map((m) => /Subject: test (B\d+)/.exec(m.data.toString())![1]).sort();
    expect(subjects).toEqual(ids.sort());
  });
});
