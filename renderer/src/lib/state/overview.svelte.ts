// The overview tab's state (issue 13): the services, the queue's size and oldest message,
// today's traffic per hour and the last errors. Fed by the event stream (status, queue, log)
// with throttled re-reads, and a slow periodic refresh of the counters; the logic lives here
// so it is testable under Node without a DOM.
import type { QueueEntry, ServiceStatus, TrafficCounts, TrafficStats } from '../api/types.js';

export interface OverviewApi {
  serviceStatus(): Promise<ServiceStatus[]>;
  listQueue(): Promise<QueueEntry[]>;
  trafficStats(day?: string): Promise<TrafficStats>;
}

export const COUNT_KEYS = ['accepted', 'refused', 'delivered', 'deferred', 'bounced'] as const satisfies ReadonlyArray<keyof TrafficCounts>;

/** The series of the per-hour chart: what came in, what went out, what failed. */
export const SERIES = [
  { key: 'accepted', of: (c: TrafficCounts) => c.accepted },
  { key: 'delivered', of: (c: TrafficCounts) => c.delivered },
  { key: 'failed', of: (c: TrafficCounts) => c.refused + c.bounced },
] as const;

export interface Bar {
  hour: number;
  series: (typeof SERIES)[number]['key'];
  value: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Geometry of the per-hour bar chart: 24 groups of SERIES bars inside `width` × `height`
 * (the axis labels are drawn by the component). The scale is a "nice" maximum (1, 2, 5 × 10^n)
 * so the gridline label is a round number; an empty day still has a scale of 1.
 */
export function hourChart(hours: TrafficCounts[], width: number, height: number): { bars: Bar[]; max: number } {
  let peak = 0;
  for (const h of hours) for (const s of SERIES) peak = Math.max(peak, s.of(h));
  const max = niceCeil(peak);
  const group = width / 24;
  const barW = Math.max(1, (group - 2) / SERIES.length);
  const bars: Bar[] = [];
  hours.slice(0, 24).forEach((h, hour) => {
    SERIES.forEach((s, i) => {
      const value = s.of(h);
      const bh = value === 0 ? 0 : Math.max(1, (value / max) * height);
      bars.push({ hour, series: s.key, value, x: hour * group + 1 + i * barW, y: height - bh, width: barW, height: bh });
    });
  });
  return { bars, max };
}

export function niceCeil(n: number): number {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** The queue as the overview shows it: how many messages and since when the oldest waits. */
export function queueSummary(entries: QueueEntry[]): { count: number; oldest: string | null } {
  let oldest: string | null = null;
  for (const e of entries) if (!oldest || e.receivedAt < oldest) oldest = e.receivedAt;
  return { count: entries.length, oldest };
}

/** Today's date as the logs name it (local time, YYMMDD: SPEC 10). */
export function yymmdd(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getFullYear() % 100)}${p(d.getMonth() + 1)}${p(d.getDate())}`;
}

export interface OverviewOptions {
  /** Wait after an event before re-reading (events come in bursts while mail flows). */
  throttleMs?: number;
  /** The same for the traffic counters, which the server counts by reading the day's logs. */
  statsThrottleMs?: number;
}

export class Overview {
  services = $state<ServiceStatus[]>([]);
  queue = $state<{ count: number; oldest: string | null } | null>(null);
  stats = $state<TrafficStats | null>(null);
  /** Set when a call failed (an older server without trafficStats, or no connection). */
  statsError = $state('');
  error = $state('');
  private timers: Record<string, ReturnType<typeof setTimeout> | null> = { queue: null, stats: null };
  private readonly throttleMs: number;
  private readonly statsThrottleMs: number;

  constructor(
    private readonly api: OverviewApi,
    opts: OverviewOptions = {},
  ) {
    this.throttleMs = opts.throttleMs ?? 500;
    this.statsThrottleMs = opts.statsThrottleMs ?? 2000;
  }

  async refreshAll(): Promise<void> {
    await Promise.all([this.refreshServices(), this.refreshQueue(), this.refreshStats()]);
  }

  async refreshServices(): Promise<void> {
    try {
      this.services = await this.api.serviceStatus();
      this.error = '';
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  async refreshQueue(): Promise<void> {
    try {
      this.queue = queueSummary(await this.api.listQueue());
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  async refreshStats(): Promise<void> {
    try {
      this.stats = await this.api.trafficStats(yymmdd());
      this.statsError = '';
    } catch (err) {
      this.statsError = (err as Error).message;
    }
  }

  /** A pushed event: status is applied at once; queue and log events re-read, throttled. */
  onEvent(ev: { type: string; services?: ServiceStatus[] }): void {
    if (ev.type === 'status' && ev.services) this.services = ev.services;
    else if (ev.type === 'queue') {
      this.later('queue', this.throttleMs, () => this.refreshQueue());
      this.later('stats', this.statsThrottleMs, () => this.refreshStats());
    } else if (ev.type === 'log') this.later('stats', this.statsThrottleMs, () => this.refreshStats());
  }

  private later(what: string, ms: number, fn: () => Promise<void>): void {
    if (this.timers[what]) return;
    this.timers[what] = setTimeout(() => {
      this.timers[what] = null;
      void fn();
    }, ms);
  }

  dispose(): void {
    for (const k of Object.keys(this.timers)) {
      const t = this.timers[k];
      if (t) clearTimeout(t);
      this.timers[k] = null;
    }
  }
}
