// Sekisho as the gateway under test: a fresh work folder that routes test.jp to the sink
// and trusts the load generator (effect.dat `127.0.0.1 true`, SPEC 6), started with
// `sekisho serve` (receiver + delivery as child processes + control HTTP, SPEC 9).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { defaultSettings } from '../../services/config/settings.js';
import { cliCommand } from '../../services/cli/spawn.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** SEKISHO_BENCH_DIST=DIR: run a build compiled elsewhere (`npx tsc -p tsconfig.build.json
 * --outDir DIR`, with DIR/node_modules a link to this repository's), and do not rebuild dist/:
 * an A/B experiment on a machine where others build dist/ at the same time. */
const BUILT_CLI = process.env.SEKISHO_BENCH_DIST
  ? join(process.env.SEKISHO_BENCH_DIST, 'services/cli/main.js')
  : fileURLToPath(new URL('../../dist/services/cli/main.js', import.meta.url));

/**
 * The `sekisho` command line the bench runs: the compiled JavaScript of `npm run build`, as an
 * installed gateway runs (bench/run.ts builds it first), or the TypeScript sources through tsx
 * with --from-source.
 */
function sekishoCommand(args: string[], env: NodeJS.ProcessEnv = process.env) {
  if (process.env.SEKISHO_BENCH_FROM_SOURCE || !existsSync(BUILT_CLI)) return cliCommand(args, env);
  return { command: process.execPath, args: [BUILT_CLI, ...args], env: { ...env } };
}
import { start, stop, sleep } from './procs.js';
import { waitForBanner } from './ports.js';
import { childrenOf, cmdline } from './rss.js';

export interface SekishoWorkdirOptions {
  workdir: string;
  port: number;
  controlPort: number;
  sinkPort: number;
  workers?: number;
  /** settings receiver.processes (default 1). */
  receiverProcesses?: number;
}

/** Write the work folder by hand (the settings.json schema is services/config/settings.ts). */
export async function writeBenchWorkdir(o: SekishoWorkdirOptions): Promise<void> {
  const s = defaultSettings();
  s.hostname = 'bench-gw.test.jp';
  s.receiver.bind = '127.0.0.1';
  s.receiver.ports = [o.port];
  s.control.bind = '127.0.0.1';
  s.control.port = o.controlPort;
  s.delivery.workers = o.workers ?? 20;
  s.receiver.processes = o.receiverProcesses ?? 1;
  s.delivery.postmaster = 'postmaster@test.jp';
  await mkdir(o.workdir, { recursive: true });
  for (const sub of ['incoming', 'inbox', 'log/accept', 'log/receive', 'log/sender']) {
    await mkdir(join(o.workdir, sub), { recursive: true });
  }
  await writeFile(join(o.workdir, 'settings.json'), JSON.stringify(s, null, 2) + '\n');
  const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';
  await writeFile(join(o.workdir, 'gateway.dat'), crlf([`' bench: test.jp goes to smtp-sink`, `test.jp, 127.0.0.1, ${o.sinkPort}`]));
  await writeFile(join(o.workdir, 'domains.dat'), crlf([`' bench`, 'test.jp']));
  await writeFile(join(o.workdir, 'aliases.dat'), crlf([`' bench: mode A, every address of test.jp`, '*@test.jp -> *@test.jp']));
  await writeFile(
    join(o.workdir, 'effect.dat'),
    crlf([`' bench: the load generator on loopback is trusted`, '127.0.0.1 true', '#<> default', '#blank false']),
  );
}

export interface SekishoServe {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** pids of the receiver and delivery children (found as children of the serve process). */
  pids(): { serve: number | null; receiver: number | null; delivery: number | null };
  stop(): Promise<void>;
}

export async function startServe(o: SekishoWorkdirOptions & { env?: NodeJS.ProcessEnv }): Promise<SekishoServe> {
  const cmd = sekishoCommand(['serve', '--workdir', o.workdir], { ...process.env, ...o.env });
  const child = start(cmd.command, cmd.args, { env: cmd.env });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) => reject(new Error(`sekisho serve exited (${code ?? sig}):\n${out.slice(-3000)}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForBanner(o.port, 60_000), exited]);
  const pids = () => {
    const kids = childrenOf(child.pid!);
    const find = (word: string) => kids.find((p) => cmdline(p).split(' ').includes(word)) ?? null;
    return { serve: child.pid!, receiver: find('receiver'), delivery: find('delivery') };
  };
  // The delivery child may come up a moment after the receiver answers.
  for (let i = 0; i < 100 && !pids().delivery; i++) await sleep(100);
  return {
    child,
    port: o.port,
    output: () => out,
    pids,
    stop: () => stop(child, 10_000),
  };
}

/**
 * For --profile: the receiver and delivery started by hand, each with V8's CPU profiler
 * (`--cpu-prof` is refused in NODE_OPTIONS, so `serve`'s children cannot inherit it). The
 * profiles are written when the processes exit cleanly on SIGTERM.
 */
export async function startProfiled(o: SekishoWorkdirOptions & { profileDir: string }): Promise<SekishoServe> {
  let out = '';
  const launch = (service: 'receiver' | 'delivery') => {
    const cmd = sekishoCommand([service, '--workdir', o.workdir]);
    const child = start(cmd.command, ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, `--cpu-prof-name=${service}.cpuprofile`, ...cmd.args], { env: cmd.env });
    child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
    child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
    return child;
  };
  const receiver = launch('receiver');
  const delivery = launch('delivery');
  await waitForBanner(o.port, 60_000);
  for (let i = 0; i < 300 && !/^ready\s*$/m.test(out); i++) await sleep(100);
  return {
    child: receiver,
    port: o.port,
    output: () => out,
    pids: () => ({ serve: null, receiver: receiver.pid ?? null, delivery: delivery.pid ?? null }),
    stop: async () => {
      await Promise.all([stop(receiver, 20_000), stop(delivery, 20_000)]);
    },
  };
}
