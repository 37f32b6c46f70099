// The results as one table: a row per figure, a column per target, then the ratios
// Sekisho/Postfix and Sekisho/ceiling. Printed to the terminal and written to bench/latest.md.
import type { BigResult, HeldResult, IdleResult, LatencyResult, ThroughputResult } from './scenarios.js';

export interface TargetResults {
  throughput4k?: ThroughputResult;
  throughput100k?: ThroughputResult;
  latency?: LatencyResult;
  /** The latency scenario with one client sending one message at a time. */
  serial?: LatencyResult;
  held?: HeldResult;
  big?: BigResult;
  idle?: IdleResult;
  /** 1-minute load average when each scenario started (the machine may be shared). */
  load1?: Record<string, number>;
  /** Why this target has no figures (e.g. `sekisho serve` not available yet). */
  skipped?: string;
  notes?: string[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  quick: boolean;
  machine: Record<string, string | number>;
  params: Record<string, unknown>;
  targets: Partial<Record<'ceiling' | 'postfix' | 'sekisho', TargetResults>>;
}

type Row = [label: string, pick: (t: TargetResults) => number | null | undefined, higherIsBetter: boolean];

function sumMem(m: Record<string, { peakRssMb?: number; peakPssMb?: number }> | undefined, exclude: string[] = []): number | null {
  if (!m) return null;
  let s = 0;
  // The ceiling's only process is the sink itself: then it is what we measure.
  const only = Object.keys(m).length === 1;
  for (const [k, v] of Object.entries(m)) if (only || !exclude.includes(k)) s += v.peakPssMb || v.peakRssMb || 0;
  return Math.round(s * 10) / 10;
}

function rows(): Row[] {
  return [
    ['4 KB: accepted msg/s (smtp-source wall)', (t) => t.throughput4k?.acceptPerSec, true],
    ['4 KB: end-to-end msg/s (sink count)', (t) => t.throughput4k?.e2ePerSec, true],
    ['4 KB: CPU ms per message (all gateway processes)', (t) => cpuPer(t), false],
    ['4 KB: peak memory, MB (PSS sum, sink excluded)', (t) => sumMem(t.throughput4k?.mem, ['sink']), false],
    ['100 KB: accepted msg/s', (t) => t.throughput100k?.acceptPerSec, true],
    ['100 KB: end-to-end msg/s', (t) => t.throughput100k?.e2ePerSec, true],
    ['latency: accept p50 ms (`.` -> 250)', (t) => t.latency?.acceptP50Ms, false],
    ['latency: accept p99 ms', (t) => t.latency?.acceptP99Ms, false],
    ['latency: transaction p50 ms (connect -> 250)', (t) => t.latency?.transactionP50Ms, false],
    ['latency: transaction p99 ms', (t) => t.latency?.transactionP99Ms, false],
    ['serial latency (one client): accept p50 ms', (t) => t.serial?.acceptP50Ms, false],
    ['serial latency: accept p99 ms', (t) => t.serial?.acceptP99Ms, false],
    ['held sessions (of requested)', (t) => t.held?.held, true],
    ['held: memory with all held, MB (PSS sum, sink excl.)', (t) => heldTotal(t), false],
    ['held: KB per session (PSS growth; ≤0 = below GC noise)', (t) => heldPer(t), false],
    ['big message (50 MB; 10 MB --quick): accept ms', (t) => t.big?.acceptMs, false],
    ['big message: end-to-end ms', (t) => t.big?.e2eMs, false],
    ['big message: peak RSS of the largest process, MB', (t) => bigLargest(t), false],
    ['big message: largest growth of one service, MB', (t) => bigGrowth(t), false],
    ['idle: memory, MB (PSS sum, sink excl.)', (t) => idleTotal(t), false],
    ['idle: RSS of the largest process, MB', (t) => idleLargest(t), false],
  ];
}

function cpuPer(t: TargetResults): number | null {
  const c = t.throughput4k?.cpuMsPerMessage;
  if (!c) return null;
  let s = 0;
  for (const [k, v] of Object.entries(c)) if (k !== 'sink' || Object.keys(c).length === 1) s += v;
  return Math.round(s * 100) / 100;
}

function heldTotal(t: TargetResults): number | null {
  if (!t.held) return null;
  let s = 0;
  for (const [k, v] of Object.entries(t.held.mem)) if (k !== 'sink' || Object.keys(t.held.mem).length === 1) s += v.heldPssMb;
  return Math.round(s * 10) / 10;
}

function heldPer(t: TargetResults): number | null {
  if (!t.held) return null;
  let s = 0;
  for (const [k, v] of Object.entries(t.held.mem)) if (k !== 'sink' || Object.keys(t.held.mem).length === 1) s += v.perSessionKb;
  return s;
}

function bigLargest(t: TargetResults): number | null {
  if (!t.big) return null;
  let m = 0;
  for (const [k, v] of Object.entries(t.big.mem)) if (k !== 'sink' || Object.keys(t.big.mem).length === 1) m = Math.max(m, v.largestProcessMb ?? 0);
  return m;
}

/** The goal "peak growth < 10 MB in every process": per service group (for Postfix all of it). */
function bigGrowth(t: TargetResults): number | null {
  if (!t.big) return null;
  let m = 0;
  for (const [k, v] of Object.entries(t.big.mem)) if (k !== 'sink' || Object.keys(t.big.mem).length === 1) m = Math.max(m, v.growthMb ?? 0);
  return m;
}

function idleTotal(t: TargetResults): number | null {
  if (!t.idle) return null;
  let s = 0;
  for (const [k, v] of Object.entries(t.idle.mem)) if (k !== 'sink' || Object.keys(t.idle.mem).length === 1) s += v.pssMb;
  return Math.round(s * 10) / 10;
}

function idleLargest(t: TargetResults): number | null {
  if (!t.idle) return null;
  let m = 0;
  for (const [k, v] of Object.entries(t.idle.mem)) if (k !== 'sink' || Object.keys(t.idle.mem).length === 1) m = Math.max(m, v.largestProcessMb);
  return m;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? '—' : String(v));
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || !b ? '—' : (a / b).toFixed(2);

export function table(r: BenchResults): string[][] {
  const c = r.targets.ceiling ?? {};
  const p = r.targets.postfix ?? {};
  const s = r.targets.sekisho ?? {};
  const out: string[][] = [['figure', 'ceiling (sink)', 'Postfix', 'Sekisho', 'Sekisho/Postfix', 'Sekisho/ceiling']];
  for (const [label, pick] of rows()) {
    out.push([label, fmt(pick(c)), fmt(pick(p)), fmt(pick(s)), ratio(pick(s), pick(p)), ratio(pick(s), pick(c))]);
  }
  return out;
}

export function textTable(r: BenchResults): string {
  const t = table(r);
  const w = t[0].map((_, i) => Math.max(...t.map((row) => row[i].length)));
  return t.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(w[i]) : cell.padStart(w[i]))).join('  ')).join('\n');
}

