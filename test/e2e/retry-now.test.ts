// "Retry means now" (issue 13): the queue view's retry reaches the delivery process through
// the control file and really connects, even to a next hop that process found unreachable a
// moment ago; an attempt skipped by that memory does not count as an attempt. A real
// `sekisho delivery` child under the real Supervisor, Postfix's smtp-sink as the next hop.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor } from '../../services/supervisor/index.js';
import { createControlApi } from '../../services/control/handlers.js';
import { deadPort, startSmtpSink } from '../services/delivery/helpers/servers.js';
import { makeWorkdir, queueMessage, queuedIds, readRecord, senderLog, until } from '../services/delivery/helpers/workdir.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe('retryNow from the queue view', () => {
  it('bypasses the unreachable-host memory: dead next hop, sink starts, retry → delivered within seconds', async () => {
    const port = await deadPort();
    // A long retry interval: the delivery process remembers the dead hop for a minute
    // (dead-hosts.ts) and would not try again on its own during this test.
    const workdir = await makeWorkdir({
      gateway: [`example.jp, 127.0.0.1, ${port}`],
      // One worker: the second message comes after the first found the hop dead.
      delivery: { workers: 1, retryIntervalSec: 300, noResponseHours: 1, abnormalHours: 1 },
    });
    const first = await queueMessage(workdir, { from: 'taro@test.jp', to: ['a@example.jp'] });
    const second = await queueMessage(workdir, { from: 'taro@test.jp', to: ['b@example.jp'] });

    const supervisor = new Supervisor({ workdir, services: ['delivery'], stopGraceMs: 5000 });
    cleanups.push(() => supervisor.close());
    const api = createControlApi({ workdir, supervisor });
    const started = await api.startService('delivery');
    expect(started.state).toBe('running');

    // Both messages were looked at: the first found the hop dead, the second was skipped
    // because of that; neither was delivered.
    await until(async () => (await readRecord(workdir, first))?.recipients[0].lastReply && (await readRecord(workdir, second))?.recipients[0].lastReply, 15_000, 'first attempts');
    const queue = new Map((await api.listQueue()).map((e) => [e.id, e]));
    expect([...queue.keys()].sort()).toEqual([first, second].sort());
    // The attempt counter counts attempts made: a hop skipped as "unreachable a moment ago" is none.
    expect(queue.get(first)!.retries).toBe(1);
    expect(queue.get(first)!.recipients[0].attempts).toBe(1);
    expect(queue.get(second)!.retries).toBe(0);
    expect(queue.get(second)!.recipients[0].attempts).toBe(0);
    expect(queue.get(second)!.recipients[0].lastReply).toMatch(/not tried again yet/);

    // The administrator starts the next hop and presses retry for the first message.
    const sinkDir = await mkdtemp(join(tmpdir(), 'sekisho-smtp-sink-'));
    const sink = await startSmtpSink(sinkDir, port);
    cleanups.push(sink.close);
    await api.retryNow(first);

    await until(async () => !(await queuedIds(workdir)).includes(first), 10_000, 'the retried message delivered');
    // The log is flushed every 200 ms (logs/daily.ts).
    const delivered = new RegExp(`\\[${first}-R0001\\] <a@example\\.jp> delivered host=`);
    await until(async () => delivered.test(await senderLog(workdir)), 5000, 'the delivered line in the sender log');
    const dumps = (await readdir(sinkDir, { recursive: true })).filter((n) => !n.endsWith('/'));
    expect(dumps.length).toBe(1);
    expect(await readFile(join(sinkDir, dumps[0]), 'utf8')).toContain(`hello ${first}`);
    // The other message was not asked for: it waits for its own retry time.
    expect(await queuedIds(workdir)).toEqual([second]);
    // The request was answered once: the retried record no longer carries it (it is gone);
    // the untouched one never did.
    expect((await readRecord(workdir, second))?.retryRequestedAt).toBeUndefined();
  }, 60_000);
});
