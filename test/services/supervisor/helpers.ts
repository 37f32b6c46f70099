// Shared by the supervisor tests: throwaway child scripts in a fresh folder, bounded waits.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export async function scriptDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sekisho-sup-'));
}

export async function writeScript(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, body);
  return path;
}

const STOP_REQUEST = resolve(import.meta.dirname, '../../../services/supervisor/stop-request.ts');

/**
 * A stand-in service for tests that need a supervised child but not a real receiver or
 * delivery. It speaks the child's half of the stop protocol through onStopRequest
 * (services/supervisor/stop-request.ts: the supervisor's `stop` line on stdin) and exits 0 at
 * once, so a stop is graceful and quick instead of waiting out the grace period for a kill.
 * `body` is ES module code run after that (process.argv[2…] are the args of standInCommand).
 */
export async function writeStandIn(dir: string, name: string, body: string): Promise<string> {
  return writeScript(
    dir,
    name.endsWith('.mts') ? name : `${name}.mts`,
    `import { onStopRequest } from ${JSON.stringify(STOP_REQUEST)};\nonStopRequest(() => process.exit(0));\n${body}\n`,
  );
}

/** How a Supervisor starts a stand-in (through tsx, from any working directory). */
export function standInCommand(script: string, args: string[] = []): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), script, ...args] };
}

/** Poll until `check` returns a truthy value; bounded in time. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
