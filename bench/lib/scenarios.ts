// The benchmark scenarios, each run the same way against every target (the smtp-sink
// ceiling, Postfix, Sekisho). A target is an SMTP port plus the sink behind it (for the
// ceiling, the sink itself) plus the process groups whose memory we watch.
import { run } from './procs.js';
import type { Sink } from './sink.js';
import { MemSampler, cpuSplitMs, readMem } from './rss.js';
import { holdSessions, latencyRun, makeMessage, percentile, sendOne } from './client.js';

export const SMTP_SOURCE = '/usr/sbin/smtp-source';

export interface Target {
  name: 'ceiling' | 'postfix' | 'sekisho';
  /** The port the load goes to. */
  port: number;
  sink: Sink;
  /** Process groups to measure, re-resolved at every sample. */
  memGroups: Record<string, () => number[]>;
  /** Messages the sink must have received before the next scenario starts. */
  expectedAtSink: number;
}

export interface MemPeak {
  peakRssMb: number;
  /** Sum of proportional set sizes: the honest total for a many-process server. */
  peakPssMb: number;
  processes: number;
}

const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

function peaks(s: MemSampler): Record<string, MemPeak> {
  const out: Record<string, MemPeak> = {};
  for (const [k, v] of s.stop()) out[k] = { peakRssMb: mb(v.rssKb), peakPssMb: mb(v.pssKb), processes: v.processes };
  return out;
}

function snapshot(groups: Record<string, () => number[]>): Record<string, { rssKb: number; pssKb: number }> {
  const out: Record<string, { rssKb: number; pssKb: number }> = {};
  for (const [k, pids] of Object.entries(groups)) {
    let rssKb = 0;
    let pssKb = 0;
    for (const pid of pids()) {
      const m = readMem(pid);
      if (m) {
        rssKb += m.rssKb;
        pssKb += m.pssKb;
      }
    }
    out[k] = { rssKb, pssKb };
  }
  return out;
}

export interface ThroughputResult {
  messages: number;
  payloadBytes: number;
  sessions: number;
  /** smtp-source's wall time: every message answered 250 by the target. */
  acceptWallMs: number;
  acceptPerSec: number;
  /** From the start until the sink counted every message (= accept for the ceiling). */
  e2eWallMs: number | null;
  e2ePerSec: number | null;
  error?: string;
  mem: Record<string, MemPeak>;
  /** CPU time per message, per process group (user + system, reaped children included). */
  cpuMsPerMessage: Record<string, number>;
  /** The same, user and system (kernel) time apart. */
  cpuSplit: Record<string, { user: number; sys: number }>;
  /** When merged from rounds (mergeRounds): each round's rates, in the order run. */
  rounds?: Array<{ acceptPerSec: number; e2ePerSec: number | null }>;
}

/**
 * One result from several rounds of the same scenario on one target: rates over the summed
 * messages and wall times, CPU per message weighted by messages, memory peaks the highest.
 */
export function mergeRounds(rounds: ThroughputResult[]): ThroughputResult {
  if (rounds.length === 1) return rounds[0];
  const messages = rounds.reduce((n, r) => n + r.messages, 0);
  const acceptWallMs = rounds.reduce((n, r) => n + r.acceptWallMs, 0);
  const e2eKnown = rounds.every((r) => r.e2eWallMs !== null);
  const e2eWallMs = e2eKnown ? rounds.reduce((n, r) => n + (r.e2eWallMs ?? 0), 0) : null;
  const weighted = (pick: (r: ThroughputResult) => number | undefined) =>
    Math.round((rounds.reduce((n, r) => n + (pick(r) ?? 0) * r.messages, 0) / Math.max(1, messages)) * 100) / 100;
  const groups = Object.keys(rounds[0].cpuMsPerMessage);
  const cpuMsPerMessage: Record<string, number> = {};
  const cpuSplit: Record<string, { user: number; sys: number }> = {};
  for (const g of groups) {
    cpuMsPerMessage[g] = weighted((r) => r.cpuMsPerMessage[g]);
    cpuSplit[g] = { user: weighted((r) => r.cpuSplit[g]?.user), sys: weighted((r) => r.cpuSplit[g]?.sys) };
  }
  const mem: Record<string, MemPeak> = {};
  for (const r of rounds) {
    for (const [g, m] of Object.entries(r.mem)) {
      const cur = mem[g];
      if (!cur) mem[g] = { ...m };
      else for (const k of Object.keys(m) as Array<keyof MemPeak>) (cur[k] as number) = Math.max(cur[k] as number, m[k] as number);
    }
  }
  const errors = rounds.map((r) => r.error).filter(Boolean);
  return {
    messages,
    payloadBytes: rounds[0].payloadBytes,
    sessions: rounds[0].sessions,
    acceptWallMs,
    acceptPerSec: Math.round((messages / acceptWallMs) * 1000),
    e2eWallMs,
    e2ePerSec: e2eWallMs === null ? null : Math.round((messages / e2eWallMs) * 1000),
    ...(errors.length ? { error: errors.join('; ') } : {}),
    mem,
    cpuMsPerMessage,
    cpuSplit,
    rounds: rounds.map((r) => ({ acceptPerSec: r.acceptPerSec, e2ePerSec: r.e2ePerSec })),
  };
}

