// A 50 MB message streams into the queue with back-pressure: half-way through the transfer
// the process holds far less than what was sent (SPEC 7, no unbounded buffering), and the
// queued file is complete. Memory is measured after a forced GC, so the number is what is
// retained, not garbage waiting for collection (not a timing assertion).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { queued, runReceiver, session, type Running } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function retained(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

let r: Running;
beforeAll(async () => {
  r = await runReceiver();
});
afterAll(async () => {
  await r?.stop();
});

describe('a 50 MB message', () => {
  it('is queued whole without being held in memory', async () => {
    const TOTAL = 50 * 1024 * 1024;
    const line = Buffer.from('y'.repeat(998) + '\r\n');
    const chunk = Buffer.concat(Array.from({ length: 64 }, () => line)); // 64 000 bytes
    const c = await session(r.port);
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<alice@test.jp>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    const baseline = retained();
    const header = Buffer.from('Subject: big\r\n\r\n');
    c.write(header);
    let sent = header.length;
    let midway = 0;
    const socket = c.socket;
    while (sent < TOTAL) {
      if (!socket.write(chunk)) await new Promise<void>((res) => socket.once('drain', () => res()));
      sent += chunk.length;
      if (!midway && sent >= TOTAL / 2) midway = retained() - baseline;
    }
    const end = await c.cmd('.', 120_000);
    c.close();
    expect(end.code, end.text).toBe(250);
    const id = /queued as (B\d{10})/.exec(end.text)![1];
    const rec = (await queued(r.workdir)).find((x) => x.id === id)!;
    // The queue file: the message, then its envelope.
    const size = (await stat(join(r.workdir, 'incoming', `${id}.$CP`))).size;
    expect(size).toBeGreaterThan(rec.size);
    expect(rec.size).toBeGreaterThan(sent);
    // 25 MB went through; what stayed in memory is a few buffers, not the message.
    console.log(`retained half-way through a ${(TOTAL / 1048576).toFixed(0)} MB message: ${(midway / 1048576).toFixed(1)} MB`);
    expect(midway).toBeLessThan(16 * 1024 * 1024);
  }, 120_000);
});
