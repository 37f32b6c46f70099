import { describe, expect, it } from 'vitest';
import { STEP, streamed, streamedCollections } from '../../../services/runtime/streamed-bytes.js';

/** Chunks as a socket or file read makes them: fresh 64 KiB buffers, dropped once used. */
function churn(bytes: number): void {
  let sum = 0;
  for (let i = 0; i < bytes / 65536; i++) sum += Buffer.allocUnsafeSlow(65536).fill(i & 0xff)[0]!;
  expect(sum).toBeGreaterThanOrEqual(0);
}

describe('streamed()', () => {
  it('starts no collection below STEP bytes, one each time STEP is passed', () => {
    const before = streamedCollections();
    streamed(STEP - 1);
    expect(streamedCollections()).toBe(before);
    streamed(1);
    expect(streamedCollections()).toBe(before + 1);
    for (let i = 0; i < 4; i++) streamed(STEP / 2);
    expect(streamedCollections()).toBe(before + 3);
  });

  it('frees the chunks already consumed (the memory outside the heap drops)', async () => {
    streamed(STEP); // make sure the collector is set up and the slate clean
    const base = process.memoryUsage().arrayBuffers;
    churn(16 * 1024 * 1024);
    const piled = process.memoryUsage().arrayBuffers - base;
    // 16 MiB of dead chunks: far below V8's 64 MiB external-memory trigger, so they are all
    // still there (this is what made a 50 MB message cost +24 MB of RSS).
    expect(piled).toBeGreaterThan(12 * 1024 * 1024);
    streamed(STEP);
    // Array buffers may be swept on a helper thread just after the collection.
    let left = piled;
    for (let i = 0; i < 50 && left > 4 * 1024 * 1024; i++) {
      await new Promise((r) => setTimeout(r, 10));
      left = process.memoryUsage().arrayBuffers - base;
    }
    expect(left).toBeLessThan(4 * 1024 * 1024);
  });
});
