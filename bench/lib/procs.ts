// Every process the benchmark starts is registered here, so that a failure, Ctrl+C or an
// uncaught error never leaves an smtp-sink, a Sekisho or a Postfix behind. Cleanup hooks
// (e.g. `postfix -c DIR stop`) run in reverse order of registration.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

type Cleanup = () => Promise<void> | void;

const children = new Set<ChildProcess>();
const cleanups: Cleanup[] = [];
let installed = false;

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function start(command: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  installSignalHandlers();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  return track(child);
}

export function onCleanup(fn: Cleanup): void {
  installSignalHandlers();
  cleanups.push(fn);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`cleanup failed: ${(err as Error).message}\n`);
    }
  }
  await Promise.all([...children].map((c) => stop(c, 3000)));
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping everything the benchmark started\n`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
  // Last resort: a synchronous kill of whatever is still running when Node exits.
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

/** Run a command to completion, collecting its output; bounded by `timeoutMs`. */
export function run(
  command: string,
  args: string[],
  opts: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const child = start(command, args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
