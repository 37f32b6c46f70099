// A child must not outlive its supervisor, even one killed with SIGKILL (OOM killer, a crashed
// Electron main, a test harness timeout): its process.on('exit') never runs, and a detached
// receiver would keep holding port 25, so the next start fails with "port in use".
//
// Each child's stdin is a pipe whose only writer is the supervisor. This preload, given to the
// child as `node --import <data: URL>`, is the child's reader of that pipe (stop-request.ts):
// the line `stop` and the pipe's end-of-file (the supervisor died, for whatever reason) both
// become the graceful stop — the process event STOP_EVENT that the services listen to. Not a
// signal to itself: on Windows that is an unconditional kill. A process that has no stop
// handler yet (still loading) has nothing in flight and simply exits 0. The stream is unref'd:
// it never keeps a child alive that would otherwise exit.
import { GUARD_MARK, STOP_EVENT } from './stop-request.js';

const GUARD_SOURCE = [
  `globalThis[Symbol.for(${JSON.stringify(GUARD_MARK.description)})] = true;`,
  'let tail = "", asked = false;',
  `const ask = (why) => { if (asked) return; asked = true; if (!process.emit(${JSON.stringify(STOP_EVENT)}, why)) process.exit(0); };`,
  "process.stdin.on('data', (d) => { tail = (tail + d).slice(-256); if (/(?:^|\\n)stop\\r?\\n/.test(tail)) ask('stop requested by the supervisor'); });",
  "process.stdin.on('end', () => ask('the supervisor is gone (stdin closed)'));",
  "process.stdin.on('error', () => {});",
  'process.stdin.resume();',
  'process.stdin.unref?.();',
].join('\n');

/** The `--import` value that installs the guard (plain JS, no file to ship). */
export const PARENT_GUARD_IMPORT = `data:text/javascript,${encodeURIComponent(GUARD_SOURCE)}`;

/** Node arguments with the guard in front. */
export function withParentGuard(args: string[]): string[] {
  return ['--import', PARENT_GUARD_IMPORT, ...args];
}

/**
 * Node arguments without the guard: a cluster worker must not read its primary's stdin (the
 * primary is the one the supervisor talks to; the worker is told over its IPC channel).
 */
export function withoutParentGuard(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--import' && args[i + 1] === PARENT_GUARD_IMPORT) i++;
    else if (args[i] !== `--import=${PARENT_GUARD_IMPORT}`) out.push(args[i]);
  }
  return out;
}
