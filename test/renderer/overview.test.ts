/// <reference types="svelte" />
// The overview's state (renderer/src/lib/state/overview.svelte.ts) against the real ControlApi
// handlers over a fresh work folder with real log files written by the real loggers, and the
// chart geometry.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Overview, hourChart, niceCeil, queueSummary, SERIES, yymmdd } from '../../renderer/src/lib/state/overview.svelte.js';
import type { ControlApi, QueueEntry, TrafficCounts } from '../../services/control/api.js';
import { createControlApi } from '../../services/control/handlers.js';
import { Supervisor } from '../../services/supervisor/index.js';
import { initWorkdir } from '../../services/config/init.js';
import { openLogs } from '../../services/logs/index.js';

const zero = (): TrafficCounts => ({ accepted: 0, refused: 0, delivered: 0, deferred: 0, bounced: 0 });

describe('hourChart', () => {
  it('draws 24 groups of one bar per series, scaled to a round maximum', () => {
    const hours = Array.from({ length: 24 }, zero);
    hours[9] = { accepted: 7, refused: 1, delivered: 6, deferred: 0, bounced: 2 };
    hours[23].delivered = 1;
    const { bars, max } = hourChart(hours, 480, 100);
    expect(max).toBe(10);
    expect(bars).toHaveLength(24 * SERIES.length);
    const at9 = bars.filter((b) => b.hour === 9);
    expect(at9.map((b) => [b.series, b.value])).toEqual([['accepted', 7], ['delivered', 6], ['failed', 3]]);
    expect(at9[0].height).toBeCloseTo(70);
    expect(at9[0].y + at9[0].height).toBeCloseTo(100); // bars stand on the axis
    // Groups do not overlap and stay inside the width.
    expect(at9[2].x + at9[2].width).toBeLessThanOrEqual(10 * 20);
    expect(Math.max(...bars.map((b) => b.x + b.width))).toBeLessThanOrEqual(480);
    expect(bars.filter((b) => b.hour === 3).every((b) => b.height === 0)).toBe(true);
  });

  it('an empty day still has a scale; a tiny value is still visible', () => {
    expect(hourChart(Array.from({ length: 24 }, zero), 240, 50).max).toBe(1);
    const hours = Array.from({ length: 24 }, zero);
    hours[0].accepted = 1000;
    hours[1].accepted = 1;
    const { bars } = hourChart(hours, 240, 50);
    expect(bars.find((b) => b.hour === 1 && b.series === 'accepted')!.height).toBeGreaterThanOrEqual(1);
    expect([0, 1, 3, 7, 10, 11, 42, 180, 1000, 1001].map(niceCeil)).toEqual([1, 1, 5, 10, 10, 20, 50, 200, 1000, 2000]);
  });
});

describe('queueSummary', () => {
  it('counts the messages and finds the oldest', () => {
    const e = (id: string, receivedAt: string) => ({ id, receivedAt }) as QueueEntry;
    expect(queueSummary([])).toEqual({ count: 0, oldest: null });
    expect(queueSummary([e('B2', '2026-12-05T10:00:00.000Z'), e('B1', '2026-12-05T08:00:00.000Z'), e('B3', '2026-12-05T09:00:00.000Z')])).toEqual({
      count: 3,
      oldest: '2026-12-05T08:00:00.000Z',
    });
  });
});

describe('Overview against the real handlers', () => {
  let dir: string;
  let api: ControlApi;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sekisho-overview-'));
    await initWorkdir(dir, { ports: [2525], controlPort: 8025 });
    // The services are never started: status, queue and stats are read from the folder.
    api = createControlApi({ workdir: dir, supervisor: new Supervisor({ workdir: dir }) });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads services, queue and today\'s counters; a log event re-reads the counters (throttled)', async () => {
    const model = new Overview(api, { throttleMs: 10, statsThrottleMs: 10 });
    await model.refreshAll();
    expect(model.error).toBe('');
    expect(model.services.map((s) => [s.name, s.state]).sort()).toEqual([['delivery', 'stopped'], ['receiver', 'stopped']]);
    expect(model.queue).toEqual({ count: 0, oldest: null });
    expect(model.stats?.day).toBe(yymmdd());
    expect(model.stats?.hours).toHaveLength(24);
    const delivered = model.stats!.totals.delivered;

    // A delivery written by the real logger, as the delivery service would.
    const logs = openLogs(dir);
    logs.sender('B0000000001-R0001', '<a@remote.example> delivered host=127.0.0.1: 250 ok');
    await logs.close();
    model.onEvent({ type: 'log' });
    model.onEvent({ type: 'log' }); // a burst is one re-read
    const end = Date.now() + 5000;
    while (model.stats!.totals.delivered === delivered && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(model.stats!.totals.delivered).toBe(delivered + 1);
    model.dispose();
  });

  it('a status event is applied at once; an unavailable call is reported, not thrown', async () => {
    const model = new Overview({ ...api, trafficStats: () => Promise.reject(new Error('unknown method trafficStats')) });
    await model.refreshAll();
    expect(model.stats).toBeNull();
    expect(model.statsError).toContain('trafficStats');
    model.onEvent({ type: 'status', services: [{ ...model.services[0], state: 'running' }] });
    expect(model.services).toHaveLength(1);
    expect(model.services[0].state).toBe('running');
    model.dispose();
  });
});
