// `npm run bench`: Sekisho as a gateway between Debian's smtp-source and smtp-sink, measured
// in the same run against (a) smtp-source -> smtp-sink directly, the machine's ceiling, and
// (b) a private Postfix instance configured as the same gateway. Writes
// bench/results/<timestamp>.json and bench/latest.md and prints the table.
//
//   npm run bench                     full run (about 5–10 minutes on 2 cores)
//   npm run bench -- --quick          small counts, about a minute
//   npm run bench -- --targets sekisho,postfix   only some targets
//   npm run bench -- --profile        also write V8 CPU profiles of Sekisho's children
//
// Everything it starts is stopped on exit, failure or Ctrl+C (bench/lib/procs.ts).
import { mkdtemp, mkdir, writeFile, rm, readdir, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir, cpus, totalmem, release, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanupAll, onCleanup, run } from './lib/procs.js';
import { Sink } from './lib/sink.js';
import { freePort } from './lib/ports.js';
import { startPostfix, POSTFIX } from './lib/postfix.js';
import { startProfiled, startServe, writeBenchWorkdir } from './lib/sekisho.js';
import { treeOf } from './lib/rss.js';
import { bigMessage, held, idle, latency, mergeRounds, throughput, type Target, type ThroughputResult } from './lib/scenarios.js';
import { markdown, textTables, type BenchResults, type TargetResults } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'ceiling,postfix,sekisho' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'no-latest': { type: 'boolean', default: false },
    'from-source': { type: 'boolean', default: false },
    /** Only these scenarios (comma list of idle, throughput4k, serial, throughput100k, latency, big, held). */
    scenarios: { type: 'string' },
    /** Override the 4 KB message count (an A/B experiment wants a few thousand, fast). */
    m4k: { type: 'string' },
    /** Sekisho's receiver.processes (default 1, the product's default setting, which issue 14's goals are judged with). */
    'receiver-processes': { type: 'string' },
  },
});
const quick = flags.quick!;
const wanted = new Set(flags.targets!.split(',').map((s) => s.trim()));

const P = quick
  ? { idleSettleMs: 3000, warmup: 300, m4k: 2000, m100k: 200, latencyMsgs: 300, serialMsgs: 100, held: 200, bigBytes: 10 * 1024 * 1024, sessions: 20, timeoutMs: 60_000 }
  : { idleSettleMs: 10_000, warmup: 2000, m4k: 20_000, m100k: 2000, latencyMsgs: 2000, serialMsgs: 500, held: 1000, bigBytes: 50 * 1024 * 1024, sessions: 20, timeoutMs: 240_000 };

if (flags.m4k) P.m4k = Number(flags.m4k);

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

type ScenarioName = 'idle' | 'throughput4k' | 'throughput100k' | 'latency' | 'serial' | 'held' | 'big';

/**
 * The throughput scenarios run in ROUNDS rounds of half the messages each, the targets in
 * opposite order in the second round (A B C, then C B A): whoever runs right after another
 * target's burst (dirty pages being written back, freed blocks being discarded) does so once
 * in each position. The table shows the rounds merged (rates over the summed times).
 */
const ROUNDS = 2;
const roundsOf: Record<string, Partial<Record<'throughput4k' | 'throughput100k', ThroughputResult[]>>> = {};

/** Start a measurement on a quiet disk: flush what earlier scenarios left dirty, then wait. */
async function settle(): Promise<void> {
  await run('sync', [], { timeoutMs: 60_000 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 2000));
}

