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
import { tmpdir, cpus, totalmem, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanupAll, onCleanup, run } from './lib/procs.js';
import { Sink } from './lib/sink.js';
import { freePort } from './lib/ports.js';
import { startPostfix, POSTFIX } from './lib/postfix.js';
import { startProfiled, startServe, writeBenchWorkdir } from './lib/sekisho.js';
import { treeOf } from './lib/rss.js';
import { bigMessage, held, latency, throughput, type Target } from './lib/scenarios.js';
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
  },
});
const quick = flags.quick!;
const wanted = new Set(flags.targets!.split(',').map((s) => s.trim()));

const P = quick
  ? { m4k: 2000, m100k: 200, latencyMsgs: 300, held: 200, bigBytes: 10 * 1024 * 1024, sessions: 20, timeoutMs: 60_000 }
  : { m4k: 20_000, m100k: 2000, latencyMsgs: 2000, held: 1000, bigBytes: 50 * 1024 * 1024, sessions: 20, timeoutMs: 240_000 };

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function scenarios(t: Target): Promise<TargetResults> {
  const r: TargetResults = {};
  log(`${t.name}: ${P.m4k} x 4 KB over ${P.sessions} sessions`);
  r.throughput4k = await throughput(t, { messages: P.m4k, payloadBytes: 4096, sessions: P.sessions, timeoutMs: P.timeoutMs });
  log(`${t.name}:   ${r.throughput4k.acceptPerSec} accepted/s, ${r.throughput4k.e2ePerSec} end-to-end/s ${r.throughput4k.error ?? ''}`);
  log(`${t.name}: ${P.m100k} x 100 KB over ${P.sessions} sessions`);
  r.throughput100k = await throughput(t, { messages: P.m100k, payloadBytes: 100 * 1024, sessions: P.sessions, timeoutMs: P.timeoutMs });
  log(`${t.name}:   ${r.throughput100k.acceptPerSec} accepted/s, ${r.throughput100k.e2ePerSec} end-to-end/s ${r.throughput100k.error ?? ''}`);
  log(`${t.name}: latency, ${P.latencyMsgs} x 4 KB over ${P.sessions} sessions (Node client)`);
  r.latency = await latency(t, { messages: P.latencyMsgs, sessions: P.sessions, payloadBytes: 4096, timeoutMs: P.timeoutMs });
  log(`${t.name}:   accept p50 ${r.latency.acceptP50Ms} ms p99 ${r.latency.acceptP99Ms} ms, errors ${r.latency.errors} ${r.latency.firstError ?? ''}`);
  log(`${t.name}: ${P.held} held sessions`);
  r.held = await held(t, { count: P.held, settleMs: 1000 });
  log(`${t.name}:   held ${r.held.held}/${r.held.requested} ${r.held.firstError ?? ''}`);
  log(`${t.name}: one ${P.bigBytes / 1024 / 1024} MB message`);
  r.big = await bigMessage(t, { bytes: P.bigBytes, timeoutMs: P.timeoutMs });
  log(`${t.name}:   accept ${r.big.acceptMs} ms, end-to-end ${r.big.e2eMs} ms ${r.big.error ?? ''}`);
  return r;
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

  if (wanted.has('ceiling')) {
    const sink = await Sink.start({ maxConcurrency: P.held + 100 });
    const t: Target = { name: 'ceiling', port: sink.port, sink, memGroups: { sink: () => [sink.pid] }, expectedAtSink: 0 };
    results.targets.ceiling = await scenarios(t);
    await sink.stop();
  }

  if (wanted.has('postfix')) {
    if (!existsSync(POSTFIX)) {
      results.targets.postfix = { skipped: `${POSTFIX} is not installed` };
    } else {
      const sink = await Sink.start({ maxConcurrency: 256 });
      const pf = await startPostfix({
        root: join(root, 'postfix'),
        port: await freePort(),
        sinkPort: sink.port,
        smtpdProcesses: P.held + 50,
      });
      onCleanup(() => pf.stop()); // always, even on failure (cleanups also run on signals)
      const t: Target = {
        name: 'postfix',
        port: pf.port,
        sink,
        memGroups: { postfix: () => (pf.masterPid() ? treeOf(pf.masterPid()!) : []), sink: () => [sink.pid] },
        expectedAtSink: 0,
      };
      results.targets.postfix = await scenarios(t);
      results.targets.postfix.notes = [
        `smtpd process limit ${P.held + 50} (one process per session), default_destination_concurrency_limit 20, fsync on (Postfix default)`,
      ];
      await pf.stop();
      await sink.stop();
    }
  }

  if (wanted.has('sekisho')) {
    if (!existsSync(join(repo, 'services/cli/commands/serve.ts')) && !existsSync(join(repo, 'services/cli/commands/serve.js'))) {
      results.targets.sekisho = { skipped: '`sekisho serve` is not in this checkout yet (services/cli/commands/serve.ts)' };
    } else {
      const sink = await Sink.start({ maxConcurrency: 256 });
      const workdir = join(root, 'sekisho');
      const profileDir = join(root, 'profiles');
      const o = { workdir, port: await freePort(), controlPort: await freePort(), sinkPort: sink.port, workers: 20 };
      await writeBenchWorkdir(o);
      if (flags.profile) await mkdir(profileDir, { recursive: true });
      try {
        const gw = flags.profile ? await startProfiled({ ...o, profileDir }) : await startServe(o);
        const pid = gw.pids();
        log(`sekisho serve pid ${pid.serve}, receiver ${pid.receiver}, delivery ${pid.delivery}`);
        const t: Target = {
          name: 'sekisho',
          port: gw.port,
          sink,
          memGroups: {
            serve: () => [gw.pids().serve ?? -1],
            receiver: () => [gw.pids().receiver ?? -1],
            delivery: () => [gw.pids().delivery ?? -1],
            sink: () => [sink.pid],
          },
          expectedAtSink: 0,
        };
        results.targets.sekisho = await scenarios(t);
        await gw.stop();
        if (flags.profile) {
          const files = await readdir(profileDir).catch(() => []);
          results.targets.sekisho.notes = [
            `profiled run: receiver and delivery started by hand with --cpu-prof (no serve); profiles: ${files.map((f) => join(profileDir, f)).join(', ')}`,
          ];
          log(`CPU profiles in ${profileDir} (summarise with: npx tsx bench/profile-summary.ts ${profileDir})`);
        }
      } catch (err) {
        results.targets.sekisho = { ...(results.targets.sekisho ?? {}), skipped: `failed: ${(err as Error).message.slice(0, 2000)}` };
        log(`sekisho failed: ${(err as Error).message}`);
      }
      await sink.stop();
    }
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
