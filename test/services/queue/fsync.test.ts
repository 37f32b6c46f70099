import { describe, expect, it } from 'vitest';
import { DirSyncer } from '../../../services/queue/fsync.js';

describe('DirSyncer group commit', () => {
  it('20 requests during one flush share a single next flush', async () => {
    let running = 0;
    let maxRunning = 0;
    const releases: Array<() => void> = [];
    // A flush we control: it completes when we say so (a real fsync, only slower).
    const flush = () =>
      new Promise<void>((resolve) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        releases.push(() => {
          running--;
          resolve();
        });
      });
    const s = new DirSyncer('/nowhere', flush);
    const first = s.sync();
    const waiting = Array.from({ length: 20 }, () => s.sync());
    expect(s.flushes).toBe(1);
    // The 20 arrived while the first flush ran: none of them may be covered by it.
    let settled = 0;
    waiting.forEach((p) => p.then(() => settled++));
    releases.shift()!();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(0);
    expect(s.flushes).toBe(2);
    releases.shift()!();
    await Promise.all(waiting);
    expect(settled).toBe(20);
    expect(s.flushes).toBe(2);
    expect(maxRunning).toBe(1);
    // Idle again: the next request starts a flush at once.
    const later = s.sync();
    expect(s.flushes).toBe(3);
    releases.shift()!();
    await later;
  });

  it('a failed flush rejects its waiters', async () => {
    const s = new DirSyncer('/nowhere', () => Promise.reject(new Error('EIO')));
    await expect(s.sync()).rejects.toThrow('EIO');
  });
});