/** One scenario on one target, logged; the load average is kept with it (a shared machine). */
async function scenario(t: Target, r: TargetResults, name: ScenarioName, round = 0): Promise<void> {
  (r.load1 ??= {})[name] = Math.round(loadavg()[0] * 100) / 100;
  switch (name) {
    case 'throughput4k':
    case 'throughput100k': {
      const is4k = name === 'throughput4k';
      const messages = Math.round((is4k ? P.m4k : P.m100k) / ROUNDS);
      const payloadBytes = is4k ? 4096 : 100 * 1024;
      if (is4k && round === 0) {
        // Unmeasured warm-up, the same for every target: V8 compiles Sekisho's hot paths in
        // the first thousand messages, Postfix starts its smtpd/cleanup/smtp processes.
        log(`${t.name}: warm-up, ${P.warmup} x 4 KB (not measured)`);
        await throughput(t, { messages: P.warmup, payloadBytes: 4096, sessions: P.sessions, timeoutMs: P.timeoutMs });
      }
      await settle();
      log(`${t.name}: ${messages} x ${is4k ? '4' : '100'} KB over ${P.sessions} sessions (round ${round + 1}/${ROUNDS})`);
      const x = await throughput(t, { messages, payloadBytes, sessions: P.sessions, timeoutMs: P.timeoutMs });
      ((roundsOf[t.name] ??= {})[name] ??= []).push(x);
      r[name] = mergeRounds(roundsOf[t.name]![name]!);
      log(`${t.name}:   ${x.acceptPerSec} accepted/s, ${x.e2ePerSec} end-to-end/s ${x.error ?? ''}`);
      log(`${t.name}:   CPU ms/msg user+sys: ${Object.entries(x.cpuSplit).map(([k, v]) => `${k} ${v.user}+${v.sys}`).join(', ')}`);
      break;
    }
    case 'latency': {
      log(`${t.name}: latency, ${P.latencyMsgs} x 4 KB over ${P.sessions} sessions (Node client)`);
      const x = (r.latency = await latency(t, { messages: P.latencyMsgs, sessions: P.sessions, payloadBytes: 4096, timeoutMs: P.timeoutMs }));
      log(`${t.name}:   accept p50 ${x.acceptP50Ms} ms p99 ${x.acceptP99Ms} ms, errors ${x.errors} ${x.firstError ?? ''}`);
      break;
    }
    case 'serial': {
      // One client, one message at a time: the time to make one message durable and say so,
      // with nothing queued in front of it (issue 14's "serial accept latency").
      log(`${t.name}: serial latency, ${P.serialMsgs} x 4 KB, one session at a time (Node client)`);
      const x = (r.serial = await latency(t, { messages: P.serialMsgs, sessions: 1, payloadBytes: 4096, timeoutMs: P.timeoutMs }));
      log(`${t.name}:   accept p50 ${x.acceptP50Ms} ms p99 ${x.acceptP99Ms} ms, errors ${x.errors} ${x.firstError ?? ''}`);
      break;
    }
    case 'held': {
      log(`${t.name}: ${P.held} held sessions`);
      const x = (r.held = await held(t, { count: P.held, settleMs: 1000 }));
      log(`${t.name}:   held ${x.held}/${x.requested} ${x.firstError ?? ''}`);
      break;
    }
    case 'idle': {
      const x = (r.idle = await idle(t, { settleMs: P.idleSettleMs }));
      log(`${t.name}: idle: ${Object.entries(x.mem).map(([k, v]) => `${k} ${v.rssMb} MB RSS / ${v.pssMb} MB PSS`).join(', ')}`);
      break;
    }
    case 'big': {
      log(`${t.name}: one ${P.bigBytes / 1024 / 1024} MB message`);
      const x = (r.big = await bigMessage(t, { bytes: P.bigBytes, timeoutMs: P.timeoutMs }));
      log(`${t.name}:   accept ${x.acceptMs} ms, end-to-end ${x.e2eMs} ms ${x.error ?? ''}`);
      break;
    }
  }
}

async function machine(): Promise<Record<string, string | number>> {
  const pf = await run('/usr/sbin/postconf', ['-d', 'mail_version'], { timeoutMs: 10_000 }).catch(() => null);
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version,
    postfix: pf?.stdout.split('=')[1]?.trim() ?? '?',
  };
}

