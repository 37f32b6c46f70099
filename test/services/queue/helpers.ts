// Shared by the queue tests: fresh work folders and real child processes running TypeScript
// through tsx (as services/cli/spawn.ts starts the CLI from source).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export async function freshWorkdir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sekisho-queue-'));
}

export async function removeWorkdir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

export interface Child {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolve with the first stdout line matching, or reject after `ms` or at exit. */
  waitFor(pred: (line: string) => boolean, ms?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Start `children/<name>.ts` with tsx; stdout is read line by line. */
export function startChild(name: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', tsxLoader, join(here, 'children', `${name}.ts`), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const waiters: Array<{ pred: (l: string) => boolean; resolve: (l: string) => void }> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.pred(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    lines,
    exited,
    stderr: () => err,
    waitFor(pred, ms = 20_000) {
      const seen = lines.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`child ${name}: timed out; stdout=${lines.join('|')} stderr=${err}`)), ms);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then(() =>
          setTimeout(() => {
            clearTimeout(t);
            reject(new Error(`child ${name} exited; stdout=${lines.join('|')} stderr=${err}`));
          }, 50),
        );
      });
    },
  };
}

/** Kill a child if still running and wait for it to be gone. */
export async function stopChild(c: Child, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill(signal);
  await c.exited;
}

/** A pid that is certainly not running: a child that has exited. */
export async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => p.on('exit', r));
  return p.pid!;
}

/** Poll `cond` until true (bounded). */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function sampleRecord(to = 'user@example.jp') {
  const now = new Date().toISOString();
  return {
    from: 'sender@example.jp',
    recipients: [{ address: to, original: to, kind: 'remote' as const, status: 'pending' as const, attempts: 0, refusals: 0 }],
    receivedAt: now,
    nextAttemptAt: now,
    retries: 0,
    client: { ip: '192.0.2.1', helo: 'client.example.jp', authUser: '' },
    origin: 'message' as const,
  };
}