function cpuOf(groups: Record<string, () => number[]>): Record<string, { user: number; sys: number }> {
  const out: Record<string, { user: number; sys: number }> = {};
  for (const [k, pids] of Object.entries(groups)) out[k] = cpuSplitMs(pids());
  return out;
}

/** smtp-source load: one new connection per message (`-d` not given), as MX traffic arrives. */
export async function throughput(
  t: Target,
  o: { messages: number; payloadBytes: number; sessions: number; timeoutMs: number },
): Promise<ThroughputResult> {
  const sampler = new MemSampler(t.memGroups, 250).start();
  const args = ['-c', '-s', String(o.sessions), '-m', String(o.messages), '-l', String(o.payloadBytes)];
  args.push('-f', 'a@ext.jp', '-t', 'x@test.jp', '-M', 'bench.ext.jp', `127.0.0.1:${t.port}`);
  const target = t.expectedAtSink + o.messages;
  const cpu0 = cpuOf(t.memGroups);
  const t0 = performance.now();
  const r = await run(SMTP_SOURCE, args, { timeoutMs: o.timeoutMs });
  const acceptWallMs = r.ms;
  const sent = Number(/(\d+)\s*$/.exec(r.stdout.replace(/\r/g, '\n').trim())?.[1] ?? 0);
  let error: string | undefined;
  if (r.code !== 0 || sent < o.messages) {
    error = `smtp-source ${r.signal ? `killed after ${o.timeoutMs} ms` : `exit ${r.code}`}, ${sent}/${o.messages} sent: ${r.stderr.trim().slice(0, 300)}`;
  }
  const tEnd = await t.sink.waitForMessages(t.expectedAtSink + sent, o.timeoutMs);
  t.expectedAtSink = t.sink.messages;
  const cpu1 = cpuOf(t.memGroups);
  const cpuMsPerMessage: Record<string, number> = {};
  const cpuSplit: Record<string, { user: number; sys: number }> = {};
  const per = (a: number, b = 0) => (sent ? Math.round(((a - b) / sent) * 100) / 100 : 0);
  for (const k of Object.keys(cpu1)) {
    const user = per(cpu1[k].user, cpu0[k]?.user);
    const sys = per(cpu1[k].sys, cpu0[k]?.sys);
    cpuSplit[k] = { user, sys };
    cpuMsPerMessage[k] = Math.round((user + sys) * 100) / 100;
  }
  if (tEnd === null) error = (error ? error + '; ' : '') + `sink got ${t.sink.messages}/${target} in time`;
  return {
    messages: sent,
    payloadBytes: o.payloadBytes,
    sessions: o.sessions,
    acceptWallMs: Math.round(acceptWallMs),
    acceptPerSec: Math.round((sent / acceptWallMs) * 1000),
    e2eWallMs: tEnd === null ? null : Math.round(tEnd - t0),
    e2ePerSec: tEnd === null ? null : Math.round((sent / (tEnd - t0)) * 1000),
    error,
    mem: peaks(sampler),
    cpuMsPerMessage,
    cpuSplit,
  };
}

export interface LatencyResult {
  messages: number;
  sessions: number;
  payloadBytes: number;
  /** `.` sent -> 250: the time the server takes to make the message durable and say so. */
  acceptP50Ms: number;
  acceptP99Ms: number;
  acceptMaxMs: number;
  /** connect -> 250 after `.`: the whole transaction as the sending MTA sees it. */
  transactionP50Ms: number;
  transactionP99Ms: number;
  perSec: number;
  errors: number;
  firstError?: string;
}

export async function latency(
  t: Target,
  o: { messages: number; sessions: number; payloadBytes: number; timeoutMs: number },
): Promise<LatencyResult> {
  const r = await latencyRun(t.port, { ...o, bytes: o.payloadBytes });
  await t.sink.waitForMessages(t.expectedAtSink + r.ok.length, o.timeoutMs);
  t.expectedAtSink = t.sink.messages;
  const acc = r.ok.map((x) => x.acceptMs).sort((a, b) => a - b);
  const tot = r.ok.map((x) => x.totalMs).sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    messages: r.ok.length,
    sessions: o.sessions,
    payloadBytes: o.payloadBytes,
    acceptP50Ms: round(percentile(acc, 50)),
    acceptP99Ms: round(percentile(acc, 99)),
    acceptMaxMs: round(acc[acc.length - 1] ?? NaN),
    transactionP50Ms: round(percentile(tot, 50)),
    transactionP99Ms: round(percentile(tot, 99)),
    perSec: Math.round((r.ok.length / r.wallMs) * 1000),
    errors: r.errors.length,
    firstError: r.errors[0],
  };
}

