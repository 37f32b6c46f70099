// Summarise V8 CPU profiles (`node --cpu-prof`, written by `npm run bench -- --profile`):
// self time per function, top N, with file:line, so a bottleneck can be named precisely.
//
//   npx tsx bench/profile-summary.ts DIR_OR_FILE... [--top 25]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  /** The nearest callers in our own code or a dependency (not node: internals), by self time. */
  callers: Array<{ caller: string; ms: number }>;
}

function label(n: ProfileNode): { name: string; where: string } {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const where = url ? `${relative(process.cwd(), url) || url}:${n.callFrame.lineNumber + 1}` : '(native)';
  return { name: n.callFrame.functionName || '(anonymous)', where };
}

/**
 * Busy time per source file: JS self time goes to its own file; native time (syscalls, GC
 * aside) to the nearest caller outside Node's internals — so "the queue writer's fsyncs"
 * count for services/queue/writer.ts, not for `(native)`.
 */
export function byFile(p: Profile): Array<{ file: string; ms: number; pct: number }> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const files = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const n = byId.get(p.samples[i])!;
    const name = n.callFrame.functionName;
    if (name === '(idle)') continue;
    busy += ms;
    let file = name === '(garbage collector)' || name === '(program)' ? name : '';
    for (let cur: number | undefined = n.id; !file && cur !== undefined; cur = parent.get(cur)) {
      const w = label(byId.get(cur)!).where;
      if (w.startsWith('node:') || w === '(native)') continue;
      file = w.replace(/:\d+$/, '');
    }
    file ||= '(node internals)';
    files.set(file, (files.get(file) ?? 0) + ms);
  }
  return [...files]
    .map(([file, ms]) => ({ file, ms: Math.round(ms), pct: busy ? Math.round((ms / busy) * 1000) / 10 : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

export function summarise(p: Profile, top = 25): { totalMs: number; idleMs: number; hot: HotFunction[] } {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totalMs = [...self.values()].reduce((a, b) => a + b, 0);
  let idleMs = 0;
  const agg = new Map<string, HotFunction>();
  const inclusive = new Map<string, number>();
  const callerMs = new Map<string, Map<string, number>>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const { name, where } = label(n);
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      if (name === '(idle)') idleMs += ms;
    }
    const key = `${name} ${where}`;
    const a = agg.get(key) ?? { name, where, selfMs: 0, selfPct: 0, totalMs: 0, callers: [] };
    a.selfMs += ms;
    agg.set(key, a);
    // Who asked for it: the first frame up the stack outside Node's own internals.
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (l.where.startsWith('node:') || l.where === '(native)') continue;
      const ck = `${l.name} (${l.where})`;
      const c = callerMs.get(key) ?? new Map<string, number>();
      c.set(ck, (c.get(ck) ?? 0) + ms);
      callerMs.set(key, c);
      break;
    }
    // Inclusive time: every distinct function on the stack of this sample.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      const k = `${l.name} ${l.where}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
    }
  }
  const busy = totalMs - idleMs;
  const hot = [...agg.entries()]
    .map(([k, a]) => ({
      ...a,
      totalMs: Math.round(inclusive.get(k) ?? 0),
      selfMs: Math.round(a.selfMs),
      selfPct: busy ? Math.round((a.selfMs / busy) * 1000) / 10 : 0,
      callers: [...(callerMs.get(k) ?? new Map<string, number>())]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        .map(([caller, ms]) => ({ caller, ms: Math.round(ms) })),
    }))
    .filter((a) => a.name !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
  return { totalMs: Math.round(totalMs), idleMs: Math.round(idleMs), hot };
}

function files(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (statSync(a).isDirectory()) for (const f of readdirSync(a)) if (f.endsWith('.cpuprofile')) out.push(join(a, f));
    else out.push(a);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args.splice(topIdx, 2)[1]) : 25;
  for (const f of files(args)) {
    const s = summarise(JSON.parse(readFileSync(f, 'utf8')) as Profile, top);
    process.stdout.write(`\n${f}\n  sampled ${s.totalMs} ms, idle ${s.idleMs} ms, busy ${s.totalMs - s.idleMs} ms\n`);
    process.stdout.write(`  ${'self ms'.padStart(8)} ${'self %'.padStart(6)} ${'incl ms'.padStart(8)}  function  (file:line)\n`);
    const profile = JSON.parse(readFileSync(f, 'utf8')) as Profile;
    process.stdout.write(`  busy time by file (native calls charged to their caller):\n`);
    for (const x of byFile(profile).slice(0, 15)) process.stdout.write(`  ${String(x.ms).padStart(8)} ${x.pct.toFixed(1).padStart(6)}  ${x.file}\n`);
    process.stdout.write(`  hottest functions:\n`);
    for (const h of s.hot) {
      process.stdout.write(`  ${String(h.selfMs).padStart(8)} ${h.selfPct.toFixed(1).padStart(6)} ${String(h.totalMs).padStart(8)}  ${h.name}  (${h.where})\n`);
      for (const c of h.callers) process.stdout.write(`  ${''.padStart(24)}    <- ${c.ms} ms ${c.caller}\n`);
    }
  }
}
