// Recipient verification against Debian's Postfix as the internal server (issue 15): a private
// instance (its own config, queue and data folders in a temp directory, bench/lib/postfix.ts;
// the system's /etc/postfix is never touched) with relay_recipient_maps, which answers an
// address it does not list `550 5.1.1 … User unknown in relay recipient table`. What Postfix
// accepts it relays to an smtp-server on loopback standing for the mailboxes.
import { describe, it, expect, afterEach } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReceiver, session, queued, message, type Running } from '../services/receiver/helpers.js';
import { until } from '../services/delivery/helpers/workdir.js';
import { freePort } from '../../bench/lib/ports.js';
import { startPostfix, POSTFIX } from '../../bench/lib/postfix.js';
import { startDelivery } from '../../services/delivery/index.js';
import { startInternalServer } from './helpers/internal-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const canRun = existsSync(POSTFIX) && process.getuid?.() === 0;

describe.skipIf(!canRun)('recipient verification against Postfix with relay_recipient_maps', () => {
  it('refuses what Postfix does not know at RCPT (nothing queued), delivers what it knows, asks once per address', async () => {
    const mailboxes = await startInternalServer({ users: ['taro@corp.jp'] });
    cleanups.push(() => mailboxes.close());
    const root = await mkdtemp(join(tmpdir(), 'sekisho-pf-verify-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const pfPort = await freePort();
    const pf = await startPostfix({
      root,
      port: pfPort,
      sinkPort: mailboxes.port,
      smtpdProcesses: 10,
      extraMain: [
        'relay_domains = corp.jp',
        `transport_maps = inline:{ corp.jp=smtp:[127.0.0.1]:${mailboxes.port} }`,
        'relay_recipient_maps = inline:{ taro@corp.jp=ok }',
      ],
    });
    cleanups.push(() => pf.stop());

    const r: Running = await runReceiver({
      gateway: [`corp.jp, 127.0.0.1, ${pfPort}`],
      aliases: ['*@corp.jp -> *@corp.jp'],
      settings: (s) => {
        s.recipientCheck.domains = ['corp.jp'];
        s.delivery.retryIntervalSec = 1;
      },
    });
    cleanups.push(() => r.stop());
    const c = await session(r.port);
    cleanups.push(async () => c.close());
    expect((await c.cmd('MAIL FROM:<sender@ext.jp>')).code).toBe(250);
    const unknown = await c.cmd('RCPT TO:<nobody@corp.jp>', 30_000);
    expect(unknown.lines[0]).toBe('550 5.1.1 <nobody@corp.jp>... User unknown');
    // Postfix's own words are in the trace only.
    expect(r.trace.some((l) => /refused by 127\.0\.0\.1:\d+: 550 5\.1\.1 <nobody@corp\.jp>: Recipient address rejected: User unknown in relay recipient table/.test(l))).toBe(true);
    expect((await c.cmd('RCPT TO:<taro@corp.jp>', 30_000)).code).toBe(250);
    expect((await c.cmd('RCPT TO:<nobody@corp.jp>')).code).toBe(550);
    expect(r.trace.filter((l) => /recipient check <nobody@corp\.jp>: refused by .*\(cached/.test(l))).toHaveLength(1);
    expect(r.trace.filter((l) => /recipient check: connected to/.test(l))).toHaveLength(1);
    expect((await c.cmd('DATA')).code).toBe(354);
    expect((await c.cmd(message('via postfix') + '.')).code).toBe(250);
    const q = await queued(r.workdir);
    expect(q.map((m) => m.recipients.map((x) => x.address))).toEqual([['taro@corp.jp']]);
    await c.cmd('QUIT');

    const d = await startDelivery({ workdir: r.workdir, rescanMs: 500 });
    cleanups.push(() => d.close());
    await until(() => mailboxes.messages.length === 1, 30_000, 'Postfix relaying the message to the mailboxes');
    expect(mailboxes.messages[0].to).toEqual(['taro@corp.jp']);
    expect(mailboxes.messages[0].data).toContain('Subject: via postfix');
    // Delivered and gone from our queue, and no bounce was made (it would be queued here).
    await until(async () => (await queued(r.workdir)).length === 0, 15_000, 'the queue empty');
    expect(mailboxes.messages).toHaveLength(1);
  }, 90_000);
});
