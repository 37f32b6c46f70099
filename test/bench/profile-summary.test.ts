// profile-summary turns a V8 CPU profile into "function, file:line, self ms, callers": the
// numbers the bottleneck report quotes. A synthetic profile with known sample times checks it.
import { describe, it, expect } from 'vitest';
import { summarise } from '../../bench/profile-summary.js';

const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber, scriptId: '0', columnNumber: 0 });

describe('summarise', () => {
  it('self time per function, idle kept apart, callers outside node internals', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2, 5] },
        { id: 2, callFrame: frame('commit', 'file:///app/services/queue/writer.ts', 9), children: [3] },
        { id: 3, callFrame: frame('fsync', 'node:internal/fs/promises', 1), children: [4] },
        { id: 4, callFrame: frame('fdatasync', '', -1), children: [] },
        { id: 5, callFrame: frame('(idle)', '', -1), children: [] },
      ],
      // Samples: 3 in fdatasync (10 ms each), 1 in commit (10 ms), 2 idle (10 ms each).
      samples: [4, 4, 4, 2, 5, 5],
      timeDeltas: [10_000, 10_000, 10_000, 10_000, 10_000, 10_000],
      startTime: 0,
      endTime: 60_000,
    };
    const s = summarise(profile, 10);
    expect(s.totalMs).toBe(60);
    expect(s.idleMs).toBe(20);
    const top = s.hot[0];
    expect(top.name).toBe('fdatasync');
    expect(top.selfMs).toBe(30);
    expect(top.selfPct).toBe(75);
    expect(top.callers).toEqual([{ caller: expect.stringMatching(/^commit \(.*writer\.ts:10\)$/), ms: 30 }]);
    const commit = s.hot.find((h) => h.name === 'commit')!;
    expect(commit.selfMs).toBe(10);
    expect(commit.totalMs).toBe(40); // inclusive of fdatasync below it
    expect(s.hot.some((h) => h.name === '(idle)')).toBe(false);
  });
});

describe('byFile', () => {
  it('charges native time to the calling file, keeps GC apart, leaves idle out', async () => {
    const { byFile } = await import('../../bench/profile-summary.js');
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2, 5, 6] },
        { id: 2, callFrame: frame('commit', 'file:///app/services/queue/writer.ts', 9), children: [3] },
        { id: 3, callFrame: frame('fsync', 'node:internal/fs/promises', 1), children: [4] },
        { id: 4, callFrame: frame('fdatasync', '', -1), children: [] },
        { id: 5, callFrame: frame('(idle)', '', -1), children: [] },
        { id: 6, callFrame: frame('(garbage collector)', '', -1), children: [] },
      ],
      samples: [4, 4, 2, 5, 6],
      timeDeltas: [10_000, 10_000, 10_000, 10_000, 10_000],
      startTime: 0,
      endTime: 50_000,
    };
    const rows = byFile(profile);
    expect(rows[0]).toEqual({ file: expect.stringMatching(/writer\.ts$/), ms: 30, pct: 75 });
    expect(rows.find((r) => r.file === '(garbage collector)')?.ms).toBe(10);
    expect(rows.some((r) => r.file.includes('idle'))).toBe(false);
  });
});