export function markdown(r: BenchResults): string {
  const t = table(r);
  const lines = [
    `# Benchmark: latest run`,
    ``,
    `Written by \`npm run bench\` (bench/run.ts) at ${r.finishedAt ?? r.startedAt}${r.quick ? ' (--quick run: small counts)' : ''}. ` +
      `Method and discussion: docs/benchmarks.md.`,
    ``,
    `Machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    ``,
    `| ${t[0].join(' | ')} |`,
    `|${t[0].map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...t.slice(1).map((row) => `| ${row.join(' | ')} |`),
    ``,
    `Per process (peak RSS sampled every 250 ms during each scenario, 50 ms during the big message):`,
    ``,
    markdownProcessTable(r),
    ``,
    `Parameters: ${JSON.stringify(r.params)}`,
    ``,
  ];
  for (const [name, tr] of Object.entries(r.targets)) {
    if (tr?.skipped) lines.push(`- ${name}: skipped — ${tr.skipped}`);
    for (const n of tr?.notes ?? []) lines.push(`- ${name}: ${n}`);
    if (tr?.load1) lines.push(`- ${name}: 1-minute load average at the start of each scenario: ${Object.entries(tr.load1).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const [k, v] of Object.entries(tr ?? {})) {
      const e = (v as { error?: string; firstError?: string })?.error ?? (v as { firstError?: string })?.firstError;
      if (e) lines.push(`- ${name} ${k}: ${e}`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** One row per process group of every target: the per-process figures behind the totals. */
export function processTable(r: BenchResults): string[][] {
  const out: string[][] = [[
    'target', 'process', 'idle RSS MB', '4 KB CPU ms/msg', '4 KB peak RSS MB', '4 KB peak PSS MB', '100 KB peak RSS MB',
    'held RSS MB', 'held PSS MB', 'big msg largest process RSS MB', 'peak of these MB',
  ]];
  for (const [name, t] of Object.entries(r.targets)) {
    if (!t || t.skipped) continue;
    const groups = new Set<string>([
      ...Object.keys(t.idle?.mem ?? {}),
      ...Object.keys(t.throughput4k?.mem ?? {}),
      ...Object.keys(t.held?.mem ?? {}),
      ...Object.keys(t.big?.mem ?? {}),
    ]);
    for (const g of groups) {
      const peaksMb = [
        t.throughput4k?.mem[g]?.peakRssMb,
        t.throughput100k?.mem[g]?.peakRssMb,
        t.held?.mem[g]?.heldMb,
        t.big?.mem[g]?.peakMb,
      ].filter((x): x is number => typeof x === 'number');
      out.push([
        name,
        g + (t.held?.mem[g]?.processes && t.held.mem[g].processes > 1 ? ` (${t.held.mem[g].processes} procs)` : ''),
        fmt(t.idle?.mem[g]?.rssMb),
        fmt(t.throughput4k?.cpuMsPerMessage?.[g]),
        fmt(t.throughput4k?.mem[g]?.peakRssMb),
        fmt(t.throughput4k?.mem[g]?.peakPssMb),
        fmt(t.throughput100k?.mem[g]?.peakRssMb),
        fmt(t.held?.mem[g]?.heldMb),
        fmt(t.held?.mem[g]?.heldPssMb),
        fmt(t.big?.mem[g]?.largestProcessMb),
        fmt(peaksMb.length ? Math.max(...peaksMb) : null),
      ]);
    }
  }
  return out;
}

export function textTables(r: BenchResults): string {
  const render = (t: string[][]) => {
    const w = t[0].map((_, i) => Math.max(...t.map((row) => row[i].length)));
    return t.map((row) => row.map((cell, i) => (i <= 1 && t === pt ? cell.padEnd(w[i]) : i === 0 ? cell.padEnd(w[i]) : cell.padStart(w[i]))).join('  ')).join('\n');
  };
  const pt = processTable(r);
  return render(table(r)) + '\n\nper process:\n' + render(pt);
}

export function markdownProcessTable(r: BenchResults): string {
  const t = processTable(r);
  return [
    `| ${t[0].join(' | ')} |`,
    `|${t[0].map((_, i) => (i <= 1 ? '---' : '---:')).join('|')}|`,
    ...t.slice(1).map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
