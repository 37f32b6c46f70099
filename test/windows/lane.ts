// The Windows-semantics lane's helpers (test/windows/README.md): run `sekisho` and scripts
// under Windows' own node.exe in Wine (../shared/windows-smoke/setup.sh), from tests that run
// on Linux. A lane case is one file `test/windows/<name>.wine.ts` using these.
//
// Wine limits worked around here (measured with Wine 8; not product bugs):
// - node.exe's stdout/stderr must be files (a pipe gives EBADF at start): every process writes
//   to files in its own folder, which are polled.
// - fetch() fails (setsockopt keep-alive on a connecting socket): wine-shims.mjs, loaded into
//   every node.exe through NODE_OPTIONS.
// - Linux cannot signal a Windows process; `kill()` below ends the wine process tree from the
//   Linux side and is for cleanup only — the lane stops serve the product's way (`sekisho stop`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WINE_HOME = process.env.SEKISHO_WINE ?? '/tmp/sekisho-wine';
export const WNODE = join(WINE_HOME, 'wnode');

/** Whether the lane can run here (setup.sh has been run). */
export function wineReady(): boolean {
  return existsSync(WNODE) && existsSync(join(WINE_HOME, 'node', 'node.exe'));
}

/** A Linux path as Wine's node.exe sees it: `/tmp/x` is `Z:\tmp\x`. */
export function winPath(p: string): string {
  return `Z:${resolve(p).replace(/\//g, '\\')}`;
}

/** The file: URL of a Linux path inside Wine (for --import). */
export function winUrl(p: string): string {
  return `file:///Z:${resolve(p)}`;
}

/** Environment of every node.exe: the Wine shims, and the CLI from source (not a stale dist/). */
export function winEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WINEDEBUG: '-all',
    SEKISHO_FROM_SOURCE: '1',
    NODE_OPTIONS: `--import=${winUrl(join(ROOT, 'test', 'windows', 'wine-shims.mjs'))}`,
    ...extra,
  };
}

/** A fresh Linux folder for one case (its Windows name is winPath(dir)). */
export function laneDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `sekisho-win-${name}-`));
}

export interface WinProcess {
  proc: ChildProcess;
  /** stdout so far, as lines. */
  out(): string[];
  err(): string;
  exited: Promise<number | null>;
  /** Resolve with the first stdout line matching (bounded); reject when the process ends first. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** Cleanup only: end the wine process (and what it started) from the Linux side. */
  kill(): Promise<void>;
}

let seq = 0;

/** Start `node.exe ARGS` under Wine; stdout and stderr go to files in `dir`. */
export function startWin(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): WinProcess {
  const n = seq++;
  const outFile = join(dir, `wnode-${n}.out`);
  const errFile = join(dir, `wnode-${n}.err`);
  // A shell opens the files: node.exe needs real files as its stdout/stderr, not pipes.
  const proc = spawn('/bin/sh', ['-c', `exec "$0" "$@" >"${outFile}" 2>"${errFile}"`, WNODE, ...args], {
    env: winEnv(env),
    stdio: 'ignore',
    detached: true, // its own process group: kill() reaches every wine process it started
  });
  return watchFiles(proc, outFile, errFile, `node.exe ${args.join(' ')}`, 60_000);
}

/**
 * A detached wine process whose stdout and stderr are the files `outFile` and `errFile` (Wine:
 * no pipes), seen through those files; `label` names it in errors, `waitMs` is waitFor's default.
 */
export function watchFiles(proc: ChildProcess, outFile: string, errFile: string, label: string, waitMs: number): WinProcess {
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  const out = () => read(outFile).split(/\r?\n/).filter((l) => l !== '');
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    proc,
    out,
    err: () => read(errFile),
    exited,
    async waitFor(re, ms = waitMs) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = out().find((l) => re.test(l));
        if (hit !== undefined) return hit;
        if (ended) throw new Error(`${label} ended before ${re}: out=${out().join('|')} err=${read(errFile)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}: out=${out().join('|')} err=${read(errFile)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      await exited;
    },
  };
}

/** Run `node.exe ARGS` to its end (bounded): exit code and output. */
export async function runWin(dir: string, args: string[], ms = 120_000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string[]; err: string }> {
  return finishWin(startWin(dir, args, env), ms);
}

/** Wait for `p` to end (killing it after `ms`): exit code and output. */
export async function finishWin(p: WinProcess, ms: number): Promise<{ code: number | null; out: string[]; err: string }> {
  const timer = setTimeout(() => void p.kill(), ms);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.out(), err: p.err() };
}

/** `sekisho ARGS` under node.exe, to its end. */
export function sekisho(dir: string, args: string[], ms?: number): Promise<{ code: number | null; out: string[]; err: string }> {
  return runWin(dir, [winPath(join(ROOT, 'bin', 'sekisho.js')), ...args], ms);
}

/** `sekisho ARGS` under node.exe, left running. */
export function startSekisho(dir: string, args: string[]): WinProcess {
  return startWin(dir, [winPath(join(ROOT, 'bin', 'sekisho.js')), ...args]);
}

/**
 * Which of these Windows PIDs are still running, as Windows sees it (process.kill(pid, 0)
 * inside Wine: Linux does not see Windows PIDs).
 */
export async function winAlive(dir: string, pids: number[]): Promise<number[]> {
  const script = join(dir, 'alive.cjs');
  await writeFile(
    script,
    `for (const p of process.argv.slice(2).map(Number)) { try { process.kill(p, 0); console.log(p); } catch (e) { if (e.code !== 'ESRCH') console.log(p); } }\n`,
  );
  const r = await runWin(dir, [winPath(script), ...pids.map(String)], 60_000);
  if (r.code !== 0) throw new Error(`alive probe failed: ${r.err}`);
  return r.out.map(Number);
}

/** Poll (bounded) until `check` gives a value. */
export async function until<T>(check: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One swaks session (Linux side): its exit code and transcript. */
export function swaks(port: number, to: string, body: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('/usr/bin/swaks', ['--server', `127.0.0.1:${port}`, '--from', 'taro@test.jp', '--to', to, '--body', body, '--timeout', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('close', (code) => resolve({ code, out }));
  });
}