async function main(): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'sekisho-bench-'));
  // mkdtemp makes it 0700; Postfix daemons (user postfix) must be able to reach their folders.
  await chmod(root, 0o755);
  if (!flags.keep) onCleanup(() => rm(root, { recursive: true, force: true }));
  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    quick,
    machine: await machine(),
    params: { ...P, smtpSource: 'one connection per message (no -d)', sinkCounting: 'smtp-sink -c counters (mesg=)' },
    targets: {},
  };
  log(`work folder ${root}`);

  // Every target is started first, then each scenario runs on every target in turn: the
  // machine is shared, and interleaving keeps the figures compared in one row minutes, not a
  // quarter of an hour, apart.
  const targets: Target[] = [];
  const stops: Array<() => Promise<void>> = [];

  if (wanted.has('ceiling')) {
    const sink = await Sink.start({ maxConcurrency: P.held + 100 });
    targets.push({ name: 'ceiling', port: sink.port, sink, memGroups: { sink: () => [sink.pid] }, expectedAtSink: 0 });
    results.targets.ceiling = {};
    stops.push(() => sink.stop());
  }

  if (wanted.has('postfix')) {
    if (!existsSync(POSTFIX)) {
      results.targets.postfix = { skipped: `${POSTFIX} is not installed` };
    } else {
      const sink = await Sink.start({ maxConcurrency: 256 });
      stops.push(() => sink.stop());
      const pf = await startPostfix({
        root: join(root, 'postfix'),
        port: await freePort(),
        sinkPort: sink.port,
        smtpdProcesses: P.held + 50,
      });
      onCleanup(() => pf.stop()); // always, even on failure (cleanups also run on signals)
      stops.push(() => pf.stop());
      targets.push({
        name: 'postfix',
        port: pf.port,
        sink,
        memGroups: { postfix: () => (pf.masterPid() ? treeOf(pf.masterPid()!) : []), sink: () => [sink.pid] },
        expectedAtSink: 0,
      });
      results.targets.postfix = {
        notes: [
          `Postfix ${results.machine.postfix}: smtpd process limit ${P.held + 50} (one process per session), default_destination_concurrency_limit 20, queue files fsynced (Postfix default)`,
        ],
      };
    }
  }

  const profileDir = join(root, 'profiles');
  if (wanted.has('sekisho')) {
    if (!existsSync(join(repo, 'services/cli/commands/serve.ts')) && !existsSync(join(repo, 'services/cli/commands/serve.js'))) {
      results.targets.sekisho = { skipped: '`sekisho serve` is not in this checkout yet (services/cli/commands/serve.ts)' };
    } else {
      // Measure what an installation runs: the compiled JavaScript (dist/), not tsx.
      if (flags['from-source']) process.env.SEKISHO_BENCH_FROM_SOURCE = '1';
      else if (process.env.SEKISHO_BENCH_DIST) log(`running the build in ${process.env.SEKISHO_BENCH_DIST} (SEKISHO_BENCH_DIST), dist/ not rebuilt`);
      else {
        log('building the services (npm run build:services) to run Sekisho from dist/');
        const b = await run('npm', ['run', 'build:services'], { cwd: repo, timeoutMs: 180_000 });
        if (b.code !== 0) throw new Error(`npm run build:services failed:\n${b.stderr || b.stdout}`);
      }
      const sink = await Sink.start({ maxConcurrency: 256 });
      stops.push(() => sink.stop());
      const workdir = join(root, 'sekisho');
      // --profile starts one receiver by hand (one profile file per service).
      const receiverProcesses = flags.profile ? 1 : Number(flags['receiver-processes'] ?? 1);
      const o = { workdir, port: await freePort(), controlPort: await freePort(), sinkPort: sink.port, workers: 20, receiverProcesses };
      await writeBenchWorkdir(o);
      if (flags.profile) await mkdir(profileDir, { recursive: true });
      try {
        const gw = flags.profile ? await startProfiled({ ...o, profileDir }) : await startServe(o);
        stops.push(() => gw.stop());
        const pid = gw.pids();
        log(`sekisho ${flags.profile ? 'receiver + delivery (profiled)' : `serve pid ${pid.serve}`}, receiver ${pid.receiver}, delivery ${pid.delivery}`);
        targets.push({
          name: 'sekisho',
          port: gw.port,
          sink,
          memGroups: {
            ...(flags.profile ? {} : { serve: () => [gw.pids().serve ?? -1] }),
            // With receiver.processes > 1 the receiver is a primary and its workers.
            receiver: () => treeOf(gw.pids().receiver ?? -1),
            delivery: () => [gw.pids().delivery ?? -1],
            sink: () => [sink.pid],
          },
          expectedAtSink: 0,
        });
        results.targets.sekisho = {
          notes: [
            flags.profile
              ? 'profiled run: receiver and delivery started by hand with --cpu-prof (no serve)'
              : `\`sekisho serve\` (receiver + delivery children + control HTTP), receiver.processes ${receiverProcesses}, delivery.workers 20, ${flags['from-source'] ? 'run from source through tsx' : 'compiled JavaScript from dist/ (npm run build:services)'}`,
          ],
        };
      } catch (err) {
        results.targets.sekisho = { skipped: `failed to start: ${(err as Error).message.slice(0, 2000)}` };
        log(`sekisho failed: ${(err as Error).message}`);
      }
    }
  }

  // Held sessions last: Postfix keeps its 1,000 idle smtpd processes for max_idle (100 s).
  // Idle first: the memory of a freshly started target, before any load.
  const all: ScenarioName[] = ['idle', 'throughput4k', 'throughput100k', 'latency', 'serial', 'big', 'held'];
  const only = flags.scenarios ? new Set(flags.scenarios.split(',').map((s) => s.trim())) : null;
  const order = all.filter((n) => !only || only.has(n));
  for (const name of order) {
    const rounds = name === 'throughput4k' || name === 'throughput100k' ? ROUNDS : 1;
    for (let round = 0; round < rounds; round++) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        const r = results.targets[t.name]!;
        try {
          await scenario(t, r, name, round);
        } catch (err) {
          (r.notes ??= []).push(`${name} failed: ${(err as Error).message.slice(0, 500)}`);
          log(`${t.name} ${name} failed: ${(err as Error).message}`);
        }
      }
    }
  }


  for (const stopOne of stops.reverse()) await stopOne().catch(() => {});
  if (flags.profile && results.targets.sekisho && !results.targets.sekisho.skipped) {
    const files = await readdir(profileDir).catch(() => []);
    (results.targets.sekisho.notes ??= []).push(`CPU profiles: ${files.map((f) => join(profileDir, f)).join(', ')}`);
    log(`CPU profiles in ${profileDir} (summarise with: npx tsx bench/profile-summary.ts ${profileDir}; run with --keep to keep them)`);
  }

  results.finishedAt = new Date().toISOString();
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  await mkdir(join(here, 'results'), { recursive: true });
  const jsonPath = join(here, 'results', `${stamp}.json`);
  await writeFile(jsonPath, JSON.stringify(results, null, 2) + '\n');
  if (!flags['no-latest']) await writeFile(join(here, 'latest.md'), markdown(results));
  process.stdout.write('\n' + textTables(results) + '\n\n');
  for (const [name, tr] of Object.entries(results.targets)) if (tr?.skipped) process.stdout.write(`${name}: skipped — ${tr.skipped}\n`);
  process.stdout.write(`results: ${jsonPath}\n`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
} finally {
  await cleanupAll();
}
process.exit(code);