export interface HeldResult {
  requested: number;
  held: number;
  failed: number;
  firstError?: string;
  /** Per group: memory before, with every session held, and the growth per session. */
  mem: Record<string, { beforeMb: number; heldMb: number; perSessionKb: number; heldPssMb: number; processes: number }>;
}

export async function held(t: Target, o: { count: number; settleMs: number }): Promise<HeldResult> {
  // Let the previous scenario's garbage settle a little first (single-process servers' RSS
  // moves with their heap; the per-session figure is only meaningful at scale).
  await new Promise((r) => setTimeout(r, o.settleMs));
  const before = snapshot(t.memGroups);
  const h = await holdSessions(t.port, o.count, { wave: 50, timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, o.settleMs));
  const during = snapshot(t.memGroups);
  const counts: Record<string, number> = {};
  for (const [k, pids] of Object.entries(t.memGroups)) counts[k] = pids().length;
  await Promise.all(h.conns.map((c) => c.quit()));
  const mem: HeldResult['mem'] = {};
  for (const k of Object.keys(during)) {
    mem[k] = {
      beforeMb: mb(before[k].rssKb),
      heldMb: mb(during[k].rssKb),
      heldPssMb: mb(during[k].pssKb),
      // PSS growth per session: fair to both one-process and process-per-session servers.
      perSessionKb: h.conns.length ? Math.round((during[k].pssKb - before[k].pssKb) / h.conns.length) : 0,
      processes: counts[k],
    };
  }
  return { requested: o.count, held: h.conns.length, failed: h.failed, firstError: h.firstError || undefined, mem };
}

export interface IdleResult {
  /** How long the target sat without traffic before the sample. */
  afterMs: number;
  /** Per group: RSS and PSS sums, the largest single process's RSS. */
  mem: Record<string, { rssMb: number; pssMb: number; largestProcessMb: number; processes: number }>;
}

/**
 * Memory of a target that has started and waits for work (issue 14: each service idle under
 * 60 MB RSS). Taken before any load, after `settleMs` without traffic: what an MX that was just
 * (re)started, or a gateway at night, holds.
 */
export async function idle(t: Target, o: { settleMs: number }): Promise<IdleResult> {
  await new Promise((r) => setTimeout(r, o.settleMs));
  const mem: IdleResult['mem'] = {};
  for (const [k, pids] of Object.entries(t.memGroups)) {
    let rssKb = 0;
    let pssKb = 0;
    let largest = 0;
    let n = 0;
    for (const pid of pids()) {
      const m = readMem(pid);
      if (!m) continue;
      rssKb += m.rssKb;
      pssKb += m.pssKb;
      largest = Math.max(largest, m.rssKb);
      n++;
    }
    mem[k] = { rssMb: mb(rssKb), pssMb: mb(pssKb), largestProcessMb: mb(largest), processes: n };
  }
  return { afterMs: o.settleMs, mem };
}

export interface BigResult {
  bytes: number;
  acceptMs: number | null;
  e2eMs: number | null;
  error?: string;
  /**
   * Per group: RSS before, peak of the group's RSS sum during the transfer, the growth, and
   * the largest single process's RSS seen (for Postfix: the smtpd/cleanup handling it).
   */
  mem: Record<string, { beforeMb: number; peakMb: number; growthMb: number; largestProcessMb: number }>;
}

export async function bigMessage(t: Target, o: { bytes: number; timeoutMs: number }): Promise<BigResult> {
  const body = makeMessage(o.bytes);
  const before = snapshot(t.memGroups);
  const sampler = new MemSampler(t.memGroups, 50).start();
  const t0 = performance.now();
  let acceptMs: number | null = null;
  let error: string | undefined;
  try {
    acceptMs = Math.round((await sendOne(t.port, body, { timeoutMs: o.timeoutMs })).totalMs);
  } catch (err) {
    error = (err as Error).message;
  }
  const tEnd = acceptMs === null ? null : await t.sink.waitForMessages(t.expectedAtSink + 1, o.timeoutMs);
  t.expectedAtSink = t.sink.messages;
  const p = sampler.stop();
  const mem: BigResult['mem'] = {};
  for (const [k, v] of p) {
    mem[k] = {
      beforeMb: mb(before[k].rssKb),
      peakMb: mb(v.rssKb),
      growthMb: mb(v.rssKb - before[k].rssKb),
      largestProcessMb: mb(v.maxProcRssKb),
    };
  }
  return { bytes: body.length, acceptMs, e2eMs: tEnd === null ? null : Math.round(tEnd - t0), error, mem };
}
