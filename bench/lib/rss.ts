// Memory of the processes under test, from /proc (Linux). VmHWM is the kernel's own peak
// resident set of a process; for a many-process server (Postfix) the sum of RSS counts the
// shared libraries once per process, so we also sum PSS (proportional set size, from
// smaps_rollup), which divides each shared page among the processes that map it.
import { readFileSync, readdirSync } from 'node:fs';

export interface MemSample {
  rssKb: number;
  hwmKb: number;
  pssKb: number;
}

export function readMem(pid: number): MemSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    let pssKb = 0;
    try {
      pssKb = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* kernel without smaps_rollup */
    }
    return { rssKb, hwmKb, pssKb };
  } catch {
    return null; // the process is gone
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux build). */
const USER_HZ = 100;

/**
 * CPU time in ms of a group of live processes, including their reaped children (cutime/cstime:
 * Postfix's master reaps each smtpd that exits, so their work is not lost). A delta of two
 * readings is the CPU the group spent in between.
 */
export function cpuMs(pids: number[]): number {
  const t = cpuSplitMs(pids);
  return t.user + t.sys;
}

/** The same as cpuMs, user and system (kernel) time apart. */
export function cpuSplitMs(pids: number[]): { user: number; sys: number } {
  let user = 0;
  let sys = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14-17 of proc(5): utime stime cutime cstime; f[0] is field 3 (state).
      user += Number(f[11]) + Number(f[13]);
      sys += Number(f[12]) + Number(f[14]);
    } catch {
      /* gone */
    }
  }
  return { user: (user * 1000) / USER_HZ, sys: (sys * 1000) / USER_HZ };
}

export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return null;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

function parentMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(Number(name));
    if (ppid === null) continue;
    const list = map.get(ppid) ?? [];
    list.push(Number(name));
    map.set(ppid, list);
  }
  return map;
}

/** Direct children of `pid` (what `pgrep -P` prints). */
/** Whether a process exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export function childrenOf(pid: number): number[] {
  return parentMap().get(pid) ?? [];
}

/** `pid` and all its descendants (one scan of /proc). */
export function treeOf(pid: number): number[] {
  const map = parentMap();
  const all = [pid];
  for (let i = 0; i < all.length && i < 10_000; i++) all.push(...(map.get(all[i]) ?? []));
  return all;
}

/**
 * Samples a set of named process groups every `intervalMs` and keeps, per group, the peak
 * of the summed RSS and PSS seen (the groups are re-resolved at each tick, because Postfix
 * forks smtpd processes on demand). For a single process the kernel's VmHWM is also kept.
 */
export class MemSampler {
  private timer: NodeJS.Timeout | null = null;
  readonly peak = new Map<string, { rssKb: number; pssKb: number; hwmKb: number; processes: number; maxProcRssKb: number }>();

  constructor(
    private readonly groups: Record<string, () => number[]>,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  sample(): void {
    for (const [name, pids] of Object.entries(this.groups)) {
      let rss = 0;
      let pss = 0;
      let hwm = 0;
      let n = 0;
      let maxProc = 0;
      for (const pid of pids()) {
        const m = readMem(pid);
        if (!m) continue;
        rss += m.rssKb;
        pss += m.pssKb;
        hwm = Math.max(hwm, m.hwmKb);
        maxProc = Math.max(maxProc, m.rssKb);
        n++;
      }
      const p = this.peak.get(name) ?? { rssKb: 0, pssKb: 0, hwmKb: 0, processes: 0, maxProcRssKb: 0 };
      this.peak.set(name, {
        rssKb: Math.max(p.rssKb, rss),
        pssKb: Math.max(p.pssKb, pss),
        hwmKb: Math.max(p.hwmKb, hwm),
        processes: Math.max(p.processes, n),
        maxProcRssKb: Math.max(p.maxProcRssKb, maxProc),
      });
    }
  }

  stop(): Map<string, { rssKb: number; pssKb: number; hwmKb: number; processes: number; maxProcRssKb: number }> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.peak;
  }
}
