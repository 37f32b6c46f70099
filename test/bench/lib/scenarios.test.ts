// mergeRounds: the bench's table shows two rounds of a throughput scenario as one figure.
import { describe, expect, it } from 'vitest';
import { mergeRounds, type ThroughputResult } from '../../../bench/lib/scenarios.js';

function round(messages: number, acceptWallMs: number, e2eWallMs: number | null, cpu: number, rss: number): ThroughputResult {
  return {
    messages,
    payloadBytes: 4096,
    sessions: 20,
    acceptWallMs,
    acceptPerSec: Math.round((messages / acceptWallMs) * 1000),
    e2eWallMs,
    e2ePerSec: e2eWallMs === null ? null : Math.round((messages / e2eWallMs) * 1000),
    mem: { receiver: { peakRssMb: rss, peakPssMb: rss / 2, processes: 1 } },
    cpuMsPerMessage: { receiver: cpu },
    cpuSplit: { receiver: { user: cpu / 2, sys: cpu / 2 } },
  };
}

describe('mergeRounds', () => {
  it('rates over the summed times, CPU weighted by messages, the highest memory peak', () => {
    const m = mergeRounds([round(1000, 2000, 2500, 3, 100), round(3000, 5000, 6000, 2, 120)]);
    expect(m.messages).toBe(4000);
    expect(m.acceptPerSec).toBe(571); // 4000 / 7 s, not the mean of 500 and 600
    expect(m.e2ePerSec).toBe(471); // 4000 / 8.5 s
    expect(m.cpuMsPerMessage.receiver).toBe(2.25);
    expect(m.cpuSplit.receiver).toEqual({ user: 1.13, sys: 1.13 });
    expect(m.mem.receiver.peakRssMb).toBe(120);
    expect(m.rounds).toEqual([
      { acceptPerSec: 500, e2ePerSec: 400 },
      { acceptPerSec: 600, e2ePerSec: 500 },
    ]);
  });

  it('no end-to-end figure when a round did not finish, and the errors kept', () => {
    const bad = { ...round(1000, 2000, null, 3, 100), error: 'sink got 900/1000 in time' };
    const m = mergeRounds([round(1000, 2000, 2500, 3, 100), bad]);
    expect(m.e2ePerSec).toBeNull();
    expect(m.error).toContain('sink got 900/1000');
  });
});
